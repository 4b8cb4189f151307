"""Where bundled read-only files live, in a source tree and in a frozen (PyInstaller) app."""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    """The `resources/` folder: next to `app/` in a source tree, inside the bundle when frozen."""
    bundle_root = getattr(sys, "_MEIPASS", None)
    if bundle_root is not None:
        return Path(bundle_root) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def resource_path(*parts: str) -> Path:
    """Path of one bundled file, e.g. `resource_path("tiktoken", "o200k_base.tiktoken.gz")`."""
    return resources_dir().joinpath(*parts)
