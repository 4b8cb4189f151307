"""Markdown text to a styled, safe document fragment, ready to insert into the transcript.

Qt's Markdown importer (md4c, GitHub dialect) does the parsing, with raw HTML turned off so
`<img>` or `<script>` in model output stays text. The imported document is then restyled for
the chat view and made safe before anything of it reaches the view:

- images become a text placeholder (a link when the image is on the web), so no image is
  ever loaded, from the network or from disk;
- links other than http(s) become plain text;
- code blocks are boxed, with their language and a Copy link, and tagged for highlighting.

Work happens in a scratch document, so its cost depends on the Markdown given, never on the
transcript it is inserted into.
"""

from __future__ import annotations

from PySide6.QtGui import (
    QFont,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
    QTextFrame,
    QTextTable,
    QTextTableFormat,
)

from app.ui.markdown import formats
from app.ui.markdown.blocks import code_content, opening_fence
from app.ui.markdown.links import InternalLinks, is_web_link
from app.ui.markdown.theme import Theme

# md4c's MD_FLAG_HARD_SOFT_BREAKS (Qt hands its flags to md4c as they are): a line break in a
# message is a line break on screen, as people expect in a chat (a poem, an address).
_HARD_LINE_BREAKS = 0x8000
FEATURES = QTextDocument.MarkdownFeature(
    QTextDocument.MarkdownFeature.MarkdownDialectGitHub.value
    | QTextDocument.MarkdownFeature.MarkdownNoHTML.value
    | _HARD_LINE_BREAKS
)
_P = QTextFormat.Property
_HEADING_SCALE = {1: 1.45, 2: 1.28, 3: 1.14}
_OBJECT_CHAR = "\ufffc"
_ALL_FONT_PROPERTIES = QTextCharFormat.FontPropertiesInheritanceBehavior.FontPropertiesAll


class CodeRegistry:
    """The exact text of each rendered code block, for its Copy link.

    A block still streaming registers the list its text is appended to, joined only when
    copied.
    """

    def __init__(self) -> None:
        self._texts: dict[int, list[str]] = {}
        self._next = 0

    def add(self, text: str | list[str]) -> int:
        self._next += 1
        self._texts[self._next] = [text] if isinstance(text, str) else text
        return self._next

    def text(self, code_id: int) -> str | None:
        parts = self._texts.get(code_id)
        return None if parts is None else "".join(parts)

    def discard(self, code_ids: list[int]) -> None:
        for code_id in code_ids:
            self._texts.pop(code_id, None)


