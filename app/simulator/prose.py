"""Deterministic filler prose, with headings, lists, code and quotes, to reach a requested length.

It exists so a GUI has realistic Markdown to render and long streams to scroll: varied
sentences rather than one repeated line (which would hide wrapping and layout bugs).
"""

from __future__ import annotations

import random
from collections.abc import Callable

_SUBJECTS = (
    "The simulator",
    "A streamed reply",
    "Each chunk",
    "The client",
    "This paragraph",
    "A careful reader",
    "The token counter",
    "Every request",
    "The renderer",
    "A long answer",
    "The status bar",
    "The chat view",
)
_VERBS = (
    "shows",
    "exercises",
    "describes",
    "measures",
    "tests",
    "illustrates",
    "checks",
    "demonstrates",
    "reveals",
    "follows",
)
_OBJECTS = (
    "how text arrives in small pieces",
    "the way Markdown is rendered",
    "word wrapping in a narrow window",
    "scrolling while new text arrives",
    "the cost of every token",
    "a deterministic stream of prose",
    "lists, headings and code side by side",
    "the difference between latency and throughput",
    "what happens when a reply is very long",
    "how a cancelled stream is cleaned up",
    "the order in which chunks are painted",
    "why each delta is small",
)
_TAILS = (
    "",
    " without surprises",
    " in a predictable order",
    " one piece at a time",
    " under load",
    " with the same seed every time",
    " on every platform",
    " while the window stays responsive",
)
_HEADINGS = (
    "Details",
    "How it works",
    "A closer look",
    "Things to notice",
    "Background",
    "Next steps",
    "Notes",
    "Summary so far",
)
_CODE = (
    (
        "python",
        "def chunks(words, size={k}):\n"
        '    """Group words into chunks of {k}."""\n'
        "    return [words[i : i + size] for i in range(0, len(words), size)]\n"
        "\n"
        'print(chunks("{topic}".split()))',
    ),
    (
        "json",
        '{{\n  "topic": "{topic}",\n  "chunks": {k},\n  "streamed": true\n}}',
    ),
    (
        "bash",
        "# run the demo against the simulator\nchatdesk --demo --words {k}",
    ),
)
_MARKUP: tuple[Callable[[str], str], ...] = (
    lambda w: f"**{w}**",
    lambda w: f"*{w}*",
    lambda w: f"`{w}`",
)


def filler(rng: random.Random, words: int, *, topic: str, markdown: bool = True) -> str:
    """About `words` words of prose on `topic` (exactly, when plain; blocks stay whole)."""
    blocks: list[str] = []
    remaining = words
    # Every kind of block appears early, so even a short padded answer exercises the renderer.
    order = ["heading", "paragraph", "list", "paragraph", "code", "quote", "numbered"]
    while remaining > 0:
        kind = order.pop(0) if order else rng.choice(("paragraph",) * 4 + ("heading", "list"))
        if not markdown:
            kind = "paragraph"
        block = _BUILDERS[kind](rng, topic, markdown)
        size = len(block.split())
        if size > remaining:
            if kind != "paragraph":
                continue
            block = _trim(block, remaining)
            size = remaining
        blocks.append(block)
        remaining -= size
    return "\n\n".join(blocks) if markdown else " ".join(blocks)


def _sentence(rng: random.Random, topic: str, markdown: bool) -> str:
    words = f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}".split()
    if markdown and rng.random() < 0.3:
        at = rng.randrange(1, len(words))
        words[at] = rng.choice(_MARKUP)(words[at])
    if rng.random() < 0.2:
        words.append(f"(about {topic})")
    return " ".join(words) + rng.choice(_TAILS) + "."


def _paragraph(rng: random.Random, topic: str, markdown: bool) -> str:
    return " ".join(_sentence(rng, topic, markdown) for _ in range(rng.randint(2, 5)))


def _heading(rng: random.Random, topic: str, markdown: bool) -> str:
    return f"## {rng.choice(_HEADINGS)}"


def _bullets(rng: random.Random, topic: str, markdown: bool) -> str:
    items = [_sentence(rng, topic, markdown) for _ in range(rng.randint(3, 5))]
    return "\n".join(f"- {item}" for item in items)


def _numbered(rng: random.Random, topic: str, markdown: bool) -> str:
    items = [_sentence(rng, topic, markdown) for _ in range(rng.randint(3, 4))]
    return "\n".join(f"{n}. {item}" for n, item in enumerate(items, 1))


def _code(rng: random.Random, topic: str, markdown: bool) -> str:
    language, template = rng.choice(_CODE)
    body = template.format(k=rng.randint(2, 9), topic=topic.replace('"', "'"))
    return f"```{language}\n{body}\n```"


def _quote(rng: random.Random, topic: str, markdown: bool) -> str:
    return "> " + _sentence(rng, topic, markdown)


_BUILDERS: dict[str, Callable[[random.Random, str, bool], str]] = {
    "paragraph": _paragraph,
    "heading": _heading,
    "list": _bullets,
    "numbered": _numbered,
    "code": _code,
    "quote": _quote,
}


def _trim(paragraph: str, words: int) -> str:
    # Markup wraps single words, so cutting between words never leaves a `**` unclosed.
    return " ".join(paragraph.split()[:words]).rstrip(".,") + "."
