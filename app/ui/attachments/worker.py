"""Preparing attachments off the GUI thread: read, check, downscale, encode, and a thumbnail.

Pillow is never imported at module level here: it loads once, on a worker thread, when
`ImagePreparer` hands `warm_up_imaging` to `BackgroundImports.imaging`, and the GUI thread only
ever receives the finished result — a data URL and a small thumbnail `QImage`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from typing import IO

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from app.core.messages import Detail, ImagePart
from app.core.problems import UserFacingError
from app.core.tokens import api_view_size
from app.ui.attachments.sources import (
    BytesSource,
    DataUrlSource,
    FileSource,
    ImageSource,
    PictureSource,
    UrlSource,
)
from app.ui.background import IMAGING, BackgroundImports

log = logging.getLogger(__name__)

THUMBNAIL_BOX = 128  # pixels: shown at 64 logical pixels, still sharp on a 2x screen
# Enough to prepare a few images at once without starving the GUI thread of a core.
_WORKERS = max(1, min(4, (os.cpu_count() or 2)))

Reporter = Callable[[str], None]


@dataclass(frozen=True, eq=False)
class PreparedAttachment:
    """An image as it will be sent, what it was before, and a thumbnail of what is sent.

    Sizes, formats and byte counts are None for a web image: Chatdesk never downloads those.
    """

    part: ImagePart
    original_format: str | None = None
    original_size: tuple[int, int] | None = None
    original_bytes: int | None = None
    sent_format: str | None = None
    sent_bytes: int | None = None
    notes: tuple[str, ...] = ()
    thumbnail: QImage | None = None
    unchanged: bool = False  # the original bytes are sent as they are

    @classmethod
    def web(cls, url: str, detail: Detail) -> PreparedAttachment:
        return cls(ImagePart(url=url, detail=detail, source=url))

    @property
    def sent_size(self) -> tuple[int, int] | None:
        if self.part.width is None or self.part.height is None:
            return None
        return self.part.width, self.part.height

    def serves(self, detail: Detail) -> bool:
        """True when the bytes prepared here are also right for `detail` (no new preparation)."""
        if self.part.is_remote:
            return True
        if self.original_size is None:
            return False
        return api_view_size(*self.original_size, detail) == self.sent_size

    def with_detail(self, detail: Detail) -> PreparedAttachment:
        return replace(self, part=replace(self.part, detail=detail))


def format_bytes(size: int) -> str:
    """ "812 B", "48 KB", "18.4 MB"."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


# --- Worker-thread functions -------------------------------------------------------------------


def prepare_source(source: ImageSource, detail: Detail, report: Reporter) -> PreparedAttachment:
    """Prepare one local or pasted image for `detail` (blocking: call it on a worker thread)."""
    from app.core import images

    pasted_size: tuple[int, int] | None = None
    match source:
        case FileSource(path=path):
            # The size in the progress text is a courtesy; the preparation reports real failures.
            with contextlib.suppress(OSError):
                report(f"Preparing {format_bytes(os.stat(path).st_size)}…")
            prepared = images.prepare_image_file(path, detail)
        case BytesSource(data=data, name=name):
            report(f"Preparing {format_bytes(len(data))}…")
            prepared = images.prepare_image_bytes(data, detail, name)
        case DataUrlSource(url=url, name=name):
            try:
                _mime, data = images.data_url_bytes(url)
            except ValueError:
                raise images.ImageError(
                    "The image from the web page could not be read",
                    "Save the image to a file first, then attach the file.",
                    name,
                ) from None
            prepared = images.prepare_image_bytes(data, detail, name)
        case PictureSource(image=picture, name=name):
            report("Preparing the pasted image…")
            data, pasted_size = picture_bytes(picture, detail, name)
            prepared = images.prepare_image_bytes(data, detail, name)
        case UrlSource(url=url):
            return PreparedAttachment.web(url, detail)
    sent = images.data_url_bytes(prepared.part.url)[1]
    return PreparedAttachment(
        part=prepared.part,
        # A pasted picture had no file format; it was encoded here, after downscaling.
        original_format=None if pasted_size else prepared.original_format,
        original_size=pasted_size or (prepared.original_width, prepared.original_height),
        original_bytes=None if pasted_size else prepared.original_bytes,
        sent_format=prepared.sent_format,
        sent_bytes=prepared.sent_bytes,
        notes=prepared.notes,
        thumbnail=make_thumbnail(prepared.sent_format, sent),
        unchanged=prepared.unchanged and not pasted_size,
    )


