"""Very long lines cut into short blocks, at the same places however the text arrives."""

from __future__ import annotations

import random

from app.ui.markdown.plain import HARD_BLOCK_CHARS, SOFT_BLOCK_CHARS, split_long_runs


def blocks_of(deltas: list[str]) -> list[str]:
    """The blocks inserting `deltas` one after the other would make."""
    result = [""]
    run = 0
    for delta in deltas:
        pieces, run = split_long_runs(delta, run)
        result[-1] += pieces[0]
        result += pieces[1:]
    return result


def test_short_text_and_its_newlines_are_kept() -> None:
    """Text under the block limit comes back as its own lines, unchanged."""
    pieces, run = split_long_runs("one\ntwo\n\nthree", 10)
    assert pieces == ["one", "two", "", "three"]
    assert run == len("three")


def test_a_long_paragraph_is_cut_right_after_a_space_past_the_soft_limit() -> None:
    """A long paragraph is cut right after the first space beyond the soft limit, only there."""
    text = "word " * (SOFT_BLOCK_CHARS // 5 + 100)
    pieces, run = split_long_runs(text, 0)
    assert "".join(pieces) == text
    assert len(pieces) == 2
    assert pieces[0].endswith(" ")
    assert SOFT_BLOCK_CHARS < len(pieces[0]) <= SOFT_BLOCK_CHARS + len("word ")
    assert run == len(pieces[1])


def test_what_the_block_already_holds_counts() -> None:
    """A delta that pushes an already long block past the limit starts a new block."""
    pieces, run = split_long_runs("abc def", SOFT_BLOCK_CHARS)
    assert pieces == ["abc ", "def"]
    assert run == 3


def test_a_run_without_spaces_is_cut_at_the_hard_limit() -> None:
    """A run with no space at all (a URL, base64) is still cut, at the hard limit."""
    text = "x" * (HARD_BLOCK_CHARS * 2 + 10)
    pieces, run = split_long_runs(text, 0)
    assert "".join(pieces) == text
    assert [len(p) for p in pieces] == [HARD_BLOCK_CHARS, HARD_BLOCK_CHARS, 10]
    assert run == 10


def test_cuts_do_not_depend_on_how_the_text_arrives() -> None:
    """Long lines fed in random deltas make exactly the blocks the whole text makes."""
    rng = random.Random(3)
    text = "".join(rng.choice(["word ", "x" * 700, "y", "\n", " "]) for _ in range(4000))
    for seed in range(5):
        chunk_rng = random.Random(seed)
        deltas, position = [], 0
        while position < len(text):
            size = chunk_rng.randint(1, 500)
            deltas.append(text[position : position + size])
            position += size
        assert blocks_of(deltas) == blocks_of([text])
