"""A large, realistic conversation history, generated quickly for benchmarks of the store.

`generate_history(path)` fills a Chatdesk database (the real schema, created by the app's own
migrations; the search index filled by its own triggers) with 10,000 conversations and
200,000 messages over three years, one of them 2,000 messages long. The text is English built
from sentence patterns over a vocabulary with a Zipf-like spread (a few words in nearly every
message, a long tail of rare technical terms, each conversation leaning on a topic of its own),
with Markdown lists and code blocks now and then; prompts are short, replies longer. Messages
are inserted in time order, as a user would have written them, so message ids grow with time.

    .venv/bin/python benchmarks/history_data.py /tmp/history.db [--conversations N] [--messages N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from app.core.store.database import open_database
from app.core.store.titles import title_from_prompt

DAY = 24 * 3600.0
START = 1_700_000_000.0  # November 2023
SPAN_S = 3 * 365 * DAY


def _words(text: str) -> list[str]:
    return text.split()


_ADJECTIVES = _words(
    """good new first last long great little own other old right big high different
small large next early young important few public bad same able simple clear quick slow
strange useful common rare careful modern local remote empty full safe secure broken stable
nested async typed lazy hidden visible recent default optional private shared fast"""
)
_NOUNS = _words(
    """time person year way day thing man world life hand part child eye woman place
work week case point government company number group problem fact question answer file
function value list error message server client request table query index user window
screen button model token cost price budget test result version release branch commit
script loop thread process memory disk network cache key password image photo colour
recipe garden trip ticket flight hotel letter email meeting plan idea reason example
story book chapter paragraph sentence word language grammar summary report chart graph
budget invoice contract lawyer doctor symptom medicine exercise diet sleep coffee bread
cake oven dough flour yeast bike car train road map weather rain snow river mountain"""
)
_VERBS = _words(
    """use make take give find tell ask work seem feel try leave call keep start show
hear play run move live believe bring write provide sit stand lose pay meet include continue
set learn change lead understand watch follow stop create speak read allow add spend grow
open walk win offer remember consider appear buy wait serve send expect build stay fall cut
reach kill remain suggest raise pass sell require report decide pull explain parse compile
deploy debug refactor measure compare store load save render stream retry cancel"""
)
_ADVERBS = _words(
    """quickly slowly carefully usually often never always sometimes probably really
simply exactly roughly directly easily finally rarely already"""
)
_PREPOSITIONS = ("of", "in", "for", "with", "on", "from", "about", "into")
# The long tail: each appears in a small share of messages, as names and jargon do.
_RARE = _words(
    """kubernetes postgres sqlite tokenizer asyncio mutex semaphore coroutine monad
functor lambda regex unicode base64 webhook oauth jwt nginx systemd cgroups ebpf wasm
rustc cargo pip conda numpy pandas matplotlib pytorch tensorflow transformer embedding
sourdough focaccia brioche ciabatta croissant baguette pretzel tortilla chapati naan
lasagne risotto paella gazpacho ratatouille bouillabaisse goulash pierogi dumpling
kilimanjaro patagonia dolomites himalaya andes pyrenees carpathian appalachian
mortgage annuity dividend escrow amortization depreciation arbitrage derivative
photosynthesis mitochondria chlorophyll enzyme ribosome chromosome neuron synapse
sonnet haiku limerick villanelle ballad elegy ode epigram quatrain couplet
xylophone harpsichord bassoon oboe clarinet trombone cello viola mandolin ukulele"""
)
_TOPICS = _words(
    """python rust javascript baking gardening travel finance health writing music
physics history cooking cycling databases networking security photography law chess"""
)
_LANGUAGES = ("python", "bash", "sql", "json", "rust", "javascript")
_MODELS = ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "gpt-4o", "gpt-4o-mini")
_OPENERS = (
    "How do I",
    "Can you explain how to",
    "What is the best way to",
    "Why does my",
    "Please help me",
    "Write a short note to",
    "Is it a good idea to",
    "Compare two ways to",
)


class Vocabulary:
    """Words of one class drawn with Zipf-like weights: the first few are by far the likeliest."""

    def __init__(self, words: list[str], exponent: float = 1.1) -> None:
        self.words = words
        weights = [1 / (rank + 1) ** exponent for rank in range(len(words))]
        self.cumulative = list(itertools.accumulate(weights))

    def pick(self, rng: random.Random, k: int = 1) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cumulative, k=k)


class Writer:
    """Sentences, prompts and replies of roughly English text."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        # Shuffled once per history, so which words are common differs from seed to seed.
        self.nouns = Vocabulary(rng.sample(_NOUNS, len(_NOUNS)), exponent=0.8)
        self.verbs = Vocabulary(rng.sample(_VERBS, len(_VERBS)), exponent=0.8)
        self.adjectives = Vocabulary(rng.sample(_ADJECTIVES, len(_ADJECTIVES)), exponent=0.8)
        self.rare = Vocabulary(rng.sample(_RARE, len(_RARE)), exponent=0.7)

    def sentence(self, topic: str) -> str:
        rng = self.rng
        noun, other, third = self.nouns.pick(rng, 3)
        verb, verb2 = self.verbs.pick(rng, 2)
        adjective, adjective2 = self.adjectives.pick(rng, 2)
        preposition = rng.choice(_PREPOSITIONS)
        pattern = rng.randrange(8)
        if pattern == 0:
            text = f"the {adjective} {noun} can {verb} the {other} {preposition} your {third}"
        elif pattern == 1:
            text = f"if you {verb} the {noun}, it will {verb2} a {adjective} {other}"
        elif pattern == 2:
            text = f"a {noun} {preposition} the {adjective2} {other} is not the same as a {third}"
        elif pattern == 3:
            adverb = rng.choice(_ADVERBS)
            text = f"you should {adverb} {verb} each {noun} before you {verb2} the {third}"
        elif pattern == 4:
            text = (
                f"this {topic} {noun} is {adjective} because the {other} {verb}s {preposition} it"
            )
        elif pattern == 5:
            text = f"then {verb} the {adjective} {noun} and {verb2} its {other}"
        elif pattern == 6:
            text = f"most {noun}s in {topic} are {adjective}, but some {other}s are {adjective2}"
        else:
            text = f"there is a {adjective} way to {verb} your {noun} {preposition} a {other}"
        if rng.random() < 0.08:
            words = text.split(" ")
            words.insert(rng.randrange(1, len(words)), self.rare.pick(rng)[0])
            text = " ".join(words)
        return text[0].upper() + text[1:] + rng.choice((".", ".", ".", "?", "!"))

    def paragraph(self, topic: str, sentences: int) -> str:
        return " ".join(self.sentence(topic) for _ in range(sentences))

    def prompt(self, topic: str) -> str:
        rng = self.rng
        noun, other = self.nouns.pick(rng, 2)
        verb = self.verbs.pick(rng)[0]
        head = f"{rng.choice(_OPENERS)} {verb} the {noun} of my {topic} {other}?"
        extra = rng.choices((0, 1, 2, 4), weights=(5, 3, 2, 1))[0]
        return head if not extra else head + " " + self.paragraph(topic, extra)

    def reply(self, topic: str, words: int) -> str:
        rng = self.rng
        blocks: list[str] = []
        size = 0
        while size < words:
            kind = rng.random()
            if kind < 0.1:
                block = self.code(topic)
            elif kind < 0.25:
                items = [self.sentence(topic) for _ in range(rng.randint(3, 5))]
                block = "\n".join(f"- {item}" for item in items)
            elif kind < 0.3:
                block = f"## {self.adjectives.pick(rng)[0].title()} {self.nouns.pick(rng)[0]}s"
            else:
                block = self.paragraph(topic, rng.randint(2, 6))
            blocks.append(block)
            size += block.count(" ") + 1
        return "\n\n".join(blocks)

    def code(self, topic: str) -> str:
        rng = self.rng
        language = rng.choice(_LANGUAGES)
        name, value = self.nouns.pick(rng, 2)
        verb = self.verbs.pick(rng)[0]
        if language == "python":
            body = (
                f"def {verb}_{name}({value}s):\n"
                f'    """{self.sentence(topic)}"""\n'
                f"    return [{value} for {value} in {value}s if {value}]"
            )
        elif language == "sql":
            body = f"SELECT {value}, count(*) FROM {name}s\nWHERE {topic} = ?\nGROUP BY {value};"
        elif language == "json":
            body = json.dumps({name: value, "topic": topic, "count": rng.randint(1, 99)}, indent=2)
        elif language == "bash":
            body = f"# {self.sentence(topic)}\n{verb} --{name} {value}.txt | sort | uniq -c"
        elif language == "rust":
            body = f"fn {verb}_{name}({value}: &str) -> usize {{\n    {value}.len()\n}}"
        else:
            body = f"const {name} = await {verb}({value});\nconsole.log({name});"
        return f"```{language}\n{body}\n```"


