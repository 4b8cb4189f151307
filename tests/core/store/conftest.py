"""A history on `tmp_path` whose wall clock the test moves, so order by time is exact."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from app.core.messages import Detail, ImagePart
from app.core.store.history import History


class WallClock:
    """Unix time that moves only when told: every call is one second after the last."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> WallClock:
    return WallClock()


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "data" / "chatdesk.db"


@pytest.fixture
def history(database: Path, clock: WallClock) -> Iterator[History]:
    database.parent.mkdir()
    store = History.open(database, clock=clock)
    yield store
    store.close()


def png_part(colour: tuple[int, int, int], size: tuple[int, int] = (8, 6)) -> ImagePart:
    """A small prepared PNG as the composer attaches it: a data URL with its dimensions."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return ImagePart(url, Detail.LOW, size[0], size[1], f"/photos/{colour}.png")
