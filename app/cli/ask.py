"""`chatdesk ask`: one question from the command line, the answer streamed to stdout.

Usage and cost go to stderr so stdout can be piped. Failures print the headline and remedy
and exit non-zero; whatever part of the answer arrived stays printed. The exchange is kept in
the history as a conversation of its own (written while it streams) unless `--no-save`.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TextIO

from app.cli.ask_budget import AskBudget
from app.cli.ask_history import STOPPED_NOTE, SavedExchange
from app.core import preflight
from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.events import (
    ChoiceFinished,
    ReplyMeta,
    ResponseStarted,
    RetryScheduled,
    TextDelta,
    UsageReported,
)
from app.core.messages import ChatMessage, Detail, ImagePart
from app.core.params import ChatParams, ReasoningEffort
from app.core.problems import UserFacingError
from app.core.ratelimits import RateLimits
from app.core.request import build_request
from app.core.store.database import DatabaseTooNew
from app.core.store.history import History
from app.core.store.ledger import Source, UsageLedger
from app.core.store.records import MessageState
from app.core.usage import Usage, cost, format_usd

EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130


@dataclass
class AskOptions:
    prompt: str
    model: str
    images: list[str] = field(default_factory=list)
    detail: Detail = Detail.AUTO
    system: str | None = None
    params: ChatParams = field(default_factory=ChatParams)


def options_from_args(args: argparse.Namespace, default_model: str, stdin: TextIO) -> AskOptions:
    prompt = stdin.read() if args.prompt == "-" else args.prompt
    params = ChatParams(
        temperature=args.temperature,
        top_p=args.top_p,
        presence_penalty=args.presence_penalty,
        frequency_penalty=args.frequency_penalty,
        max_output_tokens=args.max_tokens,
        n=args.n,
        seed=args.seed,
        stop=tuple(args.stop),
        json_mode=args.json,
        logprobs=args.logprobs,
        top_logprobs=args.top_logprobs,
        reasoning_effort=ReasoningEffort(args.reasoning_effort) if args.reasoning_effort else None,
        user=args.user,
    )
    return AskOptions(
        prompt=prompt,
        model=args.model or default_model,
        images=list(args.image),
        detail=Detail(args.detail),
        system=args.system,
        params=params,
    )


def prepare_messages(options: AskOptions) -> list[ChatMessage]:
    """The request's messages, images prepared (blocking: decodes and downscales files)."""
    from app.core import images  # Pillow costs ~70 ms to import; only image questions need it

    parts: list[ImagePart] = []
    for source in options.images:
        if source.startswith(("http://", "https://")):
            parts.append(images.image_from_url(source, options.detail))
        else:
            parts.append(images.prepare_image_file(source, options.detail).part)
    messages = [ChatMessage.system(options.system)] if options.system else []
    messages.append(ChatMessage.user(options.prompt, tuple(parts)))
    return messages


