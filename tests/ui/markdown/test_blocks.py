"""Cutting Markdown into pieces that render the same apart as together, however it streams."""

from __future__ import annotations

import itertools
import random

import pytest

from app.simulator.prose import filler
from app.ui.markdown.blocks import BlockScanner, code_content, list_marker, opening_fence

MIXED = (
    "# Heading\n\npara one\nstill para one\n\n- a\n- b\n\n- c after a blank\n\n"
    "1. x\n\n2. y\n\ntext\n```py\ncode\n\nmore code\n```\nafter fence\n\n> quote\n\n"
    "| a | b |\n|--|--|\n| 1 | 2 |\n\n    indented code\n\n-not a list\n\n--\n"
)


def pieces(text: str, chunks: list[int] | None = None) -> list[str]:
    scanner = BlockScanner()
    cuts: list[int] = []
    position = 0
    for size in chunks or [len(text)]:
        cuts += scanner.feed(text[position : position + size])
        position += size
    cuts += scanner.finish()
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in itertools.pairwise(bounds)]


def random_chunks(length: int, seed: int, largest: int = 9) -> list[int]:
    rng = random.Random(seed)
    sizes = []
    while sum(sizes) < length:
        sizes.append(rng.randint(1, largest))
    return sizes


def test_blocks_are_cut_at_blank_lines_and_around_fences_only_where_safe() -> None:
    """Paragraphs, fences, quotes and tables part; list items after a list and indents stay."""
    assert pieces(MIXED) == [
        "# Heading\n\n",
        "para one\nstill para one\n\n",
        "- a\n- b\n\n- c after a blank\n\n1. x\n\n2. y\n\n",
        "text\n",
        "```py\ncode\n\nmore code\n```\n",
        "after fence\n\n",
        "> quote\n\n",
        "| a | b |\n|--|--|\n| 1 | 2 |\n\n    indented code\n\n",
        "-not a list\n\n",
        "--\n",
    ]


@pytest.mark.parametrize("seed", range(12))
def test_cuts_do_not_depend_on_how_the_text_arrives(seed: int) -> None:
    """Fed in random small deltas, the scanner cuts exactly where it cuts the whole text."""
    text = MIXED + filler(random.Random(seed), 300, topic="cuts")
    assert pieces(text, random_chunks(len(text), seed)) == pieces(text)


def test_an_unclosed_fence_keeps_everything_after_it() -> None:
    """Blank lines inside a fence that never closes never cut it."""
    text = "intro\n\n```js\nlet a = 1;\n\nlet b = 2;\n"
    assert pieces(text) == ["intro\n\n", "```js\nlet a = 1;\n\nlet b = 2;\n"]


def test_undecided_line_starts_hold_back_text() -> None:
    """After a blank line, a list-like start waits to be decided; a fence-like line waits too."""
    scanner = BlockScanner()
    scanner.feed("- a\n\n1")
    assert scanner.undecided_from == len("- a\n\n")
    scanner.feed("2. b\n")
    assert scanner.undecided_from is None
    scanner.feed("``")
    assert scanner.undecided_from == len("- a\n\n12. b\n")


def test_list_markers_are_recognised_once_enough_is_known() -> None:
    """A marker needs its following space; until that arrives the answer is unknown."""
    assert list_marker("- x", complete=False) is True
    assert list_marker("-", complete=False) is None
    assert list_marker("--", complete=False) is False
    assert list_marker("12", complete=False) is None
    assert list_marker("12)", complete=False) is None
    assert list_marker("12) x", complete=False) is True
    assert list_marker("12a", complete=False) is False
    assert list_marker("*emphasis*", complete=True) is False


def test_the_code_of_a_fenced_piece_is_its_lines_between_the_fences() -> None:
    """A fence's code keeps tabs and inner blank lines, without the fence lines."""
    piece = "```python title=x\n\tdef f():\n\n    pass\n```\n"
    opened = opening_fence(piece)
    assert opened is not None
    assert opened[0] == "```python title=x"
    assert code_content(piece, opened[1]) == "\tdef f():\n\n    pass"
    assert opening_fence("``` not`a fence\n") is None
    assert opening_fence("    ```\nindented\n") is None
