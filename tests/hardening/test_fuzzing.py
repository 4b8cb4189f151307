"""Fuzzing with hypothesis: requests, the Markdown view and the SSE stream under arbitrary input.

Every property runs a fixed, derandomised set of examples (the same on every run), so the
evidence table's counts are stable and a failure reproduces at once.
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import itertools
import json
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PySide6.QtWidgets import QApplication

from app.core.catalog import CATALOG, ModelInfo, Param, lookup
from app.core.client import ChatClient, ConnectionConfig
from app.core.events import ChoiceFinished, StreamEvent, TextDelta, UsageReported
from app.core.messages import ChatMessage, Detail, ImagePart, Role
from app.core.params import (
    MAX_N,
    MAX_STOP_SEQUENCES,
    MAX_TOP_LOGPROBS,
    RANGES,
    SEED_RANGE,
    ChatParams,
    ReasoningEffort,
)
from app.core.request import InvalidRequest, build_request
from app.simulator import SimulatorServer
from app.ui.chat.view import ChatView
from tests.support.evidence import Evidence
from tests.support.schema import schema_errors
from tests.ui.markdown.structure import document_structure

pytestmark = pytest.mark.hardening

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODELS = sorted(CATALOG)
# Models the catalog does not list: a local server's, and dated snapshots of listed ones.
OTHER_MODELS = ("llama3.1:8b", "gpt-4o-2024-08-06", "o3-mini-2025-01-31", "mistral")

# Text a person can type or paste: any character but unpaired surrogates (which no keyboard or
# clipboard produces).
typed_text = st.text(max_size=120)


# (a) Request building


def _image(vision_detail: Detail, data: bytes, mime: str) -> ImagePart:
    return ImagePart(f"data:{mime};base64,{base64.b64encode(data).decode()}", vision_detail)


images = st.one_of(
    st.builds(
        _image,
        st.sampled_from(Detail),
        st.binary(min_size=1, max_size=64),
        st.sampled_from(["image/png", "image/jpeg", "image/gif", "image/webp"]),
    ),
    st.builds(
        ImagePart,
        st.builds(
            "{}://{}.example/{}".format,
            st.sampled_from(["http", "https"]),
            st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True),
            st.from_regex(r"[A-Za-z0-9._~/-]{0,40}", fullmatch=True),
        ),
        st.sampled_from(Detail),
        st.none() | st.integers(1, 4096),
        st.none() | st.integers(1, 4096),
        typed_text,
    ),
)


@st.composite
def valid_params(draw: st.DrawFn, model: ModelInfo, *, fitted: bool = True) -> ChatParams:
    """Parameters within RANGES and the rules, minus (when `fitted`) what `model` does not
    accept."""

    def ranged(name: str) -> float | None:
        spec = RANGES[name]
        return draw(st.none() | st.floats(spec.minimum, spec.maximum, allow_nan=False))

    logprobs = draw(st.booleans())
    limit = model.max_output_tokens or model.context_window
    params = ChatParams(
        temperature=ranged("temperature"),
        top_p=ranged("top_p"),
        presence_penalty=ranged("presence_penalty"),
        frequency_penalty=ranged("frequency_penalty"),
        max_output_tokens=draw(st.none() | st.integers(1, limit)),
        n=draw(st.none() | st.integers(1, MAX_N)),
        seed=draw(st.none() | st.integers(*SEED_RANGE)),
        stop=tuple(draw(st.lists(typed_text.filter(bool), max_size=MAX_STOP_SEQUENCES))),
        json_mode=draw(st.booleans()),
        logprobs=logprobs,
        top_logprobs=draw(st.none() | st.integers(0, MAX_TOP_LOGPROBS)) if logprobs else None,
        reasoning_effort=draw(st.none() | st.sampled_from(ReasoningEffort)),
        user=draw(st.none() | typed_text),
    )
    return params.without_unsupported(model) if fitted else params


@st.composite
def conversations(draw: st.DrawFn, model: ModelInfo, json_mode: bool) -> list[ChatMessage]:
    """A system prompt (maybe), earlier turns, then the prompt; images only for vision models."""
    names = st.none() | st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True)

    def user() -> ChatMessage:
        attached = draw(st.lists(images, max_size=3)) if model.vision else []
        return ChatMessage(Role.USER, draw(typed_text), tuple(attached), draw(names))

    messages = [ChatMessage.system(draw(typed_text))] if draw(st.booleans()) else []
    for _ in range(draw(st.integers(0, 2))):
        messages += [user(), ChatMessage(Role.ASSISTANT, draw(typed_text), (), draw(names))]
    prompt = user()
    if json_mode:
        # The API requires the word in a message for JSON mode; a user asking for it says so.
        prompt = ChatMessage(prompt.role, f"{prompt.text} Answer in JSON.", prompt.images)
    return [*messages, prompt]


@st.composite
def valid_requests(draw: st.DrawFn) -> tuple[str, list[ChatMessage], ChatParams, bool]:
    model_id = draw(st.sampled_from(MODELS))
    model = CATALOG[model_id]
    params = draw(valid_params(model))
    return model_id, draw(conversations(model, params.json_mode)), params, draw(st.booleans())


# Body fields whose acceptance differs between models, and the catalog's name for each.
WIRE_PARAMS = {param.value: param for param in Param} | {"top_logprobs": Param.LOGPROBS}


def wire_errors(model_id: str, body: dict[str, Any]) -> list[str]:
    """Schema errors, anything the model refuses, and whether the body can go on the wire as
    the SDK sends JSON."""
    try:
        json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError) as exc:
        return [f"not sendable as JSON: {exc}"]
    model = lookup(model_id)
    refused = [
        f"{name}: {model.id} refuses it"
        for name in body
        if name in WIRE_PARAMS and not model.accepts(WIRE_PARAMS[name])
    ]
    if not model.accepts(Param.SYSTEM_MESSAGE) and any(
        m["role"] == "system" for m in body["messages"]
    ):
        refused.append(f"messages: {model.id} refuses a system message")
    return refused + schema_errors(body)


def test_valid_settings_always_build_a_schema_valid_request(evidence: Evidence) -> None:
    """Any valid parameters and messages, for every catalog model, give a request the API's
    schema and the model accept; none is refused."""
    built: Counter[str] = Counter()

    @settings(FUZZ, max_examples=350)
    @given(valid_requests())
    def check(request: tuple[str, list[ChatMessage], ChatParams, bool]) -> None:
        model_id, messages, params, stream = request
        body = build_request(model_id, messages, params, stream=stream)
        assert wire_errors(model_id, body) == []
        built[model_id] += 1

    check()
    assert set(built) == set(MODELS)
    evidence.record(
        "Fuzzing",
        "request building, valid settings and messages (text, data-URL and web images, names, "
        "earlier turns, system prompts) for every catalog model",
        f"{sum(built.values())} examples, every model covered "
        f"({', '.join(f'{m} {built[m]}' for m in MODELS)}): every one built, 0 schema errors, "
        "nothing the model refuses",
    )


# A value of any kind for each parameter: NaN, infinities, negative, huge, empty strings.
WILD: dict[str, st.SearchStrategy[Any]] = (
    {name: st.floats(allow_nan=True, allow_infinity=True) for name in RANGES}
    | {
        name: st.integers(-(2**70), 2**70)
        for name in ("max_output_tokens", "n", "seed", "top_logprobs")
    }
    | {
        "stop": st.lists(typed_text, max_size=6).map(tuple),
        "json_mode": st.booleans(),
        "logprobs": st.booleans(),
        "reasoning_effort": st.sampled_from(ReasoningEffort),
    }
)


@st.composite
def arbitrary_requests(draw: st.DrawFn) -> tuple[str, list[ChatMessage], ChatParams]:
    """Settings valid for some model, sent with another, with a few values made wild."""
    model_id = draw(st.sampled_from(MODELS + list(OTHER_MODELS)))
    other = CATALOG[draw(st.sampled_from(MODELS))]
    params = draw(valid_params(other, fitted=False))
    wild = draw(st.sets(st.sampled_from(sorted(WILD)), max_size=3))
    params = replace(params, **{name: draw(WILD[name]) for name in sorted(wild)})
    any_message = st.builds(
        ChatMessage, st.sampled_from(Role), typed_text, st.lists(images, max_size=2).map(tuple)
    )
    messages = draw(conversations(other, params.json_mode) | st.lists(any_message, max_size=4))
    return model_id, messages, params


def test_any_settings_are_refused_with_reasons_or_build_a_schema_valid_request(
    evidence: Evidence,
) -> None:
    """Out-of-range, unsupported or contradictory settings are refused before sending, each
    with a reason; whatever is not refused is schema-valid."""
    outcomes: Counter[str] = Counter()

    @settings(FUZZ, max_examples=300)
    @given(arbitrary_requests())
    def check(request: tuple[str, list[ChatMessage], ChatParams]) -> None:
        model_id, messages, params = request
        try:
            body = build_request(model_id, messages, params)
        except InvalidRequest as refused:
            assert refused.problems and all(p.strip() for p in refused.problems)
            outcomes["refused"] += 1
            return
        assert wire_errors(model_id, body) == []
        outcomes["built"] += 1

    check()
    assert outcomes["refused"] and outcomes["built"]
    evidence.record(
        "Fuzzing",
        "request building, arbitrary settings (NaN, infinities, out-of-range numbers, "
        "unsupported parameters, images for blind models, any roles) for catalog and "
        "unlisted models",
        f"{sum(outcomes.values())} examples: {outcomes['refused']} refused with reasons "
        f"before sending, {outcomes['built']} built, 0 schema errors",
    )


# (b) The Markdown view

# Any character at all, unpaired surrogates included: a server's JSON can carry "\ud800".
any_character = st.characters(exclude_categories=())
MARKDOWN_TOKENS = (
    "#", "##", "######", "*", "**", "_", "__", "~~", "`", "``", "```", "~~~", "```python",
    "|", "|---|", ":-:", "-", "- ", "+ ", "1. ", "99999999999. ", ">", "> ", "\n", "\n\n",
    "    ", "\t", "[", "](", ")", "![", "<", ">", "&", "&amp;", "&#0;", "\\", "<img src=x>",
    "<script>", "http://x.example/", "javascript:alert(1)", "file:///etc/passwd", "---",
    "***", "$$", "\\(", "[^1]", "[x]: http://y", "- [ ] ", "- [x] ", "\r", "\r\n", "\x00",
    "\u2028", "\u2029", "\ufffc", "\u202e", "\u200b", "\ufeff", "😀", "é", "\u0301",
    "\ud800", "\udfff",
)  # fmt: skip


@st.composite
def markdown_texts(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["chars", "tokens", "nesting", "table", "fence"]))
    if kind == "chars":
        return draw(st.text(any_character, max_size=400))
    if kind == "tokens":
        pieces = st.sampled_from(MARKDOWN_TOKENS) | st.text(any_character, max_size=6)
        return "".join(draw(st.lists(pieces, max_size=120)))
    if kind == "nesting":
        marker = draw(st.sampled_from(["> ", "- ", "1. ", "  - ", "*", "_", "[", "`", "~~"]))
        depth = draw(st.integers(1, 400))
        inner = draw(st.text(any_character, max_size=20))
        if draw(st.booleans()):
            return marker * depth + inner
        return "\n".join(" " * (2 * level) + "- " + inner for level in range(depth))
    if kind == "table":
        columns = draw(st.integers(1, 16))
        rows = draw(st.integers(0, 60))
        cell = draw(st.text(any_character, max_size=8)).replace("\n", " ")
        head = "|" + "|".join(f" h{c} " for c in range(columns)) + "|"
        rule = "|" + "|".join(["---"] * columns) + "|"
        body = "\n".join("|" + f" {cell} |" * columns for _ in range(rows))
        return f"{head}\n{rule}\n{body}"
    fence = draw(st.sampled_from(["```", "~~~", "````", "```py", "~~~~ rust", "``` x y z"]))
    code = draw(st.text(any_character, max_size=300))
    closing = draw(st.sampled_from(["", "\n```", "\n~~~", "\n`````", "\n``"]))
    return f"{draw(st.text(any_character, max_size=20))}\n{fence}\n{code}{closing}"


# Frames drawn per reply at most. The view redraws the open block on every frame; a real
# frame clock draws at most ~60 a second whatever the delta size, so one flush per 1-character
# delta of a long reply is not a case the app meets (and would only test patience).
MAX_FRAMES = 60


# A table far beyond anything on screen (generated ones stay smaller: each costs seconds).
HUGE_TABLE = (
    "|"
    + "|".join(f" h{c} " for c in range(40))
    + "|\n"
    + "|"
    + "---|" * 40
    + "\n"
    + "\n".join("|" + " cell |" * 40 for _ in range(250))
)


@dataclass
class Chunking:
    """How a reply arrives: delta sizes (cycled), and after which deltas a frame is drawn."""

    sizes: list[int]
    draws: list[bool] = field(default_factory=list)

    def pieces(self, text: str) -> list[tuple[str, bool]]:
        cut: list[str] = []
        position = 0
        while position < len(text):
            size = self.sizes[len(cut) % len(self.sizes)]
            cut.append(text[position : position + size])
            position += size
        stride = max(1, -(-len(cut) // MAX_FRAMES))
        return [
            (piece, index % stride == 0 and self._draws(index)) for index, piece in enumerate(cut)
        ]

    def _draws(self, index: int) -> bool:
        return self.draws[index % len(self.draws)] if self.draws else True


chunkings = st.builds(
    Chunking,
    st.lists(st.integers(1, 300), min_size=1, max_size=20),
    st.lists(st.booleans(), max_size=8),
)


def show_reply(text: str, chunking: Chunking | None) -> ChatView:
    """Stream `text` into a fresh chat view as the window does, then paint it."""
    view = ChatView()
    view.resize(520, 360)
    view.show()
    view.begin_reply("gpt-4o")
    for piece, frame in chunking.pieces(text) if chunking else [(text, True)]:
        view.append_reply(piece)
        if frame:
            view.flush()
    view.end_reply()
    # Lay out and paint the document, as the screen would.
    view.viewport().grab()
    QApplication.processEvents()
    return view


def test_the_chat_view_renders_any_text_however_it_streams(
    qapp: QApplication, evidence: Evidence
) -> None:
    """Arbitrary text (control characters, lone surrogates, deep nesting, huge tables,
    unterminated fences) streams in any chunking without an error, keeps its exact source for
    Copy, and ends as the same document as when it arrives at once."""
    kinds: Counter[str] = Counter()

    @settings(FUZZ, max_examples=160)
    @given(markdown_texts(), chunkings)
    @example(HUGE_TABLE, Chunking([997, 13, 4096]))
    @example("> " * 1000 + "deep", Chunking([7]))
    @example("```python\n" + "x = '\ud800'\n" * 2000, Chunking([61]))
    def check(text: str, chunking: Chunking) -> None:
        whole = show_reply(text, None)
        streamed = show_reply(text, chunking)
        try:
            assert whole.last_reply_text() == text
            assert streamed.last_reply_text() == text
            assert document_structure(streamed.document()) == document_structure(whole.document())
        finally:
            for view in (whole, streamed):
                view.close()
                view.deleteLater()
        kinds["examples"] += 1

    check()
    evidence.record(
        "Fuzzing",
        "Markdown view: arbitrary text (control characters, lone surrogates, deep nesting, "
        "tables up to 250×40, unterminated fences), streamed whole and in arbitrary deltas",
        f"{kinds['examples']} examples: never raised; "
        "Copy text exact; streamed document identical to the one-shot one",
    )


# (c) The SSE stream, split at arbitrary bytes


@dataclass
class SplitServer:
    """A loopback HTTP server answering every chat request with `stream`, cut at `cuts`.

    Each piece is sent as one HTTP chunk and flushed, so the client's parser receives exactly
    these pieces however the network coalesces them.
    """

    stream: bytes = b""
    cuts: list[int] = field(default_factory=list)

    def pieces(self) -> list[bytes]:
        edges = [0, *sorted(set(self.cuts)), len(self.stream)]
        return [self.stream[a:b] for a, b in itertools.pairwise(edges) if b > a]


def _split_handler(server: SplitServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("x-request-id", "req_split")
            self.end_headers()
            for piece in server.pieces():
                self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def split_server() -> Iterator[tuple[SplitServer, str]]:
    state = SplitServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _split_handler(state))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def raw_stream(simulator: SimulatorServer, body: dict[str, Any]) -> bytes:
    """The bytes of the simulator's streamed answer to `body` (the SSE events, [DONE] last)."""
    address = urlsplit(simulator.url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/v1/chat/completions",
            body=json.dumps(body),
            headers={"Content-Type": "application/json", "Authorization": "Bearer sk-fuzz"},
        )
        response = connection.getresponse()
        assert response.status == 200
        return response.read()
    finally:
        connection.close()


