from __future__ import annotations

import base64
import gzip
import io
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest
import tiktoken
from PIL import Image
from tiktoken_ext import openai_public

from app.core import tokens
from app.core.image_geometry import data_url_image_size
from app.core.messages import ChatMessage, Detail, ImagePart, Role
from app.core.tokens import (
    ENCODINGS,
    EncodingCache,
    EncodingDataError,
    api_view_size,
    build_encoding,
    count_messages,
    count_prompt_tokens,
    count_text,
    encoding_for_model,
    get_encoding,
    image_tokens,
    load_ranks,
)

REPO = Path(__file__).resolve().parents[2]

# The example conversation of the OpenAI cookbook "How to count tokens with tiktoken", whose
# published API answers are 124 prompt tokens for gpt-4o / gpt-4o-mini and 129 for gpt-4.
COOKBOOK_MESSAGES: list[dict[str, Any]] = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate "
        "jargon into plain English.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "New synergies will help drive top-line growth.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities "
        "for increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client "
        "deliverable.",
    },
]

# Published token ids (tiktoken README and cookbook) for both encodings.
KNOWN_IDS = [
    ("o200k_base", "hello world", [24912, 2375]),
    ("o200k_base", "tiktoken is great!", [83, 8251, 2488, 382, 2212, 0]),
    ("o200k_base", "お誕生日おめでとう", [8930, 9697, 243, 128225, 8930, 17693, 4344, 48669]),
    ("cl100k_base", "hello world", [15339, 1917]),
    ("cl100k_base", "tiktoken is great!", [83, 1609, 5963, 374, 2294, 0]),
    (
        "cl100k_base",
        "お誕生日おめでとう",
        [33334, 45918, 243, 21990, 9080, 33334, 62004, 16556, 78699],
    ),
]


def _png_data_url(width: int, height: int, noisy: bool = False) -> str:
    image = Image.effect_noise((width, height), 80) if noisy else Image.new("L", (width, height))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(("name", "text", "ids"), KNOWN_IDS)
def test_known_token_ids(name: str, text: str, ids: list[int]) -> None:
    """The bundled encodings produce the published token ids, not just plausible counts."""
    encoding = get_encoding(name)
    assert encoding.encode(text) == ids
    assert encoding.decode(ids) == text


def test_vocabulary_and_special_tokens() -> None:
    """Each encoding has its full vocabulary and its special tokens at the right ids."""
    o200k, cl100k = get_encoding("o200k_base"), get_encoding("cl100k_base")
    assert o200k.n_vocab == 200_019
    assert cl100k.n_vocab == 100_277
    assert o200k.encode("<|endoftext|>", allowed_special="all") == [199_999]
    assert cl100k.encode("<|endofprompt|>", allowed_special="all") == [100_276]


