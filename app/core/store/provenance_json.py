"""A reply's provenance (the server's system fingerprint, the seed sent) in the messages table.

They ride in the `usage` JSON column beside the token counts: both describe the request as
the server answered and billed it, and an existing JSON column spares a schema migration.
A reply stopped before its usage arrived still keeps its provenance there, without counts.
"""

from __future__ import annotations

import json
from typing import Any

FINGERPRINT_KEY = "system_fingerprint"
SEED_KEY = "seed"


def with_provenance(
    usage: dict[str, Any] | None, fingerprint: str | None, seed: int | None
) -> str | None:
    """The column's text: `usage` (may be None) plus whatever provenance is known."""
    column = dict(usage or {})
    if fingerprint:
        column[FINGERPRINT_KEY] = fingerprint
    if seed is not None:
        column[SEED_KEY] = seed
    return json.dumps(column) if column else None


def provenance_from(text: str | None) -> tuple[str | None, int | None]:
    """(fingerprint, seed) from the column's text; None for what is missing or malformed."""
    if not text:
        return None, None
    try:
        raw = json.loads(text)
    except ValueError:
        return None, None
    if not isinstance(raw, dict):
        return None, None
    fingerprint = raw.get(FINGERPRINT_KEY)
    seed = raw.get(SEED_KEY)
    return (
        fingerprint if isinstance(fingerprint, str) and fingerprint else None,
        seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )
