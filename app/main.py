"""Command-line entry point: `chatdesk` (the window), `chatdesk ask`, `chatdesk key`.

Kept light: nothing heavy (Qt, the SDK, tiktoken) is imported before the command needs it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from app import __version__


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help="keep all settings, history and logs in DIR (also: CHATDESK_DATA_DIR)",
    )
    common.add_argument(
        "--demo",
        action="store_true",
        default=argparse.SUPPRESS,
        help="talk to the built-in API simulator: no key, no cost",
    )
    common.add_argument(
        "--base-url",
        default=argparse.SUPPRESS,
        help="an OpenAI-compatible server (also: OPENAI_BASE_URL)",
    )

    parser = argparse.ArgumentParser(
        prog="chatdesk",
        description="A fast desktop assistant for the OpenAI Chat Completions API.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"chatdesk {__version__}")
    parser.add_argument(
        "--quick-ask",
        action="store_true",
        help="open the quick-ask popup (in the running instance if there is one)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    from app.cli.ask_args import add_ask_arguments

    ask = commands.add_parser(
        "ask",
        parents=[common],
        help="ask one question and stream the answer to stdout (kept in the history)",
        description="Ask one question and stream the answer to stdout; usage and cost go to"
        " stderr. The question and its answer are kept in the history as a new conversation"
        " (written while the answer streams) unless --no-save is given; --demo answers are"
        " never kept.",
    )
    add_ask_arguments(ask)

    key = commands.add_parser(
        "key", parents=[common], help="manage the API key stored in the system keyring"
    )
    key.add_argument("action", choices=["set", "delete", "status"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir: Path | None = getattr(args, "data_dir", None)
    demo: bool = getattr(args, "demo", False)
    base_url: str | None = getattr(args, "base_url", None)
    from app.wiring import build_context

    context = build_context(data_dir, os.environ)
    if args.command == "ask":
        return _run_ask(args, context, demo=demo, base_url=base_url)
    if args.command == "key":
        return _run_key(args.action, context, base_url=base_url)
    from app.application import run_gui

    return run_gui(context, demo=demo, quick_ask=args.quick_ask, base_url=base_url)


def main_gui() -> int:
    """The windowed launcher (no console on Windows)."""
    return main()


def _run_ask(args: argparse.Namespace, context: object, *, demo: bool, base_url: str | None) -> int:
    from app.cli.ask import options_from_args, run_ask
    from app.cli.ask_budget import AskBudget
    from app.core.client import ChatClient
    from app.core.problems import UserFacingError
    from app.core.store.database import DatabaseTooNew
    from app.wiring import AppContext, demo_simulator

    assert isinstance(context, AppContext)
    settings = context.settings
    options = options_from_args(args, settings.default_model, sys.stdin)
    with demo_simulator(enabled=demo, background_warm_up=True) as simulator:
        try:
            connection = context.connection(
                base_url_override=simulator.base_url if simulator else base_url,
                demo=simulator is not None,
            )
        except UserFacingError as failure:
            sys.stderr.write(f"Error: {failure.headline}\n{failure.remedy}\n")
            return 1
        client = ChatClient(connection)
        # Demo answers cost nothing real, so they stay out of the spending record and the
        # history, as they would otherwise crowd it with made-up text.
        try:
            ledger = None if simulator else context.usage_ledger()
        except DatabaseTooNew as refused:
            sys.stderr.write(f"Error: {refused}\n")
            return 1
        open_history = None if simulator or args.no_save else context.history
        budget = (
            AskBudget(settings, ledger, allow_over=args.over_budget) if ledger is not None else None
        )
        try:
            return asyncio.run(
                run_ask(options, client, sys.stdout, sys.stderr, ledger, open_history, budget)
            )
        except KeyboardInterrupt:
            sys.stderr.write("\nStopped.\n")
            return 130
        except BrokenPipeError:
            # The reader went away (`chatdesk ask … | head`): stop quietly, as Unix tools do.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0


def _run_key(action: str, context: object, *, base_url: str | None) -> int:
    from app.cli.key_command import run_key_command
    from app.core.connection import resolve_base_url
    from app.core.problems import UserFacingError
    from app.wiring import AppContext

    assert isinstance(context, AppContext)
    try:
        resolved = resolve_base_url(context.settings, context.environ, base_url)
    except UserFacingError as refused:
        # A base URL with a user name or password in it: said plainly, never a traceback.
        sys.stderr.write(f"Error: {refused.headline}\n{refused.remedy}\n")
        return 1
    return run_key_command(
        action,
        base_url=resolved,
        store=context.secret_store,
        environ=context.environ,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
        registry=context.secrets,
    )


if __name__ == "__main__":
    sys.exit(main())
