"""Themes: light and dark palettes with readable contrast, applied live from the settings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.settings import Theme
from app.ui.widgets.error_banner import banner_colors
from app.ui.widgets.theme import (
    COLORS,
    Colors,
    Scheme,
    ThemeController,
    build_palette,
    contrast_ratio,
    is_dark,
)
from tests.support.gui_session import (  # noqa: F401
    make_context,
    open_session_fixture,
    settle,
    theme_controller_fixture,
)
from tests.support.qt import Runner

Role = QPalette.ColorRole
# Text a person reads, on what it is drawn on: WCAG AA asks 4.5:1.
TEXT_PAIRS = [
    (Role.WindowText, Role.Window),
    (Role.Text, Role.Base),
    (Role.Text, Role.AlternateBase),
    (Role.ButtonText, Role.Button),
    (Role.HighlightedText, Role.Highlight),
    (Role.ToolTipText, Role.ToolTipBase),
    (Role.PlaceholderText, Role.Base),
    (Role.Link, Role.Base),
]


@pytest.mark.parametrize("scheme", list(Scheme))
def test_every_text_colour_reads_well_on_its_background(scheme: Scheme) -> None:
    """Each text role against its background meets WCAG AA in both palettes."""
    palette = build_palette(COLORS[scheme])
    weak = {
        f"{fg.name}/{bg.name}": round(contrast_ratio(palette.color(fg), palette.color(bg)), 2)
        for fg, bg in TEXT_PAIRS
        if contrast_ratio(palette.color(fg), palette.color(bg)) < 4.5
    }
    assert weak == {}


@pytest.mark.parametrize("scheme", list(Scheme))
def test_message_colours_and_headings_stay_readable(scheme: Scheme) -> None:
    """Error and success text meet 4.5:1; the accent used for bold headings meets 3:1."""
    colors: Colors = COLORS[scheme]
    base = QColor(colors.base)
    window = QColor(colors.window)
    assert contrast_ratio(QColor(colors.error), window) >= 4.5
    assert contrast_ratio(QColor(colors.success), window) >= 4.5
    assert contrast_ratio(QColor(colors.highlight), base) >= 3


def test_contrast_ratio_matches_the_wcag_extremes() -> None:
    """Black on white is 21:1 and a colour on itself 1:1."""
    assert contrast_ratio(QColor("black"), QColor("white")) == pytest.approx(21)
    assert contrast_ratio(QColor("#777777"), QColor("#777777")) == pytest.approx(1)


def test_dark_and_light_switch_the_application_palette(
    qapp: QApplication, theme_controller: ThemeController
) -> None:
    """Applying dark gives the whole application dark colours; light brings light ones back."""
    assert theme_controller.apply(Theme.DARK) is Scheme.DARK
    assert is_dark(qapp.palette())
    assert qapp.palette().color(Role.Window) == QColor(COLORS[Scheme.DARK].window)
    assert theme_controller.style_name == "fusion"
    assert "QToolTip" in qapp.styleSheet()

    assert theme_controller.apply(Theme.LIGHT) is Scheme.LIGHT
    assert not is_dark(qapp.palette())
    assert qapp.palette().color(Role.Base) == QColor(COLORS[Scheme.LIGHT].base)


def test_system_follows_the_platform_when_it_states_no_preference(
    qapp: QApplication, theme_controller: ThemeController
) -> None:
    """With no colour-scheme hint (as offscreen), system keeps the platform's own palette."""
    theme_controller.apply(Theme.DARK)
    scheme = theme_controller.apply(Theme.SYSTEM)

    platform = QPalette()
    assert qapp.palette().color(Role.Window) == platform.color(Role.Window)
    assert scheme is (Scheme.DARK if is_dark(platform) else Scheme.LIGHT)


def test_saving_a_theme_in_settings_repaints_the_open_window(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    qapp: QApplication,
    theme_controller: ThemeController,
    open_session: Callable[..., GuiSession],
) -> None:
    """Choosing Dark in the dialog and saving turns the running window and its banner dark."""
    context = make_context(data_dir)
    session = open_session(context, theme=theme_controller)
    window = session.window
    window.banner.show_problem("Something to see", "In both themes")
    assert banner_colors(window.banner.palette()).background == QColor("#fdecea")

    async def scenario() -> None:
        session.on_window_settings_requested("theme")
        dialog = session.settings_dialog
        assert dialog is not None
        await settle(dialog)
        dialog.theme_combo.setCurrentIndex(dialog.theme_combo.findData(Theme.DARK))
        assert await dialog.save()
        await session.shutdown()

    run(scenario())

    assert context.settings.theme is Theme.DARK
    assert is_dark(window.palette())
    assert window.chat_view.palette().color(Role.Base) == QColor(COLORS[Scheme.DARK].base)
    assert banner_colors(window.banner.palette()).background == QColor("#3b1816")
