"""Search: highlighted snippets that can never carry markup, newest query wins, Enter opens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QTextDocument
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.records import HIT_END, HIT_START, SearchHit
from app.ui.conversations.search_dialog import NO_MATCHES, PLACEHOLDER, SearchDialog, snippet_html
from tests.support.qt import Runner, wait_until

MODEL = "gpt-4o-mini"
# Keeps each test's main window stand-in (and so its dialog) alive until the end of the session.
_WINDOWS: list[QWidget] = []

# The offscreen platform cannot resize or raise windows and says so; real platforms can.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support (propagateSizeHints|raise)")


@pytest.fixture
def history(tmp_path: Path) -> Iterator[History]:
    history = History.open(tmp_path / "chatdesk.db")
    yield history
    history.close()


def chat(history: History, prompt: str, answer: str) -> int:
    conversation = history.create_conversation(model=MODEL)
    history.add_message(conversation, ChatMessage.user(prompt))
    history.add_message(conversation, ChatMessage.assistant(answer))
    return conversation


def store_search(history: History) -> Any:
    """The store's search, off the GUI thread, as the integrator runs it."""

    async def search(text: str) -> Sequence[SearchHit]:
        return await asyncio.get_running_loop().run_in_executor(None, history.search, text)

    return search


def make_dialog(qtbot: QtBot, search: Any) -> SearchDialog:
    # Over a window that stays open, as over the main window: closing the dialog must not
    # close the last window (which would quit the application and its event loop).
    window = QWidget()
    window.resize(700, 560)
    qtbot.addWidget(window)
    _WINDOWS.append(window)
    window.show()
    qtbot.waitExposed(window)
    return SearchDialog(search, window)


def rendered(html: str) -> QTextDocument:
    document = QTextDocument()
    document.setHtml(html)
    return document


def bold_runs(document: QTextDocument) -> list[str]:
    """The text of each bold run, as a reader sees the highlighting."""
    runs: list[str] = []
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().fontWeight() >= QFont.Weight.Bold:
                runs.append(fragment.text())
            iterator += 1
        block = block.next()
    return runs


def has_image(document: QTextDocument) -> bool:
    block = document.begin()
    while block.isValid():
        iterator = block.begin()
        while not iterator.atEnd():
            if iterator.fragment().charFormat().isImageFormat():
                return True
            iterator += 1
        block = block.next()
    return False


async def type_and_wait(qtbot: QtBot, dialog: SearchDialog, text: str) -> None:
    dialog.query_edit.clear()
    qtbot.keyClicks(dialog.query_edit, text)
    await wait_until(lambda: not dialog.busy, f"the search for {text!r}")


def test_typing_finds_messages_and_highlights_the_matched_words(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """Each result names the conversation and who wrote it; the matched word is in bold."""
    kettle = chat(history, "Why does my kettle click?", "A kettle clicks as it cools.")
    chat(history, "Plan a trip", "Lisbon in spring is lovely.")
    dialog = make_dialog(qtbot, store_search(history))
    dialog.open_fresh()
    assert dialog.windowTitle() == "Search conversations"
    assert dialog.query_edit.placeholderText() == PLACEHOLDER == "Search every message…"

    run(type_and_wait(qtbot, dialog, "kettle"))

    hits = dialog.hits()
    assert {(hit.conversation_id, hit.position) for hit in hits} == {(kettle, 0), (kettle, 1)}
    shown = [dialog.model.index(row).data() for row in range(len(hits))]
    assert "Why does my kettle click? — You: Why does my kettle click?" in shown
    assert "Why does my kettle click? — Assistant: A kettle clicks as it cools." in shown
    for hit in hits:
        assert bold_runs(rendered(snippet_html(hit.snippet))) == ["kettle"]
    assert dialog.status == ""


def test_html_in_a_message_shows_as_text_and_never_as_markup(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """A message with `<b>x</b>` or `<img src=…>` is shown literally: no bold, no image."""
    chat(history, "markup test", "Try <b>x</b> and <img src=http://example.com/a.png> &amp; here")
    dialog = make_dialog(qtbot, store_search(history))
    dialog.open_fresh()

    run(type_and_wait(qtbot, dialog, "here"))

    [hit] = dialog.hits()
    document = rendered(snippet_html(hit.snippet))
    assert document.toPlainText() == (
        "Try <b>x</b> and <img src=http://example.com/a.png> &amp; here"
    )
    assert bold_runs(document) == ["here"]
    assert not has_image(document)


def test_snippet_markers_become_the_only_markup() -> None:
    """Only the store's match markers turn into highlighting; line breaks become spaces."""
    snippet = f"<i>{HIT_START}tea{HIT_END}</i>\nand {HIT_START}toast{HIT_END}"
    html = snippet_html(snippet, "background-color: #ccddee;")
    assert html == (
        '&lt;i&gt;<b style="background-color: #ccddee;">tea</b>&lt;/i&gt; and '
        '<b style="background-color: #ccddee;">toast</b>'
    )
    assert bold_runs(rendered(html)) == ["tea", "toast"]


def test_no_matches_is_said_plainly(qtbot: QtBot, run: Runner[Any], history: History) -> None:
    """A search that finds nothing says "No matches"; clearing the query clears it."""
    chat(history, "hello", "hi there")
    dialog = make_dialog(qtbot, store_search(history))
    dialog.open_fresh()

    run(type_and_wait(qtbot, dialog, "zebra"))
    assert dialog.hits() == []
    assert dialog.status == NO_MATCHES == "No matches"
    assert dialog.status_label.isVisible()

    dialog.query_edit.clear()
    assert dialog.status == ""
    assert not dialog.busy


def test_results_of_an_older_query_finishing_late_are_dropped(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """If the first query answers after the second, the second's results stay on screen."""
    chat(history, "apples and pears", "fruit")
    chat(history, "apricots", "more fruit")
    released: dict[str, asyncio.Event] = {}
    finished: list[str] = []

    async def slow_search(text: str) -> Sequence[SearchHit]:
        released[text] = asyncio.Event()
        while not released[text].is_set():
            # Like a query already running on a worker thread, it answers even if the dialog
            # stopped waiting for it.
            with contextlib.suppress(asyncio.CancelledError):
                await released[text].wait()
        finished.append(text)
        return history.search(text)

    dialog = make_dialog(qtbot, slow_search)
    dialog.open_fresh()

    async def scenario() -> None:
        qtbot.keyClicks(dialog.query_edit, "ap")
        await wait_until(lambda: "ap" in released, "the first query to start")
        qtbot.keyClicks(dialog.query_edit, "ples")
        await wait_until(lambda: "apples" in released, "the second query to start")
        released["apples"].set()
        await wait_until(lambda: not dialog.busy, "the second query's results")
        released["ap"].set()
        await wait_until(lambda: "ap" in finished, "the first query to answer")
        await asyncio.sleep(0)

    run(scenario())

    assert finished == ["apples", "ap"]
    assert [hit.conversation_title for hit in dialog.hits()] == ["apples and pears"]


def test_down_and_enter_open_the_chosen_result_and_close(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """Down moves from the first result to the next; Enter opens it at its message."""
    first = chat(history, "soup recipe", "Start with an onion.")
    second = chat(history, "more soup", "Add the stock.")
    dialog = make_dialog(qtbot, store_search(history))
    opened: list[tuple[int, int]] = []
    dialog.hit_activated.connect(lambda cid, position: opened.append((cid, position)))
    dialog.open_fresh()

    run(type_and_wait(qtbot, dialog, "soup"))
    # Newest first: the second conversation's prompt, then the first's.
    assert [(h.conversation_id, h.position) for h in dialog.hits()] == [(second, 0), (first, 0)]
    assert dialog.current_row() == 0
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Down)  # stays on the last
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Up)
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Down)
    assert dialog.current_row() == 1
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return)

    assert opened == [(first, 0)]
    assert not dialog.isVisible()