class MarkdownRenderer:
    """Renders Markdown for one view; `code_ids` collects the code blocks each call registers."""

    def __init__(self, theme: Theme, links: InternalLinks, codes: CodeRegistry) -> None:
        self.theme = theme
        self.links = links
        self.codes = codes

    def fragment(self, markdown: str, code_ids: list[int]) -> QTextDocumentFragment:
        """`markdown` rendered; insert it at the end of a block (it starts with a block break)."""
        scratch = QTextDocument()
        scratch.setMarkdown(markdown, FEATURES)
        # The importer turns tabs into spaces; Copy gives a fenced block's text as written.
        fenced = opening_fence(markdown)
        source = code_content(markdown, fenced[1]) if fenced else None
        self._restyle(scratch, code_ids, source)
        # The first block of an inserted fragment merges into the block at the cursor and
        # loses its own format (a heading would become body text). An empty first block is
        # the one that merges, and every real block keeps its format. It is given a neutral
        # format so that whatever Qt makes of it when merging is the same every time.
        cursor = QTextCursor(scratch)
        cursor.insertBlock()
        cursor.movePosition(QTextCursor.MoveOperation.Start)
        cursor.setBlockFormat(formats.spacer_format())
        cursor.setBlockCharFormat(QTextCharFormat())
        return QTextDocumentFragment(scratch)

    def insert_code_frame(
        self, cursor: QTextCursor, language: str, code_id: int, indent: int = 0
    ) -> QTextFrame:
        """A boxed code block at `cursor`: its header line, then an empty code line for the code."""
        frame = cursor.insertFrame(formats.code_frame_format(self.theme, indent))
        header = QTextBlockFormat()
        header.setBottomMargin(4)
        cursor.setBlockFormat(header)
        self._insert_code_header(cursor, language, code_id)
        cursor.insertBlock(formats.code_line_format(language), formats.code_char_format(self.theme))
        return frame

    def insert_flat_code(self, cursor: QTextCursor, language: str, code_id: int) -> None:
        """A code block drawn with block backgrounds, not a frame, after the cursor's block.

        Appending to a frame re-lays out all of it, so a code block still streaming (or one
        too large to render) is drawn this way; the cursor is left in its first code line.
        """
        theme = self.theme
        header = formats.flat_code_format(theme, "")
        header.setTopMargin(2)
        header.setBottomMargin(0)
        cursor.insertBlock(header, QTextCharFormat())
        self._insert_code_header(cursor, language, code_id)
        cursor.insertBlock(
            formats.flat_code_format(theme, language), formats.code_char_format(theme)
        )

    def _insert_code_header(self, cursor: QTextCursor, language: str, code_id: int) -> None:
        theme = self.theme
        cursor.insertText(language or "code", formats.small_char_format(theme, bold=True))
        cursor.insertText("   ", formats.small_char_format(theme))
        copy = formats.link_char_format(theme, self.links.href("copy-code", code_id), small=True)
        cursor.insertText("Copy", copy)

    # Restyling the scratch document

    def _restyle(self, doc: QTextDocument, code_ids: list[int], source: str | None) -> None:
        code_runs: list[tuple[QTextBlock, QTextBlock]] = []
        block = doc.begin()
        while block.isValid():
            block_format = block.blockFormat()
            if block_format.hasProperty(_P.BlockCodeLanguage):
                if code_runs and code_runs[-1][1].next() == block:
                    code_runs[-1] = (code_runs[-1][0], block)
                else:
                    code_runs.append((block, block))
            else:
                self._style_block(doc, block)
                self._style_spans(block)
            block = block.next()
        if len(code_runs) != 1:
            source = None
        for first, last in reversed(code_runs):
            self._box_code(doc, first, last, code_ids, source)
        self._style_tables(doc.rootFrame())

    def _style_block(self, doc: QTextDocument, block: QTextBlock) -> None:
        old = block.blockFormat()
        # Start from the imported format: it also holds the block's list membership.
        fmt = QTextBlockFormat(old)
        level = old.headingLevel()
        quote_level = old.intProperty(_P.BlockQuoteLevel)
        if level:
            _set_spacing(fmt, top=10 if level <= 2 else 6, bottom=4)
            self._style_heading_text(block, level)
        elif isinstance(doc.frameAt(block.position()), QTextTable):
            return
        elif block.textList() is not None:
            _set_spacing(fmt, top=0, bottom=3)
        elif quote_level > 0:
            _set_spacing(fmt, top=4, bottom=8)
            fmt.setLeftMargin(14 * quote_level)
            fmt.setRightMargin(0)
            fmt.setBackground(self.theme.quote_background)
            muted = QTextCharFormat()
            muted.setForeground(self.theme.muted)
            cursor = QTextCursor(block)
            cursor.movePosition(
                QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor
            )
            cursor.mergeCharFormat(muted)
        elif not block.text() and not old.hasProperty(_P.BlockTrailingHorizontalRulerWidth):
            fmt = formats.spacer_format()
        else:
            _set_spacing(fmt, top=0, bottom=8)
        QTextCursor(block).setBlockFormat(fmt)

    def _style_heading_text(self, block: QTextBlock, level: int) -> None:
        scale = _HEADING_SCALE.get(level, 1.0)
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        heading = QTextCharFormat()
        heading.setFontPointSize(self.theme.font.pointSizeF() * scale)
        heading.setFontWeight(QFont.Weight.Bold if level <= 3 else QFont.Weight.DemiBold)
        cursor.mergeCharFormat(heading)
        # The importer's relative sizes would stack on top of the explicit one.
        iterator = block.begin()
        spans = []
        while not iterator.atEnd():
            fragment = iterator.fragment()
            spans.append((fragment.position(), fragment.length(), fragment.charFormat()))
            iterator += 1
        for position, length, char_format in spans:
            if char_format.hasProperty(_P.FontSizeAdjustment):
                char_format.clearProperty(_P.FontSizeAdjustment)
                span = QTextCursor(block.document())
                span.setPosition(position)
                span.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
                span.setCharFormat(char_format)

    def _style_spans(self, block: QTextBlock) -> None:
        """Links made safe, images replaced by a placeholder, inline code tinted."""
        edits = []
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            char_format = fragment.charFormat()
            if char_format.isImageFormat() or _OBJECT_CHAR in fragment.text():
                edits.append((fragment.position(), fragment.length(), char_format, "image"))
            elif char_format.isAnchor():
                edits.append((fragment.position(), fragment.length(), char_format, "link"))
            elif char_format.fontFixedPitch():
                edits.append((fragment.position(), fragment.length(), char_format, "code"))
            iterator += 1
        theme = self.theme
        for position, length, char_format, kind in reversed(edits):
            cursor = QTextCursor(block.document())
            cursor.setPosition(position)
            cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
            if kind == "image":
                cursor.insertText(*self._image_placeholder(char_format))
            elif kind == "link":
                cursor.setCharFormat(self._safe_link(char_format))
            else:
                code = QTextCharFormat(char_format)
                code.setFont(theme.mono, _ALL_FONT_PROPERTIES)
                code.setBackground(theme.inline_code_background)
                cursor.setCharFormat(code)

    def _safe_link(self, char_format: QTextCharFormat) -> QTextCharFormat:
        href = char_format.anchorHref()
        safe = QTextCharFormat(char_format)
        if is_web_link(href):
            safe.setForeground(self.theme.link)
            safe.setFontUnderline(True)
            safe.setToolTip(href)
            return safe
        safe.setAnchor(False)
        safe.setAnchorHref("")
        safe.clearProperty(_P.ForegroundBrush)
        safe.setFontUnderline(False)
        safe.clearProperty(_P.TextToolTip)
        return safe

    def _image_placeholder(self, char_format: QTextCharFormat) -> tuple[str, QTextCharFormat]:
        source = char_format.stringProperty(_P.ImageName)
        alt = char_format.stringProperty(_P.ImageAltText) or char_format.stringProperty(
            _P.ImageTitle
        )
        text = f"[image: {alt}]" if alt else "[image]"
        if is_web_link(source):
            # Shown as a link the user may open in a browser; never loaded here.
            link = formats.link_char_format(self.theme, source)
            link.setToolTip(source)
            return text, link
        plain = QTextCharFormat()
        plain.setForeground(self.theme.muted)
        return text, plain

    def _box_code(
        self,
        doc: QTextDocument,
        first: QTextBlock,
        last: QTextBlock,
        code_ids: list[int],
        source: str | None,
    ) -> None:
        lines = []
        block = first
        while True:
            lines.append(block.text())
            if block == last:
                break
            block = block.next()
        block_format = first.blockFormat()
        language = str(block_format.property(_P.BlockCodeLanguage) or "")
        text = "\n".join(lines)
        code_id = self.codes.add(text if source is None else source)
        code_ids.append(code_id)
        cursor = QTextCursor(doc)
        cursor.setPosition(first.position())
        cursor.setPosition(last.position() + last.length() - 1, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()
        cursor.setBlockFormat(formats.spacer_format())
        cursor.setBlockCharFormat(QTextCharFormat())
        self.insert_code_frame(cursor, language, code_id, block_format.indent())
        cursor.insertText(text)

    def _style_tables(self, frame: QTextFrame) -> None:
        for child in frame.childFrames():
            if isinstance(child, QTextTable):
                self._style_table(child)
            self._style_tables(child)

    def _style_table(self, table: QTextTable) -> None:
        theme = self.theme
        table_format = QTextTableFormat(table.format())
        table_format.setBorder(1)
        table_format.setBorderBrush(theme.table_border)
        table_format.setBorderStyle(QTextTableFormat.BorderStyle.BorderStyle_Solid)
        table_format.setBorderCollapse(True)
        table_format.setCellSpacing(0)
        table_format.setCellPadding(5)
        table_format.setTopMargin(2)
        table_format.setBottomMargin(10)
        table_format.setHeaderRowCount(1)
        table.setFormat(table_format)
        for column in range(table.columns()):
            cell = table.cellAt(0, column)
            cell_format = cell.format()
            cell_format.setBackground(theme.table_header_background)
            cell.setFormat(cell_format)


def _set_spacing(fmt: QTextBlockFormat, *, top: float, bottom: float) -> None:
    fmt.setTopMargin(top)
    fmt.setBottomMargin(bottom)
    fmt.setLineHeight(formats.LINE_HEIGHT_PERCENT, formats.PROPORTIONAL)
