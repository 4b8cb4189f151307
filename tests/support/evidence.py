"""The hardening evidence table: each hardening test records the cases it tried and how they
came out, and a full run writes them to docs/hardening.md.

A test takes the `evidence` fixture and calls `evidence.record(area, case, outcome)` once per
case, after checking it (a case whose checks fail is never recorded: the test fails first).
The table is written at the end of a session in which every test marked `hardening` ran and
passed, so a partial run (`pytest -k …`) never leaves a partial table behind.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TABLE = Path(__file__).resolve().parents[2] / "docs" / "hardening.md"

HEADER = """# Hardening: what was tried, and what happened

Written by the test suite (`scripts/test`) from the tests marked `hardening`; do not edit by
hand. Each row is one case a test drove through the real app (the window, the quick-ask popup,
`chatdesk ask`) against the loopback simulator, and the outcome it checked.

"""


@dataclass(frozen=True, order=True)
class Case:
    area: str
    case: str
    outcome: str


@dataclass
class Evidence:
    """The cases recorded during one test session."""

    cases: set[Case] = field(default_factory=set)

    def record(self, area: str, case: str, outcome: str) -> None:
        self.cases.add(Case(area, case, outcome))

    def markdown(self) -> str:
        areas: dict[str, list[Case]] = {}
        for case in sorted(self.cases):
            areas.setdefault(case.area, []).append(case)
        lines = [HEADER.rstrip("\n"), ""]
        counts = ", ".join(f"{len(cases)} {area.lower()}" for area, cases in areas.items())
        lines.append(f"{len(self.cases)} cases: {counts}.")
        for area, cases in areas.items():
            lines += ["", f"## {area}", "", "| Case | Outcome |", "|---|---|"]
            lines += [f"| {_cell(c.case)} | {_cell(c.outcome)} |" for c in cases]
        return "\n".join(lines) + "\n"

    def write(self, path: Path = TABLE) -> None:
        path.write_text(self.markdown(), encoding="utf-8")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
