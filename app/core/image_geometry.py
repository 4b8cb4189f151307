"""An image's size as the API sees it: read from the image's header, then scaled by its rules.

The token counter needs both (an image's tiles are counted at the size the API scales it to,
and a `data:` URL's size is read from its header); attachment preparation needs them too (an
image is downscaled to that size before sending). They live here, apart from both, so that
neither `tokens` nor `images` imports the other. Pillow, needed only to read a header, is
imported when one is first read: it costs ~70 ms, which counting text alone never pays.
"""

from __future__ import annotations

import base64
import binascii
import functools
import io
import struct
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from app.core.messages import Detail

if TYPE_CHECKING:
    from PIL import ImageFile

HIGH_DETAIL_BOX = 2048
HIGH_DETAIL_SHORT_SIDE = 768
LOW_DETAIL_BOX = 512

# What Pillow raises on damaged image data.
DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error)

Decoder = Callable[[IO[bytes]], "ImageFile.ImageFile"]


# --- The API's scaling rule --------------------------------------------------------------------


def high_detail_size(width: int, height: int) -> tuple[int, int]:
    """The size the API works on at high detail: fit 2048×2048, then shortest side ≤ 768."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image dimensions must be positive, got {width}×{height}")
    w, h = _fit(float(width), float(height), HIGH_DETAIL_BOX)
    if min(w, h) > HIGH_DETAIL_SHORT_SIDE:
        scale = HIGH_DETAIL_SHORT_SIDE / min(w, h)
        w, h = w * scale, h * scale
    return max(1, round(w)), max(1, round(h))


def api_view_size(width: int, height: int, detail: Detail) -> tuple[int, int]:
    """The largest size of an image worth sending for `detail`: what the API scales it to.

    Auto gets the high-detail size, because the API may choose high detail for it.
    """
    if detail is Detail.LOW:
        if width <= 0 or height <= 0:
            raise ValueError(f"image dimensions must be positive, got {width}×{height}")
        w, h = _fit(float(width), float(height), LOW_DETAIL_BOX)
        return max(1, round(w)), max(1, round(h))
    return high_detail_size(width, height)


def _fit(width: float, height: float, box: int) -> tuple[float, float]:
    scale = min(1.0, box / max(width, height))
    return width * scale, height * scale


# --- Reading an image's size -------------------------------------------------------------------


def sniff_format(data: bytes) -> str | None:
    """ "PNG", "JPEG", "GIF" or "WEBP" from the file's signature, or None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


@functools.cache
def decoders() -> dict[str, Decoder]:
    """Each supported format's own Pillow class (imports Pillow on the first call).

    Opening through the format's class (not `Image.open`) means only the four supported
    decoders ever see the bytes, and a JPEG with extra pictures (MPO) is read as its main one.
    """
    from PIL import GifImagePlugin, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

    return {
        "PNG": PngImagePlugin.PngImageFile,
        "JPEG": JpegImagePlugin.JpegImageFile,
        "GIF": GifImagePlugin.GifImageFile,
        "WEBP": WebPImagePlugin.WebPImageFile,
    }


def read_image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header of a supported image, without decoding its pixels."""
    fmt = sniff_format(data)
    if fmt is None:
        return None
    try:
        with decoders()[fmt](io.BytesIO(data)) as image:
            return image.size
    except DECODE_ERRORS:
        return None


def data_url_bytes(url: str) -> tuple[str, bytes]:
    """The MIME type and decoded bytes of a base64 `data:` URL; ValueError if it is not one."""
    header, sep, payload = url.partition(",")
    if not header.startswith("data:") or not sep or not header.endswith(";base64"):
        raise ValueError("not a base64 data: URL")
    try:
        return header[5:-7], base64.b64decode(payload, validate=True)
    except binascii.Error as exc:
        raise ValueError("invalid base64 in data: URL") from exc


def data_url_image_size(url: str) -> tuple[int, int] | None:
    """Width and height of the image in a base64 `data:` URL, or None if it cannot be read."""
    comma = url.find(",")
    if comma < 0:
        return None
    candidates = [url]
    # The header sits in the first bytes (a JPEG's after its EXIF block): try a prefix first so a
    # 20 MB attachment is not decoded whole just to learn its size.
    prefix_chars = 65536
    if len(url) - comma - 1 > prefix_chars:
        candidates.insert(0, url[: comma + 1 + prefix_chars])
    for candidate in candidates:
        try:
            size = read_image_size(data_url_bytes(candidate)[1])
        except ValueError:
            size = None
        if size is not None:
            return size
    return None
