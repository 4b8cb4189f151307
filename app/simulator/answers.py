"""The simulated model's reply: a deterministic answer that reflects what was asked.

It quotes the prompt, mentions the system prompt and the model, and describes attached
images, so a person using the demo (or a test) can see the request arrived intact.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass
from typing import Any

from app.simulator.content import ImageInfo, PromptView
from app.simulator.prose import filler

_OPENERS = (
    "Here is a simulated reply.",
    "Happy to help with that.",
    "Good question.",
    "Let me walk through it.",
    "Sure, here is what I can say.",
    "Thanks for asking.",
    "Here is one way to look at it.",
    "Let me think about that.",
)
_QUOTE_WORDS = 40
_STOPWORDS_TEXT = (
    "a an and are as at be by can could do for from how i in is it me my of on or please "
    "should tell that the this to was what when where which who why will with would you"
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@dataclass(frozen=True)
class AnswerSpec:
    """Everything the answer depends on; equal specs give equal answers."""

    model: str
    view: PromptView
    seed: int | None
    answer_words: int | None
    json_mode: bool
    fingerprint: str

    @classmethod
    def from_request(
        cls,
        body: dict[str, Any],
        view: PromptView,
        *,
        answer_words: int | None,
    ) -> AnswerSpec:
        response_format = body.get("response_format") or {}
        json_mode = response_format.get("type") in ("json_object", "json_schema")
        # Sampling and delivery options do not change what the model "says": streamed or not,
        # with or without logprobs, cut by max_tokens or a stop sequence, padded or not, the
        # text is a prefix of the same answer.
        key = [body.get("model"), body.get("messages"), body.get("seed"), json_mode]
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
        return cls(
            model=str(body.get("model")),
            view=view,
            seed=body.get("seed"),
            answer_words=answer_words,
            json_mode=json_mode,
            fingerprint=digest,
        )


def compose(spec: AnswerSpec, choice: int) -> str:
    """The full answer of choice number `choice` (distinct choices differ)."""
    rng = random.Random(f"{spec.fingerprint}:{choice}")
    # Consecutive openers per choice, so the first len(_OPENERS) choices always differ.
    opener = _OPENERS[(int(spec.fingerprint[:8], 16) + choice) % len(_OPENERS)]
    if choice >= len(_OPENERS):
        opener += f" (Variation {choice + 1}.)"
    if spec.json_mode:
        return _json_answer(spec, rng, opener)
    return _markdown_answer(spec, rng, opener)


def _markdown_answer(spec: AnswerSpec, rng: random.Random, opener: str) -> str:
    view = spec.view
    lines = [f"{opener} This is **{spec.model}** (simulated)."]
    if view.prompt.strip():
        lines.append(f'You asked: "{_quote(view.prompt)}"')
    else:
        lines.append("Your message had no text.")
    if view.system is not None:
        lines.append(f'I am following your system prompt: "{_quote(view.system)}"')
    if view.images:
        count = len(view.images)
        described = "\n".join(
            f"- Image {n}: {_describe(image)}" for n, image in enumerate(view.images, 1)
        )
        lines.append(f"You attached {count} image{'s' if count > 1 else ''}:\n{described}")
    if view.turns > 2:
        lines.append(f"This conversation has {view.turns} messages so far.")
    answer = "\n\n".join(lines)
    padding = _padding_words(spec, answer)
    if padding:
        answer += "\n\n" + filler(rng, padding, topic=_topic(view.prompt))
    return answer


def _json_answer(spec: AnswerSpec, rng: random.Random, opener: str) -> str:
    view = spec.view
    document: dict[str, object] = {
        "model": spec.model,
        "simulated": True,
        "prompt": _quote(view.prompt),
        "system_prompt": _quote(view.system) if view.system is not None else None,
        "images": [_describe(image) for image in view.images],
        "answer": opener,
    }
    padding = _padding_words(spec, json.dumps(document))
    if padding:
        document["answer"] = f"{opener} " + filler(
            rng, padding, topic=_topic(view.prompt), markdown=False
        )
    return json.dumps(document, indent=2, ensure_ascii=False)


def _padding_words(spec: AnswerSpec, core: str) -> int:
    if spec.answer_words is None:
        return 0
    return max(0, spec.answer_words - len(core.split()))


def _quote(text: str) -> str:
    words = text.split()
    if len(words) <= _QUOTE_WORDS:
        return " ".join(words)
    return " ".join(words[: _QUOTE_WORDS - 10]) + f" … ({len(words)} words in all)"


def _describe(image: ImageInfo) -> str:
    if image.remote:
        return f"a remote image at {image.url} (not downloaded)"
    return (
        f"{image.format}, {image.width}×{image.height} pixels, "
        f"{_size(image.size_bytes or 0)} (detail: {image.detail})"
    )


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _topic(prompt: str) -> str:
    words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]+", prompt) if w.lower() not in _STOPWORDS]
    return " ".join(words[:3]) if words else "your question"
