"""A bar chart of spend per day, each bar stacked by model, painted with QPainter.

QtCharts is not part of PySide6-Essentials, and a chart this simple does not need it. The data
is prepared Qt-free by `stack_days`; `SpendChart` lays it out, paints it in the theme's colours,
and explains each bar in a tooltip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from PySide6.QtCore import QEvent, QPoint, QPointF, QRect, QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from app.core.store.ledger import DailySpend
from app.core.usage import format_usd
from app.ui.widgets.theme import is_dark

# Beyond this many models the smallest are drawn together, so colours stay tellable apart.
MAX_SERIES = 8
OTHER_MODELS = "other models"
# Tableau 10: distinct hues of middling lightness that read on white and on dark grey alike.
SERIES_COLOURS = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#76b7b2",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
)
_OTHER_COLOUR = "#9a9a9a"
_BAR_SHARE = 0.72
_GAP = 8
_SWATCH = 10


@dataclass(frozen=True)
class DayBar:
    """One day's bar: cost per series (in `StackedDays.series` order) and what it counted."""

    day: date
    costs: tuple[Decimal, ...]
    models: tuple[DailySpend, ...]

    @property
    def total(self) -> Decimal:
        return sum(self.costs, Decimal(0))

    @property
    def requests(self) -> int:
        return sum(entry.requests for entry in self.models)

    @property
    def unpriced_requests(self) -> int:
        return sum(entry.unpriced_requests for entry in self.models)


@dataclass(frozen=True)
class StackedDays:
    """Every day of the period, oldest first, with its costs split into `series`."""

    series: tuple[str, ...]
    bars: tuple[DayBar, ...]

    @property
    def highest(self) -> Decimal:
        return max((bar.total for bar in self.bars), default=Decimal(0))

    @property
    def empty(self) -> bool:
        return not any(bar.models for bar in self.bars)


def stack_days(days: Sequence[date], daily: Sequence[DailySpend]) -> StackedDays:
    """Arrange `daily` into one bar per day of `days`, biggest spender at the bottom."""
    totals: dict[str, Decimal] = {}
    for entry in daily:
        totals[entry.model] = totals.get(entry.model, Decimal(0)) + entry.cost_usd
    # A model without a known price draws nothing: it is in the tooltips, not the legend.
    ranked = sorted(
        (model for model, total in totals.items() if total > 0),
        key=lambda model: (-totals[model], model),
    )
    if len(ranked) > MAX_SERIES:
        kept = ranked[: MAX_SERIES - 1]
        series = (*kept, OTHER_MODELS)
    else:
        kept = ranked
        series = tuple(ranked)
    index = {model: i for i, model in enumerate(kept)}
    by_day: dict[date, list[DailySpend]] = {}
    for entry in daily:
        by_day.setdefault(entry.day, []).append(entry)
    bars = []
    for day in days:
        costs = [Decimal(0)] * len(series)
        entries = by_day.get(day, [])
        for entry in entries:
            if entry.cost_usd > 0:
                costs[index.get(entry.model, len(series) - 1)] += entry.cost_usd
        ordered = sorted(entries, key=lambda e: (-e.cost_usd, e.model))
        bars.append(DayBar(day, tuple(costs), tuple(ordered)))
    return StackedDays(series, tuple(bars))


def nice_step(highest: Decimal, ticks: int = 4) -> Decimal:
    """A round step (1, 2 or 5 × 10ⁿ dollars) giving about `ticks` gridlines up to `highest`."""
    if highest <= 0:
        return Decimal("0.01")
    rough = highest / ticks
    exponent = math.floor(math.log10(rough))
    scale = Decimal(10) ** exponent
    for factor in (1, 2, 5, 10):
        if scale * factor >= rough:
            return scale * factor
    return scale * 10  # pragma: no cover - the loop always returns


def axis_text(value: Decimal, step: Decimal) -> str:
    """A gridline's label with as many decimals as the step needs: $0, $0.50, $2, $0.005."""
    exponent = step.normalize().as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    if places == 0:
        return f"${value:,.0f}"
    return f"${value:,.{max(places, 2)}f}"


def day_text(day: date) -> str:
    return f"{day:%b} {day.day}"


def bar_details(bar: DayBar) -> str:
    """A bar's tooltip: the day's total, then each model's share."""
    requests = f"{bar.requests:,} request{'s' if bar.requests != 1 else ''}"
    lines = [f"{bar.day:%a} {day_text(bar.day)}: {format_usd(bar.total)} · {requests}"]
    for entry in bar.models:
        money = format_usd(entry.cost_usd) if entry.requests > entry.unpriced_requests else "—"
        lines.append(f"{entry.model}: {money} ({entry.requests:,})")
    if bar.unpriced_requests:
        lines.append(f"{bar.unpriced_requests:,} without a known price, not included")
    if not bar.models:
        lines.append("No requests")
    return "\n".join(lines)


