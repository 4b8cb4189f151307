"""A real X11 desktop for tests: Xvfb on a free display, Debian's trayer as the tray, the real app.

Every process started here is stopped when the test ends, passed or failed. The tools are
Debian packages the test command installs (scripts/packages-test.txt); a missing one fails the
test rather than skipping it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

# A guard against a hung test, not a performance expectation.
WAIT_LIMIT_S = 30.0
TOOLS = {
    "Xvfb": "xvfb",
    "trayer": "trayer",
    "xdotool": "xdotool",
    "xwininfo": "x11-utils",
}
ROOT = Path(__file__).resolve().parents[2]


def require_tools(*names: str) -> None:
    missing = [f"{name} (apt package {TOOLS[name]})" for name in names if not shutil.which(name)]
    if missing:
        raise AssertionError(f"missing test tools: {', '.join(missing)}; run scripts/test")


def stop(process: subprocess.Popen[bytes]) -> None:
    """End `process` politely, then firmly."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Desktop:
    """One Xvfb display (and the processes started on it)."""

    display: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, *args: str, check: bool = True) -> str:
        """Run an X tool on this display; its standard output."""
        result = subprocess.run(
            list(args), env=self.env, capture_output=True, text=True, timeout=WAIT_LIMIT_S
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{args} failed: {result.stderr.strip()}")
        return result.stdout

    def start(
        self, command: Sequence[str], *, env: dict[str, str] | None = None, log: Path | None = None
    ) -> subprocess.Popen[bytes]:
        """Start a process on this display; it is stopped at the end of the test."""
        out = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        try:
            process = subprocess.Popen(
                list(command), env=self.env | (env or {}), stdout=out, stderr=subprocess.STDOUT
            )
        finally:
            if log is not None:
                out.close()  # type: ignore[union-attr]
        self.processes.append(process)
        return process

    def start_app(
        self, data_dir: Path, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `chatdesk` (from the source tree) with `data_dir`; its output goes to a log."""
        log = data_dir / f"process-{len(self.processes)}.out"
        command = [sys.executable, "-m", "app", "--data-dir", str(data_dir), *args]
        return self.start(command, env=env, log=log)

    def windows(self, name: str, *, visible: bool = True) -> list[str]:
        """Ids of windows whose title matches the regular expression `name`."""
        flags = ["--onlyvisible"] if visible else []
        out = self.run("xdotool", "search", *flags, "--name", name, check=False)
        return out.split()

    def wait_for_window(self, name: str, *, visible: bool = True) -> str:
        """The first window titled `name` (shown, unless `visible` is False), once there is one."""
        deadline = time.monotonic() + WAIT_LIMIT_S
        while True:
            found = self.windows(name, visible=visible)
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise AssertionError(f"no window named {name!r} appeared")
            time.sleep(0.05)

    def wait_until_hidden(self, name: str) -> None:
        deadline = time.monotonic() + WAIT_LIMIT_S
        while self.windows(name):
            if time.monotonic() > deadline:
                raise AssertionError(f"window {name!r} stayed on screen")
            time.sleep(0.05)

    def geometry(self, window: str) -> tuple[int, int, int, int]:
        """x, y, width, height of `window` on the screen."""
        values: dict[str, int] = {}
        for line in self.run("xwininfo", "-id", window).splitlines():
            key, _, value = line.strip().partition(":")
            if key in ("Absolute upper-left X", "Absolute upper-left Y", "Width", "Height"):
                values[key] = int(value)
        return (
            values["Absolute upper-left X"],
            values["Absolute upper-left Y"],
            values["Width"],
            values["Height"],
        )

    def close_window(self, window: str) -> None:
        """Ask `window` to close, as a window manager's close button does (WM_DELETE_WINDOW)."""
        from Xlib import X, display
        from Xlib.protocol import event

        screen = display.Display(self.display)
        try:
            target = screen.create_resource_object("window", int(window))
            protocols = screen.intern_atom("WM_PROTOCOLS")
            delete = screen.intern_atom("WM_DELETE_WINDOW")
            message = event.ClientMessage(
                window=target, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])
            )
            target.send_event(message, event_mask=X.NoEventMask)
            screen.flush()
        finally:
            screen.close()


