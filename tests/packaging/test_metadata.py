"""What the bundles say about themselves: version, Windows version info, macOS Info.plist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.packaging.conftest import load

metadata = load("metadata")


def test_version_comes_from_pyproject(tmp_path: Path) -> None:
    """The bundle's version is pyproject.toml's `[project] version`."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\nversion = "2.3.4rc1"\n', encoding="utf-8")
    assert metadata.project_version(pyproject) == "2.3.4rc1"


@pytest.mark.parametrize(
    ("version", "numbers"),
    [
        ("0.1.0", (0, 1, 0, 0)),
        ("1.2", (1, 2, 0, 0)),
        ("2.3.4rc1", (2, 3, 4, 0)),
        ("1.2.3.4.5", (1, 2, 3, 4)),
    ],
)
def test_numeric_version(version: str, numbers: tuple[int, ...]) -> None:
    """Windows gets four integers, whatever the version's suffix."""
    assert metadata.numeric_version(version) == numbers


def _call(name: str) -> Any:
    def record(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"type": name, "args": args, **kwargs}

    return record


def test_windows_version_info_is_what_pyinstaller_evaluates() -> None:
    """The version-info text is one VSVersionInfo(...) expression carrying the version."""
    names = ["VSVersionInfo", "FixedFileInfo", "StringFileInfo", "StringTable", "StringStruct"]
    names += ["VarFileInfo", "VarStruct"]
    text = metadata.windows_version_info("1.2.3", "chatdesk-gui")
    info = eval(text, {"__builtins__": {}}, {name: _call(name) for name in names})
    assert info["type"] == "VSVersionInfo"
    assert info["ffi"]["filevers"] == (1, 2, 3, 0)
    strings = dict(entry["args"] for entry in info["kids"][0]["args"][0][0]["args"][1])
    assert strings["ProductVersion"] == "1.2.3"
    assert strings["OriginalFilename"] == "chatdesk-gui.exe"


def test_macos_info_plist() -> None:
    """Retina rendering on, dark mode followed, the version in both version keys."""
    plist = metadata.macos_info_plist("1.2.3")
    assert plist["NSHighResolutionCapable"] is True
    assert plist["CFBundleShortVersionString"] == plist["CFBundleVersion"] == "1.2.3"


def test_platform_tag() -> None:
    """Archive names end in <system>-<machine>, e.g. linux-x86_64."""
    assert re.fullmatch(r"(linux|windows|macos|\w+)-\w+", metadata.platform_tag())
