"""`chatdesk ask`: one question from the command line, the answer streamed to stdout.

Usage and cost go to stderr so stdout can be piped. Failures print the headline and remedy
and exit non-zero; whatever part of the answer arrived stays printed. The question is sent
through the turn engine like the window's: it checks the request (and a hard budget limit)
before sending, records the usage in the ledger (estimated when the reply was stopped or cut
off), and keeps the exchange in the history as a conversation of its own (written while it
streams) unless `--no-save`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from app.cli.ask_budget import AskBudget
from app.cli.ask_history import AskConversation
from app.cli.ask_output import AnswerPrinter, print_endings, print_failure, print_usage
from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.messages import ChatMessage, Detail, ImagePart
from app.core.params import ChatParams, ReasoningEffort
from app.core.problems import UserFacingError
from app.core.reply import Reply, RunState
from app.core.request import InvalidRequest, validate
from app.core.store.history import History
from app.core.store.ledger import Source, UsageLedger
from app.core.store.saved_conversation import ConversationSettings
from app.core.turn import Turn, TurnHooks, TurnPlan

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
    # Print the answer as the server sent it, escape sequences included (`--raw`).
    raw: bool = False


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
        raw=args.raw,
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
    printer = AnswerPrinter(out, err, raw=options.raw)
    base_url = client.config.base_url
    reply = Reply(asked_model=options.model)
    saved: AskConversation | None = None
    loop = asyncio.get_running_loop()
    # The SDK import (~1 s) overlaps with preparing images, checking the request and opening
    # the history; the turn's first request waits for it.
    warm_up = asyncio.create_task(client.warm_up())
    try:
        messages = await loop.run_in_executor(None, prepare_messages, options)
        refuse_unsupported(options, messages)
        if open_history is not None:
            saved = await AskConversation.start(open_history, err)
        turn = Turn(
            client=lambda: client,
            source=Source.CLI,
            ledger=lambda: ledger,
            budget=budget.policy() if budget is not None else None,
        )
        hooks = TurnHooks(on_event=printer.handle, on_retry=printer.on_retry)
        await turn.run(plan_for(options, messages), reply, saved=saved, hooks=hooks)
    except UserFacingError as failure:
        # Refused before the turn began (an image that cannot be sent): nothing was sent.
        print_failure(err, failure, base_url)
        return EXIT_FAILURE
    except asyncio.CancelledError:
        # Ctrl+C, or stdout closed: the turn stored the reply as stopped and recorded its cost.
        printer.finish(reply)
        if printer.pipe_closed is not None:
            raise printer.pipe_closed from None
        err.write("Stopped.\n")
        print_usage(err, reply)
        return EXIT_INTERRUPTED
    finally:
        await _settle_warm_up(warm_up)
        await client.aclose()
        if saved is not None:
            saved.close()
    printer.finish(reply)
    if printer.pipe_closed is not None:
        raise printer.pipe_closed
    print_endings(err, reply)
    if reply.state is not RunState.DONE:
        if reply.problem is not None:
            print_failure(err, reply.problem, base_url)
        print_usage(err, reply)
        return EXIT_FAILURE
    if print_usage(err, reply) and budget is not None:
        budget.note(err)
    return 0


def refuse_unsupported(options: AskOptions, messages: list[ChatMessage]) -> None:
    """Refuse a request the model would reject, naming the option at fault (`InvalidRequest`).

    The turn leaves out parameters the model does not take, for the window keeps a
    conversation's parameters across a change of model; an option given on the command line
    for a model that refuses it is a mistake to report, not to drop silently.
    """
    problems = validate(lookup(options.model), messages, options.params)
    if problems:
        raise InvalidRequest(problems)


def plan_for(options: AskOptions, messages: list[ChatMessage]) -> TurnPlan:
    """The turn of `messages` (the system prompt first, the question last)."""
    return TurnPlan(
        model=options.model,
        messages=messages,
        params=options.params,
        prompt=messages[-1],
        settings=ConversationSettings(options.model, options.system or "", options.params),
    )


async def _settle_warm_up(warm_up: asyncio.Task[None]) -> None:
    if not warm_up.done():
        warm_up.cancel()
    # Its failure, if any, was the turn's too (the request imports the SDK itself).
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await warm_up