@pytest.mark.parametrize("name", sorted(ENCODINGS))
def test_same_pattern_and_special_tokens_as_tiktoken(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pattern and special tokens equal those of the installed tiktoken_ext definitions."""
    # The downloader is the edge: replace it so the official constructor runs offline.
    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *args, **kwargs: {})
    official = openai_public.ENCODING_CONSTRUCTORS[name]()
    assert ENCODINGS[name].pat_str == official["pat_str"]
    assert dict(ENCODINGS[name].special_tokens) == official["special_tokens"]


def test_encoding_is_loaded_once_and_shared() -> None:
    """Asking twice for an encoding gives the very same object."""
    assert get_encoding("cl100k_base") is get_encoding("cl100k_base")
    assert encoding_for_model("gpt-4o") is get_encoding("o200k_base")
    assert encoding_for_model("gpt-4-turbo") is get_encoding("cl100k_base")
    assert "cl100k_base" in tokens.loaded_encodings()


def test_unknown_encoding_name_is_refused() -> None:
    """Only the bundled encodings can be asked for."""
    with pytest.raises(ValueError, match="p50k_base"):
        get_encoding("p50k_base")


def test_concurrent_first_use_builds_once() -> None:
    """Threads racing for an unbuilt encoding wait for one build instead of each building."""
    builds: list[str] = []
    threads_ready = threading.Barrier(8)

    def build(name: str) -> tiktoken.Encoding:
        builds.append(name)
        return tiktoken.Encoding(
            name,
            pat_str=r"\S+|\s+",
            mergeable_ranks={bytes([i]): i for i in range(256)},
            special_tokens={},
        )

    cache = EncodingCache(build)
    results: list[tiktoken.Encoding] = []

    def worker() -> None:
        threads_ready.wait()
        results.append(cache.get("tiny"))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert builds == ["tiny"]
    assert len(results) == 8
    assert all(result is results[0] for result in results)
    assert cache.loaded() == frozenset({"tiny"})


def test_damaged_encoding_file_is_refused(tmp_path: Path) -> None:
    """A bundled file whose content does not match its checksum raises a clear error."""
    damaged = tmp_path / "o200k_base.tiktoken.gz"
    damaged.write_bytes(gzip.compress(b"aGVsbG8= 0\n"))
    with pytest.raises(EncodingDataError, match="damaged") as caught:
        build_encoding("o200k_base", damaged)
    assert "Reinstall" in caught.value.remedy


def test_missing_or_unreadable_encoding_file_is_refused(tmp_path: Path) -> None:
    """A missing file or one that is not gzip raises the same clear error."""
    with pytest.raises(EncodingDataError, match="could not be read"):
        build_encoding("cl100k_base", tmp_path / "absent.tiktoken.gz")
    not_gzip = tmp_path / "plain.tiktoken.gz"
    not_gzip.write_bytes(b"aGVsbG8= 0\n")
    with pytest.raises(EncodingDataError, match="could not be read"):
        build_encoding("cl100k_base", not_gzip)


def test_malformed_ranks_are_refused(tmp_path: Path) -> None:
    """A file with the expected checksum but unparsable lines is refused, not half-loaded."""
    import hashlib

    content = b"aGVsbG8= 0\nnot-a-valid-line\n"
    path = tmp_path / "odd.tiktoken.gz"
    path.write_bytes(gzip.compress(content))
    with pytest.raises(EncodingDataError, match="malformed"):
        load_ranks(path, hashlib.sha256(content).hexdigest())


def test_loading_never_touches_network_or_tiktoken_cache(tmp_path: Path) -> None:
    """A fresh process builds both encodings with no network, no download path and no cache."""
    cache_dir = tmp_path / "tiktoken-cache"
    cache_dir.mkdir()
    script = textwrap.dedent(
        """
        import socket, sys
        sys.modules["requests"] = None  # any download attempt fails to import its client
        sys.modules["blobfile"] = None

        def refuse(*args, **kwargs):
            raise AssertionError("network or tiktoken download path used")

        socket.socket.connect = refuse
        socket.create_connection = refuse
        import tiktoken, tiktoken.load, tiktoken.registry
        tiktoken.get_encoding = tiktoken.registry.get_encoding = refuse
        tiktoken.load.read_file = tiktoken.load.read_file_cached = refuse

        from app.core import tokens
        assert tokens.loaded_encodings() == frozenset(), "import must not load anything"
        tokens.preload("gpt-4o-mini")
        assert tokens.loaded_encodings() == {"o200k_base"}, tokens.loaded_encodings()
        tokens.preload("gpt-4-turbo")
        print(tokens.count_text("hello world", "gpt-4o"), tokens.count_text("hello", "gpt-4"))
        """
    )
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(cache_dir), "DATA_GYM_CACHE_DIR": str(cache_dir)}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "1"]
    assert list(cache_dir.iterdir()) == []


def test_counting_text_imports_neither_pillow_nor_the_image_preparation() -> None:
    """Importing the counter and counting a text prompt leaves Pillow and `images` unloaded."""
    script = textwrap.dedent(
        """
        import sys
        from app.core import tokens
        from app.core.messages import ChatMessage
        tokens.count_messages([ChatMessage.user("hello")], "gpt-4o")
        print(sorted(m for m in ("PIL", "app.core.images") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_count_text() -> None:
    """Plain text counts with the model's encoding; special-token text is just text."""
    assert count_text("hello world", "gpt-4o") == 2
    assert count_text("", "gpt-4o") == 0
    assert count_text("<|endoftext|>", "gpt-4o") > 1
    assert count_text("antidisestablishmentarianism", "gpt-4") == 6


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [("gpt-4o", 124), ("gpt-4o-mini", 124), ("gpt-4o-2024-08-06", 124), ("gpt-4", 129)],
)
def test_cookbook_conversation_wire_format(model_id: str, expected: int) -> None:
    """The cookbook conversation counts what the API billed for it."""
    assert count_prompt_tokens(COOKBOOK_MESSAGES, model_id) == expected


@pytest.mark.parametrize(("model_id", "expected"), [("gpt-4o", 124), ("gpt-4-turbo", 129)])
def test_cookbook_conversation_chat_messages(model_id: str, expected: int) -> None:
    """ChatMessage objects count the same as their wire form."""
    messages = [
        ChatMessage(Role(item["role"]), item["content"], name=item.get("name"))
        for item in COOKBOOK_MESSAGES
    ]
    assert count_messages(messages, model_id) == expected


@pytest.mark.parametrize(
    ("width", "height", "detail", "model_id", "expected"),
    [
        (1024, 1024, Detail.HIGH, "gpt-4o", 765),  # vision guide: 768×768, 4 tiles
        (2048, 4096, Detail.HIGH, "gpt-4o", 1105),  # vision guide: 768×1536, 6 tiles
        (4096, 8192, Detail.LOW, "gpt-4o", 85),  # vision guide: low is flat
        (4096, 8192, Detail.HIGH, "gpt-4o", 1105),
        (300, 200, Detail.HIGH, "gpt-4o", 255),  # never enlarged: one tile
        (513, 512, Detail.HIGH, "gpt-4o", 425),  # one pixel over a tile boundary
        (1024, 1024, Detail.AUTO, "gpt-4o", 765),  # auto counted as high, the upper bound
        (1024, 1024, Detail.HIGH, "gpt-4o-mini", 2833 + 4 * 5667),
        (1024, 1024, Detail.LOW, "gpt-4o-mini", 2833),
        (2048, 4096, Detail.HIGH, "gpt-4o-mini-2024-07-18", 2833 + 6 * 5667),
        (1024, 1024, Detail.HIGH, "o1", 75 + 4 * 150),
        (None, None, Detail.HIGH, "gpt-4o", 85 + 8 * 170),  # unknown size: most tiles possible
        (None, None, Detail.AUTO, "gpt-4o-mini", 2833 + 8 * 5667),
        (None, None, Detail.LOW, "gpt-4o", 85),
    ],
)
def test_image_tokens(
    width: int | None, height: int | None, detail: Detail, model_id: str, expected: int
) -> None:
    """Image tokens follow the vision guide's scaling and tile rules per model."""
    assert image_tokens(width, height, detail, model_id) == expected


def test_api_view_size_rules() -> None:
    """High fits 2048 then shortest side 768; low fits 512; nothing is enlarged."""
    assert api_view_size(4032, 3024, Detail.HIGH) == (1024, 768)
    assert api_view_size(2048, 4096, Detail.AUTO) == (768, 1536)
    assert api_view_size(5000, 100, Detail.HIGH) == (2048, 41)
    assert api_view_size(4032, 3024, Detail.LOW) == (512, 384)
    assert api_view_size(200, 100, Detail.LOW) == (200, 100)
    assert api_view_size(700, 500, Detail.HIGH) == (700, 500)


def test_image_tokens_accepts_detail_strings() -> None:
    """The wire-format detail strings work as well as the enum."""
    assert image_tokens(1024, 1024, "high", "gpt-4o") == 765
    assert image_tokens(1024, 1024, "low", "gpt-4o") == 85


def test_wire_images_are_counted_from_their_data() -> None:
    """A data: URL image is counted from the dimensions in its header."""
    url = _png_data_url(1500, 700)  # stays 1500×700: 3 × 2 tiles
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hello world"},
                {"type": "image_url", "image_url": {"url": url, "detail": "high"}},
            ],
        }
    ]
    assert count_prompt_tokens(messages, "gpt-4o") == 3 + 3 + 1 + 2 + (85 + 6 * 170)


