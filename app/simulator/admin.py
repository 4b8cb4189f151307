"""`/_simulator/…`: script faults and read received requests from another process.

    POST   /_simulator/faults       JSON list of fault specs (see `Fault.to_spec`) → queued
    GET    /_simulator/faults       the faults still queued
    DELETE /_simulator/faults       drop them
    GET    /_simulator/requests     the chat requests received, oldest first
    DELETE /_simulator/requests     forget them
    POST   /_simulator/rate_limits  {"requests": N, "tokens": N, "enforce": bool}

These need no API key: the server only listens on the loopback interface.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from app.simulator.errors import ApiError
from app.simulator.faults import Fault

if TYPE_CHECKING:
    from app.simulator.server import SimulatorServer


def handle_admin(sim: SimulatorServer, method: str, path: str, raw: bytes) -> tuple[int, object]:
    """(status, JSON payload) for one admin request; raises ApiError for a bad one."""
    route = path.removeprefix("/_simulator/").rstrip("/")
    if route == "faults":
        if method == "POST":
            faults = [_fault(spec) for spec in _specs(_json(raw))]
            sim.script(*faults)
            return 200, {"queued": len(sim.pending_faults())}
        if method == "GET":
            return 200, {"object": "list", "data": [f.to_spec() for f in sim.pending_faults()]}
        if method == "DELETE":
            sim.clear_faults()
            return 200, {"queued": 0}
    if route == "requests":
        if method == "GET":
            return 200, {"object": "list", "data": [r.to_json() for r in sim.requests]}
        if method == "DELETE":
            sim.clear_requests()
            return 200, {"deleted": True}
    if route == "rate_limits" and method == "POST":
        settings = _json(raw)
        if not isinstance(settings, dict):
            raise ApiError(400, "Expected a JSON object of rate limits.")
        try:
            sim.set_rate_limits(**settings)
        except TypeError as error:
            raise ApiError(400, f"Invalid rate limits: {error}") from None
        return 200, {"ok": True}
    raise ApiError(404, f"Invalid URL ({method} {path})")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw or b"null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ApiError(400, "The body is not valid JSON.") from None


def _specs(payload: Any) -> list[Any]:
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list):
        return payload
    raise ApiError(400, "Expected a JSON list of fault specs.")


def _fault(spec: Any) -> Fault:
    if not isinstance(spec, dict):
        raise ApiError(400, "Each fault spec must be a JSON object.")
    try:
        return Fault.from_spec(spec)
    except ValueError as error:
        raise ApiError(400, f"Invalid fault spec: {error}") from None