def picture_bytes(picture: QImage, detail: Detail, name: str) -> tuple[bytes, tuple[int, int]]:
    """A pasted picture as PNG bytes no larger than the API looks at, and its original size."""
    from PIL import Image

    from app.core.images import ImageError

    width, height = picture.width(), picture.height()
    if picture.isNull() or width <= 0 or height <= 0:
        raise ImageError("The pasted image is empty", "Copy the image again, then paste it.", name)
    target = api_view_size(width, height, detail)
    if target != (width, height):
        # Scaled before encoding: a full-size screenshot as PNG could pass the 20 MB limit.
        picture = picture.scaled(
            *target,
            Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    alpha = picture.hasAlphaChannel()
    mode = "RGBA" if alpha else "RGB"
    picture = picture.convertToFormat(
        QImage.Format.Format_RGBA8888 if alpha else QImage.Format.Format_RGB888
    )
    size = (picture.width(), picture.height())
    pixels = Image.frombuffer(
        mode, size, bytes(picture.constBits()), "raw", mode, picture.bytesPerLine(), 1
    )
    buffer = io.BytesIO()
    pixels.save(buffer, "PNG")
    return buffer.getvalue(), (width, height)


def make_thumbnail(fmt: str, data: bytes, box: int = THUMBNAIL_BOX) -> QImage:
    """A thumbnail of encoded image bytes, at most `box` pixels on its longer side."""
    from PIL import GifImagePlugin, ImageFile, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

    decoders: dict[str, Callable[[IO[bytes]], ImageFile.ImageFile]] = {
        "PNG": PngImagePlugin.PngImageFile,
        "JPEG": JpegImagePlugin.JpegImageFile,
        "GIF": GifImagePlugin.GifImageFile,
        "WEBP": WebPImagePlugin.WebPImageFile,
    }
    with decoders[fmt](io.BytesIO(data)) as picture:
        picture.draft("RGB", (box, box))  # JPEG only: decode at a fraction of the size
        picture.thumbnail((box, box))
        rgba = picture.convert("RGBA")
    raw = rgba.tobytes()
    # copy(): the QImage must own its pixels, `raw` is freed when this function returns.
    return QImage(
        raw, rgba.width, rgba.height, 4 * rgba.width, QImage.Format.Format_RGBA8888
    ).copy()


def warm_up_imaging() -> None:
    """Import Pillow and the image code and run every step once on tiny pictures.

    Pillow imports some modules only on first use (the EXIF reader, its save plugins); doing
    that here, in the one import step, keeps later preparations from importing anything.
    """
    from PIL import Image

    from app.core import images

    photo = Image.new("RGB", (600, 40), (90, 140, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # turned, so the EXIF reader and the transpose run
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", exif=exif.tobytes())
    prepared = images.prepare_image_bytes(buffer.getvalue(), Detail.LOW, "warm-up.jpg")
    make_thumbnail(prepared.sent_format, images.data_url_bytes(prepared.part.url)[1], 16)
    pasted = QImage(600, 40, QImage.Format.Format_ARGB32)
    pasted.fill(0x80336699)
    data, _size = picture_bytes(pasted, Detail.LOW, "warm-up")
    images.prepare_image_bytes(data, Detail.LOW, "warm-up.png")


# --- The GUI side ------------------------------------------------------------------------------


class ImagePreparer(QObject):
    """Prepares images on worker threads, reporting on the GUI thread by job number.

    `progressed(job, text)` says what a job is doing; each job ends with exactly one of
    `prepared(job, PreparedAttachment)` or `failed(job, UserFacingError)`, unless cancelled.
    """

    progressed = Signal(int, str)
    prepared = Signal(int, object)
    failed = Signal(int, object)

    def __init__(
        self,
        background: BackgroundImports,
        *,
        workers: int = _WORKERS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._background = background
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="image")
        self._tasks: dict[int, asyncio.Task[None]] = {}

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    def start(self, job: int, source: ImageSource, detail: Detail) -> None:
        task = asyncio.ensure_future(self._run(job, source, detail))
        self._tasks[job] = task
        task.add_done_callback(partial(self._on_task_done, job))

    def cancel(self, job: int) -> None:
        """Forget `job`: its result is dropped (a worker already decoding finishes in vain)."""
        task = self._tasks.pop(job, None)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        for job in list(self._tasks):
            self.cancel(job)

    async def _run(self, job: int, source: ImageSource, detail: Detail) -> None:
        if not self._background.is_done(IMAGING):
            self.progressed.emit(job, "Getting ready…")
        await self._background.imaging(warm_up_imaging)
        loop = asyncio.get_running_loop()

        def report(text: str) -> None:
            # From the worker thread; the window may be closing, the loop closed.
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(self._report, job, text)

        try:
            result = await loop.run_in_executor(
                self._executor, prepare_source, source, detail, report
            )
        except UserFacingError as problem:
            self.failed.emit(job, problem)
        else:
            self.prepared.emit(job, result)

    def _report(self, job: int, text: str) -> None:
        if job in self._tasks:
            self.progressed.emit(job, text)

    def _on_task_done(self, job: int, task: asyncio.Task[None]) -> None:
        if self._tasks.get(job) is task:
            del self._tasks[job]
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            # A bug, not a bad image: the user still learns the image was not attached.
            self.failed.emit(
                job,
                UserFacingError(
                    "This image could not be prepared",
                    "Chatdesk ran into a problem reading it. Try attaching it again.",
                ),
            )
            sys.excepthook(type(exc), exc, exc.__traceback__)
