"""Server text made safe for a terminal: sequences removed whole, controls shown, split or not."""

from __future__ import annotations

import pytest

from app.core.terminal_text import TerminalSanitizer, sanitize

ESC = "\x1b"


def streamed(*pieces: str) -> str:
    """What a terminal is given when `pieces` arrive as separate deltas."""
    cleaner = TerminalSanitizer()
    return "".join(cleaner.feed(piece) for piece in pieces) + cleaner.finish()


def every_split(text: str) -> list[str]:
    """`text` streamed in every two-piece split and one character at a time."""
    splits = [streamed(text[:i], text[i:]) for i in range(len(text) + 1)]
    return [*splits, streamed(*text)]


def test_plain_text_newlines_and_tabs_pass_unchanged() -> None:
    """An ordinary answer, unicode, newlines and tabs included, is printed as it is."""
    text = "Héllo, wörld — 你好 🙂\n\tindented\n"
    assert sanitize(text) == text
    assert streamed("Héllo, ", "wörld — 你好 🙂\n", "\tindented\n") == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"before{ESC}[2Jafter", "beforeafter"),  # clear screen
        (f"{ESC}[1;31mred{ESC}[0m", "red"),  # colours
        (f"{ESC}[?1049h{ESC}[H", ""),  # alternate screen, cursor home
        (f"a{ESC}]0;pwned title\x07b", "ab"),  # window title, BEL-terminated
        (f"a{ESC}]2;title{ESC}\\b", "ab"),  # window title, ST-terminated
        (f"x{ESC}]52;c;cm0gLXJmIH4=\x07y", "xy"),  # clipboard write
        (f"{ESC}]8;;http://evil/\x07link{ESC}]8;;\x07", "link"),  # hyperlink
        (f"a{ESC}P+q544e{ESC}\\b", "ab"),  # DCS (a terminfo query)
        (f"a{ESC}_apc payload{ESC}\\b", "ab"),  # APC
        ("a\x9b2Jb", "ab"),  # 8-bit CSI
        ("a\x9d0;title\x9cb", "ab"),  # 8-bit OSC and ST
        (f"a{ESC}cb", "ab"),  # full reset
        (f"a{ESC}(0b", "ab"),  # line-drawing charset
        (f"a{ESC}#8b", "ab"),  # screen alignment test (fills the screen with E)
    ],
)
def test_escape_sequences_are_removed_whole(text: str, expected: str) -> None:
    """Screen clears, titles, clipboard writes, 8-bit CSI: gone, and nothing of them shows."""
    assert sanitize(text) == expected
    assert ESC not in sanitize(text)


def test_bell_and_backspace_are_shown_not_obeyed() -> None:
    """BEL rings nothing and backspace erases nothing: each shows as a symbol."""
    assert sanitize("ding\x07") == "ding\u2407"
    assert sanitize("safe\x08\x08\x08\x08evil") == "safe\u2408\u2408\u2408\u2408evil"
    assert sanitize("a\x7fb\x85c") == "a\u2421b\ufffdc"


def test_a_carriage_return_cannot_hide_what_came_before_it() -> None:
    """`text\\rcover` would print `cover` over `text`: the cover starts a new line instead."""
    assert sanitize("echo hi\rrm -rf ~") == "echo hi\nrm -rf ~"
    assert sanitize("one\r\ntwo\r\n") == "one\ntwo\n"
    assert sanitize("ends in\r") == "ends in\n"


def test_crlf_split_between_deltas_is_one_line_ending() -> None:
    """A CR at the end of one delta and LF at the start of the next make one newline."""
    assert streamed("one\r", "\ntwo") == "one\ntwo"
    assert streamed("one\r", "two") == "one\ntwo"


@pytest.mark.parametrize(
    "text",
    [
        f"keep{ESC}[2Jthis",
        f"keep{ESC}]52;c;Zm9vYmFy\x07this",
        f"keep{ESC}]0;title{ESC}\\this",
        "keep\x9b31mthis",
        f"keep{ESC}P1$r{ESC}\\this",
    ],
)
def test_a_sequence_split_anywhere_across_deltas_is_still_removed(text: str) -> None:
    """However the stream cuts a sequence (a lone ESC at a chunk's end…), none of it shows."""
    for printed in every_split(text):
        assert printed == "keepthis"


def test_a_lone_escape_at_the_end_of_a_delta_waits_for_the_next() -> None:
    """ESC closing one delta prints nothing yet; the next delta's `[2J` is dropped with it."""
    cleaner = TerminalSanitizer()
    assert cleaner.feed(f"hello {ESC}") == "hello "
    assert cleaner.feed("[2Jworld") == "world"
    assert cleaner.finish() == ""


def test_an_unterminated_sequence_at_the_end_is_dropped() -> None:
    """A title or clipboard write that never ends shows nothing, not half of itself."""
    assert sanitize(f"text{ESC}]52;c;Zm9v") == "text"
    assert sanitize(f"text{ESC}") == "text"
    assert sanitize(f"text{ESC}[12;") == "text"


def test_a_broken_sequence_lets_the_text_after_it_through() -> None:
    """A CSI interrupted by a control (or a new ESC) ends; later text and sequences are handled."""
    assert sanitize(f"a{ESC}[12\nb") == "a\nb"
    assert sanitize(f"a{ESC}[1{ESC}[2Jb") == "ab"
    assert sanitize(f"a{ESC}]0;t\x18b") == "ab"  # CAN cancels the string


def test_finish_leaves_the_sanitizer_ready_for_another_text() -> None:
    """A state left by one text (an open sequence) does not swallow the next."""
    cleaner = TerminalSanitizer()
    cleaner.feed(f"{ESC}]0;never closed")
    cleaner.finish()
    assert cleaner.feed("fresh") == "fresh"
