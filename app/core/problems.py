"""The one shape every user-facing failure takes: a short headline and a remedy a user can act on.

Bugs are not problems: they stay ordinary exceptions and reach the excepthook.
"""

from __future__ import annotations


class UserFacingError(Exception):
    """A failure the user can understand and act on (bad input, API error, missing key…).

    `headline` says what happened in a few words; `remedy` says what to do about it. Neither
    may ever contain a secret: build them from redacted text only.
    """

    def __init__(self, headline: str, remedy: str = "") -> None:
        super().__init__(f"{headline} — {remedy}" if remedy else headline)
        self.headline = headline
        self.remedy = remedy
