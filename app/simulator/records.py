"""What the simulator remembers of each chat request, for tests to inspect."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.simulator.errors import mask_key


@dataclass(frozen=True)
class ReceivedRequest:
    """One chat request as it arrived: parsed JSON `body` (None if unparsable) and `headers`.

    Header names are lower-cased. `peer` is the client's "host:port", which tells whether
    requests shared a keep-alive connection. `received_at` is `time.monotonic()` on arrival.
    """

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    peer: str = ""
    received_at: float = field(default_factory=time.monotonic)

    @property
    def organization(self) -> str | None:
        return self.headers.get("openai-organization")

    @property
    def project(self) -> str | None:
        return self.headers.get("openai-project")

    def to_json(self) -> dict[str, object]:
        """A JSON-ready copy with the bearer key masked, for the admin endpoint."""
        headers = dict(self.headers)
        if "authorization" in headers:
            scheme, _, key = headers["authorization"].partition(" ")
            headers["authorization"] = f"{scheme} {mask_key(key.strip())}"
        return {
            "method": self.method,
            "path": self.path,
            "headers": headers,
            "body": self.body,
            "organization": self.organization,
            "project": self.project,
            "peer": self.peer,
        }
