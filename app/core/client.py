"""The streaming chat client: the official SDK (imported lazily, off the calling thread) turned
into typed events, with every failure classified.

`import openai` costs ~1.3 s, so nothing here imports it at module import time; the first
request (or `warm_up()`) imports it in an executor thread so a GUI stays responsive.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import re
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from app.core import usage_estimate
from app.core.events import (
    ChoiceFinished,
    LogprobsDelta,
    ReplyMeta,
    ResponseStarted,
    RetryScheduled,
    StreamEvent,
    TextDelta,
    TokenLogprob,
    UsageReported,
)
from app.core.failures import ApiFailure, FailureContext, classify, interrupted
from app.core.ratelimits import RateLimits
from app.core.usage import Usage

DEFAULT_BASE_URL = "https://api.openai.com/v1"
# A parse-heavy burst of chunks must not hold the event loop: hand control back this often.
_YIELD_EVERY_S = 0.004
# JSON can carry a lone UTF-16 surrogate ("\ud800"); Python keeps it in the str, but it cannot
# be encoded as UTF-8, so SQLite, the clipboard and the next request would all fail on it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_RETRYABLE_STATUSES = frozenset({408, 409, 429})
# The SDK does not retry when the server asks to wait longer than this (openai._constants).
_SDK_MAX_RETRY_AFTER_S = 120.0

RetryListener = Callable[[RetryScheduled], None]


@dataclass
class _RetryWatch:
    """Who to tell about the retries of one request, and the last attempt they were told of."""

    listener: RetryListener
    announced: int = 0


_retry_watch: contextvars.ContextVar[_RetryWatch | None] = contextvars.ContextVar(
    "chatdesk_retry_watch", default=None
)


@dataclass(frozen=True)
class ConnectionConfig:
    """Where and how to reach the API. The key is held only in memory, never in a repr."""

    api_key: str
    base_url: str = DEFAULT_BASE_URL
    organization: str = ""
    project: str = ""
    timeout_s: float = 120.0
    connect_timeout_s: float = 10.0
    max_retries: int = 2

    def __repr__(self) -> str:
        return f"ConnectionConfig(base_url={self.base_url!r}, api_key=<hidden>)"


def load_sdk() -> ModuleType:
    """Import the SDK (blocking, ~1.3 s the first time)."""
    return importlib.import_module("openai")


async def load_sdk_async() -> ModuleType:
    """Import the SDK in an executor thread so the calling event loop keeps running."""
    return await asyncio.get_running_loop().run_in_executor(None, load_sdk)


class ChatClient:
    """Streams chat completions as `StreamEvent`s; raises `ApiFailure` for anything that fails."""

    def __init__(self, config: ConnectionConfig) -> None:
        self._config = config
        self._sdk_client: Any = None
        self._lock = asyncio.Lock()

    @property
    def config(self) -> ConnectionConfig:
        return self._config

    async def warm_up(self) -> None:
        """Import the SDK and build its client ahead of the first request."""
        await self._client()

    async def aclose(self) -> None:
        if self._sdk_client is not None:
            await self._sdk_client.close()
            self._sdk_client = None

    async def list_models(self) -> list[str]:
        """Model ids the server offers (`GET /models`), sorted."""
        client = await self._client()
        try:
            page = await client.models.list()
        except Exception as exc:
            raise self._classified(exc, "") from None
        return sorted(model.id for model in page.data)

    async def stream_chat(
        self, body: dict[str, Any], *, on_retry: RetryListener | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Send `body` (from `build_request`, with stream on) and yield its events as they come.

        Cancelling the consuming task closes the HTTP stream. A stream that ends without a
        finish reason raises an `INTERRUPTED` failure after the text received so far.
        """
        client = await self._client()
        model = str(body.get("model", ""))
        token = _retry_watch.set(_RetryWatch(on_retry) if on_retry is not None else None)
        try:
            raw = await client.chat.completions.with_raw_response.create(**body)
        except Exception as exc:
            raise self._classified(exc, model) from None
        finally:
            _retry_watch.reset(token)
        yield ResponseStarted(RateLimits.from_headers(raw.headers), raw.headers.get("x-request-id"))

        stream = raw.parse()
        texts: dict[int, list[str]] = defaultdict(list)
        finished: set[int] = set()
        usage_seen = False
        meta_sent = False
        last_yield = time.perf_counter()
        try:
            async for chunk in stream:
                if not meta_sent and chunk.id:
                    meta_sent = True
                    yield ReplyMeta(chunk.id, chunk.model, chunk.system_fingerprint)
                for choice in chunk.choices:
                    delta = choice.delta
                    text = (delta.content or "") + (getattr(delta, "refusal", None) or "")
                    if _LONE_SURROGATE.search(text):
                        text = _LONE_SURROGATE.sub("\ufffd", text)
                    if text:
                        texts[choice.index].append(text)
                        yield TextDelta(choice.index, text)
                    if choice.logprobs is not None and choice.logprobs.content:
                        yield LogprobsDelta(choice.index, _token_logprobs(choice.logprobs.content))
                    if choice.finish_reason:
                        finished.add(choice.index)
                        yield ChoiceFinished(choice.index, choice.finish_reason)
                if chunk.usage is not None:
                    usage_seen = True
                    yield UsageReported(Usage.from_api(chunk.usage.model_dump()))
                now = time.perf_counter()
                if now - last_yield > _YIELD_EVERY_S:
                    await asyncio.sleep(0)
                    last_yield = now
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise self._classified(exc, model) from None
        finally:
            await stream.close()
        if not finished:
            raise interrupted()
        if not usage_seen:
            yield UsageReported(await _estimate_usage(body, texts))

    def _classified(self, exc: Exception, model: str) -> ApiFailure:
        try:
            context = FailureContext(
                model=model, base_url=self._config.base_url, secrets=(self._config.api_key,)
            )
            return classify(exc, context)
        except TypeError:
            raise exc from None

    async def _client(self) -> Any:
        async with self._lock:
            if self._sdk_client is None:
                sdk = await load_sdk_async()
                self._sdk_client = await asyncio.get_running_loop().run_in_executor(
                    None, _make_sdk_client, sdk, self._config
                )
            return self._sdk_client


