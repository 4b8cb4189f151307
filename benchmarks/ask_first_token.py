"""Time from launching `chatdesk ask` to its first answer byte on stdout, against a baseline.

Baseline (same run, same machine): a bare script that imports the official SDK and streams
the same prompt from an already-running simulator, printing the first delta. The ratio shows
what Chatdesk adds on top of the unavoidable SDK import and process start.

    .venv/bin/python benchmarks/ask_first_token.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from app.simulator import SimulatorServer

BARE_SDK = """
import sys
from openai import OpenAI
client = OpenAI(base_url=sys.argv[1], api_key="sk-bench")
for chunk in client.chat.completions.create(
    model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}], stream=True
):
    if chunk.choices and chunk.choices[0].delta.content:
        sys.stdout.write(chunk.choices[0].delta.content)
        sys.stdout.flush()
"""


def first_byte_seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    assert process.stdout is not None
    first = process.stdout.read(1)
    elapsed = time.perf_counter() - start
    process.communicate(timeout=60)
    if not first or process.returncode != 0:
        raise RuntimeError(f"{command} produced no answer (exit {process.returncode})")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with tempfile.TemporaryDirectory() as data_dir, SimulatorServer() as sim:
        ask = [sys.executable, "-m", "app", "--data-dir", data_dir, "ask", "hello"]
        server_env = env | {"OPENAI_BASE_URL": sim.base_url, "OPENAI_API_KEY": "sk-bench"}
        variants = {
            "chatdesk ask --demo (starts its own simulator)": ([*ask[:-1], "--demo", "hello"], env),
            "chatdesk ask against a running server": (ask, server_env),
            "bare SDK script against a running server": (
                [sys.executable, "-c", BARE_SDK, sim.base_url],
                env,
            ),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for command, environ in variants.values():  # warm the OS file cache
            first_byte_seconds(command, environ)
        for _ in range(runs):  # interleaved so machine noise hits every variant alike
            for name, (command, environ) in variants.items():
                times[name].append(first_byte_seconds(command, environ))
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["bare SDK script against a running server"]
    print(f"launch to first answer byte, median of {runs} runs:")
    for name, median in medians.items():
        print(f"  {name:<50} {median:6.3f} s  {median / baseline:5.2f}x")


if __name__ == "__main__":
    main()
