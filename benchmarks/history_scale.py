"""The history at scale: 10,000 conversations, 200,000 messages, one of 2,000 messages.

Generates the history with `history_data.generate_history` (about half a minute; `--keep DIR`
keeps it in DIR and reuses it next time), then measures through the real `History` API, each
figure the median of `--repeats` runs in milliseconds:

- opening the store (`History.open`: connection, pragmas, schema check);
- the sidebar's first page (`list_conversations`) and the count under it;
- search for a very common word, a common one, a rare one, three-letter and longer prefixes,
  two and three words, and the history's most frequent word of five letters or more (the
  last word of a search is a prefix, as it may still be typed: a long frequent word is the
  costliest case, its postings being merged whole);
- loading the 2,000-message conversation (`History.load`), the store's share of opening it.

Baseline (same run, same file): a search without the index, i.e. one full scan of every
message's text for a word that is in none (`SELECT count(*) FROM messages WHERE
instr(content, ?)`). It costs what reading the whole history costs on this machine, so each
ratio says what fraction of a brute-force pass the operation takes, comparable across
machines where the milliseconds are not.

    .venv/bin/python benchmarks/history_scale.py [--keep DIR] [--repeats 15]

Targets: the sidebar within a frame (16 ms); search within 50 ms; a 2,000-message
conversation on screen within 300 ms, of which the store's load should be a small part
(≤ 100 ms).
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.core.store.history import History  # noqa: E402
from benchmarks.history_data import generate_history  # noqa: E402

DATABASE = "chatdesk.db"
BIG_ID_FILE = "big-conversation-id"
SEARCHES = {
    "very common word ('the')": "the",
    "common word ('because')": "because",
    "rare word ('ukulele')": "ukulele",
    "3-letter prefix ('thr')": "thr",
    "longer prefix ('refac')": "refac",
    "two words ('python error')": "python error",
    "three words ('the yeast rea')": "the yeast rea",
}
ABSENT_WORD = "zqxjvbenchmarkword"


def prepared(directory: Path) -> tuple[Path, int]:
    """The benchmark database in `directory` (generated unless already there) and its big id."""
    database = directory / DATABASE
    id_file = directory / BIG_ID_FILE
    if database.exists() and id_file.exists():
        print(f"reusing {database}")
        return database, int(id_file.read_text())
    start = time.perf_counter()
    big = generate_history(database)
    id_file.write_text(str(big))
    size = database.stat().st_size / 2**20
    print(f"generated {database} ({size:.0f} MiB) in {time.perf_counter() - start:.1f} s")
    return database, big


def median_ms(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def measure(database: Path, big: int, repeats: int) -> None:
    raw = sqlite3.connect(database)
    raw.execute("CREATE VIRTUAL TABLE temp.terms USING fts5vocab(main, message_search, 'row')")
    [(frequent, in_messages)] = raw.execute(
        "SELECT term, doc FROM temp.terms WHERE length(term) >= 5 ORDER BY doc DESC LIMIT 1"
    ).fetchall()
    searches = SEARCHES | {f"most frequent long word ('{frequent}', {in_messages:,})": frequent}
    scan = median_ms(
        lambda: raw.execute(
            "SELECT count(*) FROM messages WHERE instr(content, ?)", (ABSENT_WORD,)
        ).fetchone(),
        repeats,
    )
    raw.close()

    def open_and_close() -> None:
        History.open(database).close()

    results: dict[str, float] = {"open the store": median_ms(open_and_close, repeats)}
    history = History.open(database)
    history.list_conversations()  # the page cache, as after any earlier start
    results["sidebar: first page + count"] = median_ms(
        lambda: (history.list_conversations(), history.conversation_count()), repeats
    )
    for label, text in searches.items():
        results[f"search: {label}"] = median_ms(partial(history.search, text), repeats)
    loaded = history.load(big)
    results[f"load the {len(loaded.messages):,}-message conversation"] = median_ms(
        lambda: history.load(big), repeats
    )
    history.close()

    print(f"\nmedian of {repeats} runs; baseline: a full scan of every message {scan:.1f} ms")
    print(f"{'':52}{'ms':>9}{'× baseline':>12}")
    for label, ms in results.items():
        print(f"{label:52}{ms:9.2f}{ms / scan:12.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, metavar="DIR", help="generate into DIR and reuse it")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        measure(*prepared(args.keep), args.repeats)
        return
    with tempfile.TemporaryDirectory(prefix="chatdesk-history-") as directory:
        measure(*prepared(Path(directory)), args.repeats)


if __name__ == "__main__":
    main()