def test_large_data_url_header_read_from_a_prefix_or_whole() -> None:
    """Big data: URLs are sized correctly, even when the header is past the first bytes."""
    noisy = _png_data_url(600, 600, noisy=True)
    assert len(noisy) > 200_000
    assert data_url_image_size(noisy) == (600, 600)

    buffer = io.BytesIO()
    # A big ICC profile (split over several markers) pushes the JPEG size header far out.
    Image.new("RGB", (640, 480)).save(buffer, "JPEG", icc_profile=b"\0" * 120_000)
    assert buffer.getvalue().find(b"\xff\xc0") > 100_000
    url = "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()
    assert data_url_image_size(url) == (640, 480)


def test_unreadable_or_remote_images_count_as_the_largest() -> None:
    """Images whose size is unknown are counted at the upper bound, per detail."""
    messages: list[dict[str, Any]] = [
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
                {"type": "image_url", "image_url": {"url": "https://x.test/a", "detail": "low"}},
            ],
        }
    ]
    assert count_prompt_tokens(messages, "gpt-4o") == 3 + 3 + 1 + 2 * 1445 + 85


def test_chat_message_and_wire_counts_agree_with_images() -> None:
    """One implementation counts both shapes: the same request gives the same total."""
    url = _png_data_url(800, 600)
    parts = (
        ImagePart(url, Detail.HIGH, 800, 600),
        ImagePart(url, Detail.LOW),  # size read from the data when not given
        ImagePart("https://example.com/a.jpg", Detail.AUTO),
    )
    chat = [ChatMessage.system("Be brief."), ChatMessage.user("What is this?", parts)]
    wire: list[dict[str, Any]] = [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [{"type": "text", "text": "What is this?"}]
            + [
                {"type": "image_url", "image_url": {"url": part.url, "detail": part.detail.value}}
                for part in parts
            ],
        },
    ]
    expected = 3 + (3 + 1 + 3) + (3 + 1 + 4) + 765 + 85 + 1445
    assert count_messages(chat, "gpt-4o") == expected
    assert count_prompt_tokens(wire, "gpt-4o") == expected


def test_wire_format_oddities() -> None:
    """Null content, refusals, unknown part types and bad details are handled, not crashed on."""
    messages: list[dict[str, Any]] = [
        {"role": "assistant", "content": None},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "hello world"}]},
        {"role": "user", "content": [{"type": "input_audio", "input_audio": {}}, "junk"]},
        {
            "role": "user",
            "content": [
                {"type": "image_url", "image_url": {"url": "https://a.test/x", "detail": "max"}}
            ],
        },
    ]
    assert count_prompt_tokens(messages, "gpt-4o") == 3 + 4 * (3 + 1) + 2 + 1445
    assert count_prompt_tokens([], "gpt-4o") == 3
