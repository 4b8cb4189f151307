"""Syntax colours for code blocks: a few regular expressions per language, nothing more.

It is deliberately small and cheap: one pass of one combined pattern over each code line, with
a block state for the constructs that span lines (Python's triple-quoted strings, C-style block
comments). Lines that are not code return at once, so the rest of the transcript costs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from app.ui.markdown.formats import CODE_LANGUAGE
from app.ui.markdown.theme import SyntaxColors

_NOT_CODE = -1
_PLAIN = 0


@dataclass(frozen=True)
class Span:
    """A construct that may continue on later lines: opened by `start`, closed by `end`."""

    start: str
    end: str
    kind: str


@dataclass(frozen=True)
class Lexer:
    pattern: re.Pattern[str]
    spans: tuple[Span, ...]


def _words(words: str) -> str:
    return r"\b(?:" + "|".join(words.split()) + r")\b"


_NUMBER = r"\b(?:0[xX][0-9a-fA-F_]+|\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?)\b"
_DQ = r'"(?:[^"\\\n]|\\.)*"'
_SQ = r"'(?:[^'\\\n]|\\.)*'"


def _lexer(tokens: list[tuple[str, str]], spans: tuple[Span, ...] = ()) -> Lexer:
    parts = [f"(?P<span{i}>{re.escape(span.start)})" for i, span in enumerate(spans)]
    parts += [f"(?P<{kind}{i}>{regex})" for i, (kind, regex) in enumerate(tokens)]
    return Lexer(re.compile("|".join(parts)), spans)


_PYTHON = _lexer(
    [
        ("comment", r"#.*"),
        ("string", r"[rbfuRBFU]{0,2}" + _DQ),
        ("string", r"[rbfuRBFU]{0,2}" + _SQ),
        (
            "keyword",
            _words(
                "False None True and as assert async await break class continue def del elif "
                "else except finally for from global if import in is lambda nonlocal not or "
                "pass raise return try while with yield match case self"
            ),
        ),
        ("name", r"(?<=\bdef )\w+|(?<=\bclass )\w+|@\w+(?:\.\w+)*"),
        ("number", _NUMBER),
    ],
    (Span('"""', '"""', "string"), Span("'''", "'''", "string")),
)
_C_LIKE_KEYWORDS = (
    "abstract as async await break case catch class const continue default delete do else "
    "enum export extends false final finally for fn from func function go if impl implements "
    "import in instanceof interface let loop match mod mut new nil null package private "
    "protected pub public readonly return self static struct super switch this throw throws "
    "trait true try type typeof undefined use var void while yield int long float double char "
    "bool boolean string str usize i32 i64 u8 u32 u64 f32 f64 auto unsigned signed sizeof "
    "include define namespace template typename using virtual override"
)
_C_LIKE = _lexer(
    [
        ("comment", r"//.*"),
        ("string", _DQ),
        ("string", _SQ),
        ("string", r"`(?:[^`\\]|\\.)*`"),
        ("keyword", _words(_C_LIKE_KEYWORDS)),
        ("name", r"\b[A-Za-z_]\w*(?=\s*\()"),
        ("number", _NUMBER),
    ],
    (Span("/*", "*/", "comment"),),
)
_JSON = _lexer(
    [
        ("name", _DQ + r"(?=\s*:)"),
        ("string", _DQ),
        ("keyword", _words("true false null")),
        ("number", r"-?" + _NUMBER),
    ]
)
_SHELL = _lexer(
    [
        ("comment", r"(?:^|(?<=\s))#.*"),
        ("string", _DQ),
        ("string", r"'[^'\n]*'"),
        (
            "keyword",
            _words(
                "if then else elif fi for while until do done case esac function in return "
                "export local set unset source echo cd sudo"
            ),
        ),
        ("name", r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|\$[0-9@#?*$!-]|(?<![\w-])--?[A-Za-z][\w-]*"),
        ("number", _NUMBER),
    ]
)
_SQL = _lexer(
    [
        ("comment", r"--.*"),
        ("string", _SQ),
        (
            "keyword",
            r"(?i:\b(?:select|from|where|and|or|not|insert|into|values|update|set|delete|create|"
            r"table|index|view|drop|alter|join|left|right|inner|outer|on|group|by|order|having|"
            r"limit|offset|as|distinct|null|is|in|like|primary|key|foreign|references|union|all|"
            r"case|when|then|else|end|with|returning|begin|commit|rollback)\b)",
        ),
        ("number", _NUMBER),
    ],
    (Span("/*", "*/", "comment"),),
)
_YAML = _lexer(
    [
        ("comment", r"(?:^|(?<=\s))#.*"),
        ("name", r"^\s*-?\s*[\w.-]+(?=\s*:)"),
        ("string", _DQ),
        ("string", _SQ),
        ("keyword", _words("true false null yes no on off")),
        ("number", _NUMBER),
    ]
)

_LEXERS: dict[str, Lexer] = {}
for _names, _lexer_for in (
    ("python py python3 py3 pycon ipython", _PYTHON),
    (
        "javascript js jsx mjs cjs typescript ts tsx c h cpp c++ cc hpp cxx java kotlin kt go "
        "golang rust rs csharp cs c# swift scala dart php objc objective-c",
        _C_LIKE,
    ),
    ("json jsonc json5 jsonl", _JSON),
    ("bash sh shell zsh console shell-session ps1 powershell fish dockerfile make", _SHELL),
    ("sql sqlite postgresql postgres mysql plsql", _SQL),
    ("yaml yml toml ini cfg conf", _YAML),
):
    for _name in _names.split():
        _LEXERS[_name] = _lexer_for


def lexer_for(language: str) -> Lexer | None:
    return _LEXERS.get(language.strip().lower())


class CodeHighlighter(QSyntaxHighlighter):
    """Colours the code lines of a document (blocks carrying a `CODE_LANGUAGE` property)."""

    def __init__(self, document: QTextDocument, colors: SyntaxColors) -> None:
        super().__init__(document)
        self._formats: dict[str, QTextCharFormat] = {}
        self.set_colors(colors, rehighlight=False)

    def set_colors(self, colors: SyntaxColors, *, rehighlight: bool = True) -> None:
        def char(color: QColor, *, italic: bool = False) -> QTextCharFormat:
            fmt = QTextCharFormat()
            fmt.setForeground(color)
            if italic:
                fmt.setFontItalic(True)
            return fmt

        self._formats = {
            "keyword": char(colors.keyword),
            "string": char(colors.string),
            "comment": char(colors.comment, italic=True),
            "number": char(colors.number),
            "name": char(colors.name),
        }
        bold = QTextCharFormat(self._formats["keyword"])
        bold.setFontWeight(QFont.Weight.DemiBold)
        self._formats["keyword"] = bold
        if rehighlight:
            self.rehighlight()

    def highlightBlock(self, text: str) -> None:
        language = self.currentBlock().blockFormat().property(CODE_LANGUAGE)
        if not language or not text:
            self.setCurrentBlockState(
                self.previousBlockState() if language and text == "" else _NOT_CODE
            )
            return
        lexer = lexer_for(str(language))
        if lexer is None:
            self.setCurrentBlockState(_NOT_CODE)
            return
        position = 0
        previous = self.previousBlockState()
        if previous > _PLAIN and previous <= len(lexer.spans):
            position = self._continue_span(text, 0, lexer.spans[previous - 1], previous)
            if position < 0:
                return
        while position < len(text):
            match = lexer.pattern.search(text, position)
            if match is None:
                break
            kind = match.lastgroup or ""
            if kind.startswith("span"):
                index = int(kind[4:])
                position = self._continue_span(
                    text, match.start(), lexer.spans[index], index + 1, skip=len(match.group())
                )
                if position < 0:
                    return
                continue
            fmt = self._formats[kind.rstrip("0123456789")]
            self.setFormat(match.start(), match.end() - match.start(), fmt)
            position = max(match.end(), position + 1)
        self.setCurrentBlockState(_PLAIN)

    def _continue_span(self, text: str, start: int, span: Span, state: int, skip: int = 0) -> int:
        """Colour a span from `start`; where scanning resumes, or -1 if it runs past the line."""
        end = text.find(span.end, start + skip)
        fmt = self._formats[span.kind]
        if end < 0:
            self.setFormat(start, len(text) - start, fmt)
            self.setCurrentBlockState(state)
            return -1
        end += len(span.end)
        self.setFormat(start, end - start, fmt)
        return end