class SpendChart(QWidget):
    """Spend per day as stacked bars, with dollar gridlines, a legend and per-bar tooltips."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("spendChart")
        self.setAccessibleName("Spend per day")
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(360, 200)
        self._data = StackedDays((), ())
        self._daily_budget: Decimal | None = None
        self._hovered = -1

    @property
    def data(self) -> StackedDays:
        return self._data

    @property
    def daily_budget(self) -> Decimal | None:
        return self._daily_budget

    def set_data(
        self,
        days: Sequence[date],
        daily: Sequence[DailySpend],
        daily_budget: Decimal | None = None,
    ) -> None:
        """Show `daily` over `days`; `daily_budget` draws the budget's daily average as a line."""
        self._data = stack_days(days, daily)
        self._daily_budget = daily_budget
        self._hovered = -1
        self.setAccessibleDescription(self._summary())
        self.update()

    def series_colour(self, index: int) -> QColor:
        """The colour of series `index`, a little lighter on a dark theme."""
        name = self._data.series[index] if index < len(self._data.series) else ""
        colour = QColor(
            _OTHER_COLOUR if name == OTHER_MODELS else SERIES_COLOURS[index % len(SERIES_COLOURS)]
        )
        return colour.lighter(115) if is_dark(self.palette()) else colour

    def sizeHint(self) -> QSize:
        return QSize(680, 320)

    # Geometry, shared by painting and hit-testing

    def _legend_rows(self, width: int) -> list[list[tuple[int, str, int]]]:
        """The legend's entries (series index, name, width) wrapped into rows of `width`."""
        metrics = self.fontMetrics()
        rows: list[list[tuple[int, str, int]]] = [[]]
        used = 0
        entries = [(i, name) for i, name in enumerate(self._data.series)]
        if self._daily_budget is not None:
            entries.append((-1, f"budget per day ({format_usd(self._daily_budget)})"))
        for index, name in entries:
            item = _SWATCH + 6 + metrics.horizontalAdvance(name)
            if rows[-1] and used + item > width:
                rows.append([])
                used = 0
            rows[-1].append((index, name, item))
            used += item + 16
        return rows if rows[0] else []

    def _scale(self) -> tuple[Decimal, Decimal]:
        """The step between gridlines and the top of the axis."""
        highest = self._data.highest
        if self._daily_budget is not None:
            highest = max(highest, self._daily_budget)
        step = nice_step(highest)
        top = step * max(1, math.ceil(highest / step)) if highest > 0 else step * 4
        return step, top

    def _plot_rect(self) -> QRect:
        metrics = self.fontMetrics()
        step, top = self._scale()
        label_width = max(
            metrics.horizontalAdvance(axis_text(step * i, step)) for i in range(int(top / step) + 1)
        )
        line = metrics.height()
        legend_height = len(self._legend_rows(self.width() - 2 * _GAP)) * (line + 4)
        left = _GAP + label_width + 6
        return QRect(
            left,
            # A line's room under the legend keeps the top gridline's label clear of it.
            _GAP + legend_height + line,
            max(1, self.width() - left - _GAP - 4),
            max(1, self.height() - legend_height - 3 * line - 2 * _GAP),
        )

    def bar_rect(self, index: int) -> QRectF:
        """Where bar `index` is drawn at its full height (its slot, for hit-testing)."""
        plot = self._plot_rect()
        count = max(1, len(self._data.bars))
        slot = plot.width() / count
        return QRectF(plot.left() + slot * index, plot.top(), slot, plot.height())

    def bar_at(self, pos: QPoint | QPointF) -> int:
        """The index of the bar under `pos`, or -1."""
        plot = self._plot_rect()
        if not self._data.bars or not plot.contains(QPoint(int(pos.x()), int(pos.y()))):
            return -1
        slot = plot.width() / len(self._data.bars)
        index = int((pos.x() - plot.left()) / slot)
        return index if 0 <= index < len(self._data.bars) else -1

    # Qt events

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            index = self.bar_at(event.pos())
            if index >= 0:
                QToolTip.showText(
                    event.globalPos(),
                    bar_details(self._data.bars[index]),
                    self,
                    self.bar_rect(index).toRect(),
                )
            else:
                QToolTip.hideText()
                event.ignore()
            return True
        return super().event(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.bar_at(event.position())
        if index != self._hovered:
            self._hovered = index
            self.update()

    def leaveEvent(self, event: QEvent) -> None:
        self._hovered = -1
        self.update()
        super().leaveEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        # A theme switch changes the palette: the bars' colours follow it.
        if event.type() == QEvent.Type.PaletteChange:
            self.update()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        text = palette.color(QPalette.ColorRole.WindowText)
        muted = palette.color(QPalette.ColorRole.PlaceholderText)
        grid = palette.color(QPalette.ColorRole.Mid)
        plot = self._plot_rect()
        self._paint_legend(painter, text)
        self._paint_grid(painter, plot, text, grid)
        self._paint_bars(painter, plot)
        self._paint_days(painter, plot, text)
        self._paint_budget_line(painter, plot)
        if self._data.empty:
            painter.setPen(muted)
            painter.drawText(plot, int(Qt.AlignmentFlag.AlignCenter), "No requests in this period")
        painter.end()

    # Painting

    def _y(self, plot: QRect, value: Decimal, top: Decimal) -> float:
        return plot.bottom() - float(value / top) * plot.height()

    def _paint_legend(self, painter: QPainter, text: QColor) -> None:
        metrics = self.fontMetrics()
        y = _GAP
        for row in self._legend_rows(self.width() - 2 * _GAP):
            x = _GAP
            for index, name, width in row:
                swatch = QRectF(x, y + (metrics.height() - _SWATCH) / 2, _SWATCH, _SWATCH)
                if index < 0:
                    painter.setPen(self._budget_pen())
                    mid = swatch.center().y()
                    painter.drawLine(QPointF(swatch.left(), mid), QPointF(swatch.right(), mid))
                else:
                    painter.fillRect(swatch, self.series_colour(index))
                painter.setPen(text)
                painter.drawText(
                    QRect(x + _SWATCH + 6, y, width, metrics.height()),
                    int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                    name,
                )
                x += width + 16
            y += metrics.height() + 4

    def _paint_grid(self, painter: QPainter, plot: QRect, text: QColor, grid: QColor) -> None:
        metrics = self.fontMetrics()
        step, top = self._scale()
        for i in range(int(top / step) + 1):
            value = step * i
            y = round(self._y(plot, value, top))
            painter.setPen(QPen(grid, 1, Qt.PenStyle.SolidLine if i == 0 else Qt.PenStyle.DotLine))
            painter.drawLine(plot.left(), y, plot.right(), y)
            painter.setPen(text)
            label = QRect(0, y - metrics.height() // 2, plot.left() - 6, metrics.height())
            painter.drawText(
                label,
                int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                axis_text(value, step),
            )

    def _paint_bars(self, painter: QPainter, plot: QRect) -> None:
        _step, top = self._scale()
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        for index, bar in enumerate(self._data.bars):
            slot = self.bar_rect(index)
            width = max(2.0, slot.width() * _BAR_SHARE)
            left = slot.left() + (slot.width() - width) / 2
            if index == self._hovered:
                shade = QColor(highlight)
                shade.setAlpha(40)
                painter.fillRect(slot, shade)
            base = Decimal(0)
            for series, cost in enumerate(bar.costs):
                if cost <= 0:
                    continue
                y_top = self._y(plot, base + cost, top)
                y_bottom = self._y(plot, base, top)
                # At least a pixel, so a day of tiny requests still shows.
                height = max(1.0, y_bottom - y_top)
                painter.fillRect(
                    QRectF(left, y_bottom - height, width, height), self.series_colour(series)
                )
                base += cost

    def _paint_days(self, painter: QPainter, plot: QRect, text: QColor) -> None:
        bars = self._data.bars
        if not bars:
            return
        metrics = self.fontMetrics()
        widest = metrics.horizontalAdvance("Sep 30") + 12
        slot = plot.width() / len(bars)
        every = max(1, math.ceil(widest / slot))
        painter.setPen(text)
        # Counted back from the last day, so today is always labelled.
        for index in range(len(bars) - 1, -1, -every):
            centre = self.bar_rect(index).center().x()
            label = QRectF(centre - widest / 2, plot.bottom() + 4, widest, metrics.height())
            painter.drawText(label, int(Qt.AlignmentFlag.AlignCenter), day_text(bars[index].day))

    def _budget_pen(self) -> QPen:
        colour = QColor("#ef9a9a" if is_dark(self.palette()) else "#b3261e")
        return QPen(colour, 1.5, Qt.PenStyle.DashLine)

    def _paint_budget_line(self, painter: QPainter, plot: QRect) -> None:
        if self._daily_budget is None or not self._data.bars:
            return
        _step, top = self._scale()
        y = self._y(plot, self._daily_budget, top)
        painter.setPen(self._budget_pen())
        painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))

    def _summary(self) -> str:
        data = self._data
        if data.empty:
            return "No requests in this period."
        total = sum((bar.total for bar in data.bars), Decimal(0))
        busiest = max(data.bars, key=lambda bar: bar.total)
        return (
            f"{format_usd(total)} over {len(data.bars)} days; the most on "
            f"{day_text(busiest.day)}, {format_usd(busiest.total)}. "
            f"Models: {', '.join(data.series)}."
        )