def test_clicking_a_result_opens_it(qtbot: QtBot, run: Runner[Any], history: History) -> None:
    """A click on a result opens that conversation at the matching message."""
    conversation = chat(history, "question", "The answer mentions walruses.")
    dialog = make_dialog(qtbot, store_search(history))
    opened: list[tuple[int, int]] = []
    dialog.hit_activated.connect(lambda cid, position: opened.append((cid, position)))
    dialog.open_fresh()
    qtbot.waitExposed(dialog)

    run(type_and_wait(qtbot, dialog, "walrus"))
    view = dialog.results_view
    qtbot.mouseClick(
        view.viewport(),
        Qt.MouseButton.LeftButton,
        pos=view.visualRect(view.model().index(0, 0)).center(),
    )

    assert opened == [(conversation, 1)]
    assert not dialog.isVisible()


def test_enter_right_after_typing_opens_the_first_result_of_what_was_typed(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """Enter pressed before the search ran waits for it, then opens its first result."""
    chat(history, "cats", "Cats sleep a lot.")
    dogs = chat(history, "dogs", "Dogs need walks.")
    dialog = make_dialog(qtbot, store_search(history))
    opened: list[tuple[int, int]] = []
    dialog.hit_activated.connect(lambda cid, position: opened.append((cid, position)))
    dialog.open_fresh()

    run(type_and_wait(qtbot, dialog, "cats"))
    dialog.query_edit.selectAll()
    qtbot.keyClicks(dialog.query_edit, "dogs")
    qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Return)
    run(wait_until(lambda: opened, "the result to open"))

    assert opened[0][0] == dogs


def test_escape_closes_and_stops_the_running_search(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """Esc closes the dialog; a search still running is cancelled, nothing arrives later."""
    started = asyncio.Event()
    cancelled: list[str] = []

    async def endless(text: str) -> Sequence[SearchHit]:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(text)
            raise
        return []

    dialog = make_dialog(qtbot, endless)
    dialog.open_fresh()

    async def scenario() -> None:
        qtbot.keyClicks(dialog.query_edit, "pending")
        await started.wait()
        qtbot.keyClick(dialog.query_edit, Qt.Key.Key_Escape)
        await wait_until(lambda: cancelled, "the search to be cancelled")

    run(scenario())

    assert not dialog.isVisible()
    assert cancelled == ["pending"]
    assert not dialog.busy


def test_reopening_selects_the_previous_query_to_type_over(
    qtbot: QtBot, run: Runner[Any], history: History
) -> None:
    """open_fresh shows the last query selected in a focused field, and searches it again."""
    chat(history, "old note", "about lighthouses")
    dialog = make_dialog(qtbot, store_search(history))
    dialog.open_fresh()
    run(type_and_wait(qtbot, dialog, "lighthouse"))
    dialog.reject()
    chat(history, "new note", "another lighthouse")

    dialog.open_fresh()
    qtbot.waitExposed(dialog)
    run(wait_until(lambda: not dialog.busy, "the search to run again"))

    assert dialog.isVisible()
    assert dialog.query_edit.selectedText() == "lighthouse"
    assert dialog.focusWidget() is dialog.query_edit
    assert len(dialog.hits()) == 2
