"""`python -m app.simulator`: run the simulator in the foreground and print its base URL."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from app.simulator.server import SimulatorServer


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m app.simulator", description="OpenAI-compatible API simulator"
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--chunk-delay", type=float, default=0.0, help="seconds between chunks")
    parser.add_argument("--words-per-chunk", type=int, default=1)
    parser.add_argument("--answer-words", type=int, default=None, help="pad answers to N words")
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any)")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(message)s",
        stream=sys.stderr,
    )
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    sim = SimulatorServer(
        api_key=args.api_key,
        chunk_delay=args.chunk_delay,
        words_per_chunk=args.words_per_chunk,
        answer_words=args.answer_words,
        port=args.port,
    )
    with sim:
        print(sim.base_url, flush=True)
        # A timed wait keeps the main thread responsive to signals on every platform.
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
