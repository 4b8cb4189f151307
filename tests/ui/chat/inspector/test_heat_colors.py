"""The heat-map's colours keep text readable and grow steadily more salient, in both themes."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QPalette

from app.ui.chat.inspector.heat_colors import STEPS, HeatRamp
from app.ui.widgets.theme import COLORS, Scheme, build_palette, contrast_ratio, relative_luminance


@pytest.mark.parametrize("scheme", list(Scheme))
def test_every_tint_keeps_the_text_readable(scheme: Scheme) -> None:
    """The theme's text on any token's tint meets WCAG AA (4.5:1)."""
    palette = build_palette(COLORS[scheme])
    ramp = HeatRamp.for_palette(palette)
    text = palette.color(QPalette.ColorRole.Text)
    ratios = [contrast_ratio(ramp.color_at(level), text) for level in range(STEPS + 1)]
    assert min(ratios) >= 4.5


@pytest.mark.parametrize("scheme", list(Scheme))
def test_less_likely_tokens_stand_further_from_the_background(scheme: Scheme) -> None:
    """Each step down in probability moves the tint further from the page, never back."""
    palette = build_palette(COLORS[scheme])
    ramp = HeatRamp.for_palette(palette)
    base = palette.color(QPalette.ColorRole.Base)
    distances = [contrast_ratio(ramp.color(1 - level / STEPS), base) for level in range(STEPS + 1)]
    assert distances == sorted(distances)
    assert distances[-1] > 1.5 * distances[0]


def test_the_ramp_runs_from_certain_to_impossible() -> None:
    """A certain token gets the faintest tint and an impossible one the strongest."""
    ramp = HeatRamp.for_palette(build_palette(COLORS[Scheme.LIGHT]))
    assert ramp.level(1.0) == 0 and ramp.level(0.0) == STEPS
    assert ramp.level(0.5) == STEPS // 2
    faint, strong = ramp.color(1.0), ramp.color(0.0)
    assert relative_luminance(faint) > relative_luminance(strong)
