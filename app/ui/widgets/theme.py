"""Light and dark themes: a full palette for each, plus a small stylesheet for what palettes miss.

`ThemeController.apply(theme)` switches the running application. `Theme.SYSTEM` keeps the
platform's own palette and style when they already match the desktop's colour scheme, and
otherwise uses Chatdesk's palette for that scheme; it follows the desktop when the user switches
between light and dark. An explicit light or dark choice uses Chatdesk's palette with the Fusion
style, the one built-in style that draws every control from the palette on every platform
(the native Windows and macOS styles ignore parts of it, which breaks contrast).

Every foreground/background pair used for text meets WCAG AA (4.5:1); the accent used for
headings on the base colour meets the 3:1 asked of large or bold text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from app.core.settings import Theme

FUSION = "fusion"
# A label's `tone` property picks its colour from the stylesheet (see `set_tone`).
TONE_PROPERTY = "tone"


class Scheme(StrEnum):
    LIGHT = "light"
    DARK = "dark"


class Tone(StrEnum):
    """What a status line means, for its colour."""

    NORMAL = ""
    ERROR = "error"
    SUCCESS = "success"
    MUTED = "muted"


@dataclass(frozen=True)
class Colors:
    """The colours of one scheme, as `#rrggbb`."""

    window: str
    window_text: str
    base: str
    alternate_base: str
    text: str
    button: str
    button_text: str
    highlight: str
    highlighted_text: str
    link: str
    link_visited: str
    placeholder: str
    tooltip_base: str
    tooltip_text: str
    light: str
    midlight: str
    mid: str
    dark: str
    shadow: str
    disabled_text: str
    error: str
    success: str


LIGHT = Colors(
    window="#f3f3f3",
    window_text="#1a1a1a",
    base="#ffffff",
    alternate_base="#f5f5f5",
    text="#1a1a1a",
    button="#f7f7f7",
    button_text="#1a1a1a",
    highlight="#1f5fbf",
    highlighted_text="#ffffff",
    link="#1a56b8",
    link_visited="#6a3ab2",
    placeholder="#6b6b6b",
    tooltip_base="#ffffff",
    tooltip_text="#1a1a1a",
    light="#ffffff",
    midlight="#e4e4e4",
    mid="#b8b8b8",
    dark="#8f8f8f",
    shadow="#5a5a5a",
    disabled_text="#707070",
    error="#b3261e",
    success="#1a7f37",
)

DARK = Colors(
    window="#242424",
    window_text="#e6e6e6",
    base="#1b1b1b",
    alternate_base="#232323",
    text="#e6e6e6",
    button="#303030",
    button_text="#e6e6e6",
    highlight="#3a72d8",
    highlighted_text="#ffffff",
    link="#8ab4f8",
    link_visited="#c58af9",
    placeholder="#a0a0a0",
    tooltip_base="#303030",
    tooltip_text="#e6e6e6",
    light="#3c3c3c",
    midlight="#333333",
    mid="#4a4a4a",
    dark="#161616",
    shadow="#000000",
    disabled_text="#8c8c8c",
    error="#ffb4ab",
    success="#7ee2a0",
)

COLORS = {Scheme.LIGHT: LIGHT, Scheme.DARK: DARK}


def relative_luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of `color` (0 black to 1 white)."""

    def channel(value: float) -> float:
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.redF())
        + 0.7152 * channel(color.greenF())
        + 0.0722 * channel(color.blueF())
    )


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG 2 contrast ratio between two colours, from 1 (none) to 21 (black on white)."""
    a, b = relative_luminance(first), relative_luminance(second)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def is_dark(palette: QPalette) -> bool:
    """Whether `palette` is a dark one: light text on a dark window."""
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def build_palette(colors: Colors) -> QPalette:
    """A complete palette: every role in every colour group, so nothing of the platform's shows."""
    role = QPalette.ColorRole
    palette = QPalette()
    values = {
        role.Window: colors.window,
        role.WindowText: colors.window_text,
        role.Base: colors.base,
        role.AlternateBase: colors.alternate_base,
        role.Text: colors.text,
        role.Button: colors.button,
        role.ButtonText: colors.button_text,
        role.BrightText: colors.error,
        role.Highlight: colors.highlight,
        role.HighlightedText: colors.highlighted_text,
        role.Link: colors.link,
        role.LinkVisited: colors.link_visited,
        role.PlaceholderText: colors.placeholder,
        role.ToolTipBase: colors.tooltip_base,
        role.ToolTipText: colors.tooltip_text,
        role.Light: colors.light,
        role.Midlight: colors.midlight,
        role.Mid: colors.mid,
        role.Dark: colors.dark,
        role.Shadow: colors.shadow,
        role.Accent: colors.highlight,
    }
    for name, value in values.items():
        palette.setColor(name, QColor(value))
    disabled = QPalette.ColorGroup.Disabled
    for name in (role.WindowText, role.Text, role.ButtonText, role.HighlightedText):
        palette.setColor(disabled, name, QColor(colors.disabled_text))
    palette.setColor(disabled, role.Highlight, QColor(colors.mid))
    palette.setColor(disabled, role.Base, QColor(colors.window))
    palette.setColor(disabled, role.Button, QColor(colors.window))
    return palette


