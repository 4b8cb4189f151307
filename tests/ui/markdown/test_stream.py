"""A streamed reply ends as the whole text rendered at once, however it was chunked."""

from __future__ import annotations

import random

import pytest
from pytestqt.qtbot import QtBot

from app.simulator.prose import filler
from app.ui.chat.view import ChatView
from app.ui.markdown.stream import HUGE_PIECE, TAIL_LIMIT
from tests.ui.markdown.structure import blocks, document_structure

TRICKY = (
    "# H\n\npara with `code`, [js](javascript:x) and [w](https://x.org)\n\n"
    "| a | b |\n|--|--|\n| 1 | 2 |\n\n```py\ndef f():\n\n    return '''x\ny'''\n```\ntext\n\n"
    "> quote\n\n- a\n- b\n\n![img](http://127.0.0.1:1/x.png) <img src='http://x/y.png'>\n"
)


def render(qtbot: QtBot, text: str, sizes: list[int] | None = None) -> ChatView:
    view = ChatView()
    qtbot.addWidget(view)
    view.resize(500, 300)
    view.begin_reply("model")
    position = 0
    for size in sizes or [len(text)]:
        view.append_reply(text[position : position + size])
        view.flush()
        position += size
    view.end_reply()
    return view


def chunked(length: int, seed: int, largest: int) -> list[int]:
    rng = random.Random(seed)
    sizes: list[int] = []
    while sum(sizes) < length:
        sizes.append(rng.randint(1, largest))
    return sizes


@pytest.mark.parametrize(
    ("text", "largest"),
    [
        (TRICKY, 9),
        (filler(random.Random(1), 400, topic="streams"), 30),
        ("```\n" + "x = 1\n" * 3000 + "```\nafter\n", 700),
        ("- item\n" * 800, 300),
        ("word " * 10_000, 900),
    ],
    ids=["tricky", "prose", "long-code", "long-list", "long-paragraph"],
)
def test_any_chunking_ends_in_the_same_document(qtbot: QtBot, text: str, largest: int) -> None:
    """Streamed in random deltas (short or long open blocks), the result is the one-shot one."""
    whole = render(qtbot, text)
    for seed in range(2):
        streamed = render(qtbot, text, chunked(len(text), seed, largest))
        assert document_structure(streamed.document()) == document_structure(whole.document())


def test_a_huge_piece_stays_verbatim_and_the_same_however_it_arrives(qtbot: QtBot) -> None:
    """A piece too large for Markdown is shown verbatim, identically streamed or not."""
    text = "**not bold** " * (HUGE_PIECE // 12) + "\n\nafter **bold**\n"
    whole = render(qtbot, text)
    assert "**not bold**" in whole.rendered_text()
    assert "after bold" in whole.rendered_text()
    streamed = render(qtbot, text, chunked(len(text), 1, 5000))
    assert document_structure(streamed.document()) == document_structure(whole.document())


def test_a_huge_code_block_keeps_its_copy_text(qtbot: QtBot) -> None:
    """A code block too large to render as Markdown still copies exactly its code."""
    code = "\n".join(f"\tline_{n} = {n}" for n in range(HUGE_PIECE // 12))
    view = render(qtbot, f"```python\n{code}\n```\n", chunked(len(code), 2, 4000))
    ids = [int(href.rsplit("/", 1)[1]) for text, href in _links(view) if "copy-code" in href]
    assert len(ids) == 1
    assert view.code_text(ids[0]) == code


def test_an_open_block_over_the_limit_is_appended_not_redrawn(qtbot: QtBot) -> None:
    """Past the redraw limit the open block grows in place: earlier blocks are not replaced."""
    view = ChatView()
    qtbot.addWidget(view)
    view.begin_reply("model")
    view.append_reply("x" * (TAIL_LIMIT + 10))
    view.flush()
    first = blocks(view.document())[-1]
    view.append_reply("y" * 10)
    view.flush()
    assert first.isValid()
    assert first.text().endswith("y" * 10)


def _links(view: ChatView) -> list[tuple[str, str]]:
    from tests.ui.markdown.structure import anchors

    return anchors(view.document())