def _make_sdk_client(sdk: ModuleType, config: ConnectionConfig) -> Any:
    max_retries = config.max_retries

    async def on_request(request: Any) -> None:
        _announce_unanswered_retry(request, max_retries)

    async def on_response(response: Any) -> None:
        await _mark_unretryable_quota(response)
        _announce_retry(response, max_retries)

    http_client = sdk.DefaultAsyncHttpxClient(
        event_hooks={"request": [on_request], "response": [on_response]}
    )
    client = sdk.AsyncOpenAI(
        api_key=config.api_key,
        base_url=config.base_url,
        organization=config.organization or None,
        project=config.project or None,
        timeout=sdk.Timeout(config.timeout_s, connect=config.connect_timeout_s),
        max_retries=max_retries,
        http_client=http_client,
    )
    # The resources import their modules on first access (~40 ms): do it here, off the caller's
    # thread, rather than on the first send.
    _ = client.chat.completions, client.models
    return client


async def _mark_unretryable_quota(response: Any) -> None:
    """An exhausted quota is a 429 the SDK would retry in vain; tell it not to."""
    if response.status_code != 429:
        return
    await response.aread()
    if b"insufficient_quota" in response.content:
        response.headers["x-should-retry"] = "false"


def _announce_unanswered_retry(request: Any, max_retries: int) -> None:
    """A retry of an attempt that got no response at all (refused, reset, timed out).

    Those leave no response to announce the retry from; without this the user would wait
    through the SDK's backoff and every new attempt with no sign that anything was happening.
    """
    watch = _retry_watch.get()
    if watch is None:
        return
    attempt = int(request.headers.get("x-stainless-retry-count", "0") or 0)
    if attempt > watch.announced:
        watch.announced = attempt
        watch.listener(RetryScheduled(attempt, max_retries, None, None))


def _announce_retry(response: Any, max_retries: int) -> None:
    watch = _retry_watch.get()
    status = response.status_code
    if watch is None or not (status in _RETRYABLE_STATUSES or status >= 500):
        return
    if response.headers.get("x-should-retry") == "false":
        return
    taken = int(response.request.headers.get("x-stainless-retry-count", "0") or 0)
    if taken >= max_retries:
        return
    retry_after = response.headers.get("retry-after")
    try:
        wait_s = float(retry_after) if retry_after is not None else None
    except ValueError:
        wait_s = None
    if wait_s is not None and wait_s > _SDK_MAX_RETRY_AFTER_S:
        return
    watch.announced = taken + 1
    watch.listener(RetryScheduled(taken + 1, max_retries, status, wait_s))


def _token_logprobs(content: Any) -> tuple[TokenLogprob, ...]:
    return tuple(
        TokenLogprob(
            item.token,
            item.logprob,
            tuple((alt.token, alt.logprob) for alt in (item.top_logprobs or ())),
        )
        for item in content
    )


async def _estimate_usage(body: dict[str, Any], texts: dict[int, list[str]]) -> Usage:
    """Usage counted with tiktoken for servers that send none (in a thread: it may load ~0.6 s)."""
    replies = ["".join(parts) for parts in texts.values()]
    return await asyncio.get_running_loop().run_in_executor(
        None, usage_estimate.from_body, body, replies
    )
