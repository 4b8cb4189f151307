"""Hotkey to visible quick-ask popup: the real app under Xvfb, against a plain window.

Both programs listen for Ctrl+Alt+Space with pynput and show a window built ahead of time: the
baseline a plain QWidget, Chatdesk its quick-ask popup. For each press the benchmark (an X11
client of its own, through python-xlib) starts the clock, runs `xdotool key ctrl+alt+space`,
and stops it when the X server reports the window mapped (MapNotify); Esc hides it again.

    .venv/bin/python benchmarks/quick_ask_latency.py [--presses 30]

Target: the popup is on screen within 100 ms of the key.
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE = """
import sys
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QApplication, QWidget
from pynput import keyboard

class Relay(QObject):
    pressed = Signal()

app = QApplication(sys.argv)
window = QWidget()
window.setWindowTitle("Baseline popup")
window.setWindowFlags(Qt.WindowType.Tool | Qt.WindowType.WindowStaysOnTopHint)
window.resize(640, 120)
window.winId()
QShortcut(QKeySequence("Esc"), window).activated.connect(window.hide)
relay = Relay()
relay.pressed.connect(lambda: (window.show(), window.activateWindow()))
hotkeys = keyboard.GlobalHotKeys({"<ctrl>+<alt>+<space>": relay.pressed.emit})
hotkeys.start()
hotkeys.wait()
print("ready", flush=True)
sys.exit(app.exec())
"""


@contextlib.contextmanager
def xvfb() -> Iterator[dict[str, str]]:
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as pipe:
            display = f":{pipe.readline().strip()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "QT_"))}
        env |= {"DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "XDG_SESSION_TYPE": "x11"}
        yield env
    finally:
        server.terminate()
        server.wait()


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def find_window(env: dict[str, str], title: str) -> int:
    """The window titled `title`, mapped or not (each program builds its window ahead)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--name", title], env=env, capture_output=True, text=True
        ).stdout.split()
        if found:
            return int(found[0])
        time.sleep(0.05)
    raise SystemExit(f"no window {title!r}")


def wait_for_text(path: Path, text: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(encoding="utf-8", errors="replace"):
            return
        time.sleep(0.05)
    raise SystemExit(f"{path} never said {text!r}")


def press_to_map(env: dict[str, str], window_id: int, presses: int) -> list[float]:
    """Milliseconds from the hotkey to the window's MapNotify, for each press."""
    from Xlib import X, display

    screen = display.Display(env["DISPLAY"])
    window = screen.create_resource_object("window", window_id)
    window.change_attributes(event_mask=X.StructureNotifyMask)
    screen.sync()

    def wait_for(event_type: int) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            while screen.pending_events():
                if screen.next_event().type == event_type:
                    return
            time.sleep(0.0005)
        raise SystemExit("the window did not respond to the key")

    timings = []
    for press in range(presses + 2):  # the first two warm up caches and lazy paths
        time.sleep(0.3)
        started = time.perf_counter()
        subprocess.run(["xdotool", "key", "ctrl+alt+space"], env=env, check=True)
        wait_for(X.MapNotify)
        elapsed = (time.perf_counter() - started) * 1000
        if press >= 2:
            timings.append(elapsed)
        time.sleep(0.2)
        subprocess.run(["xdotool", "key", "Escape"], env=env, check=True)
        wait_for(X.UnmapNotify)
    screen.close()
    return timings


def summary(timings: list[float]) -> tuple[float, float, float]:
    ordered = sorted(timings)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return statistics.median(ordered), p90, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--presses", type=int, default=30)
    presses = parser.parse_args().presses
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is missing: apt-get install xvfb xdotool")
    from app.simulator import SimulatorServer

    with (
        xvfb() as env,
        SimulatorServer() as simulator,
        tempfile.TemporaryDirectory() as scratch,
        contextlib.ExitStack() as cleanup,
    ):
        log = Path(scratch) / "baseline.out"
        with open(log, "wb") as out:
            baseline = subprocess.Popen(
                [sys.executable, "-c", BASELINE], env=env, stdout=out, stderr=subprocess.STDOUT
            )
        cleanup.callback(stop, baseline)
        wait_for_text(log, "ready")
        bare = press_to_map(env, find_window(env, "^Baseline popup$"), presses)
        stop(baseline)

        data_dir = Path(scratch) / "data"
        app_env = env | {
            "OPENAI_BASE_URL": simulator.base_url,
            "OPENAI_API_KEY": "sk-proj-benchmark000000000000000000000000",
            "PYTHONPATH": str(ROOT),
        }
        app = subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir)],
            env=app_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        cleanup.callback(stop, app)
        wait_for_text(data_dir / "logs" / "chatdesk.log", "registered with pynput")
        wait_for_text(data_dir / "logs" / "chatdesk.log", "SDK ready")
        popup = press_to_map(env, find_window(env, "^Quick ask — Chatdesk$"), presses)

    bare_median, bare_p90, bare_max = summary(bare)
    app_median, app_p90, app_max = summary(popup)
    print(f"hotkey (xdotool key) to window mapped, {presses} presses each, under Xvfb")
    print(f"{'':28}{'median':>10}{'p90':>10}{'max':>10}")
    print(
        f"{'plain QWidget (baseline)':28}{bare_median:>8.1f}ms{bare_p90:>8.1f}ms{bare_max:>8.1f}ms"
    )
    print(f"{'Chatdesk quick-ask popup':28}{app_median:>8.1f}ms{app_p90:>8.1f}ms{app_max:>8.1f}ms")
    print(f"ratio (median): {app_median / bare_median:.2f}x; target: under 100 ms")


if __name__ == "__main__":
    main()
