"""The heat-map widget: every token can be found under the mouse, whatever text precedes it."""

from __future__ import annotations

import math

from pytestqt.qtbot import QtBot

from app.core.logprobs import cells
from app.ui.chat.inspector.heat_map import HeatMapView


def test_hovering_finds_each_token_after_emoji_line_breaks_and_an_untinted_start(
    qtbot: QtBot,
) -> None:
    """Each token's tip is found where the token is drawn, wide characters and breaks included."""
    view = HeatMapView()
    view.resize(400, 300)
    qtbot.addWidget(view)
    view.show()
    texts = ["Birds", " 🐦🦩", " fly", "\n", "\n", "Tall", "\r\n", " herons", " 😀", " wade", "."]
    shown = cells(
        [{"token": t, "logprob": math.log(0.9 - 0.07 * i), "top": []} for i, t in enumerate(texts)]
    )

    view.show_cells(shown[:4], prefix="Earlier 🙂 text ")
    view.append_cells(shown[4:])

    assert view.toPlainText() == "Earlier 🙂 text Birds 🐦🦩 fly↵\n↵\nTall↵\n herons 😀 wade."
    found = [view.cell_at(view.cell_rect_center(index)) for index in range(len(shown))]
    assert found == list(range(len(shown)))
    assert "Set Top logprobs" in view.tip_html(2)
