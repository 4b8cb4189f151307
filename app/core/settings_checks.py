"""The checks that make every `Settings` value valid: one per kind of setting.

Each check takes a value as it arrives (from settings.json, the dialog or the command line),
returns it normalised (text stripped, enums and numbers parsed), or raises `InvalidSetting` with
a headline and a remedy. No check lets through anything shaped like an API key: keys live in the
system keyring (see `app.core.secrets`), never in settings.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TypeVar
from urllib.parse import urlsplit

from app.core.problems import UserFacingError
from app.core.redact import redact

_E = TypeVar("_E", bound=StrEnum)


class InvalidSetting(UserFacingError):
    """A value a setting cannot take; `name` is the field it was meant for."""

    def __init__(self, name: str, headline: str, remedy: str = "") -> None:
        super().__init__(headline, remedy)
        self.name = name


KEY_IN_SETTINGS_REMEDY = (
    "API keys are kept in the system keyring, never in settings: "
    "use Settings → API key, or `chatdesk key set`"
)
_HOTKEY_MODIFIERS = frozenset({"ctrl", "alt", "shift", "super", "meta", "cmd"})
_MAX_SHOWN = 60


def shown(value: object) -> str:
    """A value as echoed in a message: redacted, and short enough for a status line."""
    text = redact(value if isinstance(value, str) else repr(value))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def check_text(
    name: str, label: str, value: object, *, single_line: bool = True, may_hold_key: bool = True
) -> str:
    """`value` as the text of setting `name` (one word unless `single_line` is False)."""
    if not isinstance(value, str):
        raise InvalidSetting(name, f"{label} must be text, not {shown(value)}")
    if may_hold_key and redact(value) != value:
        raise InvalidSetting(
            name, f"{label} looks like it contains an API key", KEY_IN_SETTINGS_REMEDY
        )
    text = value.strip() if single_line else value
    if single_line and any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidSetting(name, f"{label} must be one word without spaces: {shown(value)}")
    return text


def check_choice(name: str, label: str, value: object, enum: type[_E]) -> _E:
    """`value` as a member of `enum`, from its value's text."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return enum(value.strip())
    allowed = ", ".join(member.value for member in enum)
    raise InvalidSetting(name, f"{label} cannot be {shown(value)}", f"Use one of: {allowed}")


CREDENTIALS_IN_URL_REMEDY = (
    "Put the key in the keyring, not in the URL: remove the user name and password from the "
    "address, then store the key in Settings → API key, or with `chatdesk key set`"
)


def check_no_credentials(url: str, label: str = "Base URL") -> None:
    """Refuse a URL that carries a user name or password (`http://user:key@host/v1`).

    The SDK would send them nowhere useful, while every message naming the server would show
    them; so they are refused wherever a base URL comes from, before anything logs it.
    """
    # Any "@" before the path counts, even with no scheme ("user:key@host/v1") or an empty
    # user name, which urlsplit reports as no user name at all.
    after_scheme = url.strip().partition("://")[2] or url
    authority = re.split(r"[/?#]", after_scheme, maxsplit=1)[0]
    if "@" in authority:
        raise InvalidSetting(
            "base_url", f"{label} contains a user name or password", CREDENTIALS_IN_URL_REMEDY
        )


def check_base_url(value: object) -> str:
    """`value` as an API base URL (trailing slashes dropped), or `InvalidSetting`."""
    # Only the path is checked for a key: a host such as sk-prod-gateway-01.example.com looks
    # like one to the redactor, and a key pasted alone fails the URL checks (masked in them).
    text = check_text("base_url", "Base URL", value, may_hold_key=False)
    # First, so that no later message echoes the credentials (they are masked there anyway).
    check_no_credentials(text)
    parts = urlsplit(text)
    if redact(parts.path) != parts.path:
        raise InvalidSetting(
            "base_url", "Base URL looks like it contains an API key", KEY_IN_SETTINGS_REMEDY
        )
    example = "such as https://api.openai.com/v1 or http://localhost:11434/v1"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidSetting(
            "base_url",
            f"Base URL {shown(text)} is not an http:// or https:// address",
            f"Enter the API's base URL, {example}",
        )
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise InvalidSetting(
            "base_url", f"Base URL {shown(text)} has an invalid port", f"Use a URL {example}"
        ) from None
    if parts.query or parts.fragment:
        raise InvalidSetting(
            "base_url",
            "Base URL must not contain a query (?…) or fragment (#…)",
            f"Enter only the API's base URL, {example}",
        )
    return text.rstrip("/")