def stylesheet(colors: Colors) -> str:
    """The few rules a palette cannot express."""
    return f"""
QToolTip {{
    color: {colors.tooltip_text};
    background-color: {colors.tooltip_base};
    border: 1px solid {colors.mid};
    padding: 4px;
}}
QLabel[{TONE_PROPERTY}="error"] {{ color: {colors.error}; }}
QLabel[{TONE_PROPERTY}="success"] {{ color: {colors.success}; }}
QLabel[{TONE_PROPERTY}="muted"] {{ color: {colors.placeholder}; }}
"""


def set_tone(widget: QWidget, tone: Tone) -> None:
    """Colour `widget` (a label) by what it says; the stylesheet maps each tone to a colour."""
    if widget.property(TONE_PROPERTY) == tone.value:
        return
    widget.setProperty(TONE_PROPERTY, tone.value)
    # Property selectors are matched when a widget is polished, so polish it again.
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()


class ThemeController(QObject):
    """Applies the chosen theme to the whole application and keeps it applied.

    `theme_applied` carries the scheme now showing. Only one controller should exist per
    application: they would fight over the palette.
    """

    theme_applied = Signal(str)

    def __init__(self, app: QApplication, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._app = app
        # Tracked here: once a stylesheet is set, app.style() is Qt's stylesheet wrapper,
        # whose name() is empty.
        self._original_style = app.style().name() or FUSION
        self._style = self._original_style
        self._original_stylesheet = app.styleSheet()
        self._theme = Theme.SYSTEM
        self._scheme = Scheme.DARK if is_dark(app.palette()) else Scheme.LIGHT
        app.styleHints().colorSchemeChanged.connect(self.on_hints_color_scheme_changed)

    @property
    def theme(self) -> Theme:
        return self._theme

    @property
    def style_name(self) -> str:
        """The name of the widget style in use (`fusion` whenever Chatdesk's palette is)."""
        return self._style

    @property
    def scheme(self) -> Scheme:
        """Light or dark: what is showing now."""
        return self._scheme

    def apply(self, theme: Theme) -> Scheme:
        """Show `theme` now, in every window; returns the scheme it resolved to."""
        self._theme = theme
        if theme is Theme.SYSTEM:
            scheme = self._apply_system()
        else:
            scheme = Scheme(theme.value)
            self._use_own_palette(scheme)
        self._scheme = scheme
        self._app.setStyleSheet(self._original_stylesheet + stylesheet(COLORS[scheme]))
        self.theme_applied.emit(scheme.value)
        return scheme

    def restore(self) -> None:
        """Give the application back its platform palette, style and stylesheet."""
        self._app.styleHints().colorSchemeChanged.disconnect(self.on_hints_color_scheme_changed)
        self._app.setStyleSheet(self._original_stylesheet)
        self._set_style(self._original_style)
        # A palette with no roles set hands the application back to the platform's palette.
        self._app.setPalette(QPalette())

    def on_hints_color_scheme_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self._theme is Theme.SYSTEM:
            self.apply(Theme.SYSTEM)

    def _apply_system(self) -> Scheme:
        self._set_style(self._original_style)
        self._app.setPalette(QPalette())
        platform_dark = is_dark(self._app.palette())
        wanted = self._app.styleHints().colorScheme()
        if wanted == Qt.ColorScheme.Dark and not platform_dark:
            self._use_own_palette(Scheme.DARK)
            return Scheme.DARK
        if wanted == Qt.ColorScheme.Light and platform_dark:
            self._use_own_palette(Scheme.LIGHT)
            return Scheme.LIGHT
        return Scheme.DARK if platform_dark else Scheme.LIGHT

    def _use_own_palette(self, scheme: Scheme) -> None:
        self._set_style(FUSION)
        self._app.setPalette(build_palette(COLORS[scheme]))

    def _set_style(self, name: str) -> None:
        # Setting a style re-polishes every widget: only when it actually changes.
        if self._style.lower() != name.lower():
            self._app.setStyle(name)
            self._style = name
