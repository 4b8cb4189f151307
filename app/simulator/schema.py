"""Request validation against the official OpenAPI schema, with errors worded like the API's.

The yaml is parsed and the validators built once, on first use, under a lock: importing this
module does no I/O.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterable, Sequence
from typing import Any

from app.core.resources import resource_path
from app.simulator.errors import ApiError

REQUEST_SCHEMA = "CreateChatCompletionRequest"

_lock = threading.Lock()
_spec: dict[str, Any] | None = None
_validators: dict[str, Any] = {}
_request_fields: frozenset[str] | None = None


def spec() -> dict[str, Any]:
    """The parsed `chat-completions.yaml` (OpenAPI 3.1)."""
    global _spec
    with _lock:
        if _spec is None:
            import yaml

            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
            path = resource_path("openai-spec", "chat-completions.yaml")
            with path.open(encoding="utf-8") as stream:
                _spec = yaml.load(stream, Loader=loader)
        return _spec


def schema_validator(name: str) -> Any:
    """A Draft 2020-12 validator for `components/schemas/<name>`, built once per name."""
    components = spec()["components"]
    with _lock:
        validator = _validators.get(name)
        if validator is None:
            from jsonschema import Draft202012Validator

            if name not in components["schemas"]:
                raise KeyError(f"no schema named {name!r}")
            validator = Draft202012Validator(
                {"$ref": f"#/components/schemas/{name}", "components": components}
            )
            _validators[name] = validator
        return validator


def request_fields() -> frozenset[str]:
    """Every top-level field the request schema defines (it does not forbid others itself)."""
    global _request_fields
    schemas = spec()["components"]["schemas"]
    with _lock:
        if _request_fields is None:
            _request_fields = frozenset(_properties(schemas, schemas[REQUEST_SCHEMA]))
        return _request_fields


def check_request(body: dict[str, Any]) -> None:
    """Raise the ApiError the API would send for a body that breaks the request schema."""
    unknown = sorted(set(body) - request_fields())
    if unknown:
        plural = "s" if len(unknown) > 1 else ""
        raise ApiError(400, f"Unrecognized request argument{plural} supplied: {', '.join(unknown)}")
    from jsonschema.exceptions import best_match

    error = best_match(schema_validator(REQUEST_SCHEMA).iter_errors(body))
    if error is not None:
        raise _translate(_narrow(error))


def _properties(schemas: dict[str, Any], node: dict[str, Any]) -> Iterable[str]:
    if "$ref" in node:
        yield from _properties(schemas, schemas[node["$ref"].rsplit("/", 1)[-1]])
    yield from node.get("properties", {})
    for part in node.get("allOf", []):
        yield from _properties(schemas, part)


def _narrow(error: Any) -> Any:
    """Follow a oneOf/anyOf failure into the branch the instance was meant to match.

    A branch whose discriminating field (`role`, `type`) rejects the instance is not the one the
    caller meant; among the rest, the one that failed deepest in the instance is.
    """
    from jsonschema.exceptions import best_match

    while error.validator in ("oneOf", "anyOf") and error.context:
        branches: dict[Any, list[Any]] = defaultdict(list)
        for sub in error.context:
            branches[sub.relative_schema_path[0]].append(sub)
        key = _discriminator(error)
        if key is not None:
            candidates = [errs for errs in branches.values() if not _rejects_key(errs, key)]
            if not candidates:
                return _DiscriminatorError(error, key, branches.values())
        else:
            candidates = list(branches.values())
            if all(_root_type_error(errs) for errs in candidates):
                return _TypeUnionError(error, candidates)
        chosen = max(candidates, key=lambda errs: max(len(e.relative_path) for e in errs))
        error = best_match(chosen)
    return error


def _discriminator(error: Any) -> str | None:
    declared = error.schema.get("discriminator", {}).get("propertyName")
    if declared:
        return str(declared)
    if not isinstance(error.instance, dict):
        return None
    for sub in error.context:
        path = list(sub.relative_path)
        if sub.validator in ("enum", "const") and len(path) == 1 and path[0] in error.instance:
            return str(path[0])
    return None


def _rejects_key(errors: list[Any], key: str) -> bool:
    return any(list(e.relative_path) == [key] for e in errors)


def _root_type_error(errors: list[Any]) -> bool:
    return any(e.validator == "type" and not e.relative_path for e in errors)


class _DiscriminatorError:
    """No branch accepts the instance's `role`/`type`: report it as an unsupported value."""

    def __init__(self, error: Any, key: str, branches: Iterable[list[Any]]) -> None:
        self.absolute_path = deque([*error.absolute_path, key])
        self.instance = error.instance.get(key) if isinstance(error.instance, dict) else None
        allowed: list[object] = []
        for errs in branches:
            for sub in errs:
                if list(sub.relative_path) == [key] and sub.validator in ("enum", "const"):
                    values = (
                        sub.validator_value if sub.validator == "enum" else [sub.validator_value]
                    )
                    allowed.extend(v for v in values if v not in allowed)
        self.allowed = allowed


