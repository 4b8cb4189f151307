"""Token counting that never touches the network.

tiktoken normally downloads its encodings on first use and caches them in a temp folder; a
packaged desktop app cannot depend on either. The encodings ship gzip-compressed in
`resources/tiktoken/` and are built here with exactly the pattern and special tokens of
`tiktoken_ext/openai_public.py`. Building o200k costs ~0.6 s and ~74 MB, so each encoding is
built lazily, once, and only if a model needs it; call `preload()` from a worker thread to keep
that cost off the GUI thread.

Prompt tokens follow the OpenAI cookbook ("How to count tokens with tiktoken"), which matches the
API's `usage.prompt_tokens` for the gpt-4o family, plus the vision guide's image token rules.
Images are counted at the size the API scales them to (`image_geometry`, which `images` also
downscales attachments by).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.catalog import ModelInfo, lookup
from app.core.image_geometry import HIGH_DETAIL_BOX, HIGH_DETAIL_SHORT_SIDE, data_url_image_size
from app.core.image_geometry import api_view_size as api_view_size
from app.core.image_geometry import high_detail_size as high_detail_size
from app.core.messages import ChatMessage, Detail, ImagePart
from app.core.problems import UserFacingError
from app.core.resources import resource_path

if TYPE_CHECKING:
    import tiktoken

TOKENS_PER_MESSAGE = 3  # <|start|>{role}<|message|> … <|end|> around every message
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3  # every reply is primed with <|start|>assistant<|message|>

TILE = 512
# At high detail an image is at most 2048 px long and 768 px short once the API has scaled it:
# 4 × 2 tiles. An image whose size is unknown (a web address the app never fetches) is counted at
# that maximum, so the estimate is an upper bound rather than a guess that may come in low.
MAX_TILES = math.ceil(HIGH_DETAIL_BOX / TILE) * math.ceil(HIGH_DETAIL_SHORT_SIDE / TILE)

_ENDOFTEXT = "<|endoftext|>"
_FIM_PREFIX = "<|fim_prefix|>"
_FIM_MIDDLE = "<|fim_middle|>"
_FIM_SUFFIX = "<|fim_suffix|>"
_ENDOFPROMPT = "<|endofprompt|>"


@dataclass(frozen=True)
class EncodingSpec:
    """What it takes to build one encoding: its bundled file, checksum, pattern, special tokens."""

    name: str
    filename: str
    sha256: str  # of the decompressed file, as tiktoken itself checks it
    pat_str: str
    special_tokens: Mapping[str, int]

    @property
    def path(self) -> Path:
        return resource_path("tiktoken", self.filename)


ENCODINGS: dict[str, EncodingSpec] = {
    spec.name: spec
    for spec in (
        EncodingSpec(
            name="o200k_base",
            filename="o200k_base.tiktoken.gz",
            sha256="446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
            pat_str="|".join(
                [
                    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                    r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
                    r"""\p{N}{1,3}""",
                    r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
                    r"""\s*[\r\n]+""",
                    r"""\s+(?!\S)""",
                    r"""\s+""",
                ]
            ),
            special_tokens={_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
        ),
        EncodingSpec(
            name="cl100k_base",
            filename="cl100k_base.tiktoken.gz",
            sha256="223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            pat_str=(
                r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+"""
                r"""| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
            ),
            special_tokens={
                _ENDOFTEXT: 100257,
                _FIM_PREFIX: 100258,
                _FIM_MIDDLE: 100259,
                _FIM_SUFFIX: 100260,
                _ENDOFPROMPT: 100276,
            },
        ),
    )
}


class EncodingDataError(UserFacingError):
    """A bundled encoding file is missing or damaged: token counts cannot be trusted."""


def load_ranks(path: Path, sha256: str) -> dict[bytes, int]:
    """Mergeable ranks from a gzip-compressed `.tiktoken` file whose content must match `sha256`."""
    remedy = "Reinstall Chatdesk: token counts and cost estimates need this file."
    try:
        data = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise EncodingDataError(f"Token data {path.name} could not be read", remedy) from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise EncodingDataError(
            f"Token data {path.name} is damaged (sha256 {digest[:12]}…, expected {sha256[:12]}…)",
            remedy,
        )
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if not line:
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except (ValueError, binascii.Error) as exc:
            raise EncodingDataError(f"Token data {path.name} is malformed", remedy) from exc
    return ranks


def build_encoding(name: str, path: Path | None = None) -> tiktoken.Encoding:
    """Build encoding `name` from its bundled file (or `path`), uncached."""
    # Imported here so importing this module stays cheap on the GUI thread.
    import tiktoken

    spec = _spec(name)
    encoding = tiktoken.Encoding(
        spec.name,
        pat_str=spec.pat_str,
        mergeable_ranks=load_ranks(path or spec.path, spec.sha256),
        special_tokens=dict(spec.special_tokens),
    )
    # The Rust core keeps its own copy of the ranks; tiktoken's Python copy (~30 MB for o200k)
    # only serves pickling and `token_byte_values()`, which the app never uses.
    encoding._mergeable_ranks = {}
    return encoding


def _spec(name: str) -> EncodingSpec:
    try:
        return ENCODINGS[name]
    except KeyError:
        raise ValueError(f"unknown encoding {name!r}; bundled: {', '.join(ENCODINGS)}") from None


class EncodingCache:
    """Builds each encoding at most once, however many threads ask for it at the same time."""

    def __init__(self, build: Callable[[str], tiktoken.Encoding] = build_encoding) -> None:
        self._build = build
        self._encodings: dict[str, tiktoken.Encoding] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    def get(self, name: str) -> tiktoken.Encoding:
        encoding = self._encodings.get(name)
        if encoding is not None:
            return encoding
        # One lock per name: building o200k does not hold up a request for cl100k.
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            encoding = self._encodings.get(name)
            if encoding is None:
                encoding = self._build(name)
                self._encodings[name] = encoding
            return encoding

    def loaded(self) -> frozenset[str]:
        return frozenset(self._encodings)


_CACHE = EncodingCache()


def get_encoding(name: str) -> tiktoken.Encoding:
    """The bundled encoding `name` ("o200k_base" or "cl100k_base"), built on first use."""
    _spec(name)
    return _CACHE.get(name)


def loaded_encodings() -> frozenset[str]:
    """Names of the encodings built so far in this process."""
    return _CACHE.loaded()


def encoding_for_model(model_id: str) -> tiktoken.Encoding:
    """The encoding `model_id` uses, per the catalog (unknown models get a sensible default)."""
    return get_encoding(lookup(model_id).encoding)


def preload(model_id: str) -> None:
    """Build the encoding of `model_id` now; call it off the GUI thread to avoid a pause later."""
    encoding_for_model(model_id)


def count_text(text: str, model_id: str) -> int:
    """Tokens in `text` for `model_id`; special-token text counts as the plain text it is."""
    return len(encoding_for_model(model_id).encode_ordinary(text))


def image_tokens(width: int | None, height: int | None, detail: Detail | str, model_id: str) -> int:
    """Input tokens of one image, per the vision guide.

    Low detail costs the model's base. High detail adds a cost per 512-px tile of the image as
    the API scales it (fit 2048×2048, then shortest side 768, never enlarged). Auto is counted as
    high: the API decides per image and high is the dearer choice, so the estimate never comes
    in under the bill. Unknown dimensions count the most tiles any image can have.
    """
    return _image_tokens(width, height, Detail(detail), lookup(model_id))


def _image_tokens(width: int | None, height: int | None, detail: Detail, info: ModelInfo) -> int:
    cost = info.image_tokens
    if detail is Detail.LOW:
        return cost.base
    if width is None or height is None:
        return cost.base + cost.per_tile * MAX_TILES
    w, h = high_detail_size(width, height)
    return cost.base + cost.per_tile * math.ceil(w / TILE) * math.ceil(h / TILE)


@dataclass(frozen=True)
class _Image:
    url: str
    detail: Detail
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class _Message:
    """A message reduced to what is billed: role, name, text pieces and images."""

    role: str
    name: str | None
    texts: tuple[str, ...]
    images: tuple[_Image, ...]


def count_messages(messages: Sequence[ChatMessage], model_id: str) -> int:
    """Prompt tokens of a request made of `messages`, as the API bills them."""
    return _count((_from_chat(message) for message in messages), model_id)


def count_prompt_tokens(messages: list[dict[str, Any]], model_id: str) -> int:
    """Prompt tokens of wire-format `messages` (the request's `messages` array).

    Content may be a string, null, or a list of `text` / `image_url` parts; other part types and
    tool-calling fields are not counted.
    """
    return _count((_from_wire(message) for message in messages), model_id)


def _count(messages: Iterable[_Message], model_id: str) -> int:
    info = lookup(model_id)
    encoding = get_encoding(info.encoding)
    total = REPLY_PRIMING
    for message in messages:
        total += TOKENS_PER_MESSAGE + len(encoding.encode_ordinary(message.role))
        if message.name:
            total += TOKENS_PER_NAME + len(encoding.encode_ordinary(message.name))
        total += sum(len(encoding.encode_ordinary(text)) for text in message.texts)
        for image in message.images:
            width, height = image.width, image.height
            if (width is None or height is None) and image.url.startswith("data:"):
                width, height = _data_url_size(image.url)
            total += _image_tokens(width, height, image.detail, info)
    return total


def _data_url_size(url: str) -> tuple[int | None, int | None]:
    # Reading the header imports Pillow (~70 ms): only data: URLs of unknown size pay for it.
    return data_url_image_size(url) or (None, None)


def _from_chat(message: ChatMessage) -> _Message:
    return _Message(
        role=message.role.value,
        name=message.name,
        texts=(message.text,),
        images=tuple(_from_part(part) for part in message.images),
    )


def _from_part(part: ImagePart) -> _Image:
    return _Image(part.url, part.detail, part.width, part.height)


def _from_wire(message: Mapping[str, Any]) -> _Message:
    content = message.get("content")
    texts: list[str] = []
    images: list[_Image] = []
    if isinstance(content, str):
        texts.append(content)
    elif isinstance(content, list):
        for part in content:
            if not isinstance(part, Mapping):
                continue
            kind = part.get("type")
            if kind == "text" and isinstance(part.get("text"), str):
                texts.append(part["text"])
            elif kind == "refusal" and isinstance(part.get("refusal"), str):
                texts.append(part["refusal"])
            elif kind == "image_url" and isinstance(part.get("image_url"), Mapping):
                images.append(_wire_image(part["image_url"]))
    name = message.get("name")
    return _Message(
        role=str(message.get("role", "")),
        name=name if isinstance(name, str) else None,
        texts=tuple(texts),
        images=tuple(images),
    )


def _wire_image(image_url: Mapping[str, Any]) -> _Image:
    url = image_url.get("url")
    try:
        detail = Detail(image_url.get("detail") or Detail.AUTO)
    except ValueError:
        detail = Detail.AUTO  # the API would reject it; auto keeps the estimate an upper bound
    return _Image(url if isinstance(url, str) else "", detail)
