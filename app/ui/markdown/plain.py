"""Cutting very long lines into several document blocks, the same however the text arrives.

Inserting into one long QTextDocument block re-lays out the whole block each time, which is
quadratic over a line that never ends (a megabyte of base64, a minified file). Text shown
verbatim is therefore cut into blocks of a few thousand characters.
"""

from __future__ import annotations

# Beyond this many characters a line is continued in a new block at the next space.
SOFT_BLOCK_CHARS = 3000
# A run with no space at all (a URL, base64) is cut here regardless.
HARD_BLOCK_CHARS = 4000


def split_long_runs(text: str, run_length: int) -> tuple[list[str], int]:
    """`text` cut into pieces to insert as separate blocks, and the length of the last run.

    `run_length` is how many characters the current block already holds. Newlines in `text`
    end blocks as usual; a run longer than `SOFT_BLOCK_CHARS` is cut after its next space, or
    at `HARD_BLOCK_CHARS` when no space comes. Joining the pieces with newlines gives `text`
    with only those cuts added, and the cuts fall in the same places however `text` is
    divided between calls (a cut that falls at the very end of `text` starts an empty block).
    """
    pieces: list[str] = []
    current = run_length
    for index, line in enumerate(text.split("\n")):
        if index > 0:
            current = 0
        start = 0
        while current + len(line) - start > SOFT_BLOCK_CHARS:
            soft = start + max(SOFT_BLOCK_CHARS - current, 0)
            hard = start + max(HARD_BLOCK_CHARS - current, 1)
            space = line.find(" ", soft, hard)
            cut = space + 1 if space >= 0 else hard
            if cut > len(line):
                break
            pieces.append(line[start:cut])
            start, current = cut, 0
        pieces.append(line[start:])
        current += len(line) - start
    return pieces, current
