"""The bottom line: connection state, what the last reply cost, what has been spent, and how much
rate-limit headroom is left.

`SpendTracker` feeds it: it adds up the session's replies and, unless the session talks to the
demo simulator, records each in the usage ledger and reads today's and this month's totals back,
both in a worker thread (SQLite never runs on the GUI thread).
"""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.core.catalog import ModelInfo, lookup
from app.core.ratelimits import RateLimits
from app.core.store.ledger import Spend
from app.core.usage import Usage, cost, format_usd

# How narrow a status label may get before the status bar hides it.
_MIN_LABEL_WIDTH = 48


class ConnectionState(StrEnum):
    STARTING = "starting"
    READY = "ready"
    NO_KEY = "no_key"
    FAILED = "failed"


def usage_text(usage: Usage, model: ModelInfo) -> str:
    """Tokens in and out and the cost, e.g. `1,234 in · 56 out · $0.0012 (estimated)`."""
    price = cost(usage, model)
    money = format_usd(price.total) if price is not None else "cost unknown"
    text = f"{usage.prompt_tokens:,} in · {usage.completion_tokens:,} out · {money}"
    return f"{text} (estimated)" if usage.estimated else text


def usage_details(usage: Usage, model: ModelInfo) -> str:
    """The tooltip: what the numbers mean and what they include."""
    lines = [f"Last reply from {model.id}"]
    lines.append(
        f"Prompt: {usage.prompt_tokens:,} tokens"
        + (f", {usage.cached_tokens:,} of them cached" if usage.cached_tokens else "")
    )
    lines.append(
        f"Reply: {usage.completion_tokens:,} tokens"
        + (f", {usage.reasoning_tokens:,} of them reasoning" if usage.reasoning_tokens else "")
    )
    if not model.has_price:
        lines.append("No price is known for this model.")
    if usage.estimated:
        lines.append("Estimated: the server sent no usage, so tokens were counted locally.")
    return "\n".join(lines)


def spend_of(model_id: str, usage: Usage) -> Spend:
    """One reply as a `Spend`, priced the way the ledger prices it."""
    price = cost(usage, lookup(model_id))
    return Spend(
        requests=1,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost_usd=price.total if price is not None else Spend().cost_usd,
        unpriced_requests=int(price is None),
        estimated_requests=int(usage.estimated),
    )


def add_spend(a: Spend, b: Spend) -> Spend:
    return Spend(
        requests=a.requests + b.requests,
        prompt_tokens=a.prompt_tokens + b.prompt_tokens,
        completion_tokens=a.completion_tokens + b.completion_tokens,
        cost_usd=a.cost_usd + b.cost_usd,
        unpriced_requests=a.unpriced_requests + b.unpriced_requests,
        estimated_requests=a.estimated_requests + b.estimated_requests,
    )


def money_text(spend: Spend) -> str:
    """The cost of `spend`; `~` marks a sum that includes locally counted tokens, `+` one that
    leaves out replies without a known price."""
    approx = "~" if spend.estimated_requests else ""
    partial = "+" if spend.unpriced_requests else ""
    return f"{approx}{format_usd(spend.cost_usd)}{partial}"


def totals_text(session: Spend, today: Spend | None, month: Spend | None) -> str:
    """e.g. `Session $0.0031 · Today $0.42 · Month $3.10`."""
    parts = [f"Session {money_text(session)}"]
    if today is not None:
        parts.append(f"Today {money_text(today)}")
    if month is not None:
        parts.append(f"Month {money_text(month)}")
    return " · ".join(parts)


def _spend_line(name: str, spend: Spend) -> str:
    replies = "reply" if spend.requests == 1 else "replies"
    line = (
        f"{name}: {money_text(spend)} for {spend.requests:,} {replies}, "
        f"{spend.prompt_tokens:,} tokens in · {spend.completion_tokens:,} out"
    )
    notes = []
    if spend.estimated_requests:
        notes.append(f"{spend.estimated_requests:,} counted locally (~)")
    if spend.unpriced_requests:
        notes.append(f"{spend.unpriced_requests:,} without a known price, not included (+)")
    return f"{line} ({'; '.join(notes)})" if notes else line


def totals_details(
    session: Spend, today: Spend | None, month: Spend | None, *, billed: bool = True
) -> str:
    lines = [_spend_line("This session", session)]
    if not billed:
        lines.append("Demo mode: these replies came from the built-in simulator and cost nothing.")
    if today is not None:
        lines.append(_spend_line("Today", today))
    if month is not None:
        lines.append(_spend_line("This month", month))
    if billed and today is None:
        lines.append("Today's and this month's totals are not available yet.")
    return "\n".join(lines)


