"""The options of `chatdesk ask`, kept apart from the command itself.

Every launch builds the argument parser, the window's included; importing the whole command
(history, budget, request building) just to describe its options cost the window ~40 ms.
"""

from __future__ import annotations

import argparse

from app.core.messages import Detail
from app.core.params import ReasoningEffort

# Also named in the refusal `chatdesk ask` prints over a hard budget limit.
OVER_BUDGET_OPTION = "--over-budget"


def add_ask_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the question; '-' reads it from standard input")
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="PATH_OR_URL",
        help="attach an image file or http(s) URL (repeatable)",
    )
    parser.add_argument(
        "--detail",
        choices=[d.value for d in Detail],
        default="auto",
        help="how closely the model looks at the images (default: auto)",
    )
    parser.add_argument("--model", "-m", help="model id (default: the one in Settings)")
    parser.add_argument("--system", "-s", help="system prompt")
    parser.add_argument("--temperature", type=float)
    parser.add_argument("--top-p", type=float)
    parser.add_argument("--presence-penalty", type=float)
    parser.add_argument("--frequency-penalty", type=float)
    parser.add_argument("--max-tokens", type=int, help="upper bound on the reply's tokens")
    parser.add_argument("-n", type=int, help="number of choices to generate")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--stop", action="append", default=[], help="stop sequence (up to 4)")
    parser.add_argument("--json", action="store_true", help="JSON mode (response_format)")
    parser.add_argument("--logprobs", action="store_true")
    parser.add_argument("--top-logprobs", type=int)
    parser.add_argument("--reasoning-effort", choices=[e.value for e in ReasoningEffort])
    parser.add_argument("--user", help="end-user id sent to the API")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="print the answer's bytes exactly as the server sent them, for pipes (by default"
        " escape sequences are removed and control characters shown, so that an answer"
        " cannot drive the terminal)",
    )
    parser.add_argument(
        "--no-save",
        action="store_true",
        help="keep this question and its answer out of the history (saved by default)",
    )
    parser.add_argument(
        OVER_BUDGET_OPTION,
        action="store_true",
        help="send even if the request could take the month past a hard budget limit",
    )
