"""Image attachments, prepared the way the API will look at them.

Every attachment is checked by its content (not its extension), fully decoded so damage is caught
before sending, turned upright, stripped of metadata, and downscaled to the size the API works on
for the chosen detail, so no bytes and no tokens are wasted. The functions are pure: they run in a
worker thread and share no state.
"""

from __future__ import annotations

import base64
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from app.core.image_geometry import DECODE_ERRORS, api_view_size, decoders
from app.core.image_geometry import data_url_bytes as data_url_bytes
from app.core.image_geometry import data_url_image_size as data_url_image_size
from app.core.image_geometry import read_image_size as read_image_size
from app.core.image_geometry import sniff_format as sniff_format
from app.core.messages import Detail, ImagePart
from app.core.problems import UserFacingError

MAX_IMAGE_BYTES = 20 * 1024 * 1024
JPEG_QUALITY = 85

MIME_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
_SUPPORTED_TEXT = "PNG, JPEG, GIF and WebP"

# Only the four supported decoders ever see the bytes (see `image_geometry.decoders`), and
# Pillow's decompression-bomb warning never fires: the pixel limit is enforced here, as a clear
# refusal.
_DECODERS = decoders()

# `Image.info` keys that carry nothing about the person or the device. Anything else (EXIF, XMP,
# comments, text chunks, extra JPEG pictures…) makes the image be re-encoded without it.
_HARMLESS_INFO = frozenset(
    {"aspect", "chromaticity", "dpi", "gamma", "icc_profile", "interlace", "srgb", "transparency"}
    | {"adobe", "adobe_transform", "jfif", "jfif_density", "jfif_unit", "jfif_version"}
    | {"progression", "progressive", "background", "duration", "loop", "timestamp", "version"}
)

_EXIF_ORIENTATION = 0x0112
_EXIF_GPS_IFD = 0x8825
_ORIENTATION_FIX = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageError(UserFacingError):
    """An attachment that cannot be sent; `source` is what the user attached."""

    def __init__(self, headline: str, remedy: str, source: str) -> None:
        super().__init__(headline, remedy)
        self.source = source


@dataclass(frozen=True)
class PreparedImage:
    """An attachment ready to send, with what was done to it and why."""

    part: ImagePart
    original_format: str  # "PNG", "JPEG", "GIF" or "WEBP"
    original_width: int  # upright, as a viewer shows it
    original_height: int
    original_bytes: int
    sent_format: str
    sent_bytes: int
    unchanged: bool  # the original bytes are sent as they are
    notes: tuple[str, ...] = ()


# --- Remote images -----------------------------------------------------------------------------


