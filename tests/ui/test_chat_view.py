"""The transcript widget: append-only streaming, long paragraphs, auto-scroll, withdrawn turns."""

from __future__ import annotations

from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from app.ui.chat_view import HARD_BLOCK_CHARS, SOFT_BLOCK_CHARS, ChatView, split_long_runs


def make_view(qtbot: QtBot) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_split_long_runs_keeps_short_text_and_its_newlines() -> None:
    """Text under the block limit comes back as its own lines, unchanged."""
    pieces, run = split_long_runs("one\ntwo\n\nthree", 10)
    assert pieces == ["one", "two", "", "three"]
    assert run == len("three")


def test_split_long_runs_cuts_after_a_space_past_the_soft_limit() -> None:
    """A long paragraph is cut right after the first space beyond the soft limit, only there."""
    text = "word " * (SOFT_BLOCK_CHARS // 5 + 100)
    pieces, run = split_long_runs(text, 0)
    assert "".join(pieces) == text
    assert len(pieces) == 2
    assert pieces[0].endswith(" ")
    assert SOFT_BLOCK_CHARS < len(pieces[0]) <= SOFT_BLOCK_CHARS + len("word ")
    assert run == len(pieces[1])


def test_split_long_runs_counts_what_the_block_already_holds() -> None:
    """A delta that pushes an already long block past the limit starts a new block."""
    pieces, run = split_long_runs("abc def", SOFT_BLOCK_CHARS)
    assert pieces == ["abc ", "def"]
    assert run == 3


def test_split_long_runs_cuts_a_run_without_spaces_at_the_hard_limit() -> None:
    """A run with no space at all (a URL, base64) is still cut, at the hard limit."""
    text = "x" * (HARD_BLOCK_CHARS * 2 + 10)
    pieces, run = split_long_runs(text, 0)
    assert "".join(pieces) == text
    assert [len(p) for p in pieces] == [HARD_BLOCK_CHARS, HARD_BLOCK_CHARS, 10]
    assert run == 10


def test_a_long_unbroken_reply_is_stored_as_many_short_blocks(qtbot: QtBot) -> None:
    """One endless streamed paragraph is spread over short blocks without changing its text."""
    view = make_view(qtbot)
    view.add_user_message("go")
    view.begin_reply("gpt-4o-mini")
    delta = "lorem ipsum dolor sit amet "
    for _ in range(2000):
        view.append_reply(delta)
        if _ % 97 == 0:
            view.flush()
    view.end_reply()

    document = view.document()
    longest = max(document.findBlockByNumber(i).length() for i in range(document.blockCount()))
    assert longest <= HARD_BLOCK_CHARS + 1
    assert document.blockCount() > 2000 * len(delta) // HARD_BLOCK_CHARS
    reply = view.reply_text().split("gpt-4o-mini\n", 1)[1]
    assert reply.replace("\n", "") == delta * 2000


def test_deltas_within_a_frame_reach_the_document_in_one_update(qtbot: QtBot) -> None:
    """Many deltas queued before the next frame are written with a single update."""
    view = make_view(qtbot)
    view.begin_reply("gpt-4o")
    updates: list[str] = []
    view.reply_text_flushed.connect(lambda: updates.append(view.reply_text()))
    for word in ("a", "b", "c", "d"):
        view.append_reply(word + " ")
    qtbot.waitUntil(lambda: len(updates) == 1)
    assert updates[0].endswith("a b c d ")


def test_auto_scroll_follows_until_the_user_scrolls_up(qtbot: QtBot) -> None:
    """New text keeps the view at the bottom unless the user scrolled up to read."""
    view = make_view(qtbot)
    bar = view.verticalScrollBar()
    view.begin_reply("gpt-4o")
    for _ in range(80):
        view.append_reply("a line of the answer\n")
    view.flush()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    assert bar.value() == bar.maximum()

    bar.setValue(0)
    assert not view.following
    view.append_reply("more\n" * 40)
    view.flush()
    assert bar.value() == 0

    bar.setValue(bar.maximum())
    assert view.following
    view.append_reply("even more\n" * 40)
    view.flush()
    assert bar.value() == bar.maximum()


def test_rollback_removes_only_the_current_turn(qtbot: QtBot) -> None:
    """Withdrawing a turn leaves earlier turns exactly as they were."""
    view = make_view(qtbot)
    view.add_user_message("first")
    view.begin_reply("gpt-4o")
    view.append_reply("first answer")
    view.end_reply()
    before = view.reply_text()

    view.add_user_message("second")
    view.begin_reply("gpt-4o")
    view.append_reply("partial")
    view.flush()
    view.rollback_turn()

    assert view.reply_text() == before
    view.rollback_turn()
    assert view.reply_text() == before


def test_rolling_back_the_only_turn_empties_the_view(qtbot: QtBot) -> None:
    """Withdrawing the first turn leaves an empty document ready for the next one."""
    view = make_view(qtbot)
    view.add_user_message("hello")
    view.begin_reply("gpt-4o")
    view.rollback_turn()
    assert view.is_empty
    view.add_user_message("again")
    assert view.reply_text() == "You\nagain"


def test_user_selection_survives_streaming(qtbot: QtBot) -> None:
    """Selecting text while a reply streams is not disturbed by the appended text."""
    view = make_view(qtbot)
    view.add_user_message("select me")
    view.begin_reply("gpt-4o")
    cursor = view.textCursor()
    cursor.setPosition(0)
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
    view.setTextCursor(cursor)
    view.append_reply("streamed text")
    view.flush()
    assert view.textCursor().selectedText() == "You"