async def events_of(client: ChatClient, body: dict[str, Any]) -> list[StreamEvent]:
    return [event async for event in client.stream_chat(body)]


# A prompt the answer quotes: multi-byte characters give byte splits inside a character.
PROMPT = "Naïve café — 日本語 😀 ¿qué? Ωmega"


def test_sse_split_at_arbitrary_bytes_gives_the_same_answer(
    split_server: tuple[SplitServer, str], evidence: Evidence
) -> None:
    """A valid stream cut into arbitrary byte pieces (inside lines, inside characters) gives
    the same text, finish reasons, logprobs and usage as the unsplit stream."""
    server, base_url = split_server
    streams = {}
    with SimulatorServer() as simulator:
        for name, params, send_usage in (
            (
                "two choices with logprobs and usage",
                ChatParams(n=2, logprobs=True, top_logprobs=2),
                True,
            ),
            # Without usage in the stream the client counts the tokens itself.
            ("one choice, no usage sent", ChatParams(), False),
        ):
            simulator.send_usage = send_usage
            body = build_request("gpt-4o-mini", [ChatMessage.user(PROMPT)], params)
            streams[name] = (body, raw_stream(simulator, body))
    loop = asyncio.new_event_loop()
    client = ChatClient(ConnectionConfig(api_key="sk-fuzz", base_url=base_url, max_retries=0))
    expected: dict[str, list[StreamEvent]] = {}
    try:
        for name, (body, stream) in streams.items():
            server.stream, server.cuts = stream, []
            expected[name] = loop.run_until_complete(events_of(client, body))
            text = "".join(
                e.text for e in expected[name] if isinstance(e, TextDelta) and e.choice == 0
            )
            assert PROMPT in text
            assert any(isinstance(e, ChoiceFinished) for e in expected[name])
            assert any(isinstance(e, UsageReported) for e in expected[name])
        examples: Counter[str] = Counter()
        pieces: Counter[str] = Counter()

        @settings(FUZZ, max_examples=120)
        @given(st.sampled_from(sorted(streams)), st.data())
        def check(name: str, data: st.DataObject) -> None:
            body, stream = streams[name]
            inside = st.integers(1, len(stream) - 1)
            cuts = data.draw(
                st.lists(inside, max_size=400)
                | st.integers(1, 16).map(lambda step: list(range(step, len(stream), step)))
            )
            server.stream, server.cuts = stream, cuts
            assert loop.run_until_complete(events_of(client, body)) == expected[name]
            examples[name] += 1
            pieces[name] += len(server.pieces())

        check()
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    for name, (_, stream) in streams.items():
        evidence.record(
            "Fuzzing",
            f"SSE stream ({name}, {len(stream):,} bytes) split at arbitrary bytes (inside "
            "lines, JSON and UTF-8 characters), each piece a flushed HTTP chunk to the real "
            "ChatClient",
            f"{examples[name]} examples ({pieces[name]:,} pieces): identical text, logprobs, "
            "finish reasons and usage every time",
        )