def _split(total: int, parts: int, rng: random.Random) -> list[int]:
    """`total` items over `parts` conversations, each at least 2, lengths spread like real use."""
    weights = [rng.lognormvariate(0, 1) for _ in range(parts)]
    scale = (total - 2 * parts) / sum(weights)
    sizes = [2 + int(w * scale) for w in weights]
    for index in rng.sample(range(parts), total - sum(sizes)):
        sizes[index] += 1
    return sizes


def _reply_words(rng: random.Random) -> int:
    return min(900, max(8, int(rng.lognormvariate(math.log(110), 0.7))))


def generate_history(
    database_path: Path | str,
    *,
    conversations: int = 10_000,
    messages: int = 200_000,
    big_conversation_messages: int = 2_000,
    seed: int = 0,
) -> int:
    """Fill a new history database at `database_path`; the id of the big conversation."""
    path = Path(database_path)
    if path.exists():
        raise FileExistsError(path)
    if messages < big_conversation_messages + 2 * (conversations - 1):
        raise ValueError("too few messages for that many conversations")
    rng = random.Random(seed)
    writer = Writer(rng)
    open_database(path).close()  # the app's own schema, with WAL set on the file

    sizes = _split(messages - big_conversation_messages, conversations - 1, rng)
    big = rng.randrange(conversations)
    sizes.insert(big, big_conversation_messages)
    topics = [rng.choice(_TOPICS) for _ in sizes]
    prompts = [writer.prompt(topic) for topic in topics]

    # Each conversation is active over a stretch of time; the big one over the whole span.
    timeline: list[tuple[float, int, int]] = []
    spans: list[tuple[float, float]] = []
    for index, size in enumerate(sizes):
        begin = START + rng.random() * SPAN_S * 0.98
        length = SPAN_S - (begin - START) if index == big else rng.expovariate(1 / (2 * DAY))
        times = sorted(begin + rng.random() * length for _ in range(size - 1))
        times.insert(0, begin)
        spans.append((times[0], times[-1]))
        timeline.extend((at, index, position) for position, at in enumerate(times))
    timeline.sort()
    # Conversation ids grow with their start, as the app would have given them.
    order = sorted(range(len(sizes)), key=lambda i: spans[i][0])
    ids = [0] * len(sizes)
    for rank, index in enumerate(order):
        ids[index] = rank + 1

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA synchronous = OFF")
    connection.execute("BEGIN")
    connection.executemany(
        "INSERT INTO conversations (id, title, created_at, updated_at, pinned, deleted_at, model,"
        " system_prompt, params) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                ids[index],
                title_from_prompt(prompts[index]),
                spans[index][0],
                spans[index][1],
                int(rng.random() < 0.005),
                spans[index][1] + DAY if rng.random() < 0.01 and index != big else None,
                rng.choice(_MODELS),
                "You are a concise assistant." if rng.random() < 0.2 else "",
                json.dumps({"temperature": 0.7}) if rng.random() < 0.3 else "{}",
            )
            for index in order
        ),
    )
    connection.executemany(
        "INSERT INTO messages (conversation_id, position, role, content, state, model,"
        " finish_reason, usage, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _message_rows(timeline, ids, topics, prompts, writer),
    )
    connection.execute("COMMIT")
    connection.execute("PRAGMA optimize")
    connection.close()
    return ids[big]


def _message_rows(
    timeline: list[tuple[float, int, int]],
    ids: list[int],
    topics: list[str],
    prompts: list[str],
    writer: Writer,
) -> Iterator[tuple[object, ...]]:
    rng = writer.rng
    for at, index, position in timeline:
        topic, conversation = topics[index], ids[index]
        if position % 2 == 0:
            content = prompts[index] if position == 0 else writer.prompt(topic)
            yield (conversation, position, "user", content, "complete", "", "", None, at)
        else:
            content = writer.reply(topic, _reply_words(rng))
            words = content.count(" ") + 1
            usage = json.dumps({"prompt_tokens": 40 * position + 30, "completion_tokens": words})
            yield (
                conversation,
                position,
                "assistant",
                content,
                "complete",
                "gpt-4o",
                "stop",
                usage,
                at,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    big = generate_history(
        args.database, conversations=args.conversations, messages=args.messages, seed=args.seed
    )
    elapsed = time.perf_counter() - start
    size = args.database.stat().st_size / 2**20
    print(f"{args.database}: {size:.0f} MiB in {elapsed:.1f} s; the big conversation is {big}")


if __name__ == "__main__":
    main()
