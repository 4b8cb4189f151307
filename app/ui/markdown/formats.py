"""Block and character formats shared by the Markdown renderer, the stream writers and the view."""

from __future__ import annotations

from PySide6.QtGui import (
    QBrush,
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextFormat,
    QTextFrameFormat,
    QTextLength,
)

from app.ui.markdown.theme import Theme

_USER = QTextFormat.Property.UserProperty.value
# On a code line: the fence's language (possibly empty). The highlighter keys on it.
CODE_LANGUAGE = _USER + 1

LINE_HEIGHT_PERCENT = 125
PROPORTIONAL = QTextBlockFormat.LineHeightTypes.ProportionalHeight.value
_FIXED = QTextBlockFormat.LineHeightTypes.FixedHeight.value
# Empty blocks Qt keeps around frames and tables: this tall, so spacing does not depend on them.
SPACER_PX = 4
CODE_PADDING_PX = 8
INDENT_PX = 24


def paragraph_format(*, bottom: float = 8) -> QTextBlockFormat:
    fmt = QTextBlockFormat()
    fmt.setTopMargin(0)
    fmt.setBottomMargin(bottom)
    fmt.setLineHeight(LINE_HEIGHT_PERCENT, PROPORTIONAL)
    return fmt


def spacer_format() -> QTextBlockFormat:
    fmt = QTextBlockFormat()
    fmt.setLineHeight(SPACER_PX, _FIXED)
    return fmt


def code_frame_format(theme: Theme, indent: int = 0) -> QTextFrameFormat:
    fmt = QTextFrameFormat()
    fmt.setBackground(theme.code_background)
    fmt.setBorder(1)
    fmt.setBorderBrush(QBrush(theme.code_border))
    fmt.setBorderStyle(QTextFrameFormat.BorderStyle.BorderStyle_Solid)
    fmt.setPadding(CODE_PADDING_PX)
    fmt.setTopMargin(2)
    fmt.setBottomMargin(6)
    fmt.setLeftMargin(indent * INDENT_PX)
    fmt.setWidth(QTextLength(QTextLength.Type.PercentageLength, 100))
    return fmt


def code_line_format(language: str) -> QTextBlockFormat:
    fmt = QTextBlockFormat()
    fmt.setProperty(CODE_LANGUAGE, language or "text")
    fmt.setLineHeight(112, PROPORTIONAL)
    return fmt


def flat_code_format(theme: Theme, language: str) -> QTextBlockFormat:
    """A code line drawn without a frame: its own background; `language` "" for the header."""
    fmt = code_line_format(language) if language else QTextBlockFormat()
    fmt.setBackground(theme.code_background)
    return fmt


def code_char_format(theme: Theme) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setFont(theme.mono, QTextCharFormat.FontPropertiesInheritanceBehavior.FontPropertiesAll)
    return fmt


def small_char_format(theme: Theme, *, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(theme.muted)
    fmt.setFontPointSize(theme.font.pointSizeF() * 0.88)
    if bold:
        fmt.setFontWeight(QFont.Weight.DemiBold)
    return fmt


def link_char_format(theme: Theme, href: str, *, small: bool = False) -> QTextCharFormat:
    fmt = small_char_format(theme) if small else QTextCharFormat()
    fmt.setAnchor(True)
    fmt.setAnchorHref(href)
    fmt.setForeground(theme.link)
    fmt.setFontUnderline(not small)
    return fmt
