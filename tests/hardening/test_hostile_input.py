"""Bad and hostile input through the real window: files, drops, pastes, prompts and answers.

Every case goes in the way a person (or a model) would put it there: files dropped, pasted or
picked with "Attach images…", text pasted into the composer, answers streamed by the simulator.
Each must be explained or shown as text, with nothing fetched, nothing executed, and the window
processing events throughout.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QObject, QPoint, Qt, QTimer, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication, QTextCursor
from PySide6.QtWidgets import QApplication, QFileDialog, QTextEdit
from pytestqt.qtbot import QtBot

from app.core.catalog import lookup
from app.core.images import MAX_IMAGE_BYTES
from app.core.messages import Role
from app.core.store.history import History
from app.simulator import SimulatorServer
from app.ui.attachments.area import MAX_IMAGES, ImageArea
from app.ui.attachments.tile import ImageTile
from tests.support.dragdrop import drop, file_mime
from tests.support.evidence import Evidence
from tests.support.qt import (  # noqa: F401  (an autouse fixture: the clipboard is emptied)
    MODEL,
    ChatWindow,
    Runner,
    _clipboard_emptied,
    wait_until,
)
from tests.ui.markdown.structure import anchors, click_text

pytestmark = pytest.mark.hardening

# The window counts as processing events while a 10 ms timer keeps firing; a stall is the
# longest time between two of its ticks. The bound is far above any frame, far below a freeze.
HEARTBEAT_MS = 10
STALL_BOUND_S = 2.0


class Heartbeat:
    """A timer on the GUI thread, recording when it fires: only when the loop gets control."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._timer = QTimer()
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self.on_timer_timeout)

    def on_timer_timeout(self) -> None:
        self.ticks.append(time.perf_counter())

    def __enter__(self) -> Heartbeat:
        self._started = time.perf_counter()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.stop()
        self._stopped = time.perf_counter()

    @property
    def longest_stall_s(self) -> float:
        marks = [self._started, *self.ticks, self._stopped]
        return max(b - a for a, b in itertools.pairwise(marks))


class Listener:
    """A local web server that records every request made to it (and answers 404)."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                self.send_response(404)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Listener:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class OpenedUrls(QObject):
    """The desktop's URL handlers for every scheme a link could use: records what was opened."""

    SCHEMES = ("http", "https", "javascript", "file", "data", "mailto", "vbscript")

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def opened(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@pytest.fixture
def opened_urls() -> Iterator[OpenedUrls]:
    """Whatever the app hands to the system to open (a browser, a handler) lands here instead."""
    recorder = OpenedUrls()
    for scheme in OpenedUrls.SCHEMES:
        QDesktopServices.setUrlHandler(scheme, recorder, "opened")
    yield recorder
    for scheme in OpenedUrls.SCHEMES:
        QDesktopServices.unsetUrlHandler(scheme)


@pytest.fixture(scope="module", autouse=True)
def _warm_simulator() -> None:
    """Load the simulator's schema and encoding once, so no case's first answer is slow."""
    SimulatorServer().warm_up()


async def send(qtbot: QtBot, chat: ChatWindow, prompt: str) -> None:
    qtbot.keyClicks(chat.window.composer, prompt)
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
    await wait_until(lambda: chat.controller.busy, "the reply to start")
    await wait_until(lambda: not chat.controller.busy, "the reply to end")
    # The estimate of the next message counts in the background; let it finish.
    await wait_until(lambda: chat.controller.estimator.current() is not None, "the estimate")


# --- Bad files ---------------------------------------------------------------------------------


def _huge(path: Path, _base: str) -> None:
    """A JPEG one byte over the API's 20 MB limit (its header real, the rest padding)."""
    Image.new("RGB", (8, 8)).save(path, "JPEG")
    with path.open("r+b") as file:
        file.truncate(MAX_IMAGE_BYTES + 1)


def _truncated(path: Path, _base: str) -> None:
    gradient = Image.linear_gradient("L").resize((900, 600))
    Image.merge("RGB", (gradient, gradient.rotate(90), gradient)).save(path, "JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _svg(path: Path, base: str) -> None:
    path.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        f'<script>alert(1)</script><image href="{base}/from-svg.png"/></svg>'
    )


@dataclass(frozen=True)
class BadFile:
    name: str
    make: Callable[[Path, str], object]  # the path, and a web address the file may name
    headline: str  # a phrase of the headline
    pickable: bool = True  # a file picker can choose it (not a folder)


BAD_FILES = {
    "image over 20 MB": BadFile("huge.jpg", _huge, "“huge.jpg” is too large (20.0 MB)"),
    "BMP file": BadFile(
        "scan.bmp", lambda p, _: Image.new("RGB", (8, 8)).save(p, "BMP"), "is a BMP file"
    ),
    "TIFF file": BadFile(
        "scan.tif", lambda p, _: Image.new("RGB", (8, 8)).save(p, "TIFF"), "is a TIFF file"
    ),
    "SVG file with a script and a remote image": BadFile("logo.svg", _svg, "is a SVG file"),
    "truncated JPEG": BadFile("cut.jpg", _truncated, "“cut.jpg” is damaged or incomplete"),
    "0-byte file": BadFile(
        "empty.png", lambda p, _: p.write_bytes(b""), "“empty.png” is empty (0 bytes)"
    ),
    "folder": BadFile("album", lambda p, _: p.mkdir(), "“album” is a folder", pickable=False),
}


def settled(area: ImageArea) -> bool:
    return not any(tile.progress.isVisibleTo(tile) for tile in area.findChildren(ImageTile))


def visible_tiles(area: ImageArea) -> list[ImageTile]:
    return [tile for tile in area.findChildren(ImageTile) if tile.isVisible()]


def by_drop(qtbot: QtBot, chat: ChatWindow, path: Path) -> None:
    # Onto the conversation, where a person aims a drop; the area takes it from there.
    assert drop(chat.window.chat_view.viewport(), file_mime(path))


def by_paste(qtbot: QtBot, chat: ChatWindow, path: Path) -> None:
    # A file copied in a file manager, pasted into the composer with Ctrl+V.
    QGuiApplication.clipboard().setMimeData(file_mime(path))
    chat.window.composer.setFocus()
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)


