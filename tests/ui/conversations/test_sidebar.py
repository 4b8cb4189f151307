"""The sidebar: conversations in order, loaded lazily, renamed, pinned and deleted with Undo."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QLocale, Qt
from PySide6.QtWidgets import QLayout, QLineEdit, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.records import ConversationSummary
from app.ui.conversations.list_model import OPEN_ROLE, PAGE_SIZE, SECTION_START_ROLE, relative_time
from app.ui.conversations.sidebar import UNDO_SHOW_MS, Sidebar

NOW = 1_760_000_000.0
MODEL = "gpt-4o-mini"
# Keeps each test's window (and so its sidebar) alive until the end of the session.
_WINDOWS: list[QWidget] = []


class Clock:
    """Wall-clock time that moves only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def history(tmp_path: Path, clock: Clock) -> History:
    return History.open(tmp_path / "chatdesk.db", clock=clock)


def chat(history: History, clock: Clock, prompt: str, *, age_s: float = 0) -> int:
    """A conversation whose first prompt is `prompt`, last active `age_s` seconds ago."""
    clock.now = NOW - age_s
    conversation = history.create_conversation(model=MODEL)
    history.add_message(conversation, ChatMessage.user(prompt))
    clock.now = NOW
    return conversation


class Source:
    """The history as the integrator hands it over, remembering which pages were asked for."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.pages: list[tuple[int, int]] = []

    def page(self, offset: int, limit: int) -> Sequence[ConversationSummary]:
        self.pages.append((offset, limit))
        return self.history.list_conversations(limit, offset)

    def count(self) -> int:
        return self.history.conversation_count()


def make_sidebar(qtbot: QtBot, history: History, clock: Clock) -> tuple[Sidebar, Source]:
    # In a window, as in the app; the offscreen platform warns whenever a layout changes a
    # top-level's size limits, so the window's layout sets none.
    window = QWidget()
    layout = QVBoxLayout(window)
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    layout.setContentsMargins(0, 0, 0, 0)
    sidebar = Sidebar(window, clock=clock)
    layout.addWidget(sidebar)
    window.resize(260, 400)
    qtbot.addWidget(window)
    _WINDOWS.append(window)
    source = Source(history)
    sidebar.set_source(source.page, source.count)
    window.show()
    qtbot.waitExposed(window)
    # Shortcuts reach only the active window.
    with qtbot.waitActive(window):
        window.activateWindow()
    sidebar.list_view.setFocus()
    return sidebar, source


def ids(sidebar: Sidebar) -> list[int]:
    return [summary.id for summary in sidebar.conversations()]


def row_center(sidebar: Sidebar, conversation_id: int) -> object:
    row = sidebar.model.row_of(conversation_id)
    assert row is not None
    return sidebar.list_view.visualRect(sidebar.model.index(row)).center()


def focus_row(sidebar: Sidebar, conversation_id: int) -> None:
    row = sidebar.model.row_of(conversation_id)
    assert row is not None
    sidebar.list_view.setCurrentIndex(sidebar.model.index(row))


def test_rows_are_titled_by_the_first_prompt_pinned_first_then_most_recent(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """Pinned conversations come first, then the most recently active; a line separates them."""
    old = chat(history, clock, "Explain monads\nwith examples", age_s=3 * 86400)
    recent = chat(history, clock, "Regex for an email address", age_s=60)
    pinned = chat(history, clock, "My reading list", age_s=30 * 86400)
    middle = chat(history, clock, "Plan a trip to Lisbon", age_s=3600)
    history.set_pinned(pinned, True)

    sidebar, _ = make_sidebar(qtbot, history, clock)

    assert ids(sidebar) == [pinned, recent, middle, old]
    assert [s.title for s in sidebar.conversations()] == [
        "My reading list",
        "Regex for an email address",
        "Plan a trip to Lisbon",
        "Explain monads",
    ]
    section = [bool(sidebar.model.index(row).data(SECTION_START_ROLE)) for row in range(4)]
    assert section == [False, True, False, False]
    assert (
        sidebar.model.index(0)
        .data(Qt.ItemDataRole.AccessibleTextRole)
        .startswith("My reading list, pinned, ")
    )


def test_relative_times_read_like_a_person_would_say_them() -> None:
    """ "now", "5 min", "3 h", "Yesterday", a weekday this week, then a short date."""
    english = QLocale(QLocale.Language.English)
    now = datetime(2025, 6, 12, 18, 0)  # a Thursday, local time
    stamp = now.timestamp()

    def ago(**delta: float) -> str:
        return relative_time((now - timedelta(**delta)).timestamp(), stamp, english)

    assert ago(seconds=20) == "now"
    assert ago(minutes=5) == "5 min"
    assert ago(hours=3) == "3 h"
    assert ago(days=1) == "Yesterday"
    assert ago(days=3) == "Mon"
    assert ago(days=30) == "13 May"
    assert ago(days=400) == "8 May 2024"


def test_a_thousand_conversations_load_one_page_until_scrolled(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """Only the first page is read at first; scrolling down and fetching bring in the rest."""
    for number in range(1000):
        chat(history, clock, f"Question {number}", age_s=1000 - number)

    sidebar, source = make_sidebar(qtbot, history, clock)
    qtbot.wait(0)  # let the view lay out and ask for whatever it needs to fill itself

    assert source.pages == [(0, PAGE_SIZE)]
    assert sidebar.model.rowCount() == PAGE_SIZE
    assert sidebar.model.total() == 1000

    sidebar.list_view.scrollToBottom()
    assert sidebar.model.rowCount() == 2 * PAGE_SIZE
    assert source.pages[-1] == (PAGE_SIZE, PAGE_SIZE)

    while sidebar.model.canFetchMore(sidebar.list_view.rootIndex()):
        sidebar.model.fetchMore(sidebar.list_view.rootIndex())
    assert ids(sidebar) == [s.id for s in history.list_conversations(1000)]
    assert ids(sidebar)[0] == sidebar.conversations()[0].id
    assert sidebar.conversations()[0].title == "Question 999"


def test_select_conversation_highlights_without_emitting(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """Marking the open conversation does not look like the user choosing it."""
    first = chat(history, clock, "First")
    second = chat(history, clock, "Second", age_s=60)
    sidebar, _ = make_sidebar(qtbot, history, clock)
    chosen: list[int] = []
    sidebar.conversation_selected.connect(chosen.append)

    sidebar.select_conversation(second)
    assert sidebar.open_conversation == second
    assert [sidebar.model.index(r).data(OPEN_ROLE) for r in range(2)] == [False, True]
    sidebar.select_conversation(None)
    assert [sidebar.model.index(r).data(OPEN_ROLE) for r in range(2)] == [False, False]
    sidebar.select_conversation(first)

    assert chosen == []


def test_click_or_enter_on_a_row_asks_to_open_it(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """Clicking a row, or pressing Enter on the row with keyboard focus, opens it."""
    first = chat(history, clock, "First")
    second = chat(history, clock, "Second", age_s=60)
    sidebar, _ = make_sidebar(qtbot, history, clock)
    chosen: list[int] = []
    sidebar.conversation_selected.connect(chosen.append)

    qtbot.mouseClick(
        sidebar.list_view.viewport(), Qt.MouseButton.LeftButton, pos=row_center(sidebar, second)
    )
    focus_row(sidebar, first)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Down)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Up)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Return)

    assert chosen == [second, first]


def test_refresh_keeps_the_open_conversation_and_the_scroll_position(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """After a message moves a conversation to the top, the view stays where the user was."""
    conversations = [chat(history, clock, f"Topic {n}", age_s=500 - n) for n in range(60)]
    sidebar, _ = make_sidebar(qtbot, history, clock)
    sidebar.select_conversation(conversations[10])
    bar = sidebar.list_view.verticalScrollBar()
    bar.setValue(bar.maximum() // 2)
    scrolled = bar.value()
    assert scrolled > 0

    history.add_message(conversations[10], ChatMessage.user("one more thing"))
    sidebar.refresh()

    assert ids(sidebar)[0] == conversations[10]
    assert sidebar.open_conversation == conversations[10]
    assert sidebar.model.index(0).data(OPEN_ROLE) is True
    assert bar.value() == scrolled


def test_f2_renames_inline_and_enter_commits_the_new_title(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """F2 opens an editor on the row; Enter asks for the rename and the row shows it."""
    conversation = chat(history, clock, "Old title")
    sidebar, _ = make_sidebar(qtbot, history, clock)
    renames: list[tuple[int, str]] = []
    sidebar.rename_requested.connect(lambda cid, title: renames.append((cid, title)))

    focus_row(sidebar, conversation)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_F2)
    editor = sidebar.list_view.findChild(QLineEdit, "renameEditor")
    assert editor is not None
    assert editor.text() == "Old title"
    qtbot.keyClicks(editor, "  Trip notes ")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: renames != [])  # the editor commits once control returns to Qt

    assert renames == [(conversation, "Trip notes")]
    assert sidebar.conversations()[0].title == "Trip notes"


def test_escape_cancels_a_rename_and_a_blank_title_is_refused(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """Esc leaves the title as it was; an empty title is never asked for."""
    conversation = chat(history, clock, "Keep me")
    sidebar, _ = make_sidebar(qtbot, history, clock)
    renames: list[tuple[int, str]] = []
    sidebar.rename_requested.connect(lambda cid, title: renames.append((cid, title)))

    assert sidebar.start_rename(conversation)
    editor = sidebar.list_view.findChild(QLineEdit, "renameEditor")
    assert editor is not None
    qtbot.keyClicks(editor, "Something else")
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: sidebar.list_view.findChild(QLineEdit, "renameEditor") is None)
    assert renames == []
    assert sidebar.conversations()[0].title == "Keep me"

    assert sidebar.start_rename(conversation)
    editor = sidebar.list_view.findChild(QLineEdit, "renameEditor")
    assert editor is not None
    qtbot.keyClick(editor, Qt.Key.Key_Backspace)  # the whole title was selected
    qtbot.keyClicks(editor, "   ")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    # Leaving the editor must not commit the blank title either.
    sidebar.list_view.setFocus()
    qtbot.waitUntil(lambda: sidebar.list_view.findChild(QLineEdit, "renameEditor") is None)
    assert renames == []
    assert sidebar.conversations()[0].title == "Keep me"


def test_double_click_opens_the_title_editor(qtbot: QtBot, history: History, clock: Clock) -> None:
    """Double-clicking a row starts renaming it."""
    conversation = chat(history, clock, "Double me")
    sidebar, _ = make_sidebar(qtbot, history, clock)
    viewport, where = sidebar.list_view.viewport(), row_center(sidebar, conversation)
    # A double-click is a click and then a second press reported as a double-click.
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=where)
    editor = sidebar.list_view.findChild(QLineEdit, "renameEditor")
    assert editor is not None and editor.isVisible()


def test_the_menu_pins_unpins_renames_and_deletes(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """The row's menu offers Rename, Pin (Unpin when pinned) and Delete, each asking for it."""
    plain = chat(history, clock, "Plain")
    pinned = chat(history, clock, "Pinned", age_s=60)
    history.set_pinned(pinned, True)
    sidebar, _ = make_sidebar(qtbot, history, clock)
    pins: list[tuple[int, bool]] = []
    deletes: list[int] = []
    sidebar.pin_requested.connect(lambda cid, on: pins.append((cid, on)))
    sidebar.delete_requested.connect(deletes.append)

    menu = sidebar.context_menu(plain)
    actions = {a.text(): a for a in menu.actions() if a.text()}
    assert list(actions) == ["Rename", "Pin", "Delete"]
    actions["Pin"].trigger()
    unpin = next(a for a in sidebar.context_menu(pinned).actions() if a.text() == "Unpin")
    unpin.trigger()
    assert pins == [(plain, True), (pinned, False)]

    actions["Rename"].trigger()
    assert sidebar.list_view.findChild(QLineEdit, "renameEditor") is not None
    actions["Delete"].trigger()
    assert deletes == [plain]


