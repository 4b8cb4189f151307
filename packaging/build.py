"""Build the double-click app with PyInstaller, then the archive users download.

    .venv/bin/python packaging/build.py             # dist/chatdesk/ and its archive
    .venv/bin/python packaging/build.py --onefile   # also dist/onefile/chatdesk, one file

Needs the `package` extra (`pip install -r requirements/package.lock`, which scripts/package-smoke
does) and, on Linux, binutils (strip, readelf). Output, by platform:

    Linux    dist/chatdesk/           dist/chatdesk-<version>-linux-x86_64.tar.gz
    Windows  dist/chatdesk/           dist/chatdesk-<version>-windows-x86_64.zip
    macOS    dist/Chatdesk.app        dist/Chatdesk-<version>-macos-<arch>.zip

Prints the bundle's size and the build time. See packaging/README.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import metadata

ROOT = metadata.ROOT
SPEC = ROOT / "packaging" / "chatdesk.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
LINUX = sys.platform.startswith("linux")


def folder_size(path: Path) -> int:
    """Bytes in the files under `path`, links not followed (as `du --apparent-size -b`)."""
    return sum(
        entry.lstat().st_size for entry in path.rglob("*") if entry.is_file() or entry.is_symlink()
    )


def mib(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


def check_tools() -> None:
    if LINUX:
        missing = [tool for tool in ("strip", "readelf", "objdump") if shutil.which(tool) is None]
        if missing:
            raise SystemExit(
                f"{', '.join(missing)} not found: install binutils (apt-get install binutils)"
            )
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        raise SystemExit(
            "PyInstaller is not installed here: pip install -r requirements/package.lock"
        ) from None


def pyinstaller(onefile: bool, clean: bool) -> None:
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level=WARN",
        f"--workpath={WORK / ('onefile' if onefile else 'onedir')}",
        f"--distpath={DIST / 'onefile' if onefile else DIST}",
    ]
    if clean:
        command.append("--clean")
    command += [str(SPEC), "--"] + (["--onefile"] if onefile else [])
    subprocess.run(command, check=True, cwd=ROOT)


def finish_linux_folder(bundle: Path) -> None:
    """Put the menu-entry installer at the top of the folder, where a user unpacking it looks."""
    installer = bundle / "install-desktop-entry.sh"
    shutil.copy2(ROOT / "packaging" / "linux" / "install-desktop-entry.sh", installer)
    installer.chmod(0o755)


def tarball(bundle: Path, version: str) -> Path:
    """dist/chatdesk-<version>-linux-x86_64.tar.gz, holding the folder as `chatdesk/`."""
    archive = DIST / f"chatdesk-{version}-{metadata.platform_tag()}.tar.gz"

    def normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
        # Whoever unpacks it owns the files; build-machine user names mean nothing there.
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        return info

    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(bundle, arcname="chatdesk", filter=normalise)
    return archive


def zip_archive(source: Path, version: str, name: str) -> Path:
    archive = DIST / f"{name}-{version}-{metadata.platform_tag()}.zip"
    archive.unlink(missing_ok=True)
    if sys.platform == "darwin":
        # ditto keeps the .app's symlinks and extended attributes, which its signature covers.
        subprocess.run(["ditto", "-c", "-k", "--keepParent", str(source), str(archive)], check=True)
    else:
        shutil.make_archive(str(archive.with_suffix("")), "zip", source.parent, source.name)
    return archive


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--onefile", action="store_true", help="also build the one-file variant")
    parser.add_argument("--no-archive", action="store_true", help="skip the tarball or zip")
    parser.add_argument("--clean", action="store_true", help="ignore PyInstaller's caches")
    args = parser.parse_args()

    check_tools()
    version = metadata.project_version()
    started = time.perf_counter()
    pyinstaller(onefile=False, clean=args.clean)
    bundle = DIST / "chatdesk"
    if LINUX:
        finish_linux_folder(bundle)
    built = time.perf_counter()

    archive = None
    if not args.no_archive:
        if LINUX:
            archive = tarball(bundle, version)
        elif sys.platform == "darwin":
            archive = zip_archive(DIST / f"{metadata.APP_NAME}.app", version, metadata.APP_NAME)
        else:
            archive = zip_archive(bundle, version, "chatdesk")

    onefile = None
    if args.onefile:
        pyinstaller(onefile=True, clean=args.clean)
        onefile = DIST / "onefile" / ("chatdesk.exe" if sys.platform == "win32" else "chatdesk")
    finished = time.perf_counter()

    print(f"Chatdesk {version}")
    print(f"  one folder  {bundle}  {mib(folder_size(bundle))}  built in {built - started:.0f} s")
    if archive is not None:
        print(f"  archive     {archive}  {mib(archive.stat().st_size)}")
    if onefile is not None:
        print(f"  one file    {onefile}  {mib(onefile.stat().st_size)}")
    print(f"  total       {finished - started:.0f} s")
    return 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
