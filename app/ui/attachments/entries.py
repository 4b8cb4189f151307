"""The images in the area as entries: each with its source, its preparation and its tile.

An entry is ready to send once prepared, with no preparation running and no failure standing.
What keeps the entries from being sent, and the hint under them, are worded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from app.core.catalog import CATALOG, ModelInfo
from app.core.messages import Detail, ImagePart
from app.core.problems import UserFacingError
from app.ui.attachments.intake import FORMATS
from app.ui.attachments.sources import ImageSource
from app.ui.attachments.tile import ImageTile
from app.ui.attachments.worker import PreparedAttachment

VISION_MODELS = ", ".join(info.id for info in CATALOG.values() if info.vision)


@dataclass(frozen=True)
class Attachment:
    """A prepared image handed to a message, with its source so it can be put back."""

    source: ImageSource
    prepared: PreparedAttachment

    @property
    def part(self) -> ImagePart:
        return self.prepared.part

    @property
    def name(self) -> str:
        return self.source.name


@dataclass(eq=False)
class Entry:
    """One image in the area, from the moment it arrives until it is sent or removed."""

    source: ImageSource
    detail: Detail
    tile: ImageTile
    prepared: PreparedAttachment | None = None
    job: int | None = None  # the preparation running for it, if any
    problem: UserFacingError | None = None  # why the last preparation failed

    @property
    def ready(self) -> bool:
        return self.prepared is not None and self.job is None and self.problem is None


def blocking_problem(
    entries: Sequence[Entry], max_images: int, model: ModelInfo
) -> UserFacingError | None:
    """Why `entries` cannot be sent to `model` now, or None if they can."""
    if not entries:
        return None
    preparing = sum(1 for entry in entries if entry.job is not None)
    failed = [entry for entry in entries if entry.problem is not None]
    if preparing:
        return UserFacingError(
            "The image is still being prepared"
            if preparing == 1
            else f"{preparing} images are still being prepared",
            "Send again when the preview appears; your message is kept.",
        )
    if failed:
        return UserFacingError(
            f"“{failed[0].source.name}” could not be prepared",
            "Remove it, or choose another detail to try again.",
        )
    if len(entries) > max_images:
        return UserFacingError(
            f"{len(entries)} images are attached; a message can carry {max_images}",
            "Remove some of them, then send again.",
        )
    if not model.vision:
        return UserFacingError(
            f"{model.id} cannot see images",
            f"Remove the images, or pick a model with vision ({VISION_MODELS}).",
        )
    return None


def hint_text(entries: Sequence[Entry], max_images: int, model_id: str, vision: bool) -> str:
    """The line beside "Attach images…": how many there are, or how to add some."""
    preparing = sum(1 for entry in entries if entry.job is not None)
    count = len(entries)
    if not vision:
        return (
            f"{model_id} cannot see images: pick a model with vision to send them."
            if count
            else f"{model_id} cannot see images."
        )
    if count:
        text = f"{count} image{'s' if count != 1 else ''} (up to {max_images})"
        if preparing:
            text += f" · preparing {preparing}…"
        return text
    return f"or drop or paste them here ({FORMATS}, up to {max_images})"