def by_attach(qtbot: QtBot, chat: ChatWindow, path: Path) -> None:
    area = chat.window.image_area
    qtbot.mouseClick(area.attach_button, Qt.MouseButton.LeftButton)
    dialog = area.findChild(QFileDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.selectFile(str(path))
    dialog.accept()


CHANNELS: dict[str, Callable[[QtBot, ChatWindow, Path], None]] = {
    "dropped": by_drop,
    "pasted": by_paste,
    "attached": by_attach,
}


# The offscreen platform warns when the file picker (a new top-level window) sets its size.
@pytest.mark.qt_log_ignore("propagateSizeHints")
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_a_bad_file_is_explained_in_one_line_however_it_arrives(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
    evidence: Evidence,
    kind: str,
) -> None:
    """Dropped, pasted or picked, a bad file gets one inline message, no tile and no request."""
    bad = BAD_FILES[kind]
    path = tmp_path / bad.name
    chat = open_chat(simulator.base_url)
    area = chat.window.image_area
    channels = [c for c in CHANNELS if bad.pickable or c != "attached"]

    shown = ""
    with Listener() as listener:
        bad.make(path, f"http://127.0.0.1:{listener.port}")
        for channel in channels:
            area.problems.clear()
            CHANNELS[channel](qtbot, chat, path)
            run(wait_until(lambda: area.messages and settled(area), f"the refusal ({channel})"))
            ((shown, remedy),) = area.messages
            assert bad.headline in shown, channel
            assert remedy
            assert area.problems.isVisible()
            assert area.is_empty
            assert visible_tiles(area) == []
            assert QApplication.activeModalWidget() is None
            assert chat.window.composer.text() == ""
    assert listener.paths == []

    # Still usable: the next message goes, with nothing of the bad file in it.
    run(send(qtbot, chat, "hello"))
    assert len(simulator.requests) == 1
    assert isinstance(simulator.requests[0].body["messages"][-1]["content"], str)
    evidence.record(
        "Hostile input",
        kind,
        f"{', '.join(channels).capitalize()}: refused inline — {shown} — with a remedy; "
        "no tile, no dialog, nothing fetched or sent; the next message went normally.",
    )


def test_a_thousand_files_dropped_at_once_get_one_summary_and_the_window_keeps_going(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
    evidence: Evidence,
) -> None:
    """A drop of 1,000 real pictures: one summary line, nothing queued, no freeze."""
    picture = tmp_path / "photo-0000.png"
    Image.new("RGB", (32, 32), (10, 120, 200)).save(picture, "PNG")
    data = picture.read_bytes()
    paths = [picture]
    for n in range(1, 1000):
        paths.append(tmp_path / f"photo-{n:04}.png")
        paths[-1].write_bytes(data)
    chat = open_chat(simulator.base_url)
    area = chat.window.image_area

    async def scenario() -> Heartbeat:
        with Heartbeat() as heartbeat:
            await wait_until(lambda: len(heartbeat.ticks) >= 3, "the heartbeat")
            assert drop(chat.window, file_mime(*paths))
            ticks = len(heartbeat.ticks)
            await wait_until(lambda: len(heartbeat.ticks) >= ticks + 10, "events after the drop")
        return heartbeat

    heartbeat = run(scenario())

    assert heartbeat.longest_stall_s < STALL_BOUND_S, "the window stopped processing events"
    ((headline, remedy),) = area.messages
    assert headline == "1,000 images are too many for one message; none were added"
    assert f"at most {MAX_IMAGES}" in remedy
    assert area.is_empty and area.findChildren(ImageTile) == []
    qtbot.keyClicks(chat.window.composer, "still typing")
    assert chat.window.composer.text() == "still typing"
    evidence.record(
        "Hostile input",
        "a thousand files dropped at once",
        f"One line: “{headline}” with the limit of {MAX_IMAGES}; no tiles, no work queued; "
        "the window kept processing events and typing went on.",
    )


def paste_text(qtbot: QtBot, chat: ChatWindow, text: str) -> None:
    """Put `text` on the clipboard and paste it into the composer with Ctrl+V."""
    QGuiApplication.clipboard().setText(text)
    chat.window.composer.setFocus()
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)