class _TypeUnionError:
    """Every branch wants a different type: report the types the field accepts."""

    def __init__(self, error: Any, branches: list[list[Any]]) -> None:
        self.absolute_path = error.absolute_path
        self.instance = error.instance
        expected: list[str] = []
        for errs in branches:
            for sub in errs:
                if sub.validator == "type" and not sub.relative_path:
                    kinds = sub.validator_value
                    for kind in [kinds] if isinstance(kinds, str) else kinds:
                        if kind not in expected:
                            expected.append(kind)
        self.expected = expected


def _translate(error: Any) -> ApiError:
    param = _param(error.absolute_path)
    if isinstance(error, _DiscriminatorError):
        return _invalid_value(error.instance, error.allowed, param)
    if isinstance(error, _TypeUnionError):
        return _invalid_type(param, error.expected, error.instance)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "required":
        missing = next(name for name in value if name not in instance)
        field = _join(param, missing)
        return ApiError(
            400,
            f"Missing required parameter: '{field}'.",
            param=field,
            code="missing_required_parameter",
        )
    if kind == "type":
        return _invalid_type(param, [value] if isinstance(value, str) else list(value), instance)
    if kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        number = "integer" if isinstance(instance, int) else "decimal"
        low = kind in ("minimum", "exclusiveMinimum")
        where, sign = ("below minimum", ">=") if low else ("above maximum", "<=")
        if kind.startswith("exclusive"):
            sign = sign[0]
        return ApiError(
            400,
            f"Invalid '{param}': {number} {where} value. Expected a value {sign} {value}, "
            f"but got {instance} instead.",
            param=param,
            code=f"{number}_{'below_min' if low else 'above_max'}_value",
        )
    if kind in ("enum", "const"):
        return _invalid_value(instance, value if kind == "enum" else [value], param)
    if kind in ("minItems", "maxItems"):
        if kind == "minItems" and not instance:
            return ApiError(
                400,
                f"Invalid '{param}': empty array. Expected an array with minimum length {value}, "
                "but got an empty array instead.",
                param=param,
                code="empty_array",
            )
        short = kind == "minItems"
        return ApiError(
            400,
            f"Invalid '{param}': array too {'short' if short else 'long'}. Expected an array with "
            f"{'minimum' if short else 'maximum'} length {value}, but got an array with length "
            f"{len(instance)} instead.",
            param=param,
            code="array_below_min_length" if short else "array_above_max_length",
        )
    if kind in ("minLength", "maxLength"):
        short = kind == "minLength"
        return ApiError(
            400,
            f"Invalid '{param}': string too {'short' if short else 'long'}. Expected a string "
            f"with {'minimum' if short else 'maximum'} length {value}, but got a string with "
            f"length {len(instance)} instead.",
            param=param,
            code="string_below_min_length" if short else "string_above_max_length",
        )
    return ApiError(
        400, f"Invalid value for '{param}': {error.message}", param=param, code="invalid_value"
    )


def _invalid_type(param: str, expected: Sequence[str], instance: object) -> ApiError:
    wanted = [_TYPE_NAMES.get(kind, kind) for kind in expected if kind != "null"] or ["null"]
    text = wanted[0] if len(wanted) == 1 else "one of " + " or ".join(wanted)
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {text}, but got {_describe(instance)} instead.",
        param=param,
        code="invalid_type",
    )


def _invalid_value(instance: object, allowed: Sequence[object], param: str) -> ApiError:
    shown = [f"'{value}'" for value in allowed]
    listing = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + f", and {shown[-1]}"
    return ApiError(
        400,
        f"Invalid value: '{instance}'. Supported values are: {listing}.",
        param=param,
        code="invalid_value",
    )


_TYPE_NAMES = {
    "integer": "an integer",
    "number": "a decimal",
    "string": "a string",
    "boolean": "a boolean",
    "array": "an array",
    "object": "an object",
}


def _describe(instance: object) -> str:
    if instance is None:
        return "null"
    if isinstance(instance, bool):
        return "a boolean"
    if isinstance(instance, int):
        return "an integer"
    if isinstance(instance, float):
        return "a decimal"
    if isinstance(instance, str):
        return "a string"
    if isinstance(instance, list):
        return "an array"
    return "an object"


def _param(path: Iterable[object]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _join(param: str, name: str) -> str:
    return f"{param}.{name}" if param else name
