"""The composer: which keys send, and how a failed draft comes back."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLayout, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.core.settings import SendShortcut
from app.ui.chat.composer import Composer

# Keeps each test's window (and so its composer) alive until the end of the session.
_WINDOWS: list[QWidget] = []


def make_composer(qtbot: QtBot, shortcut: SendShortcut = SendShortcut.ENTER) -> Composer:
    # In a window with room to spare, as in the app, where its size hint decides its height.
    window = QWidget()
    composer = Composer(shortcut, window)
    layout = QVBoxLayout(window)
    # The offscreen platform warns whenever a layout changes a top-level's size limits.
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    layout.addStretch(1)
    layout.addWidget(composer)
    window.resize(400, 800)
    qtbot.addWidget(window)
    window.show()
    _WINDOWS.append(window)
    return composer


def test_enter_submits_and_keeps_the_text_for_the_controller_to_take(qtbot: QtBot) -> None:
    """Enter emits `submitted` without adding a newline to the draft."""
    composer = make_composer(qtbot)
    qtbot.keyClicks(composer, "hello")
    with qtbot.waitSignal(composer.submitted):
        qtbot.keyClick(composer, Qt.Key.Key_Return)
    assert composer.text() == "hello"
    assert composer.take_text() == "hello"
    assert composer.text() == ""


def test_keypad_enter_submits_too(qtbot: QtBot) -> None:
    """The keypad's Enter key sends like Return."""
    composer = make_composer(qtbot)
    qtbot.keyClicks(composer, "hello")
    with qtbot.waitSignal(composer.submitted):
        qtbot.keyClick(composer, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)


def test_ctrl_enter_mode_sends_with_ctrl_enter_and_enter_breaks_the_line(qtbot: QtBot) -> None:
    """With the Ctrl+Enter setting, plain Enter adds a line and Ctrl+Enter sends."""
    composer = make_composer(qtbot, SendShortcut.CTRL_ENTER)
    submitted: list[int] = []
    composer.submitted.connect(lambda: submitted.append(1))
    qtbot.keyClicks(composer, "a")
    qtbot.keyClick(composer, Qt.Key.Key_Return)
    qtbot.keyClicks(composer, "b")
    assert composer.text() == "a\nb"
    assert submitted == []
    qtbot.keyClick(composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert submitted == [1]
    assert "Ctrl+Enter sends" in composer.placeholderText()


def test_restored_draft_goes_before_text_typed_since(qtbot: QtBot) -> None:
    """A draft that failed to send comes back first, without losing what was typed meanwhile."""
    composer = make_composer(qtbot)
    composer.restore_draft("the failed question")
    assert composer.text() == "the failed question"
    composer.take_text()
    qtbot.keyClicks(composer, "new thought")
    composer.restore_draft("the failed question")
    assert composer.text() == "the failed question\nnew thought"


def test_the_composer_grows_with_its_text_up_to_a_limit(qtbot: QtBot) -> None:
    """More lines make the editor taller, but never beyond its maximum."""
    composer = make_composer(qtbot)

    def height_for(lines: int) -> int:
        composer.setPlainText("\n".join(["line"] * lines))
        layout = composer.parentWidget().layout()
        assert layout is not None
        layout.invalidate()
        layout.activate()
        return composer.height()

    empty = height_for(0)
    taller = height_for(5)
    tallest = height_for(50)
    assert empty < taller < tallest
    assert height_for(80) == tallest