def rate_limit_text(limits: RateLimits) -> str:
    """Headroom, short for the status bar, e.g. `Left: 499 req · 199k tok · resets 6 s`.

    Empty without rate-limit headers. The reset shown is when both budgets are full again;
    `rate_limit_details` spells everything out.
    """
    parts = []
    if limits.remaining_requests is not None:
        parts.append(f"{compact_count(limits.remaining_requests)} req")
    if limits.remaining_tokens is not None:
        parts.append(f"{compact_count(limits.remaining_tokens)} tok")
    if not parts:
        return ""
    resets = [s for s in (limits.reset_requests_s, limits.reset_tokens_s) if s is not None]
    if resets:
        parts.append(f"resets {reset_text(max(resets))}")
    return "Left: " + " · ".join(parts)


def compact_count(count: int) -> str:
    """A count short enough for the status bar: `4,998`, `12.5k`, `199k`, `2M`, `1.5M`."""
    if count < 10_000:
        return f"{count:,}"
    scale, suffix = (1_000_000, "M") if count >= 1_000_000 else (1_000, "k")
    value = count / scale
    text = f"{value:.1f}" if value < 100 else f"{value:.0f}"
    return text.removesuffix(".0") + suffix


def reset_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.0f} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if secs else f"{minutes} min"


def rate_limit_details(limits: RateLimits) -> str:
    lines = []
    if limits.remaining_requests is not None:
        of = f" of {limits.limit_requests:,}" if limits.limit_requests is not None else ""
        lines.append(
            f"Requests: {limits.remaining_requests:,}{of} left this minute, "
            f"full again in {reset_text(limits.reset_requests_s)}"
        )
    if limits.remaining_tokens is not None:
        of = f" of {limits.limit_tokens:,}" if limits.limit_tokens is not None else ""
        lines.append(
            f"Tokens: {limits.remaining_tokens:,}{of} left this minute, "
            f"full again in {reset_text(limits.reset_tokens_s)}"
        )
    lines.append("As the server reported with the last reply.")
    return "\n".join(lines)


class StatusLabel(QLabel):
    """A one-line label that elides its text when the status bar runs out of room, so a narrow
    window shows the start of every figure rather than pushing some out of sight."""

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), _MIN_LABEL_WIDTH), hint.height())

    def paintEvent(self, event: QPaintEvent) -> None:
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter = QPainter(self)
        self.style().drawItemText(
            painter,
            rect,
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
            self.palette(),
            self.isEnabled(),
            text,
            QPalette.ColorRole.WindowText,
        )


class StatusBar(QStatusBar):
    """Connection state on the left; last reply, spending and rate-limit headroom on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setSizeGripEnabled(False)
        self.connection_label = self._label("connectionLabel", "Connection")
        # The last reply's figures are the ones people look for: never cut short.
        self.usage_label = self._label("usageLabel", "Last reply usage and cost", elide=False)
        self.totals_label = self._label("totalsLabel", "Spending")
        self.limits_label = self._label("rateLimitLabel", "Rate limit headroom")
        self.addWidget(self.connection_label)
        self.addPermanentWidget(self.usage_label)
        self.addPermanentWidget(self.totals_label)
        self.addPermanentWidget(self.limits_label)
        self.usage_label.hide()
        self.totals_label.hide()
        self.limits_label.hide()

    def show_connection(self, state: ConnectionState, where: str = "") -> None:
        text = {
            ConnectionState.STARTING: "Connecting…",
            ConnectionState.READY: f"Ready · {where}" if where else "Ready",
            ConnectionState.NO_KEY: "No API key",
            ConnectionState.FAILED: "Not connected",
        }[state]
        self.connection_label.setText(text)
        self.connection_label.setAccessibleDescription(text)
        self.connection_label.setProperty("state", state.value)

    def show_usage(self, usage: Usage, model: ModelInfo) -> None:
        self.usage_label.setText(usage_text(usage, model))
        self.usage_label.setToolTip(usage_details(usage, model))
        self.usage_label.setAccessibleDescription(self.usage_label.text())
        self.usage_label.show()

    def show_totals(
        self,
        session: Spend,
        today: Spend | None = None,
        month: Spend | None = None,
        *,
        billed: bool = True,
    ) -> None:
        """What the session, today and this month cost; `billed` False for the demo."""
        text = totals_text(session, today, month)
        if not billed:
            text += " (demo, not billed)"
        self.totals_label.setText(text)
        self.totals_label.setToolTip(totals_details(session, today, month, billed=billed))
        self.totals_label.setAccessibleDescription(text)
        self.totals_label.show()

    def show_rate_limits(self, limits: RateLimits) -> None:
        text = rate_limit_text(limits)
        self.limits_label.setText(text)
        details = rate_limit_details(limits) if text else ""
        self.limits_label.setToolTip(details)
        self.limits_label.setAccessibleDescription(details)
        self.limits_label.setVisible(bool(text))

    def clear_usage(self) -> None:
        self.usage_label.clear()
        self.usage_label.hide()

    def _label(self, name: str, accessible: str, *, elide: bool = True) -> QLabel:
        label = StatusLabel(self) if elide else QLabel(self)
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setContentsMargins(6, 0, 6, 0)
        return label
