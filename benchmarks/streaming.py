"""How the chat window copes with streamed replies: GUI stalls, linearity and CPU overhead.

The real main window, controller, client and Markdown chat view run offscreen on a qasync loop
against the API simulator, which runs in its own process so it competes neither for the GIL
nor for the CPU time measured here. Each figure comes with a baseline measured in the same run:

(a) a 20,000-chunk flood (no delay between chunks): the longest stall of the GUI thread, seen
    by a 5 ms timer (target ≤ 50 ms); baseline: the client alone consuming the same stream on
    the same loop, no window;
(b) 1,000 chunks per second: the longest stall (target ≤ 16 ms); same baseline;
(c) wall time of a 50,000-chunk answer over a 5,000-chunk one (target ≤ 11: linear);
    baseline: the same ratio for the client alone;
(e) the flood again, with a long conversation already in the window: the cost of a delta
    must not depend on what came before;
(d) CPU time of the app consuming a stream over that of a bare SDK consumer of the same stream
    (`AsyncOpenAI` on a plain asyncio loop in its own process, the text appended to a list;
    target ≤ 1.3); first with PySide6's `__feature__` import hook in place, then with it
    dropped as `run_gui` does (see app/ui/import_hook.py), against the bare consumer with and
    without PySide6 imported.
(f) the flood with logprobs on (top 5 alternatives per token): CPU time and longest stall over
    those of the same flood without; then with the inspector's heat-map open, following the
    reply as it streams. `--logprobs` measures only this.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/streaming.py [--quick] [--logprobs]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from app.core.catalog import CATALOG
from app.core.client import ChatClient, ConnectionConfig
from app.core.events import TextDelta
from app.core.params import ChatParams
from app.simulator.prose import filler
from app.ui.chat.controller import ChatController
from app.ui.chat.inspector.follower import ReplyInspector
from app.ui.chat.view import ChatView
from app.ui.event_loop import EventLoop
from app.ui.import_hook import drop_feature_import_hook
from app.ui.main_window import MainWindow

MODEL = "gpt-4o-mini"
KEY = "sk-bench"
PROMPT = "Explain how streamed replies are rendered"
PROBE_MS = 5
# The simulator sleeps this long between chunks for (b); with its own overhead, ~1,000 a second.
PACED_DELAY_S = 0.0008
# For (e): a transcript this many turns long (about 1.2 MB of rendered Markdown) before the flood.
EARLIER_TURNS = 200
# For (f): what a developer looking at probabilities would ask for.
LOGPROBS = ChatParams(logprobs=True, top_logprobs=5)
# Filler words per streamed chunk (token): measured below, used to size the answers.
_CALIBRATION_WORDS = 2000


@contextlib.contextmanager
def simulator(chunk_delay: float, answer_words: int) -> Iterator[str]:
    """A simulator in a child process; its base URL."""
    command = [
        sys.executable,
        "-m",
        "app.simulator",
        "--chunk-delay",
        str(chunk_delay),
        "--answer-words",
        str(answer_words),
    ]
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


class StallProbe:
    """A 5 ms timer on the GUI thread; the longest gap between its ticks beyond 5 ms."""

    def __init__(self) -> None:
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(PROBE_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self.longest = 0.0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest = max(self.longest, now - self._last)
        self._last = now

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        self._last = time.perf_counter()
        self.longest = 0.0
        self._timer.start()
        try:
            yield
        finally:
            self._timer.stop()

    @property
    def stall_ms(self) -> float:
        return max(0.0, self.longest * 1000 - PROBE_MS)


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    stall_ms: float
    chunks: int


class Bench:
    """The window, controller and client, rebuilt for each simulator."""

    def __init__(self, probe: StallProbe) -> None:
        self.probe = probe
        self.window = MainWindow(CATALOG, MODEL)
        self.window.show()

    async def app_stream(
        self,
        base_url: str,
        earlier_turns: int = 0,
        *,
        params: ChatParams | None = None,
        heat_map: bool = False,
    ) -> Run:
        """One answer streamed into the window, after `earlier_turns` turns already shown.

        With `heat_map`, the inspector is open and follows the reply's tokens as they arrive.
        """
        client = ChatClient(ConnectionConfig(api_key=KEY, base_url=base_url, max_retries=0))
        window = self.window
        controller = ChatController(
            view=window.chat_view,
            composer=window.composer,
            banner=window.banner,
            status=window.status,
            model=MODEL,
            client=client,
            params=params,
            parent=window,
        )
        inspector = None
        if heat_map:
            inspector = ReplyInspector(controller, window.chat_view, window.inspector_dock, window)
            window.inspector_dock.show()
        try:
            # Warm-up: the SDK, the token encoding and the first layout are not what is timed.
            await controller.send("hi")
            controller.new_chat()
            chunks = 0
            view = window.chat_view
            show_earlier_turns(view, earlier_turns)
            append = view.append_reply

            def counting(text: str, choice: int = 0) -> None:
                nonlocal chunks
                chunks += 1
                append(text, choice)

            view.append_reply = counting  # type: ignore[method-assign]
            try:
                return await _timed(self.probe, lambda: controller.send(PROMPT), lambda: chunks)
            finally:
                del view.append_reply
        finally:
            controller.new_chat()
            if inspector is not None:
                window.inspector_dock.hide()
                inspector.deleteLater()
            controller.deleteLater()
            await client.aclose()

    async def client_stream(self, base_url: str, params: ChatParams | None = None) -> Run:
        """The same answer consumed by the client alone on the same loop: no window involved."""
        from app.core.messages import ChatMessage
        from app.core.request import build_request

        client = ChatClient(ConnectionConfig(api_key=KEY, base_url=base_url, max_retries=0))
        body = build_request(MODEL, [ChatMessage.user(PROMPT)], params or ChatParams())
        chunks = 0

        async def consume() -> None:
            nonlocal chunks
            async for event in client.stream_chat(body):
                if isinstance(event, TextDelta):
                    chunks += 1

        try:
            await client.warm_up()
            return await _timed(self.probe, consume, lambda: chunks)
        finally:
            await client.aclose()


def fastest(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.wall_s)


def show_earlier_turns(view: ChatView, turns: int) -> None:
    """Fill the transcript with `turns` rendered turns of Markdown (not sent with requests)."""
    for turn in range(turns):
        view.add_user_message(f"Question number {turn}: tell me more")
        view.begin_reply(MODEL)
        view.append_reply(filler(random.Random(turn), 800, topic="earlier turns"))
        view.end_reply()


async def _timed(
    probe: StallProbe, start: Callable[[], Awaitable[Any]], count: Callable[[], int]
) -> Run:
    with probe.running():
        wall, cpu = time.perf_counter(), time.process_time()
        await start()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        # Let the last frame be drawn inside the measurement window.
        await asyncio.sleep(0.05)
    return Run(wall, cpu, probe.stall_ms, count())


BARE_SDK = """
import asyncio, sys, time
from openai import AsyncOpenAI

