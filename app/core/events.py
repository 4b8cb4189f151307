"""What a streamed reply is made of, as typed events the UI and the CLI consume."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.ratelimits import RateLimits
from app.core.usage import Usage


@dataclass(frozen=True, slots=True)
class ResponseStarted:
    """The server accepted the request; its headers carry the rate-limit headroom."""

    rate_limits: RateLimits
    request_id: str | None


@dataclass(frozen=True, slots=True)
class ReplyMeta:
    """Identity of the reply, from its first chunk: what model answered and on which build."""

    reply_id: str
    model: str
    system_fingerprint: str | None


@dataclass(frozen=True, slots=True)
class TextDelta:
    choice: int
    text: str


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True, slots=True)
class LogprobsDelta:
    choice: int
    tokens: tuple[TokenLogprob, ...]


@dataclass(frozen=True, slots=True)
class ChoiceFinished:
    choice: int
    reason: str


@dataclass(frozen=True, slots=True)
class UsageReported:
    """Token usage of the whole reply; `usage.estimated` when the server sent none."""

    usage: Usage


@dataclass(frozen=True, slots=True)
class RetryScheduled:
    """The SDK will retry after a failed attempt (rate limit, server error, no connection).

    `status` is None when the attempt got no response at all (the connection was refused or
    lost, or it timed out); the retry is then announced as it is sent.
    """

    attempt: int
    max_retries: int
    status: int | None
    wait_s: float | None


StreamEvent = (
    ResponseStarted | ReplyMeta | TextDelta | LogprobsDelta | ChoiceFinished | UsageReported
)