class AnswerPrinter:
    """Prints choice 0 as it streams; further choices (n > 1) follow it, each with a header."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self._out = out
        self._err = err
        self._others: dict[int, list[str]] = {}
        self.usage: Usage | None = None
        self.rate_limits = RateLimits()
        self.model = ""
        self.printed_any = False

    def on_retry(self, event: RetryScheduled) -> None:
        wait = f" in {event.wait_s:g} s" if event.wait_s else ""
        why = f"server answered {event.status}" if event.status is not None else "no answer"
        self._err.write(f"[{why}; retrying{wait} ({event.attempt}/{event.max_retries})]\n")
        self._err.flush()

    def handle(self, event: object) -> None:
        match event:
            case ResponseStarted(rate_limits=limits):
                self.rate_limits = limits
            case ReplyMeta(model=model):
                self.model = model
            case TextDelta(choice=0, text=text):
                self._out.write(text)
                self._out.flush()
                self.printed_any = True
            case TextDelta(choice=index, text=text):
                self._others.setdefault(index, []).append(text)
            case ChoiceFinished():
                pass
            case UsageReported(usage=usage):
                self.usage = usage

    def finish(self) -> None:
        for index in sorted(self._others):
            self._out.write(f"\n\n--- choice {index + 1} ---\n{''.join(self._others[index])}")
        if self.printed_any or self._others:
            self._out.write("\n")
        self._out.flush()


def usage_line(model_id: str, usage: Usage, limits: RateLimits) -> str:
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
        line += " (estimated: the server sent no usage)"
    if limits.remaining_requests is not None and limits.remaining_tokens is not None:
        line += (
            f"\nrate limit: {limits.remaining_requests:,} requests and "
            f"{limits.remaining_tokens:,} tokens left"
        )
    return line


async def run_ask(
    options: AskOptions,
    client: ChatClient,
    out: TextIO,
    err: TextIO,
    ledger: UsageLedger | None = None,
    open_history: Callable[[], History] | None = None,
    budget: AskBudget | None = None,
) -> int:
    """Ask, stream the answer to `out`, report usage on `err` (and to `ledger`); the exit code.

    With `open_history`, the exchange is saved as a new conversation while it streams.
    """
    printer = AnswerPrinter(out, err)
    saved: SavedExchange | None = None
    loop = asyncio.get_running_loop()
    # The SDK import (~1 s) overlaps with preparing images and checking the request.
    warm_up = asyncio.create_task(client.warm_up())
    try:
        messages = await loop.run_in_executor(None, prepare_messages, options)
        body = build_request(options.model, messages, options.params)
        await loop.run_in_executor(
            None, preflight.check_fits, options.model, messages, options.params
        )
        if budget is not None:
            await loop.run_in_executor(None, budget.check, options.model, messages, options.params)
        if open_history is not None:
            saved = await _start_saving(open_history, options, messages, err)
        await warm_up
        async for event in client.stream_chat(body, on_retry=printer.on_retry):
            printer.handle(event)
            if saved is not None:
                saved.handle(event)
    except UserFacingError as failure:
        printer.finish()
        _finish_saving(saved, MessageState.FAILED, failure.headline, err)
        _print_failure(err, failure)
        return EXIT_FAILURE
    except (asyncio.CancelledError, KeyboardInterrupt):
        printer.finish()
        _finish_saving(saved, MessageState.STOPPED, STOPPED_NOTE, err)
        err.write("Stopped.\n")
        return EXIT_INTERRUPTED
    except BaseException as exc:
        # A closed pipe (`ask … | head`) or a bug: the reply was cut either way.
        _finish_saving(
            saved, MessageState.FAILED, f"Stopped by an error ({type(exc).__name__}).", err
        )
        raise
    finally:
        if not warm_up.done():
            warm_up.cancel()
        await client.aclose()
    printer.finish()
    _finish_saving(saved, MessageState.COMPLETE, "", err)
    if printer.usage is not None:
        if ledger is not None:
            ledger.record(printer.model or options.model, printer.usage, Source.CLI)
        err.write(usage_line(printer.model or options.model, printer.usage, printer.rate_limits))
        err.write("\n")
    if budget is not None:
        budget.note(err)
    return 0


# What can go wrong with the history file; the answer is still shown, with a warning.
_HISTORY_ERRORS = (sqlite3.Error, DatabaseTooNew, OSError, ValueError)


async def _start_saving(
    open_history: Callable[[], History],
    options: AskOptions,
    messages: list[ChatMessage],
    err: TextIO,
) -> SavedExchange | None:
    start = partial(
        SavedExchange.start,
        open_history,
        model=options.model,
        system_prompt=options.system or "",
        params=options.params,
        messages=messages,
    )
    try:
        # Writes image files and waits for the database lock: off the loop, beside the warm-up.
        return await asyncio.get_running_loop().run_in_executor(None, start)
    except _HISTORY_ERRORS as exc:
        err.write(f"Warning: this answer is not saved in the history ({exc}).\n")
        return None


def _finish_saving(
    saved: SavedExchange | None, state: MessageState, note: str, err: TextIO
) -> None:
    if saved is None:
        return
    try:
        saved.finish(state, note)
    except _HISTORY_ERRORS as exc:
        err.write(f"Warning: the end of this answer was not saved in the history ({exc}).\n")


def _print_failure(err: TextIO, failure: UserFacingError) -> None:
    err.write(f"Error: {failure.headline}\n")
    if failure.remedy:
        err.write(f"{failure.remedy}\n")
    detail = getattr(failure, "detail", "")
    if detail and detail not in failure.remedy:
        err.write(f"(server said: {detail})\n")
    err.flush()