def test_delete_key_offers_undo_and_undo_brings_the_conversation_back(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """Delete asks for the delete and shows “Deleted … · Undo”; Undo asks for it back."""
    keep = chat(history, clock, "Keep")
    doomed = chat(history, clock, "Old groceries", age_s=60)
    sidebar, _ = make_sidebar(qtbot, history, clock)
    restored: list[int] = []

    # What the integrator does with the requests.
    def on_sidebar_delete_requested(conversation_id: int) -> None:
        history.delete(conversation_id)
        sidebar.refresh()

    def on_sidebar_undo_delete_requested(conversation_id: int) -> None:
        restored.append(conversation_id)
        history.restore(conversation_id)
        sidebar.refresh()

    sidebar.delete_requested.connect(on_sidebar_delete_requested)
    sidebar.undo_delete_requested.connect(on_sidebar_undo_delete_requested)

    focus_row(sidebar, doomed)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Delete)

    assert ids(sidebar) == [keep]
    bar = sidebar.undo_bar
    assert bar.isVisible()
    assert bar.message == "Deleted “Old groceries”"
    assert "Old groceries" in bar.message_label.text()
    assert bar.counting_down
    assert 5_000 <= UNDO_SHOW_MS <= 15_000

    qtbot.mouseClick(bar.undo_button, Qt.MouseButton.LeftButton)

    assert restored == [doomed]
    assert not bar.isVisible()
    assert ids(sidebar) == [keep, doomed]


