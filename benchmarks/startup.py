"""Start time and memory of the real app, as ratios to a bare PySide6 window in the same run.

Runs under its own Xvfb (Debian packages xvfb and xdotool), so both programs are real X11
windows found from outside the process, the way a user sees them:

- time from process start to the window being mapped (polled with `xdotool search`);
- resident memory 5 s after start;
- resident memory after a first streamed answer (typed with xdotool into the composer) and its
  token estimate.

    .venv/bin/python benchmarks/startup.py [--runs 5]

Targets: visible window <= 1.5x the bare one; <= 130 MiB at 5 s; <= 200 MiB after an answer.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

BARE_WINDOW = """
import sys
from PySide6.QtWidgets import QApplication, QWidget
app = QApplication(sys.argv)
window = QWidget()
window.setWindowTitle("Bare window")
window.resize(900, 700)
window.show()
sys.exit(app.exec())
"""


@contextlib.contextmanager
def xvfb(display: str = ":97") -> Iterator[dict[str, str]]:
    server = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QT_QPA"))}
    env |= {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    try:
        for _ in range(100):
            if subprocess.run(["xdpyinfo"], env=env, capture_output=True).returncode == 0:
                break
            time.sleep(0.05)
        yield env
    finally:
        server.terminate()
        server.wait()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def time_to_window(
    command: list[str], title: str, env: dict[str, str]
) -> tuple[float, subprocess.Popen[bytes]]:
    start = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    # Polled every 10 ms here: `xdotool search --sync` retries only every half second, which
    # rounded every start-up time up to the next 0.5 s.
    deadline = start + 60
    while True:
        found = subprocess.run(
            ["xdotool", "search", "--onlyvisible", "--name", title],
            env=env,
            capture_output=True,
            timeout=60,
        )
        if found.returncode == 0 and found.stdout.strip():
            return time.perf_counter() - start, process
        if time.perf_counter() > deadline:
            raise RuntimeError(f"no visible window named {title!r} within a minute")
        time.sleep(0.01)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def ask_in_window(env: dict[str, str], title: str) -> None:
    window = subprocess.run(
        ["xdotool", "search", "--onlyvisible", "--name", title],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[0]
    subprocess.run(["xdotool", "windowactivate", "--sync", window], env=env, capture_output=True)
    subprocess.run(["xdotool", "windowfocus", "--sync", window], env=env, capture_output=True)
    subprocess.run(
        ["xdotool", "type", "--delay", "20", "Explain context windows with an example"],
        env=env,
        check=True,
    )
    subprocess.run(["xdotool", "key", "Return"], env=env, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    for tool in ("Xvfb", "xdotool", "xdpyinfo"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install xvfb xdotool x11-utils")
    bare_times: list[float] = []
    app_times: list[float] = []
    bare_rss: list[float] = []
    app_rss: list[float] = []
    answered_rss: list[float] = []
    # The simulator runs as its own process, so the app's figures are those of real use against
    # a remote server (demo mode would add the simulator's own memory to the app's).
    simulator = subprocess.Popen(
        [sys.executable, "-m", "app.simulator", "--port", "8769", "--chunk-delay", "0.02"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.5)
    with xvfb() as env, contextlib.ExitStack() as cleanup:
        cleanup.callback(stop, simulator)
        app_env = env | {
            "OPENAI_BASE_URL": "http://127.0.0.1:8769/v1",
            "OPENAI_API_KEY": "sk-proj-benchmark000000000000000000000000",
        }
        for run in range(runs + 1):  # the first round warms the OS file cache
            seconds, bare = time_to_window([sys.executable, "-c", BARE_WINDOW], "Bare window", env)
            time.sleep(5 - seconds)
            memory = rss_mib(bare.pid)
            stop(bare)
            if run:
                bare_times.append(seconds)
                bare_rss.append(memory)

            with tempfile.TemporaryDirectory() as data_dir:
                command = [sys.executable, "-m", "app", "--data-dir", data_dir]
                seconds, app = time_to_window(command, "Chatdesk", app_env)
                time.sleep(max(0.0, 5 - seconds))
                memory = rss_mib(app.pid)
                ask_in_window(env, "Chatdesk")
                time.sleep(6)  # the demo answer streams for a few seconds
                after = rss_mib(app.pid)
                stop(app)
            if run:
                app_times.append(seconds)
                app_rss.append(memory)
                answered_rss.append(after)

    bare_t, app_t = statistics.median(bare_times), statistics.median(app_times)
    bare_m = statistics.median(bare_rss)
    app_m, answered_m = statistics.median(app_rss), statistics.median(answered_rss)
    print(f"median of {runs} runs under Xvfb")
    print(f"{'':36}{'bare window':>14}{'Chatdesk':>12}{'ratio':>8}")
    print(f"{'time to visible window':36}{bare_t:>12.3f} s{app_t:>10.3f} s{app_t / bare_t:>7.2f}x")
    print(
        f"{'resident memory 5 s after start':36}{bare_m:>10.0f} MiB{app_m:>8.0f} MiB"
        f"{app_m / bare_m:>7.2f}x"
    )
    print(f"{'resident memory after an answer':36}{'':>14}{answered_m:>8.0f} MiB")


if __name__ == "__main__":
    main()