def prose(size: int) -> str:
    """Ordinary text of about `size` characters, in lines of one sentence each."""
    line = "The quick brown fox jumps over the lazy dog while the logs keep scrolling by.\n"
    return line * (size // len(line) + 1)


@pytest.mark.parametrize(
    ("case", "size"),
    [("a 5 MB paste", 5 * 1024 * 1024), ("a prompt just over the context window", 700_000)],
)
def test_a_prompt_over_the_context_window_is_refused_before_sending_and_kept(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    evidence: Evidence,
    case: str,
    size: int,
) -> None:
    """Pasted and sent at once, an over-long prompt is refused with the numbers, not sent."""
    chat = open_chat(simulator.base_url)
    window = chat.window
    text = prose(size)
    shown: list[int] = []
    chat.controller.reply_started.connect(lambda: shown.append(1))
    status: list[str] = []
    window.status.messageChanged.connect(status.append)

    async def scenario() -> Heartbeat:
        with Heartbeat() as heartbeat:
            await wait_until(lambda: len(heartbeat.ticks) >= 3, "the heartbeat")
            paste_text(qtbot, chat, text)
            # Sent straight away, before the estimate of the draft is ready.
            qtbot.keyClick(window.composer, Qt.Key.Key_Return)
            await wait_until(window.banner.isVisible, "the refusal")
            await wait_until(lambda: not chat.controller.busy, "the turn to end")
            await wait_until(lambda: "too long" in window.request_gauge.text, "the estimate")
        return heartbeat

    heartbeat = run(scenario())

    limit = lookup(MODEL).context_window
    assert window.banner.headline.startswith(f"Too long for {MODEL}: ")
    assert window.banner.headline.endswith(f"the limit is {limit:,}")
    assert "Shorten the prompt" in window.banner.remedy
    assert window.composer.text() == text
    assert simulator.requests == []
    assert chat.controller.conversation == ()
    # Counted first, never drawn in the transcript and withdrawn.
    assert "Counting tokens before sending…" in status
    assert shown == [] and window.chat_view.is_empty
    assert window.request_gauge.level == "over"
    assert heartbeat.longest_stall_s < STALL_BOUND_S, "the window stopped processing events"
    evidence.record(
        "Hostile input",
        case,
        f"Counted, then refused before sending with “{window.banner.headline}”; never shown "
        "in the transcript; the draft kept whole; the gauge says “too long”; nothing sent; "
        "the window kept processing events.",
    )


def test_a_long_prompt_that_fits_is_counted_then_sent(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    evidence: Evidence,
) -> None:
    """A 300 KB paste sent at once is counted first and, as it fits, sent and answered."""
    chat = open_chat(simulator.base_url)
    text = prose(300_000)

    async def scenario() -> Heartbeat:
        with Heartbeat() as heartbeat:
            paste_text(qtbot, chat, text)
            qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
            await wait_until(lambda: simulator.requests, "the request")
            await wait_until(lambda: not chat.controller.busy, "the reply")
        return heartbeat

    heartbeat = run(scenario())

    assert len(simulator.requests) == 1
    assert simulator.requests[0].body["messages"][-1]["content"] == text
    assert [m.role for m in chat.controller.conversation] == [Role.USER, Role.ASSISTANT]
    assert chat.controller.conversation[-1].text
    assert chat.window.composer.text() == ""
    assert not chat.window.banner.isVisible()
    assert heartbeat.longest_stall_s < STALL_BOUND_S, "the window stopped processing events"
    evidence.record(
        "Hostile input",
        "a 300 KB paste that fits the context window",
        "Counted, then sent whole and answered; the window kept processing events.",
    )


# --- Hostile answers ---------------------------------------------------------------------------


def click_link(qtbot: QtBot, view: QTextEdit, action: str) -> None:
    """Click the first link of the view whose address contains `action` (a code's Copy)."""
    block = view.document().begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if action in fragment.charFormat().anchorHref():
                cursor = QTextCursor(view.document())
                cursor.setPosition(fragment.position() + fragment.length() // 2)
                view.setTextCursor(cursor)
                view.ensureCursorVisible()
                point = view.cursorRect(cursor).center() + QPoint(1, 0)
                qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
                return
            iterator += 1
        block = block.next()
    raise AssertionError(f"no {action} link in the view")


def hostile_answer(base: str) -> str:
    """An answer written to make a viewer fetch, run or render things it must not."""
    return "\n\n".join(
        [
            "Here you go.",
            "<b>not bold</b> <script>alert('script')</script> "
            f'<iframe src="{base}/frame"></iframe> <style>body {{ display: none }}</style>',
            f'<img src="{base}/raw-img.png"> and ![chart]({base}/md-img.png)',
            f'<link rel="stylesheet" href="{base}/style.css">',
            "[click me](javascript:alert('link')) and "
            "<a href=\"javascript:alert('anchor')\">or me</a> and "
            "[a file](file:///etc/passwd) and "
            "[a data URL](data:text/html,<script>alert(1)</script>)",
            "[the docs](https://example.com/docs)",
        ]
    )


def test_raw_html_images_and_script_links_in_an_answer_are_text_and_do_nothing(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    opened_urls: OpenedUrls,
    evidence: Evidence,
) -> None:
    """HTML stays text, no image or page is fetched, and only a web link opens when clicked."""
    chat = open_chat(simulator.base_url)
    view = chat.window.chat_view
    with Listener() as listener:
        base = f"http://127.0.0.1:{listener.port}"
        answer = hostile_answer(base)
        simulator.script_answer(answer)

        async def scenario() -> None:
            await send(qtbot, chat, "Show me some HTML")
            chat.window.grab()  # paint everything, as a screen would
            await asyncio.sleep(0.05)  # a few turns of the loop for anything that would load

        run(scenario())
        assert chat.controller.conversation[-1].text == answer

        rendered = view.rendered_text()
        for raw in (
            "<b>not bold</b>",
            "<script>alert('script')</script>",
            f'<iframe src="{base}/frame"></iframe>',
            "<style>body { display: none }</style>",
            f'<link rel="stylesheet" href="{base}/style.css">',
            f'<img src="{base}/raw-img.png">',
            "<a href=\"javascript:alert('anchor')\">or me</a>",
        ):
            assert raw in rendered
        assert "[image: chart]" in rendered
        hrefs = [href for _text, href in anchors(view.document())]
        assert not [h for h in hrefs if h.split(":")[0] in ("javascript", "file", "data")]

        for label in ("click me", "or me", "a file", "a data URL", "Here you go"):
            click_text(qtbot, view, label)
        assert opened_urls.urls == []
        click_text(qtbot, view, "the docs")
        assert opened_urls.urls == ["https://example.com/docs"]
        assert listener.paths == []
        # The listener does answer: nothing reached it because nothing asked.
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"{base}/probe", timeout=5)
        assert listener.paths == ["/probe"]

    evidence.record(
        "Hostile input",
        # Code spans: the table is Markdown, where a bare tag would be HTML again.
        "answer with raw HTML (`<b>`, `<script>`, `<iframe>`, `<style>`, `<link>`)",
        "Shown as literal text; nothing interpreted, nothing fetched.",
    )
    evidence.record(
        "Hostile input",
        'answer with `<img src="http://127.0.0.1:…/x">` and a Markdown image',
        "The tag shown as text, the Markdown image as “[image: chart]”; the local listener "
        "received no request (and did answer a probe).",
    )
    evidence.record(
        "Hostile input",
        "answer with `javascript:`, `file:` and `data:` links",
        "Rendered as plain text, not links; clicking them opened nothing (every URL handler "
        "recorded); a https link beside them opened when clicked.",
    )


def test_a_1_mb_code_block_streams_in_whole_while_the_window_keeps_processing_events(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    evidence: Evidence,
) -> None:
    """A 1 MB code block arrives whole, copies exactly, and the window never stalls on it."""
    lines = [f"    value_{n:06} = compute({n}, '{'x' * 20}')  # step {n}" for n in range(20000)]
    code = "\n".join(lines)
    while len(code) < 1024 * 1024:
        code += f"\nprint({len(code)})"
    answer = f"Here is the file:\n\n```python\n{code}\n```\n\nThat is all."
    # Many words per chunk: the point is a huge block, not a huge number of chunks.
    with SimulatorServer(words_per_chunk=500) as simulator:
        simulator.script_answer(answer)
        chat = open_chat(simulator.base_url)
        view = chat.window.chat_view
        flushes: list[int] = []
        view.reply_text_flushed.connect(lambda: flushes.append(1))

        async def scenario() -> Heartbeat:
            with Heartbeat() as heartbeat:
                await send(qtbot, chat, "Write me a long file")
            return heartbeat

        heartbeat = run(scenario())

    assert chat.controller.conversation[-1].text == answer
    rendered = view.rendered_text()
    assert lines[0].strip() in rendered and code.splitlines()[-1] in rendered
    assert rendered.rstrip().endswith("That is all.")
    assert len(flushes) > 1  # it streamed, in several updates
    click_link(qtbot, view, "copy-code")
    assert QGuiApplication.clipboard().text() == code
    assert heartbeat.longest_stall_s < STALL_BOUND_S, "the window stopped processing events"
    evidence.record(
        "Hostile input",
        "answer with a 1 MB code block",
        "Streamed in several updates and rendered whole, ending included; its Copy link "
        "copied the megabyte exactly; the window kept processing events throughout.",
    )


def test_a_lone_surrogate_in_an_answer_is_shown_replaced_and_stored(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    evidence: Evidence,
    tmp_path: Path,
) -> None:
    """JSON may carry "\\ud800" alone: it becomes U+FFFD, is kept, copied and sent on safely."""
    history = History.open(tmp_path / "chatdesk.db")
    chat = open_chat(simulator.base_url, history=history)
    simulator.script_answer("Broken \ud800 character")

    async def scenario() -> None:
        await send(qtbot, chat, "Say something odd")
        await send(qtbot, chat, "And again")

    run(scenario())
    first = history.load(history.list_conversations()[0].id).messages[1]
    assert first.content == "Broken \ufffd character"
    assert "Broken \ufffd character" in chat.window.chat_view.rendered_text()
    # The next request carried the replaced text back to the server without failing.
    assert simulator.requests[-1].body["messages"][1]["content"] == "Broken \ufffd character"
    history.close()
    evidence.record(
        "Hostile input",
        "answer with a lone UTF-16 surrogate",
        "Shown and stored with U+FFFD in its place; the next request sent it back fine.",
    )