async def main(base_url, model, prompt):
    client = AsyncOpenAI(api_key="sk-bench", base_url=base_url, max_retries=0)
    warm = await client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "hi"}], stream=True
    )
    async for _ in warm:
        pass
    parts = []
    wall, cpu = time.perf_counter(), time.process_time()
    stream = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": prompt}],
        stream=True,
        stream_options={"include_usage": True},
    )
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await client.close()
    print(wall, cpu, len(parts))

asyncio.run(main(*sys.argv[1:]))
"""


async def bare_sdk(base_url: str, *, with_pyside: bool = False) -> Run:
    """A bare SDK consumer of the same stream, in its own process: the baseline for CPU time."""
    script = ("import PySide6.QtCore\n" if with_pyside else "") + BARE_SDK
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, base_url, MODEL, PROMPT, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    wall, cpu, chunks = out.split()
    return Run(float(wall), float(cpu), 0.0, int(chunks))


def words_for_chunks(chunks: int) -> int:
    """Answer words giving about `chunks` streamed chunks (one token each)."""
    from app.simulator import SimulatorServer
    from app.simulator.counting import split_tokens

    with SimulatorServer(answer_words=_CALIBRATION_WORDS) as sim:
        import json
        import urllib.request

        body = {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}]}
        request = urllib.request.Request(
            f"{sim.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {KEY}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.load(response)["choices"][0]["message"]["content"]
    tokens = len(split_tokens(answer))
    return max(1, round(chunks * _CALIBRATION_WORDS / tokens))


def table(rows: list[tuple[str, str, str, str]]) -> str:
    header = ("measurement", "app", "baseline", "target")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True))]
    lines.append("-+-".join("-" * w for w in widths))
    lines += [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def measure(quick: bool) -> list[tuple[str, str, str, str]]:
    probe = StallProbe()
    bench = Bench(probe)
    scale = 10 if quick else 1
    flood_chunks, small, large = 20_000 // scale, 5_000 // scale, 50_000 // scale
    rows = []

    with simulator(0.0, words_for_chunks(flood_chunks)) as url:
        flood = await bench.app_stream(url)
        flood_client = await bench.client_stream(url)
        bare = await bare_sdk(url)
        bare_pyside = await bare_sdk(url, with_pyside=True)
    rows.append(
        (
            f"(a) flood of {flood.chunks:,} chunks: max GUI stall",
            f"{flood.stall_ms:.1f} ms",
            f"{flood_client.stall_ms:.1f} ms (client only)",
            "≤ 50 ms",
        )
    )

    paced_chunks = 3_000 // scale
    with simulator(PACED_DELAY_S, words_for_chunks(paced_chunks)) as url:
        paced = await bench.app_stream(url)
        paced_client = await bench.client_stream(url)
    rate = paced.chunks / paced.wall_s
    rows.append(
        (
            f"(b) {rate:,.0f} chunks/s ({paced.chunks:,} chunks): max GUI stall",
            f"{paced.stall_ms:.1f} ms",
            f"{paced_client.stall_ms:.1f} ms (client only)",
            "≤ 16 ms",
        )
    )

    # Fastest of a few runs: a single short run is at the mercy of whatever else the machine does.
    with simulator(0.0, words_for_chunks(small)) as url:
        short = fastest([await bench.app_stream(url) for _ in range(3)])
        short_client = fastest([await bench.client_stream(url) for _ in range(3)])
    with simulator(0.0, words_for_chunks(large)) as url:
        long = fastest([await bench.app_stream(url) for _ in range(2)])
        long_client = fastest([await bench.client_stream(url) for _ in range(2)])
    with simulator(0.0, words_for_chunks(flood_chunks)) as url:
        crowded = await bench.app_stream(url, earlier_turns=EARLIER_TURNS)
    rows.append(
        (
            f"(c) wall time {long.chunks:,} / {short.chunks:,} chunks",
            f"{long.wall_s / short.wall_s:.2f} ({long.wall_s:.2f} s / {short.wall_s:.2f} s)",
            f"{long_client.wall_s / short_client.wall_s:.2f} (client only)",
            f"≤ {1.1 * long.chunks / short.chunks:.1f} (linear)",
        )
    )
    rows.append(
        (
            f"(d) CPU, app / bare SDK, Qt import hook kept ({flood.chunks:,} chunks)",
            f"{flood.cpu_s / bare.cpu_s:.2f} ({flood.cpu_s:.2f} s / {bare.cpu_s:.2f} s)",
            f"{flood_client.cpu_s / bare.cpu_s:.2f} (client only)",
            "≤ 1.3",
        )
    )
    # Last, as it cannot be undone in this process.
    drop_feature_import_hook()
    with simulator(0.0, words_for_chunks(flood_chunks)) as url:
        unhooked = await bench.app_stream(url)
        unhooked_client = await bench.client_stream(url)
    rows.append(
        (
            "(d') the same as the app runs (run_gui drops the hook)",
            f"{unhooked.cpu_s / bare.cpu_s:.2f} ({unhooked.cpu_s:.2f} s)",
            f"{unhooked_client.cpu_s / bare.cpu_s:.2f} (client only)",
            "≤ 1.3",
        )
    )
    rows.append(
        (
            "    bare SDK consumer with PySide6 imported",
            f"{bare_pyside.cpu_s / bare.cpu_s:.2f} ({bare_pyside.cpu_s:.2f} s)",
            "",
            "",
        )
    )
    rows.append(
        (
            f"(e) flood after {EARLIER_TURNS} earlier turns: CPU, max stall",
            f"{crowded.cpu_s:.2f} s, {crowded.stall_ms:.1f} ms",
            f"{flood.cpu_s:.2f} s, {flood.stall_ms:.1f} ms (empty transcript)",
            "same as empty",
        )
    )
    rows += await measure_logprobs(bench, flood_chunks)
    bench.window.close()
    return rows


async def measure_logprobs(bench: Bench, chunks: int) -> list[tuple[str, str, str, str]]:
    """(f): what logprobs cost the flood, and the heat-map following it as it streams."""
    with simulator(0.0, words_for_chunks(chunks)) as url:
        plain = fastest([await bench.app_stream(url) for _ in range(2)])
        plain_client = fastest([await bench.client_stream(url) for _ in range(2)])
        with_logprobs = fastest([await bench.app_stream(url, params=LOGPROBS) for _ in range(2)])
        logprobs_client = fastest([await bench.client_stream(url, LOGPROBS) for _ in range(2)])
        heat = fastest(
            [await bench.app_stream(url, params=LOGPROBS, heat_map=True) for _ in range(2)]
        )
    return [
        (
            f"(f) CPU, logprobs on / off ({with_logprobs.chunks:,} chunks, top 5)",
            f"{with_logprobs.cpu_s / plain.cpu_s:.2f} "
            f"({with_logprobs.cpu_s:.2f} s / {plain.cpu_s:.2f} s)",
            f"{logprobs_client.cpu_s / plain_client.cpu_s:.2f} "
            f"({logprobs_client.cpu_s:.2f} s / {plain_client.cpu_s:.2f} s, client only)",
            "",
        ),
        (
            "    max GUI stall, logprobs on (off)",
            f"{with_logprobs.stall_ms:.1f} ms ({plain.stall_ms:.1f} ms)",
            f"{logprobs_client.stall_ms:.1f} ms (client only)",
            "≤ 50 ms",
        ),
        (
            "(f') with the heat-map open: CPU / logprobs off, max stall",
            f"{heat.cpu_s / plain.cpu_s:.2f} ({heat.cpu_s:.2f} s), {heat.stall_ms:.1f} ms",
            "",
            "≤ 50 ms",
        ),
    ]


async def measure_logprobs_only(quick: bool) -> list[tuple[str, str, str, str]]:
    # As the app runs (see (d')): run_gui drops the import hook.
    drop_feature_import_hook()
    bench = Bench(StallProbe())
    try:
        return await measure_logprobs(bench, 20_000 // (10 if quick else 1))
    finally:
        bench.window.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--logprobs", action="store_true", help="only (f): the cost of logprobs")
    arguments = parser.parse_args()
    quick = arguments.quick
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    loop = EventLoop(app)
    asyncio.set_event_loop(loop)
    with loop:
        if arguments.logprobs:
            rows = loop.run_until_complete(measure_logprobs_only(quick))
        else:
            rows = loop.run_until_complete(measure(quick))
    print(table(rows))


if __name__ == "__main__":
    main()
