"""Syntax colours on code lines: keywords, strings, comments, across lines where needed."""

from __future__ import annotations

from PySide6.QtGui import QTextDocument
from pytestqt.qtbot import QtBot

from app.ui.chat.view import ChatView
from tests.ui.markdown.structure import blocks


def colours(view: ChatView, line: str) -> dict[str, str]:
    """The colour of each coloured span on the code line `line`, keyed by its text."""
    block = next(b for b in blocks(view.document()) if b.text() == line)
    return {
        line[r.start : r.start + r.length]: r.format.foreground().color().name()
        for r in block.layout().formats()
    }


def show(qtbot: QtBot, markdown: str) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.begin_reply("model")
    view.append_reply(markdown)
    view.end_reply()
    return view


def test_python_keywords_strings_and_comments_get_their_colours(qtbot: QtBot) -> None:
    """A Python line is coloured by kind of token."""
    view = show(qtbot, '```python\nif x: return "yes"  # done\n```\n')
    syntax = view.theme.syntax
    found = colours(view, 'if x: return "yes"  # done')
    assert found["if"] == syntax.keyword.name()
    assert found["return"] == syntax.keyword.name()
    assert found['"yes"'] == syntax.string.name()
    assert found["# done"] == syntax.comment.name()


def test_a_triple_quoted_string_colours_every_line_it_spans(qtbot: QtBot) -> None:
    """The lines inside a multi-line string are string-coloured, and code after it is not."""
    view = show(qtbot, '```py\ns = """one\ntwo\n"""\ndef f(): pass\n```\n')
    string = view.theme.syntax.string.name()
    assert colours(view, "two") == {"two": string}
    assert colours(view, "def f(): pass")["def"] == view.theme.syntax.keyword.name()


def test_json_and_shell_are_coloured_and_unknown_languages_are_not(qtbot: QtBot) -> None:
    """JSON keys and literals, shell variables; an unknown language stays plain."""
    view = show(
        qtbot,
        '```json\n{"key": true, "n": 3}\n```\n\n```bash\necho "$HOME" --flag\n```\n\n'
        "```brainfuck\n+[-->+<]\n```\n",
    )
    syntax = view.theme.syntax
    json_line = colours(view, '{"key": true, "n": 3}')
    assert json_line['"key"'] == syntax.name.name()
    assert json_line["true"] == syntax.keyword.name()
    assert json_line["3"] == syntax.number.name()
    assert colours(view, 'echo "$HOME" --flag')["--flag"] == syntax.name.name()
    assert colours(view, "+[-->+<]") == {}


def test_prose_is_never_coloured(qtbot: QtBot) -> None:
    """Text outside code blocks gets no syntax colours, even if it reads like code."""
    view = show(qtbot, "def return if while\n")
    assert colours(view, "def return if while") == {}
    assert isinstance(view.document(), QTextDocument)
