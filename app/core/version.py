"""The version when the package metadata is not installed (source tree, frozen bundle)."""

from __future__ import annotations

import re

from app.core.resources import resources_dir


def source_version() -> str:
    """Read `version = "…"` from pyproject.toml (copied into bundles), or "0+unknown"."""
    for candidate in (
        resources_dir().parent / "pyproject.toml",
        resources_dir() / "pyproject.toml",
    ):
        try:
            text = candidate.read_text(encoding="utf-8")
        except OSError:
            continue
        match = re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE)
        if match:
            return match.group(1)
    return "0+unknown"