def image_from_url(url: str, detail: Detail = Detail.AUTO) -> ImagePart:
    """An image the API fetches itself from an http(s) address; Chatdesk never downloads it."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        shown = url if len(url) <= 80 else url[:77] + "…"
        raise ImageError(
            "Only web images can be linked",
            f"“{shown}” is not an http:// or https:// address. "
            "To send an image from this computer, attach the file instead.",
            url,
        )
    return ImagePart(url=url, detail=detail, source=url)


# --- Local images ------------------------------------------------------------------------------


def prepare_image_file(path: str | os.PathLike[str], detail: Detail = Detail.AUTO) -> PreparedImage:
    """Read, check and prepare an image file for sending; raises ImageError if it cannot be."""
    file = Path(path)
    source = str(file)
    name = file.name or source
    try:
        info = file.stat()
    except FileNotFoundError:
        raise ImageError(
            f"“{name}” was not found",
            "It may have been moved, renamed or deleted. Attach it again from where it is now.",
            source,
        ) from None
    except OSError as exc:
        raise _unreadable(name, source, exc) from exc
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(
            f"“{name}” is a folder",
            f"Attach the image files inside it instead ({_SUPPORTED_TEXT}).",
            source,
        )
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(
            f"“{name}” is not a regular file",
            f"Attach an image file ({_SUPPORTED_TEXT}).",
            source,
        )
    _check_byte_size(info.st_size, name, source)
    try:
        with file.open("rb") as handle:
            # One byte over the limit is enough to notice a file that grew since stat().
            data = handle.read(MAX_IMAGE_BYTES + 1)
    except OSError as exc:
        raise _unreadable(name, source, exc) from exc
    return prepare_image_bytes(data, detail, source)


def prepare_image_bytes(data: bytes, detail: Detail, source: str) -> PreparedImage:
    """Check and prepare image bytes (a file's, or pasted ones) for sending.

    `source` names the image in messages and is kept on the result for display.
    """
    name = Path(source).name or source or "the image"
    _check_byte_size(len(data), name, source)
    fmt = sniff_format(data)
    if fmt is None:
        raise _unsupported(data, name, source)
    try:
        decoded = _decode(fmt, data, detail)
    except _TooManyPixels as exc:
        raise _too_many_pixels(name, source, exc.size) from None
    except Image.DecompressionBombError as exc:
        # Pillow's own check, should a future version run it during decoding too.
        raise _too_many_pixels(name, source, None) from exc
    except DECODE_ERRORS as exc:
        raise ImageError(
            f"“{name}” is damaged or incomplete",
            "Its image data could not be read to the end. Open it in an image viewer and save "
            "it again, or attach another copy.",
            source,
        ) from exc
    return _finish(decoded, fmt, data, detail, source)


@dataclass
class _Decoded:
    image: Image.Image
    raw_size: tuple[int, int]  # as stored, before orientation
    orientation: int
    animated: bool
    has_gps: bool
    metadata: bool  # carries something beyond harmless rendering hints


class _TooManyPixels(Exception):
    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__(size)
        self.size = size


def _decode(fmt: str, data: bytes, detail: Detail) -> _Decoded:
    image = _DECODERS[fmt](io.BytesIO(data))
    raw_size = image.size
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and raw_size[0] * raw_size[1] > limit:
        raise _TooManyPixels(raw_size)
    animated = bool(getattr(image, "is_animated", False))
    if animated:
        image.seek(0)
    target = api_view_size(*raw_size, detail)
    if fmt == "JPEG" and target != raw_size:
        # Let libjpeg decode at a reduced scale (never below the target): much faster for photos.
        # The rules are symmetric in width and height, so the stored orientation does not matter.
        image.draft(None, target)
    # A full decode, so truncated or corrupt data is refused now rather than sent.
    image.load()
    orientation, has_gps = _exif_facts(image)
    metadata = has_gps or any(key not in _HARMLESS_INFO for key in image.info)
    return _Decoded(image, raw_size, orientation, animated, has_gps, metadata)


def _exif_facts(image: Image.Image) -> tuple[int, bool]:
    """The EXIF orientation (1 when absent) and whether the image carries a GPS position."""
    try:
        exif = image.getexif()
        orientation = exif.get(_EXIF_ORIENTATION, 1)
        if orientation not in _ORIENTATION_FIX:
            orientation = 1
        has_gps = bool(exif.get_ifd(_EXIF_GPS_IFD)) or _EXIF_GPS_IFD in exif
    except (*DECODE_ERRORS, KeyError, TypeError):
        # Damaged EXIF is no reason to refuse a picture; it is dropped with the rest.
        return 1, False
    return int(orientation), has_gps


def _finish(decoded: _Decoded, fmt: str, data: bytes, detail: Detail, source: str) -> PreparedImage:
    image = decoded.image
    raw_w, raw_h = decoded.raw_size
    turned = decoded.orientation in (5, 6, 7, 8)
    upright = (raw_h, raw_w) if turned else (raw_w, raw_h)
    target = api_view_size(*upright, detail)
    notes: list[str] = []
    if decoded.animated:
        notes.append(f"animated {_label(fmt)}: first frame sent")

    rework = decoded.animated or decoded.orientation != 1 or decoded.metadata
    if target == upright and not rework:
        part = ImagePart(_data_url(MIME_TYPES[fmt], data), detail, *upright, source=source)
        return PreparedImage(part, fmt, *upright, len(data), fmt, len(data), True, tuple(notes))

    work, transparent = _normalise_mode(image)
    few_colours = fmt in ("PNG", "GIF") and not transparent and work.getcolors(256) is not None
    raw_target = (target[1], target[0]) if turned else target
    if work.size != raw_target:
        work = work.resize(raw_target, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if decoded.orientation != 1:
        work = work.transpose(_ORIENTATION_FIX[decoded.orientation])
        notes.append("turned upright as the camera recorded it")
    if target != upright:
        notes.append(
            f"downscaled from {upright[0]}×{upright[1]} to {target[0]}×{target[1]}"
            + (" (low detail)" if detail is Detail.LOW else "")
        )
    if decoded.has_gps:
        notes.append("location (GPS) and other metadata removed")
    elif decoded.metadata:
        notes.append("metadata removed")

    sent_format = "PNG" if transparent or few_colours else "JPEG"
    encoded = _encode(work, sent_format, image.info.get("icc_profile"))
    if sent_format != fmt:
        notes.append(f"converted from {_label(fmt)} to {_label(sent_format)}")
    part = ImagePart(_data_url(MIME_TYPES[sent_format], encoded), detail, *target, source=source)
    return PreparedImage(
        part, fmt, *upright, len(data), sent_format, len(encoded), False, tuple(notes)
    )


def _normalise_mode(image: Image.Image) -> tuple[Image.Image, bool]:
    """The image in L, RGB or RGBA, and whether any pixel is actually transparent."""
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        alpha_min, _ = rgba.getchannel("A").getextrema()
        if isinstance(alpha_min, (int, float)) and alpha_min < 255:
            return rgba, True
        return rgba.convert("RGB"), False
    if image.mode in ("L", "RGB"):
        return image, False
    if image.mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits rather than let conversion clip everything above 255.
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L"), False
    if image.mode == "1":
        return image.convert("L"), False
    return image.convert("RGB"), False


def _encode(image: Image.Image, fmt: str, icc_profile: object) -> bytes:
    # A fresh info dict so nothing read from the original (EXIF, XMP, text) can be written back.
    # The ICC profile stays: it is colour data, and without it wide-gamut photos look washed out.
    image.info = {}
    options: dict[str, object] = {}
    if isinstance(icc_profile, bytes):
        options["icc_profile"] = icc_profile
    if fmt == "JPEG":
        options["quality"] = JPEG_QUALITY
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _label(fmt: str) -> str:
    return "WebP" if fmt == "WEBP" else fmt


# --- Refusals ----------------------------------------------------------------------------------


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _check_byte_size(size: int, name: str, source: str) -> None:
    if size == 0:
        raise ImageError(
            f"“{name}” is empty (0 bytes)",
            "It may still be downloading or being saved. Attach it again once it is complete.",
            source,
        )
    if size > MAX_IMAGE_BYTES:
        raise ImageError(
            f"“{name}” is too large ({_megabytes(size)})",
            f"Images can be at most {MAX_IMAGE_BYTES // (1024 * 1024)} MB. "
            "Resize or compress it, then attach it again.",
            source,
        )


def _unreadable(name: str, source: str, exc: OSError) -> ImageError:
    reason = exc.strerror or type(exc).__name__
    return ImageError(
        f"“{name}” could not be read ({reason})",
        "Check that the file exists and that you are allowed to open it.",
        source,
    )


def _too_many_pixels(name: str, source: str, size: tuple[int, int] | None) -> ImageError:
    dims = f" ({size[0]}×{size[1]})" if size else ""
    limit = Image.MAX_IMAGE_PIXELS or 0
    return ImageError(
        f"“{name}” has too many pixels{dims}",
        f"Images over {limit / 1_000_000:.0f} megapixels are refused: decoding one could exhaust "
        "memory. Scale it down, then attach it again.",
        source,
    )


def _unsupported(data: bytes, name: str, source: str) -> ImageError:
    kind = _identify_other(data)
    remedy = f"Chatdesk can send {_SUPPORTED_TEXT} images. Convert it to one of these first."
    if kind is None:
        return ImageError(
            f"“{name}” is not a {_SUPPORTED_TEXT.replace(' and ', ' or ')} image",
            remedy + " (The file's content is checked, not its name.)",
            source,
        )
    return ImageError(f"“{name}” is a {kind} file, which cannot be sent", remedy, source)


def _identify_other(data: bytes) -> str | None:
    """A name for common formats the API does not take, to say what the file actually is."""
    head = data[:1024]
    signatures = {
        b"BM": "BMP",
        b"II*\x00": "TIFF",
        b"MM\x00*": "TIFF",
        b"%PDF": "PDF",
        b"8BPS": "Photoshop (PSD)",
        b"\x00\x00\x01\x00": "ICO",
    }
    for signature, kind in signatures.items():
        if head.startswith(signature):
            return kind
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "AVIF"
        if brand in (b"heic", b"heix", b"heim", b"heis", b"hevc", b"mif1", b"msf1"):
            return "HEIC"
    if b"<svg" in head.lower():
        return "SVG"
    return None
