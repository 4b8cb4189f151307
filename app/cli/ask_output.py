"""What `chatdesk ask` prints: the answer on stdout as it streams, the rest on stderr.

Usage, cost, retries and failures go to stderr so stdout can be piped. Whatever the server
wrote (the answer, its model id, its error messages) is printed through `terminal_text`, so
that it cannot drive the terminal; only `--raw` lets the answer through as sent.
"""

from __future__ import annotations

import asyncio
from typing import TextIO

from app.cli.ask_remedies import terminal_remedy
from app.core.catalog import lookup
from app.core.events import RetryScheduled, StreamEvent, TextDelta
from app.core.problems import UserFacingError
from app.core.ratelimits import RateLimits
from app.core.reply import Reply, RunState
from app.core.terminal_text import TerminalSanitizer, sanitize
from app.core.usage import Usage, cost, format_usd


class AnswerPrinter:
    """Prints choice 0 as it streams; further choices (n > 1) follow it, each with a header.

    `raw` prints the text exactly as it arrived, escape sequences and all (for a pipe whose
    reader wants the server's bytes); otherwise it is made safe for a terminal first.
    """

    def __init__(self, out: TextIO, err: TextIO, *, raw: bool = False) -> None:
        self._out = out
        self._err = err
        self._raw = raw
        # One for the streamed choice: a sequence may be split across its deltas.
        self._cleaner = TerminalSanitizer()
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
        text = event.text if self._raw else self._cleaner.feed(event.text)
        if self.pipe_closed is None and text and not self._write(text):
            # Nobody reads the answer any more: stop the request as Ctrl+C would, so the turn
            # still stores what arrived and records what it cost. This hook runs inside the
            # turn's task, which is cancelled at its next await.
            task = asyncio.current_task()
            if task is not None:
                task.cancel()

    def finish(self, reply: Reply) -> None:
        """End the answer: the other choices, then a final newline."""
        if not self._raw:
            self._write(self._cleaner.finish())
        others = sorted(index for index in reply.choices if index != 0)
        for index in others:
            text = "".join(reply.choices[index])
            self._write(f"\n\n--- choice {index + 1} ---\n{text if self._raw else sanitize(text)}")
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
        # The id the server says answered: its text, not ours.
        sanitize(model_id),
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


def print_endings(err: TextIO, reply: Reply) -> None:
    """One line on `err` per choice the server cut short (token limit, content filter)."""
    notes = {index: note for index, note in reply.notes().items() if note}
    several = len(reply.choices) > 1
    for index in sorted(notes):
        prefix = f"choice {index + 1}: " if several else ""
        err.write(f"{prefix}{notes[index]}\n")
    err.flush()


def print_failure(err: TextIO, failure: UserFacingError, base_url: str = "") -> None:
    """The failure's headline and its remedy for the terminal (`base_url`: the server's)."""
    remedy = terminal_remedy(failure, base_url)
    # A headline or remedy may quote the server (a model id, its message); so does the detail.
    err.write(f"Error: {sanitize(failure.headline)}\n")
    if remedy:
        err.write(f"{sanitize(remedy)}\n")
    detail = getattr(failure, "detail", "")
    if detail and detail not in remedy:
        err.write(f"(server said: {sanitize(detail)})\n")
    err.flush()
