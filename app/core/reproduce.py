"""Reproducibility: what a reply was made with, and re-running its request to see if it holds.

A reply's provenance is the model that answered, the server's `system_fingerprint` (its
backend configuration) and the seed that was sent. With a seed, sampling repeats itself on a
best-effort basis: the same request on the same fingerprint should give the same answer. A
re-run sends the identical body again, as a turn like any other paid request (counted in the
ledger, and asked about first when it could cross a hard budget limit), and compares the
answers word by word; a changed fingerprint is reported with it, since it explains differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.reply import Reply, RunState
from app.core.turn import Turn, TurnHooks, TurnPlan
from app.core.word_diff import WordDiff, diff_words


def provenance_text(answered_by: str, fingerprint: str | None, seed: int | None) -> str:
    """One line for a reply's header, e.g. `gpt-4o-2024-08-06 · fp_f33667828e · seed 42`."""
    parts = [answered_by] if answered_by else []
    if fingerprint:
        parts.append(fingerprint)
    parts.append(f"seed {seed}" if seed is not None else "no seed")
    return " · ".join(parts)


@dataclass(frozen=True)
class RerunSubject:
    """A reply to re-run: the exact body that produced it and what it said."""

    body: dict[str, Any]
    text: str
    fingerprint: str | None
    # Which choice the reply is, when the request asked for several.
    choice: int = 0

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def seed(self) -> int | None:
        seed = self.body.get("seed")
        return seed if isinstance(seed, int) else None


@dataclass(frozen=True)
class Reproduction:
    """The original reply beside the re-run's (which may have failed or not been sent)."""

    subject: RerunSubject
    rerun: Reply

    @property
    def diff(self) -> WordDiff:
        return diff_words(self.subject.text, self.rerun.text)

    @property
    def fingerprint_changed(self) -> bool:
        before, after = self.subject.fingerprint, self.rerun.fingerprint
        return before is not None and after is not None and before != after

    def headline(self) -> str:
        """Identical or changed, in a sentence; the failure's headline if the re-run failed."""
        if self.rerun.state is RunState.DECLINED:
            return "Not re-run: it could take the month past your budget."
        problem = self.rerun.problem
        if problem is not None:
            return f"The re-run failed: {problem.headline}."
        return self.diff.summary()

    def fingerprint_note(self) -> str:
        """What the fingerprints say about the difference (or the sameness)."""
        before, after = self.subject.fingerprint, self.rerun.fingerprint
        if before is None and after is None:
            return "The server sends no system fingerprint, so a change of backend cannot be seen."
        if before is None or after is None:
            known = before or after
            return f"Only one of the replies came with a system fingerprint ({known})."
        if before != after:
            return (
                f"The system fingerprint changed from {before} to {after}: the server's "
                "backend configuration changed, which can explain a different answer."
            )
        if self.diff.identical:
            return f"Same system fingerprint ({after}): the seed reproduced the answer."
        return (
            f"Same system fingerprint ({after}): determinism with a seed is best effort, "
            "so small differences can still happen."
        )


async def rerun(
    turn: Turn, subject: RerunSubject, *, hooks: TurnHooks | None = None
) -> Reproduction:
    """Send `subject.body` again, unchanged, through `turn`; the answer beside the original.

    `turn` is the re-run surface's (tagged `Source.RERUN`, with the window's budget policy).
    A cancellation propagates once the turn has settled the reply.
    """
    reply = Reply(asked_model=subject.model, selected=subject.choice)
    await turn.run(TurnPlan(subject.model, body=subject.body), reply, hooks=hooks)
    return Reproduction(subject, reply)
