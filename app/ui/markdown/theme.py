"""Colours and fonts of rendered Markdown, derived from the widget's palette and font.

Every tint is a mix of the palette's own colours, so light and dark palettes (and high-contrast
ones) keep their contrast; only the syntax colours come in a light and a dark set.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette


def mix(base: QColor, other: QColor, amount: float) -> QColor:
    """`base` moved `amount` (0..1) of the way towards `other`."""
    keep = 1.0 - amount
    return QColor.fromRgbF(
        base.redF() * keep + other.redF() * amount,
        base.greenF() * keep + other.greenF() * amount,
        base.blueF() * keep + other.blueF() * amount,
    )


@dataclass(frozen=True)
class SyntaxColors:
    keyword: QColor
    string: QColor
    comment: QColor
    number: QColor
    name: QColor


_LIGHT_SYNTAX = SyntaxColors(
    keyword=QColor("#0033b3"),
    string=QColor("#067d17"),
    comment=QColor("#6f737a"),
    number=QColor("#1750eb"),
    name=QColor("#871094"),
)
_DARK_SYNTAX = SyntaxColors(
    keyword=QColor("#cf8e6d"),
    string=QColor("#6aab73"),
    comment=QColor("#8c9098"),
    number=QColor("#2aacb8"),
    name=QColor("#56a8f5"),
)


@dataclass(frozen=True)
class Theme:
    """What rendered Markdown looks like in one palette."""

    text: QColor
    base: QColor
    muted: QColor
    accent: QColor
    # The "You" over a user message: the accent, lightened where the base is dark.
    user_title: QColor
    link: QColor
    code_background: QColor
    code_border: QColor
    inline_code_background: QColor
    quote_background: QColor
    user_background: QColor
    table_border: QColor
    table_header_background: QColor
    syntax: SyntaxColors
    font: QFont
    mono: QFont

    @property
    def dark(self) -> bool:
        return self.base.lightnessF() < 0.5

    @classmethod
    def from_palette(cls, palette: QPalette, font: QFont) -> Theme:
        role = QPalette.ColorRole
        text = palette.color(role.Text)
        base = palette.color(role.Base)
        accent = palette.color(role.Highlight)
        dark = base.lightnessF() < 0.5
        link = palette.color(role.Link)
        if dark and link.lightnessF() < 0.55:
            # Fusion's default link blue is unreadable on a dark base.
            link = mix(link, QColor("white"), 0.45)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(font.pointSizeF() * 0.95, 6.0))
        return cls(
            text=text,
            base=base,
            muted=mix(text, base, 0.42),
            accent=accent,
            user_title=mix(accent, text, 0.45) if dark else accent,
            link=link,
            code_background=mix(base, text, 0.10 if dark else 0.045),
            code_border=mix(base, text, 0.20 if dark else 0.13),
            inline_code_background=mix(base, text, 0.14 if dark else 0.07),
            quote_background=mix(base, accent, 0.10 if dark else 0.06),
            user_background=mix(base, accent, 0.16 if dark else 0.08),
            table_border=mix(base, text, 0.30 if dark else 0.22),
            table_header_background=mix(base, text, 0.10 if dark else 0.05),
            syntax=_DARK_SYNTAX if dark else _LIGHT_SYNTAX,
            font=QFont(font),
            mono=mono,
        )
