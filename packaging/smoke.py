"""Check the built bundle itself (dist/chatdesk), never the source tree: what a user would run.

Run by scripts/package-smoke after the build, inside a private D-Bus session with an unlocked
Secret Service (as the test suite's keyring tests are). Every command gets a throwaway data
folder, and none of the developer's own settings, keyrings or environment keys.

    .venv/bin/python packaging/smoke.py [--bundle dist/chatdesk] [--only NAME ...]

Prints one line per check and closes with "N passed, N failed"; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import contents
import metadata

ROOT = metadata.ROOT
TIMEOUT_S = 120
# More bytes than gpt-4o-mini's context window has tokens: `ask` cannot rule out an overflow by
# counting bytes, so it counts tokens with the bundled encoding before sending.
LONG_PROMPT_BYTES = 140_000
TEST_KEY = "sk-proj-packagesmoke0000000000000000000000000000"


class CheckFailed(Exception):
    pass


class Smoke:
    """The checks, sharing the bundle's location and a scratch folder."""

    def __init__(self, bundle: Path, scratch: Path) -> None:
        self.bundle = bundle
        self.exe = bundle / "chatdesk"
        self.internal = bundle / "_internal"
        self.scratch = scratch
        self.version = metadata.project_version()
        self._data_dirs = 0
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OPENAI_", "CHATDESK_", "QT_"))
        }
        self.env |= {
            "XDG_CONFIG_HOME": str(scratch / "config"),
            "XDG_CACHE_HOME": str(scratch / "cache"),
            "XDG_STATE_HOME": str(scratch / "state"),
        }
        self.env.setdefault("XDG_DATA_HOME", str(scratch / "data"))

    def data_dir(self) -> str:
        self._data_dirs += 1
        path = self.scratch / f"chatdesk-data-{self._data_dirs}"
        path.mkdir()
        return str(path)

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [*(command or [str(self.exe)]), *args],
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=self.env | (env or {}),
            cwd=self.scratch,
            timeout=TIMEOUT_S,
        )
        return result

    def run_ok(
        self,
        args: Sequence[str],
        *,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = self.run(args, stdin=stdin, env=env, command=command)
        if result.returncode != 0:
            raise CheckFailed(
                f"`chatdesk {' '.join(args)}` exited {result.returncode}\n{_tail(result)}"
            )
        return result

    # -- the checks -----------------------------------------------------------------------------

    def check_version(self) -> str:
        """`--version` reports pyproject.toml's version, read inside the bundle."""
        out = self.run_ok(["--version"]).stdout.strip()
        if out != f"chatdesk {self.version}":
            raise CheckFailed(f"--version printed {out!r}, pyproject says {self.version}")
        return out

    def check_ask_demo(self) -> str:
        """`chatdesk ask --demo` streams an answer from the built-in simulator."""
        result = self.run_ok(["ask", "--demo", "--data-dir", self.data_dir(), "hello"])
        if "hello" not in result.stdout:
            raise CheckFailed(f"no answer on stdout\n{_tail(result)}")
        if " in · " not in result.stderr:
            raise CheckFailed(f"no usage line on stderr\n{_tail(result)}")
        return f"{len(result.stdout)} characters streamed"

    def check_tiktoken(self) -> str:
        """The bundled encodings load and count exactly as the source tree's tiktoken does."""
        prompt = _long_prompt()
        args = ["ask", "--demo", "--model", "gpt-4o-mini", "-"]
        bundled = self.run_ok([*args, "--data-dir", self.data_dir()], stdin=prompt)
        source = self.run(
            [*args, "--data-dir", self.data_dir()],
            stdin=prompt,
            command=[sys.executable, "-m", "app"],
            env={"PYTHONPATH": str(ROOT)},
        )
        if source.returncode != 0:
            raise CheckFailed(f"the source tree's `ask` failed\n{_tail(source)}")
        counted, expected = _prompt_tokens(bundled.stderr), _prompt_tokens(source.stderr)
        estimate = _estimated_tokens(prompt)
        if counted != expected:
            raise CheckFailed(f"bundle counted {counted} prompt tokens, tiktoken {expected}")
        if counted == estimate:
            raise CheckFailed("the check cannot tell tiktoken from the estimate: change the prompt")
        return f"{counted:,} tokens, as tiktoken (the fallback estimate says {estimate:,})"

    def check_gui_offscreen(self) -> str:
        """The window starts, loads the SDK and exits 0 (Qt's headless platform)."""
        return self._gui({"QT_QPA_PLATFORM": "offscreen"})

    def check_gui_x11(self) -> str:
        """The window starts on a real X server (the bundled xcb plugin and its libraries)."""
        if shutil.which("Xvfb") is None:
            raise CheckFailed("Xvfb is missing (apt-get install xvfb)")
        data_dir = self.data_dir()
        with _xvfb() as display:
            self._gui({"QT_QPA_PLATFORM": "xcb", "DISPLAY": display}, data_dir)
        # The global hotkey's backend (pynput's X11 modules, bundled as hidden imports).
        log = Path(data_dir, "logs", "chatdesk.log").read_text(encoding="utf-8", errors="replace")
        if "registered with pynput" not in log:
            hotkey = [line for line in log.splitlines() if "hotkey" in line]
            raise CheckFailed("the global hotkey did not register:\n" + "\n".join(hotkey[:5]))
        return "exit 0, hotkey registered"

    def _gui(self, platform: dict[str, str], data_dir: str | None = None) -> str:
        env = platform | {"CHATDESK_EXIT_AFTER_SHOWN": "1"}
        result = self.run_ok(["--demo", "--data-dir", data_dir or self.data_dir()], env=env)
        problems = [
            line
            for line in result.stderr.splitlines()
            if "Traceback" in line or "qt.qpa" in line or "Could not" in line
        ]
        if problems:
            raise CheckFailed("\n".join(problems[:10]))
        return "exit 0"

    def check_keyring(self) -> str:
        """`chatdesk key` stores the key in the real Secret Service, from inside the bundle."""
        if "DBUS_SESSION_BUS_ADDRESS" not in os.environ:
            raise CheckFailed("no D-Bus session: run through scripts/package-smoke")
        data = ["--data-dir", self.data_dir()]
        status = self.run_ok(["key", "status", *data]).stdout
        if "Keyring:  Secret Service" not in status:
            raise CheckFailed(f"keyring backend not found in the bundle:\n{status}")
        account = re.search(r"^Base URL: (\S+)", status, re.MULTILINE)
        if account is None:
            raise CheckFailed(f"no base URL in:\n{status}")
        stored = self.run_ok(["key", "set", *data], stdin=TEST_KEY).stdout
        if "Stored" not in stored:
            raise CheckFailed(stored)
        try:
            lookup = subprocess.run(
                ["secret-tool", "lookup", "service", "chatdesk", "username", account.group(1)],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                stdin=subprocess.DEVNULL,
            )
            if lookup.stdout.strip() != TEST_KEY:
                raise CheckFailed("secret-tool does not find the stored key in the Secret Service")
            status = self.run_ok(["key", "status", *data]).stdout
            if "Source:   keyring" not in status or TEST_KEY in status:
                raise CheckFailed(f"unexpected status after `key set`:\n{status}")
        finally:
            self.run(["key", "delete", *data])
        return "set, found by secret-tool, deleted"

    def check_libraries(self) -> str:
        """Every library a bundled file links to is bundled, or deliberately left to the system.

        Read from the link tables, not found by ldd: the build machine has all the libraries
        installed, which would hide one missing from the bundle.
        """
        if not sys.platform.startswith("linux"):
            return "skipped off Linux"
        from PyInstaller.depend.dylib import include_library

        def left_to_the_system(name: str) -> bool:
            # Ours (contents.py), or PyInstaller's own: glibc, GL, EGL, Wayland, libxcb.
            desktop = contents.LINUX_DESKTOP_LIBRARIES.fullmatch(name)
            loader = name.startswith("ld-linux")
            return bool(desktop) or loader or not include_library(name)

        files = [p for p in self.internal.rglob("*.so*") if p.is_file() and not p.is_symlink()]
        files.append(self.exe)
        bundled = {path.name for path in self.internal.rglob("*.so*")}
        missing: dict[str, set[str]] = {}
        for path in files:
            for name in contents.elf_needed(str(path)):
                if name not in bundled and not left_to_the_system(name):
                    missing.setdefault(name, set()).add(str(path.relative_to(self.bundle)))
        if missing:
            raise CheckFailed(
                "\n".join(
                    f"{name} (needed by {', '.join(sorted(by))})" for name, by in missing.items()
                )
            )
        return f"{len(files)} files' links"

    def check_contents(self) -> str:
        """The bundle holds the resources and none of what must stay out."""
        from PyInstaller.archive.readers import CArchiveReader

        resources = self.internal / "resources"
        wanted = [
            resources / "tiktoken" / "o200k_base.tiktoken.gz",
            resources / "tiktoken" / "cl100k_base.tiktoken.gz",
            resources / "openai-spec" / "chat-completions.yaml",
            resources / "icons" / "chatdesk.svg",
            resources / "icons" / "chatdesk-256.png",
            resources / "chatdesk.desktop",
            self.internal / "pyproject.toml",
        ]
        absent = [str(path.relative_to(self.bundle)) for path in wanted if not path.is_file()]
        if absent:
            raise CheckFailed(f"missing: {', '.join(absent)}")
        modules = CArchiveReader(str(self.exe)).open_embedded_archive("PYZ.pyz").toc
        forbidden = ("aiohttp", "keyrings", "tkinter", "mypy", "pytest", "PySide6.QtQml")
        shipped = sorted(
            {name for name in modules if name.split(".")[0] in forbidden or name in forbidden}
        )
        files = [
            str(path.relative_to(self.bundle))
            for path in self.internal.rglob("*")
            if "translations" in path.parts or re.search(r"Qt6(Quick|Qml|Pdf)", path.name)
        ]
        if shipped or files:
            raise CheckFailed(f"should not be bundled: {', '.join(shipped + files)}")
        return f"{len(modules)} modules"

    def check_desktop_entry(self) -> str:
        """The menu-entry installer puts a valid entry and the icons under XDG_DATA_HOME."""
        home = self.scratch / "desktop-home"
        env = {"XDG_DATA_HOME": str(home / "share"), "XDG_BIN_HOME": str(home / "bin")}
        installer = self.bundle / "install-desktop-entry.sh"
        self.run_ok([], command=[str(installer)], env=env)
        entry = home / "share" / "applications" / "chatdesk.desktop"
        text = entry.read_text(encoding="utf-8")
        if f'Exec="{self.exe.resolve()}"' not in text:
            raise CheckFailed(f"Exec does not start the bundle:\n{text}")
        for size in (16, 48, 256, 512):
            icon = home / "share" / "icons" / "hicolor" / f"{size}x{size}" / "apps" / "chatdesk.png"
            if not icon.is_file():
                raise CheckFailed(f"no {icon}")
        if shutil.which("desktop-file-validate"):
            valid = subprocess.run(
                ["desktop-file-validate", str(entry)], capture_output=True, text=True
            )
            if valid.returncode != 0 or "error:" in valid.stdout:
                raise CheckFailed(f"desktop-file-validate:\n{valid.stdout}{valid.stderr}")
        linked = self.run_ok(["--version"], command=[str(home / "bin" / "chatdesk")])
        if self.version not in linked.stdout:
            raise CheckFailed("the ~/.local/bin link does not run the bundle")
        self.run_ok(["--uninstall"], command=[str(installer)], env=env)
        if entry.exists() or (home / "bin" / "chatdesk").exists():
            raise CheckFailed("--uninstall left files behind")
        return "installed, validated, uninstalled"

    def check_archive(self) -> str:
        """The tarball users download holds the whole folder under `chatdesk/`."""
        if not sys.platform.startswith("linux"):
            return "skipped off Linux"
        archive = self.bundle.parent / f"chatdesk-{self.version}-{metadata.platform_tag()}.tar.gz"
        if not archive.is_file():
            raise CheckFailed(f"no {archive}")
        with tarfile.open(archive) as tar:
            names = set(tar.getnames())
            executable = tar.getmember("chatdesk/chatdesk")
        for name in ("chatdesk/install-desktop-entry.sh", "chatdesk/_internal/pyproject.toml"):
            if name not in names:
                raise CheckFailed(f"{name} is not in {archive.name}")
        if not executable.mode & 0o111:
            raise CheckFailed("chatdesk/chatdesk is not executable in the tarball")
        return f"{archive.name}, {archive.stat().st_size / 2**20:.1f} MiB"


def _tail(result: subprocess.CompletedProcess[str], lines: int = 15) -> str:
    text = (result.stdout[-2000:] + "\n" + result.stderr).strip().splitlines()
    return "\n".join(text[-lines:])


def _long_prompt() -> str:
    # Words tiktoken and the simulator's fallback estimate split differently (accents, CJK,
    # emoji, digits), so equal counts mean the encoding really was used.
    words = [
        "naïve",
        "façade",
        "Übermäßig",
        "東京",
        "encyclopædia",
        "quantum",
        "12345",
        "x86_64",
        "❤️",
        "tokenizer",
    ]
    text = " ".join(words[(i * 7) % len(words)] for i in range(LONG_PROMPT_BYTES // 8))
    while len(text.encode()) < LONG_PROMPT_BYTES:
        text += " " + text[:1000]
    return text


def _prompt_tokens(stderr: str) -> int:
    match = re.search(r"([\d,]+) in · ", stderr)
    if match is None:
        raise CheckFailed(f"no usage line in:\n{stderr[-1000:]}")
    return int(match.group(1).replace(",", ""))


def _estimated_tokens(prompt: str) -> int:
    sys.path.insert(0, str(ROOT))
    from app.simulator.counting import estimate_prompt_tokens

    return estimate_prompt_tokens([{"role": "user", "content": prompt}], "gpt-4o-mini")


@contextmanager
def _xvfb() -> Iterator[str]:
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
            number = pipe.readline().strip()
        if not number:
            raise CheckFailed("Xvfb did not start")
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "chatdesk")
    parser.add_argument("--only", nargs="*", help="run only these checks (names without check_)")
    args = parser.parse_args(argv)
    bundle = args.bundle.resolve()
    if not (bundle / "chatdesk").is_file():
        print(f"no bundle at {bundle}: build it with packaging/build.py", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="chatdesk-smoke-") as scratch:
        smoke = Smoke(bundle, Path(scratch))
        checks: list[tuple[str, Callable[[], str]]] = [
            (name.removeprefix("check_"), getattr(smoke, name))
            for name in vars(Smoke)
            if name.startswith("check_")
        ]
        if args.only:
            checks = [(name, check) for name, check in checks if name in args.only]
        passed = failed = 0
        for name, check in checks:
            summary = (check.__doc__ or "").strip().splitlines()[0]
            try:
                detail = check()
            except CheckFailed as failure:
                failed += 1
                print(f"FAIL {name}: {summary}\n     " + str(failure).replace("\n", "\n     "))
            except Exception:
                failed += 1
                print(f"FAIL {name}: {summary}\n{traceback.format_exc()}")
            else:
                passed += 1
                print(f"ok   {name}: {detail}")
            sys.stdout.flush()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
