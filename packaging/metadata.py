"""What the bundles say about themselves: version, names, Windows version info, macOS Info.plist.

Shared by `chatdesk.spec` and `build.py`, so the version is read in one place: pyproject.toml.
Standard library only: the spec imports it inside PyInstaller's own process.
"""

from __future__ import annotations

import platform
import re
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

APP_NAME = "Chatdesk"
BUNDLE_ID = "dev.chatdesk.Chatdesk"
DESCRIPTION = "Desktop assistant for the OpenAI Chat Completions API"
COPYRIGHT = "Copyright (c) Chatdesk developers. MIT License."


def project_version(pyproject: Path = PYPROJECT) -> str:
    """`[project] version` from pyproject.toml."""
    with pyproject.open("rb") as file:
        version = tomllib.load(file)["project"]["version"]
    if not isinstance(version, str) or not version:
        raise ValueError(f"{pyproject}: [project] version is missing")
    return version


def numeric_version(version: str) -> tuple[int, int, int, int]:
    """The four integers Windows wants: "1.2.0rc1" -> (1, 2, 0, 0), "0.1" -> (0, 1, 0, 0)."""
    match = re.match(r"\d+(?:\.\d+)*", version)
    if match is None:
        raise ValueError(f"version {version!r} does not start with a number")
    numbers = [int(part) for part in match.group(0).split(".")][:4]
    numbers += [0] * (4 - len(numbers))
    return numbers[0], numbers[1], numbers[2], numbers[3]


def platform_tag() -> str:
    """`linux-x86_64`, `windows-x86_64`, `macos-arm64`: the suffix of the archive's name."""
    system = {"linux": "linux", "win32": "windows", "darwin": "macos"}.get(
        sys.platform, sys.platform
    )
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "aarch64": "arm64"}.get(machine, machine)
    return f"{system}-{machine}"


def windows_version_info(version: str, exe_name: str) -> str:
    """The text of a PyInstaller version-info file (the EXE's Properties > Details tab)."""
    numbers = numeric_version(version)
    strings = {
        "CompanyName": "Chatdesk developers",
        "FileDescription": APP_NAME,
        "FileVersion": version,
        "InternalName": exe_name,
        "LegalCopyright": COPYRIGHT,
        "OriginalFilename": f"{exe_name}.exe",
        "ProductName": APP_NAME,
        "ProductVersion": version,
        "Comments": DESCRIPTION,
    }
    string_structs = ",\n".join(
        f"          StringStruct({key!r}, {value!r})" for key, value in strings.items()
    )
    # 0x040904B0: U.S. English, Unicode; 0x04 / 0x1: a Windows NT application.
    return f"""VSVersionInfo(
  ffi=FixedFileInfo(
    filevers={numbers!r},
    prodvers={numbers!r},
    mask=0x3f,
    flags=0x0,
    OS=0x40004,
    fileType=0x1,
    subtype=0x0,
    date=(0, 0)
  ),
  kids=[
    StringFileInfo([
      StringTable(
        '040904B0',
        [
{string_structs}
        ])
    ]),
    VarFileInfo([VarStruct('Translation', [1033, 1200])])
  ]
)
"""


def macos_info_plist(version: str) -> dict[str, Any]:
    """Info.plist entries beyond those PyInstaller's BUNDLE writes itself."""
    return {
        "CFBundleDisplayName": APP_NAME,
        "CFBundleName": APP_NAME,
        "CFBundleShortVersionString": version,
        "CFBundleVersion": version,
        "NSHumanReadableCopyright": COPYRIGHT,
        # Without it macOS renders the whole window at 1x and scales it up: blurry text.
        "NSHighResolutionCapable": True,
        # Follow the system's dark mode instead of forcing the light appearance.
        "NSRequiresAquaSystemAppearance": False,
        "LSApplicationCategoryType": "public.app-category.productivity",
        "LSMinimumSystemVersion": "11.0",
    }