def check_optional_id(name: str, label: str) -> Callable[[object], str]:
    """The check of an ID that may be empty (organization, project)."""
    return lambda value: check_text(name, label, value)


def check_model(name: str, label: str) -> Callable[[object], str]:
    """The check of a model name: any one word, but not none."""

    def check(value: object) -> str:
        text = check_text(name, label, value)
        if not text:
            raise InvalidSetting(name, f"{label} cannot be empty", "Choose a model, e.g. gpt-4o")
        return text

    return check


def check_hotkey(value: object) -> str:
    """`value` as a global hotkey such as ctrl+alt+space, lower case; empty for none."""
    text = check_text("hotkey", "Hotkey", value).lower()
    if not text:
        return ""  # no global hotkey
    *modifiers, key = text.split("+")
    if (
        not modifiers
        or not set(modifiers) <= _HOTKEY_MODIFIERS
        or not key
        or key in _HOTKEY_MODIFIERS
        or not (key.isalnum() or len(key) == 1)
    ):
        raise InvalidSetting(
            "hotkey",
            f"Hotkey {shown(value)} is not a key combination",
            "Use one or more of ctrl, alt, shift, super, then a key, joined by + "
            "(e.g. ctrl+alt+space); leave it empty to turn the hotkey off",
        )
    return text


def check_timeout(value: object) -> float:
    """`value` as a request timeout in seconds, from 1 to 3600."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting("request_timeout_s", f"Timeout must be a number, not {shown(value)}")
    seconds = float(value)
    if not math.isfinite(seconds) or not 1 <= seconds <= 3600:
        raise InvalidSetting(
            "request_timeout_s",
            f"Timeout of {shown(value)} s is out of range",
            "Use between 1 and 3600 seconds",
        )
    return seconds


def check_retries(value: object) -> int:
    """`value` as a number of retries, from 0 to 10."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidSetting(
            "max_retries", f"Retries cannot be {shown(value)}", "Use a whole number from 0 to 10"
        )
    return value


def check_bool(name: str, label: str) -> Callable[[object], bool]:
    """The check of an on/off setting: JSON true or false, nothing else."""

    def check(value: object) -> bool:
        if not isinstance(value, bool):
            raise InvalidSetting(name, f"{label} must be true or false, not {shown(value)}")
        return value

    return check


MAX_MONTHLY_BUDGET_USD = 100_000


def check_monthly_budget(value: object) -> float | None:
    """`value` as a monthly budget in dollars, rounded to the cent; None (no budget) when empty.

    Text is accepted as typed in the settings dialog ("20", "$1,500.50"). The value is kept a
    float so settings.json holds a plain number; code that adds money converts it through its
    decimal text (see `app.core.budget`), as catalog prices are.
    """
    if value is None:
        return None
    amount: Decimal | None = None
    if isinstance(value, str):
        text = value.strip().removeprefix("$").replace(",", "").strip()
        if not text:
            return None
        with contextlib.suppress(ArithmeticError):  # decimal.InvalidOperation is one
            amount = Decimal(text)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        amount = Decimal(str(value))
    if amount is None or not amount.is_finite():
        raise InvalidSetting(
            "monthly_budget_usd",
            f"Monthly budget must be an amount in dollars, not {shown(value)}",
            "Enter a number such as 20 or 12.50, or leave it empty for no budget",
        )
    if not 0 <= amount <= MAX_MONTHLY_BUDGET_USD:
        raise InvalidSetting(
            "monthly_budget_usd",
            f"A monthly budget of {shown(value)} is out of range",
            f"Use an amount in dollars from 0 to {MAX_MONTHLY_BUDGET_USD:,}, or leave it empty "
            "for no budget",
        )
    # copy_abs: "-0" is a valid zero, but should not be saved as -0.0.
    return float(amount.copy_abs().quantize(Decimal("0.01"), ROUND_HALF_UP))
