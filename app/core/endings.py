"""How a reply ended, in words: the one set of notes the store, the export and every view use.

A reply that did not simply finish is kept with its state (`MessageState`) and one of these
notes; a finished reply cut short by the server gets the note of its finish reason.
"""

from __future__ import annotations

STOPPED = "Stopped."
STOPPED_EMPTY = "Stopped before any text arrived."
INTERRUPTED = "Interrupted: Chatdesk closed before the reply finished."
INTERRUPTED_EMPTY = "Interrupted before any text arrived."

# A finished reply that ended for these reasons is labelled with them, wherever it is shown.
FINISH_NOTES = {
    "length": "The reply reached its token limit and was cut short.",
    "content_filter": "The reply was cut short by the content filter.",
}


def failed(headline: str) -> str:
    """The note of a reply cut off by a failure after text arrived."""
    return f"Cut off: {headline.rstrip('.')}."


def stopped(arrived: bool) -> str:
    return STOPPED if arrived else STOPPED_EMPTY


def finished(reason: str) -> str:
    """The note of a finished reply (empty for an ordinary stop)."""
    return FINISH_NOTES.get(reason, "")
