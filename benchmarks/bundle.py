"""The double-click app against the source tree: the bundle's size, and its start time as a ratio.

Start time is process start to exit with CHATDESK_EXIT_AFTER_SHOWN=1 on Qt's offscreen platform,
in two cases:

- window: the window and its welcome page (no key anywhere);
- window + SDK: `--demo`, which also starts the simulator and loads the OpenAI SDK.

The bundle (dist/chatdesk/chatdesk) and `python -m app` run interleaved, after one unmeasured
round that warms the file cache; the table shows medians. Build the bundle first
(`.venv/bin/python packaging/build.py`, add `--onefile` to compare the one-file variant too).

    .venv/bin/python benchmarks/bundle.py [--runs 9] [--onefile]

Targets: one-folder bundle <= 150 MiB; bundled start <= 1.2x the source tree's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {"window": [], "window + SDK": ["--demo"]}


def folder_bytes(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() or p.is_symlink())


def seconds_to_exit(command: list[str], env: dict[str, str]) -> float:
    with tempfile.TemporaryDirectory() as data_dir:
        start = time.perf_counter()
        result = subprocess.run(
            [*command, "--data-dir", data_dir],
            env=env,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} exited {result.returncode}:\n{result.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "chatdesk")
    parser.add_argument("--onefile", action="store_true", help="also time dist/onefile/chatdesk")
    args = parser.parse_args()
    executable = args.bundle / "chatdesk"
    if not executable.is_file():
        sys.exit(f"no bundle at {args.bundle}: run .venv/bin/python packaging/build.py first")
    programs = {"source": [sys.executable, "-m", "app"], "bundle": [str(executable)]}
    if args.onefile:
        programs["one file"] = [str(ROOT / "dist" / "onefile" / "chatdesk")]

    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "CHATDESK_"))}
        env |= {
            "QT_QPA_PLATFORM": "offscreen",
            "CHATDESK_EXIT_AFTER_SHOWN": "1",
            "XDG_CONFIG_HOME": f"{home}/config",
            "XDG_CACHE_HOME": f"{home}/cache",
            "XDG_STATE_HOME": f"{home}/state",
        }
        times: dict[tuple[str, str], list[float]] = {}
        for run in range(args.runs + 1):  # the first round warms the OS file cache
            for case, case_args in CASES.items():
                for program, command in programs.items():
                    elapsed = seconds_to_exit([*command, *case_args], env)
                    if run:
                        times.setdefault((case, program), []).append(elapsed)

    size = folder_bytes(args.bundle)
    print(f"one-folder bundle: {size / 2**20:.1f} MiB ({size / 1e6:.1f} MB)  target <= 150 MiB")
    archives = sorted(args.bundle.parent.glob("chatdesk-*.tar.gz"))
    for archive in archives:
        print(f"{archive.name}: {archive.stat().st_size / 2**20:.1f} MiB")
    print(f"\nmedian of {args.runs} interleaved runs, start to exit (offscreen)")
    header = f"{'':16}" + "".join(f"{name:>12}" for name in programs)
    print(header + f"{'bundle/source':>15}")
    for case in CASES:
        medians = {program: statistics.median(times[(case, program)]) for program in programs}
        row = f"{case:16}" + "".join(f"{medians[p]:>10.3f} s" for p in programs)
        print(row + f"{medians['bundle'] / medians['source']:>14.2f}x")
    print("target: bundle/source <= 1.2x")


if __name__ == "__main__":
    main()
