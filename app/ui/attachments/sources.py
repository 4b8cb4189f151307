"""What can be attached, read from dropped or pasted data without touching the files yet.

Reading the clipboard or a drop only sorts out *what* was given (files, image bytes, a picture,
web addresses); every check that needs the bytes runs later, on a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QImage

# Raw image bytes some programs put on the clipboard; taken as they are (no decoding here).
RAW_IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
WEB_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp"})
# Formats a web address may name that the API refuses, with the name people know them by.
REFUSED_SUFFIXES = {
    ".svg": "SVG",
    ".svgz": "SVG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".heic": "HEIC",
    ".avif": "AVIF",
    ".ico": "ICO",
}
PASTED_NAME = "Pasted image"


@dataclass(frozen=True)
class FileSource:
    """A local file, read and checked by the worker."""

    path: str

    @property
    def name(self) -> str:
        return PurePosixPath(self.path.replace("\\", "/")).name or self.path


@dataclass(frozen=True)
class BytesSource:
    """Encoded image bytes from the clipboard, or from a `data:` URL once decoded."""

    data: bytes
    name: str = PASTED_NAME


@dataclass(frozen=True)
class DataUrlSource:
    """A `data:` URL from a web page; its base64 is decoded by the worker."""

    url: str
    name: str = "Image from a web page"


@dataclass(frozen=True, eq=False)
class PictureSource:
    """A decoded picture from the clipboard (a screenshot, say); encoded by the worker."""

    image: QImage
    name: str = PASTED_NAME


@dataclass(frozen=True)
class UrlSource:
    """A web address passed to the API as it is: Chatdesk never downloads it."""

    url: str

    @property
    def name(self) -> str:
        parts = urlsplit(self.url)
        return unquote(PurePosixPath(parts.path).name) or parts.netloc or self.url


ImageSource = FileSource | BytesSource | DataUrlSource | PictureSource | UrlSource


@dataclass(frozen=True)
class Refusal:
    """Something given that cannot become an attachment, with what to do instead."""

    headline: str
    remedy: str


@dataclass(frozen=True)
class Harvest:
    """What a drop or a paste holds: attachable sources and refused items."""

    sources: tuple[ImageSource, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.sources and not self.refusals


class _ImageSources(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            src = dict(attrs).get("src")
            if src:
                self.sources.append(src.strip())


def img_sources(html: str) -> list[str]:
    """The `src` of every <img> in `html`, in order."""
    parser = _ImageSources()
    parser.feed(html)
    parser.close()
    return parser.sources


def _shown(url: str) -> str:
    return url if len(url) <= 70 else url[:67] + "…"


def _web_source(url: str) -> ImageSource | Refusal:
    scheme = urlsplit(url).scheme.lower()
    if scheme == "data":
        return DataUrlSource(url)
    if scheme not in ("http", "https"):
        return Refusal(
            f"“{_shown(url)}” cannot be attached",
            "Attach image files from this computer, or images from a web page (http or https).",
        )
    kind = REFUSED_SUFFIXES.get(PurePosixPath(urlsplit(url).path).suffix.lower())
    if kind is not None:
        return Refusal(
            f"“{_shown(url)}” is a {kind} image, which cannot be sent",
            "The API accepts PNG, JPEG, GIF and WebP. Save the image as one of these, then "
            "attach the file.",
        )
    return UrlSource(url)


def looks_like_web_image(url: str) -> bool:
    """True for an http(s) address whose path ends like an image file."""
    parts = urlsplit(url)
    suffix = PurePosixPath(parts.path).suffix.lower()
    return parts.scheme.lower() in ("http", "https") and suffix in WEB_IMAGE_SUFFIXES


def _single_address(text: str) -> bool:
    text = text.strip()
    return bool(text) and "://" in text and not any(c.isspace() for c in text)


def _has_prose(mime: QMimeData) -> bool:
    """Text worth pasting as text: a spreadsheet's cells come with a picture of them, say."""
    if not mime.hasText():
        return False
    text = mime.text().strip()
    return bool(text) and not _single_address(text)


def may_hold_images(mime: QMimeData) -> bool:
    """Whether a drag passing over the image area is worth accepting (it may be explained)."""
    return (
        mime.hasUrls()
        or mime.hasImage()
        or mime.hasHtml()
        or mime.hasText()
        or any(mime.hasFormat(kind) for kind in RAW_IMAGE_TYPES)
    )


def offers_images(mime: QMimeData, *, any_url: bool = True) -> bool:
    """Whether `harvest` would find something, judged from the formats (no data copied)."""
    urls: list[QUrl] = mime.urls() if mime.hasUrls() else []
    if any(url.isLocalFile() for url in urls):
        return True
    if not any_url and _has_prose(mime):
        return False
    if mime.hasImage() or any(mime.hasFormat(kind) for kind in RAW_IMAGE_TYPES):
        return True
    if mime.hasHtml() and "<img" in mime.html().lower():
        return True
    addresses = [url.toString() for url in urls]
    if any_url:
        return bool(addresses) or (mime.hasText() and _single_address(mime.text()))
    return any(looks_like_web_image(address) for address in addresses)


def harvest(mime: QMimeData, *, any_url: bool = True) -> Harvest:
    """Sort out what `mime` carries. Local files first, then image data, then web images.

    With `any_url` False (text being pasted or dropped into the composer) a web address counts
    only if it names an image file or comes from an <img>; any other link stays text.
    """
    urls: list[QUrl] = mime.urls() if mime.hasUrls() else []
    files = [url.toLocalFile() for url in urls if url.isLocalFile()]
    if files:
        return Harvest(tuple(FileSource(path) for path in files))
    if not any_url and _has_prose(mime):
        return Harvest()
    for kind in RAW_IMAGE_TYPES:
        if mime.hasFormat(kind):
            data = bytes(mime.data(kind).data())
            if data:
                return Harvest((BytesSource(data),))
    if mime.hasImage():
        image = mime.imageData()
        if isinstance(image, QImage) and not image.isNull():
            return Harvest((PictureSource(image),))
    addresses = img_sources(mime.html()) if mime.hasHtml() else []
    if not addresses:
        addresses = [url.toString() for url in urls if url.isValid()]
        if not addresses and any_url and mime.hasText() and _single_address(mime.text()):
            addresses = [mime.text().strip()]
        if not any_url:
            addresses = [a for a in addresses if looks_like_web_image(a)]
    sources: list[ImageSource] = []
    refusals: list[Refusal] = []
    for address in addresses:
        found = _web_source(address)
        if isinstance(found, Refusal):
            refusals.append(found)
        else:
            sources.append(found)
    return Harvest(tuple(sources), tuple(refusals))