def test_the_undo_bar_shows_only_the_latest_delete_and_goes_away_after_a_while(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """A second delete replaces the first's Undo; when the time is up the bar hides."""
    first = chat(history, clock, "First")
    second = chat(history, clock, "Second", age_s=60)
    sidebar, _ = make_sidebar(qtbot, history, clock)
    restored: list[int] = []
    sidebar.undo_delete_requested.connect(restored.append)

    sidebar.request_delete(first)
    sidebar.request_delete(second)
    assert sidebar.undo_bar.message == "Deleted “Second”"
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert restored == [second]

    sidebar.request_delete(first)
    sidebar.undo_bar.on_timer_timeout()  # the countdown ran out
    assert not sidebar.undo_bar.isVisible()
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert restored == [second]


def test_buttons_ask_for_a_new_chat_and_search_and_are_named(
    qtbot: QtBot, history: History, clock: Clock
) -> None:
    """New chat, Search and Ctrl+K ask for what they say; controls have accessible names."""
    sidebar, _ = make_sidebar(qtbot, history, clock)
    asked: list[str] = []
    sidebar.new_chat_requested.connect(lambda: asked.append("new"))
    sidebar.search_requested.connect(lambda: asked.append("search"))

    qtbot.mouseClick(sidebar.new_chat_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(sidebar.search_button, Qt.MouseButton.LeftButton)
    qtbot.keyClick(sidebar.list_view, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    # A button's shortcut shows the button pressed for a moment before it clicks.
    qtbot.waitUntil(lambda: len(asked) == 3)

    assert asked == ["new", "search", "search"]
    assert sidebar.new_chat_button.accessibleName() == "New chat"
    assert sidebar.search_button.accessibleName() == "Search conversations"
    assert sidebar.list_view.accessibleName() == "Conversations"
    assert sidebar.search_button.text() == "Search (Ctrl+K)"
    assert 200 <= sidebar.sizeHint().width() <= 280
    assert sidebar.conversations() == []
