"""The models the simulator serves: the catalog's, their dated snapshots, and any extras."""

from __future__ import annotations

from collections.abc import Iterable

from app.core.catalog import CATALOG, ModelInfo, lookup

# What each alias resolves to: the API reports the snapshot in `model` of every response.
SNAPSHOTS = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4o-audio-preview": "gpt-4o-audio-preview-2024-12-17",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "o1": "o1-2024-12-17",
    "o1-mini": "o1-mini-2024-09-12",
    "o3-mini": "o3-mini-2025-01-31",
}

_CREATED = {
    "gpt-4o": 1715367049,
    "gpt-4o-mini": 1721172741,
    "gpt-4o-audio-preview": 1727460443,
    "gpt-4-turbo": 1712361441,
    "o1": 1734375816,
    "o1-mini": 1725649008,
    "o3-mini": 1737146383,
}
_EXTRA_CREATED = 1700000000


class ModelRegistry:
    """Which model ids exist, what each can do, and the `/v1/models` payloads."""

    def __init__(self, extra_models: Iterable[str] = ()) -> None:
        self.extra = tuple(dict.fromkeys(extra_models))

    def ids(self) -> list[str]:
        listed: list[str] = []
        for alias in CATALOG:
            listed.append(alias)
            if alias in SNAPSHOTS:
                listed.append(SNAPSHOTS[alias])
        listed.extend(model for model in self.extra if model not in listed)
        return listed

    def resolve(self, model_id: str) -> ModelInfo | None:
        """The model's capabilities, or None when the API would answer `model_not_found`."""
        if model_id in self.extra:
            return lookup(model_id)
        info = lookup(model_id)
        return info if info.known else None

    def response_model(self, model_id: str) -> str:
        return SNAPSHOTS.get(model_id, model_id)

    def model_object(self, model_id: str) -> dict[str, object] | None:
        if self.resolve(model_id) is None:
            return None
        extra = model_id in self.extra
        created = _EXTRA_CREATED if extra else _CREATED.get(_family(model_id), _EXTRA_CREATED)
        return {
            "id": model_id,
            "object": "model",
            "created": created,
            "owned_by": "user" if extra else "system",
        }

    def list_object(self) -> dict[str, object]:
        data = [self.model_object(model) for model in self.ids()]
        return {"object": "list", "data": [entry for entry in data if entry is not None]}


def _family(model_id: str) -> str:
    for family in sorted(CATALOG, key=len, reverse=True):
        if model_id == family or model_id.startswith(family + "-"):
            return family
    return model_id
