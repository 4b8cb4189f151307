"""What `chatdesk ask` prints: the answer on stdout as it streams, the rest on stderr.

Usage, cost, retries and failures go to stderr so stdout can be piped.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from app.core.catalog import lookup
from app.core.events import RetryScheduled, StreamEvent, TextDelta
from app.core.problems import UserFacingError
from app.core.ratelimits import RateLimits
from app.core.reply import Reply, RunState
from app.core.usage import Usage, cost, format_usd


class AnswerPrinter:
    """Prints choice 0 as it streams; further choices (n > 1) follow it, each with a header."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        self.printed_any = False
        # Set when the reader of stdout went away (`chatdesk ask … | head`).
        self.pipe_closed: BrokenPipeError | None = None

    def on_retry(self, event: RetryScheduled) -> None:
        wait = f" in {event.wait_s:g} s" if event.wait_s else ""
        why = f"server answered {event.status}" if event.status is not None else "no answer"
        self._err.write(f"[{why}; retrying{wait} ({event.attempt}/{event.max_retries})]\n")
        self._err.flush()

    def handle(self, event: StreamEvent) -> None:
        """Print one event of the turn (its `on_event` hook)."""
        if not (isinstance(event, TextDelta) and event.choice == 0):
            return
        self.printed_any = True
        if self.pipe_closed is None and not self._write(event.text):
            # Nobody reads the answer any more: stop the request as Ctrl+C would, so the turn
            # still stores what arrived and records what it cost. This hook runs inside the
            # turn's task, which is cancelled at its next await.
            task = asyncio.current_task()
            if task is not None:
                task.cancel()

    def finish(self, reply: Reply) -> None:
        """End the answer: the other choices, then a final newline."""
        others = sorted(index for index in reply.choices if index != 0)
        for index in others:
            self._write(f"\n\n--- choice {index + 1} ---\n{''.join(reply.choices[index])}")
        if self.printed_any or others:
            self._write("\n")

    def _write(self, text: str) -> bool:
        """Print `text`; False once the reader of stdout has gone."""
        if self.pipe_closed is not None:
            return False
        try:
            self._out.write(text)
            self._out.flush()
        except BrokenPipeError as closed:
            self.pipe_closed = closed
            return False
        return True


def usage_line(model_id: str, usage: Usage, limits: RateLimits | None, *, finished: bool) -> str:
    """The reply's tokens and cost (and the rate limit left), for stderr.

    `finished` tells an estimate for a server that sends no usage from one for a reply that
    was stopped or cut off, whose server never got to send it.
    """
    model = lookup(model_id)
    price = cost(usage, model)
    pieces = [
        f"{model_id}",
        f"{usage.prompt_tokens:,} in"
        + (f" ({usage.cached_tokens:,} cached)" if usage.cached_tokens else ""),
        f"{usage.completion_tokens:,} out"
        + (f" ({usage.reasoning_tokens:,} reasoning)" if usage.reasoning_tokens else ""),
        format_usd(price.total) if price is not None else "cost unknown for this model",
    ]
    line = " · ".join(pieces)
    if usage.estimated:
        line += (
            " (estimated: the server sent no usage)"
            if finished
            else " (estimated: the reply did not finish)"
        )
    if (
        limits is not None
        and limits.remaining_requests is not None
        and limits.remaining_tokens is not None
    ):
        line += (
            f"\nrate limit: {limits.remaining_requests:,} requests and "
            f"{limits.remaining_tokens:,} tokens left"
        )
    return line


def print_usage(err: TextIO, reply: Reply) -> bool:
    """Write the reply's usage line on `err` when it has usage; whether it had."""
    if reply.usage is None:
        return False
    finished = reply.state is RunState.DONE
    err.write(usage_line(reply.billed_model, reply.usage, reply.rate_limits, finished=finished))
    err.write("\n")
    return True


def print_failure(err: TextIO, failure: UserFacingError) -> None:
    err.write(f"Error: {failure.headline}\n")
    if failure.remedy:
        err.write(f"{failure.remedy}\n")
    detail = getattr(failure, "detail", "")
    if detail and detail not in failure.remedy:
        err.write(f"(server said: {detail})\n")
    err.flush()
