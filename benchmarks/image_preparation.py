"""A ~20 MB photo dropped on the image area: time until ready, and the longest GUI stall meanwhile.

The photo (6000×4000, noisy, JPEG quality 90: about 19.5 MB, just under the 20 MB limit) is
made by a child process, so this process imports Pillow first in the "cold" run, as a first drop
would. A 5 ms QTimer samples the GUI thread while the image is prepared: the stall is how much
later than due each tick fired. Baseline (same run): `prepare_image_file` alone in a plain
thread, with the same sampler running.

Bytecode: an installed Chatdesk (pip or the PyInstaller bundle) has Pillow's modules compiled.
A development environment with PYTHONDONTWRITEBYTECODE=1 has not, and compiling a module holds
the GIL for its whole length (10-20 ms for `PIL.Image`), which a cold import would count as a
GUI stall. So the child compiles them into a private cache (`sys.pycache_prefix`) that this
process then reads; nothing is written into the environment.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/image_preparation.py [--runs 5]

Targets: ready within 1 s, no stall over 16 ms (one frame at 60 Hz).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
PYCACHE = Path(tempfile.gettempdir()) / "chatdesk-benchmark-pycache"
sys.pycache_prefix = str(PYCACHE)
sys.dont_write_bytecode = False

import qasync  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402
from PySide6.QtWidgets import QApplication, QLayout, QVBoxLayout, QWidget  # noqa: E402

from app.core.messages import Detail  # noqa: E402
from app.ui.attachments.area import ImageArea  # noqa: E402
from app.ui.background import BackgroundImports  # noqa: E402

TICK_MS = 5
READY_TARGET_S = 1.0
STALL_TARGET_MS = 16.0

MAKE_PHOTO = """
import sys
from PIL import Image
from app.ui.attachments.worker import warm_up_imaging
warm_up_imaging()  # compiles what a first preparation imports, into the private cache
if sys.argv[1]:
    size = (6000, 4000)
    photo = Image.merge("RGB", [Image.effect_noise(size, 60) for _ in range(3)])
    photo.save(sys.argv[1], "JPEG", quality=90)
"""
REPO = Path(__file__).resolve().parents[1]


class StallSampler:
    """Ticks every TICK_MS on the GUI thread and keeps how late each tick was."""

    def __init__(self) -> None:
        self.worst_ms = 0.0
        self._last = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.worst_ms = 0.0
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> float:
        self._timer.stop()
        return self.worst_ms

    def _tick(self) -> None:
        now = time.perf_counter()
        self.worst_ms = max(self.worst_ms, (now - self._last) * 1000 - TICK_MS)
        self._last = now


async def _no_prerequisite() -> None:
    return None


def drop_file(area: ImageArea, path: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    point = QPoint(area.width() // 2, area.height() // 2)
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QApplication.sendEvent(
        area, QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, buttons, keys)
    )
    QApplication.sendEvent(
        area, QDropEvent(point.toPointF(), Qt.DropAction.CopyAction, mime, buttons, keys)
    )


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


async def through_area(area: ImageArea, photo: Path, sampler: StallSampler) -> tuple[float, float]:
    """Seconds from the drop to a ready attachment, and the worst stall meanwhile (ms)."""
    area.take()  # empty the area, as sending does
    sampler.start()
    await asyncio.sleep(0.02)  # let the sampler settle before the drop
    start = time.perf_counter()
    drop_file(area, photo)
    await until(lambda: bool(area.parts()) or bool(area.messages))
    elapsed = time.perf_counter() - start
    stall = sampler.stop()
    if area.messages:
        raise RuntimeError(f"the photo was refused: {area.messages}")
    return elapsed, stall


async def in_plain_thread(photo: Path, sampler: StallSampler) -> tuple[float, float]:
    from app.core.images import prepare_image_file

    done = threading.Event()
    result: list[float] = []

    def work() -> None:
        start = time.perf_counter()
        prepare_image_file(photo, Detail.AUTO)
        result.append(time.perf_counter() - start)
        done.set()

    sampler.start()
    await asyncio.sleep(0.02)
    threading.Thread(target=work, daemon=True).start()
    await until(done.is_set)
    return result[0], sampler.stop()


def summary(name: str, runs: list[tuple[float, float]]) -> str:
    times = [t for t, _ in runs]
    stalls = [s for _, s in runs]
    ready = f"{statistics.median(times) * 1000:7.0f} {max(times) * 1000:7.0f}"
    return f"{name:<44} {ready} {max(stalls):12.1f} {len(runs):5}"


async def measure(photo: Path, runs: int) -> None:
    sampler = StallSampler()
    host = QWidget()
    column = QVBoxLayout(host)
    # The offscreen platform warns whenever a layout changes a top-level's size limits.
    column.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    area = ImageArea(default_detail=Detail.AUTO)
    column.addWidget(area)
    area.use_background(BackgroundImports(_no_prerequisite))
    host.resize(880, 240)
    host.show()
    await asyncio.sleep(0.05)

    cold = [await through_area(area, photo, sampler)]  # Pillow imported by this first drop
    warm = [await through_area(area, photo, sampler) for _ in range(runs)]
    baseline = [await in_plain_thread(photo, sampler) for _ in range(runs)]

    size_mb = photo.stat().st_size / (1024 * 1024)
    print(
        f"\nPhoto: 6000×4000 JPEG, {size_mb:.1f} MB; targets: ready ≤ "
        f"{READY_TARGET_S * 1000:.0f} ms, GUI stall ≤ {STALL_TARGET_MS:.0f} ms\n"
    )
    print(f"{'':<44} {'ready ms':>15} {'max stall ms':>12} {'runs':>5}")
    print(f"{'':<44} {'median':>7} {'max':>7}")
    print(summary("prepare_image_file in a plain thread", baseline))
    print(summary("dropped on the image area (Pillow loaded)", warm))
    print(summary("first drop (Pillow imported by it)", cold))
    worst_ready = max(t for t, _ in warm)
    worst_stall = max(s for _, s in warm + cold)
    verdict = worst_ready <= READY_TARGET_S and worst_stall <= STALL_TARGET_MS
    print(f"\nTargets {'met' if verdict else 'MISSED'} (warm ready, every stall).")
    host.close()


def run(main: Callable[[], Awaitable[None]]) -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    qasync.run(main())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--photo", type=Path, help="use this image instead of a generated one")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(PYCACHE)
    with tempfile.TemporaryDirectory() as folder:
        photo = args.photo or Path(folder) / "photo-6000x4000.jpg"
        target = "" if args.photo else str(photo)
        command = [sys.executable, "-c", MAKE_PHOTO, target]
        subprocess.run(command, check=True, cwd=REPO, env=env)
        run(lambda: measure(photo, args.runs))


if __name__ == "__main__":
    main()