@contextlib.contextmanager
def xvfb_desktop(size: str = "1280x900x24") -> Iterator[Desktop]:
    """An Xvfb server on a display number it picks itself (-displayfd), stopped afterwards."""
    require_tools("Xvfb", "xdotool", "xwininfo")
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    desktop: Desktop | None = None
    try:
        with os.fdopen(read) as pipe:
            number = pipe.readline().strip()
        if not number:
            raise AssertionError("Xvfb did not start")
        display = f":{number}"
        _wait_until_accepting(display)
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OPENAI_", "CHATDESK_", "QT_", "WAYLAND_"))
        }
        env |= {
            "DISPLAY": display,
            "QT_QPA_PLATFORM": "xcb",
            "XDG_SESSION_TYPE": "x11",
            "PYTHONPATH": str(ROOT),
        }
        desktop = Desktop(display, env)
        yield desktop
    finally:
        if desktop is not None:
            for process in reversed(desktop.processes):
                stop(process)
        stop(server)


def _wait_until_accepting(display: str) -> None:
    """Return once an X client can connect to `display`.

    Xvfb reports its display number when it is set up, yet an app started at that instant
    was seen to fail with "could not connect to display" (about once in a few hundred
    starts on a loaded machine); a client that has connected once proves the server is up.
    """
    from Xlib import display as xdisplay
    from Xlib.error import DisplayError

    deadline = time.monotonic() + WAIT_LIMIT_S
    while True:
        try:
            xdisplay.Display(display).close()
            return
        except (DisplayError, ConnectionError, OSError) as refused:
            if time.monotonic() > deadline:
                raise AssertionError(f"Xvfb on {display} accepts no connection") from refused
            time.sleep(0.05)


def start_tray(desktop: Desktop, *, attempts: int = 3) -> str:
    """Start trayer (a real system tray) on `desktop`; its panel window's id.

    Now and then trayer exits at start on a fresh Xvfb, or never maps its panel; the tray is
    the test's scaffolding, not what it tests, so a tray that did not come up is started again.
    """
    require_tools("trayer")
    command = [
        "trayer",
        "--edge",
        "top",
        "--align",
        "right",
        "--widthtype",
        "request",
        "--height",
        "32",
        "--SetDockType",
        "true",
        "--transparent",
        "false",
    ]
    panel = None
    for _attempt in range(attempts):
        tray = desktop.start(command)
        deadline = time.monotonic() + WAIT_LIMIT_S / attempts
        while panel is None and tray.poll() is None and time.monotonic() < deadline:
            found = desktop.windows("^panel$")
            panel = found[0] if found else None
            if panel is None:
                time.sleep(0.05)
        if panel is not None:
            break
        tray.kill()
        tray.wait()
    if panel is None:
        raise AssertionError(f"trayer showed no panel in {attempts} starts")
    # Apps see a tray once trayer owns the tray selection, which comes after its panel.
    from Xlib import display

    screen = display.Display(desktop.display)
    try:
        selection = screen.intern_atom("_NET_SYSTEM_TRAY_S0")
        deadline = time.monotonic() + WAIT_LIMIT_S
        while screen.get_selection_owner(selection) == 0:
            if time.monotonic() > deadline:
                raise AssertionError("trayer never took the system tray selection")
            time.sleep(0.05)
    finally:
        screen.close()
    return panel


def tray_icons(desktop: Desktop, panel: str) -> list[str]:
    """Windows docked in the tray panel (each app's tray icon), innermost first."""
    tree = desktop.run("xwininfo", "-id", panel, "-tree")
    icons = []
    for line in tree.splitlines():
        line = line.strip()
        if line.startswith("0x") and '"Chatdesk"' in line:
            icons.append(str(int(line.split()[0], 16)))
    return icons
