"""The bottom line: connection state, what the last reply cost, how much headroom is left."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget

from app.core.catalog import ModelInfo
from app.core.ratelimits import RateLimits
from app.core.usage import Usage, cost, format_usd


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


def rate_limit_text(limits: RateLimits) -> str:
    """Headroom, e.g. `Left: 499 requests · 199,000 tokens`; empty without rate-limit headers."""
    parts = []
    if limits.remaining_requests is not None:
        parts.append(f"{limits.remaining_requests:,} requests")
    if limits.remaining_tokens is not None:
        parts.append(f"{limits.remaining_tokens:,} tokens")
    return "Left: " + " · ".join(parts) if parts else ""


def _reset_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return f"{seconds:.0f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms"


class StatusBar(QStatusBar):
    """Connection state on the left; last reply's usage and rate-limit headroom on the right."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        self.setSizeGripEnabled(False)
        self.connection_label = self._label("connectionLabel", "Connection")
        self.usage_label = self._label("usageLabel", "Last reply usage and cost")
        self.limits_label = self._label("rateLimitLabel", "Rate limit headroom")
        self.addWidget(self.connection_label)
        self.addPermanentWidget(self.usage_label)
        self.addPermanentWidget(self.limits_label)
        self.usage_label.hide()
        self.limits_label.hide()

    def show_connection(self, state: ConnectionState, where: str = "") -> None:
        text = {
            ConnectionState.STARTING: "Starting…",
            ConnectionState.READY: f"Ready · {where}" if where else "Ready",
            ConnectionState.NO_KEY: "No API key",
            ConnectionState.FAILED: "Not connected",
        }[state]
        self.connection_label.setText(text)
        self.connection_label.setProperty("state", state.value)

    def show_usage(self, usage: Usage, model: ModelInfo) -> None:
        self.usage_label.setText(usage_text(usage, model))
        self.usage_label.setToolTip(usage_details(usage, model))
        self.usage_label.show()

    def show_rate_limits(self, limits: RateLimits) -> None:
        text = rate_limit_text(limits)
        self.limits_label.setText(text)
        self.limits_label.setToolTip(
            f"Requests reset in {_reset_text(limits.reset_requests_s)}, "
            f"tokens in {_reset_text(limits.reset_tokens_s)}"
        )
        self.limits_label.setVisible(bool(text))

    def clear_usage(self) -> None:
        self.usage_label.clear()
        self.usage_label.hide()

    def _label(self, name: str, accessible: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setAccessibleName(accessible)
        label.setContentsMargins(8, 0, 8, 0)
        return label
