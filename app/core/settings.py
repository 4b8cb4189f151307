"""Typed user settings, stored as JSON in `settings.json`, with validation and change events.

Every setting is a field of the frozen `Settings` dataclass with a type, a default, a label, a
doc and, for those the settings dialog shows, its group and widget kind (all in the field
metadata: `setting_info()` reads it, and the dialog is generated from it). A `Settings` value is
always valid: construction and `dataclasses.replace` check every field.

Loading never fails: a missing file gives the defaults, a bad value falls back to its default,
and a corrupt file is kept aside; each problem becomes a warning to show the user.

The API key is not a setting. It lives in the system keyring (see `app.core.secrets`), and no
setting may hold anything shaped like a key, so it can never reach this file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import urlsplit

from app.core.catalog import DEFAULT_MODEL
from app.core.messages import Detail
from app.core.problems import UserFacingError
from app.core.redact import redact

_E = TypeVar("_E", bound=StrEnum)


class Theme(StrEnum):
    SYSTEM = "system"
    LIGHT = "light"
    DARK = "dark"


class SendShortcut(StrEnum):
    """Which keys send the composed message (the other one inserts a newline)."""

    ENTER = "enter"
    CTRL_ENTER = "ctrl+enter"


class LogLevel(StrEnum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Group(StrEnum):
    """The settings dialog's sections, in the order shown; each value is its section's title."""

    CONNECTION = "Connection"
    CHAT = "Chat and appearance"
    QUICK_ASK = "Quick ask and tray"
    SPENDING = "Spending"


class Widget(StrEnum):
    """How the settings dialog edits a setting."""

    TEXT = "text"  # one line of text
    AMOUNT = "amount"  # dollars, typed as text and shown to the cent; empty for none
    MODEL = "model"  # a model name: one of the known models, or any other typed in
    CHOICE = "choice"  # one of the setting's `choices`
    CHECK = "check"  # a check box labelled with the setting's label


@dataclass(frozen=True)
class SettingInfo:
    """What a setting says about itself, for the dialog that edits it and for messages."""

    name: str
    label: str
    doc: str
    # None: not in the settings dialog (set in settings.json, or by the command line).
    group: Group | None = None
    widget: Widget = Widget.TEXT
    # The label beside the field in the dialog, `&` before the letter Alt jumps with.
    caption: str = ""
    placeholder: str = ""
    # CHOICE only: each value with the words the dialog shows for it.
    choices: tuple[tuple[StrEnum, str], ...] = ()


class InvalidSetting(UserFacingError):
    """A value a setting cannot take; `name` is the field it was meant for."""

    def __init__(self, name: str, headline: str, remedy: str = "") -> None:
        super().__init__(headline, remedy)
        self.name = name


class SettingsSaveError(UserFacingError):
    """settings.json could not be written."""


KEY_IN_SETTINGS_REMEDY = (
    "API keys are kept in the system keyring, never in settings: "
    "use Settings → API key, or `chatdesk key set`"
)
_HOTKEY_MODIFIERS = frozenset({"ctrl", "alt", "shift", "super", "meta", "cmd"})
_MAX_SHOWN = 60


def _shown(value: object) -> str:
    """A value as echoed in a message: redacted, and short enough for a status line."""
    text = redact(value if isinstance(value, str) else repr(value))
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _string(
    name: str, label: str, value: object, *, single_line: bool = True, may_hold_key: bool = True
) -> str:
    if not isinstance(value, str):
        raise InvalidSetting(name, f"{label} must be text, not {_shown(value)}")
    if may_hold_key and redact(value) != value:
        raise InvalidSetting(
            name, f"{label} looks like it contains an API key", KEY_IN_SETTINGS_REMEDY
        )
    text = value.strip() if single_line else value
    if single_line and any(ch.isspace() or not ch.isprintable() for ch in text):
        raise InvalidSetting(name, f"{label} must be one word without spaces: {_shown(value)}")
    return text


def _choice(name: str, label: str, value: object, enum: type[_E]) -> _E:
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return enum(value.strip())
    allowed = ", ".join(member.value for member in enum)
    raise InvalidSetting(name, f"{label} cannot be {_shown(value)}", f"Use one of: {allowed}")


def check_base_url(value: object) -> str:
    """`value` as an API base URL (trailing slashes dropped), or `InvalidSetting`."""
    # Only the path is checked for a key: a host such as sk-prod-gateway-01.example.com looks
    # like one to the redactor, and a key pasted alone fails the URL checks (masked in them).
    text = _string("base_url", "Base URL", value, may_hold_key=False)
    parts = urlsplit(text)
    if redact(parts.path) != parts.path:
        raise InvalidSetting(
            "base_url", "Base URL looks like it contains an API key", KEY_IN_SETTINGS_REMEDY
        )
    example = "such as https://api.openai.com/v1 or http://localhost:11434/v1"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidSetting(
            "base_url",
            f"Base URL {_shown(text)} is not an http:// or https:// address",
            f"Enter the API's base URL, {example}",
        )
    if parts.username is not None or parts.password is not None:
        raise InvalidSetting(
            "base_url",
            "Base URL contains a user name or password",
            "Remove it from the URL; the key belongs in the system keyring "
            "(Settings → API key, or `chatdesk key set`)",
        )
    try:
        parts.port  # noqa: B018 - parsing the port is the check
    except ValueError:
        raise InvalidSetting(
            "base_url", f"Base URL {_shown(text)} has an invalid port", f"Use a URL {example}"
        ) from None
    if parts.query or parts.fragment:
        raise InvalidSetting(
            "base_url",
            "Base URL must not contain a query (?…) or fragment (#…)",
            f"Enter only the API's base URL, {example}",
        )
    return text.rstrip("/")


def _check_optional_id(name: str, label: str) -> Callable[[object], str]:
    return lambda value: _string(name, label, value)


def _check_model(name: str, label: str) -> Callable[[object], str]:
    def check(value: object) -> str:
        text = _string(name, label, value)
        if not text:
            raise InvalidSetting(name, f"{label} cannot be empty", "Choose a model, e.g. gpt-4o")
        return text

    return check


def _check_hotkey(value: object) -> str:
    text = _string("hotkey", "Hotkey", value).lower()
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
            f"Hotkey {_shown(value)} is not a key combination",
            "Use one or more of ctrl, alt, shift, super, then a key, joined by + "
            "(e.g. ctrl+alt+space); leave it empty to turn the hotkey off",
        )
    return text


def _check_timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSetting("request_timeout_s", f"Timeout must be a number, not {_shown(value)}")
    seconds = float(value)
    if not math.isfinite(seconds) or not 1 <= seconds <= 3600:
        raise InvalidSetting(
            "request_timeout_s",
            f"Timeout of {_shown(value)} s is out of range",
            "Use between 1 and 3600 seconds",
        )
    return seconds


def _check_retries(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidSetting(
            "max_retries", f"Retries cannot be {_shown(value)}", "Use a whole number from 0 to 10"
        )
    return value


def _check_bool(name: str, label: str) -> Callable[[object], bool]:
    def check(value: object) -> bool:
        if not isinstance(value, bool):
            raise InvalidSetting(name, f"{label} must be true or false, not {_shown(value)}")
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
            f"Monthly budget must be an amount in dollars, not {_shown(value)}",
            "Enter a number such as 20 or 12.50, or leave it empty for no budget",
        )
    if not 0 <= amount <= MAX_MONTHLY_BUDGET_USD:
        raise InvalidSetting(
            "monthly_budget_usd",
            f"A monthly budget of {_shown(value)} is out of range",
            f"Use an amount in dollars from 0 to {MAX_MONTHLY_BUDGET_USD:,}, or leave it empty "
            "for no budget",
        )
    # copy_abs: "-0" is a valid zero, but should not be saved as -0.0.
    return float(amount.copy_abs().quantize(Decimal("0.01"), ROUND_HALF_UP))


def _meta(
    *,
    label: str,
    doc: str,
    check: Callable[[object], object],
    group: Group | None = None,
    widget: Widget = Widget.TEXT,
    caption: str = "",
    placeholder: str = "",
    choices: tuple[tuple[StrEnum, str], ...] = (),
) -> dict[str, Any]:
    # The name is filled in by `setting_info`: a field does not know its own name here.
    info = SettingInfo("", label, doc, group, widget, caption or label, placeholder, choices)
    return {"info": info, "check": check}


@dataclass(frozen=True)
class Settings:
    """Everything the user can configure. What a field says about itself: `setting_info()`."""

    # In the dialog, the fields of a group are shown in the order they are declared here.
    base_url: str = field(
        default="https://api.openai.com/v1",
        metadata=_meta(
            label="Base URL",
            doc="Where requests go: the OpenAI API, or any OpenAI-compatible server "
            "(llama.cpp, Ollama, vLLM…). Each base URL has its own API key in the keyring.",
            check=check_base_url,
            group=Group.CONNECTION,
            caption="&Base URL",
        ),
    )
    organization: str = field(
        default="",
        metadata=_meta(
            label="Organization",
            doc="OpenAI organization ID (org-…) sent with each request; empty uses the key's "
            "default.",
            check=_check_optional_id("organization", "Organization"),
            group=Group.CONNECTION,
            caption="&Organization",
            placeholder="org-… (optional)",
        ),
    )
    project: str = field(
        default="",
        metadata=_meta(
            label="Project",
            doc="OpenAI project ID (proj_…) sent with each request; empty uses the key's default.",
            check=_check_optional_id("project", "Project"),
            group=Group.CONNECTION,
            caption="&Project",
            placeholder="proj_… (optional)",
        ),
    )
    default_model: str = field(
        default=DEFAULT_MODEL,
        metadata=_meta(
            label="Default model",
            doc="The model a new conversation starts with.",
            check=_check_model("default_model", "Default model"),
            group=Group.CHAT,
            widget=Widget.MODEL,
            caption="Default &model",
        ),
    )
    send_shortcut: SendShortcut = field(
        default=SendShortcut.ENTER,
        metadata=_meta(
            label="Send with",
            doc="enter: Enter sends and Shift+Enter adds a line; ctrl+enter: Ctrl+Enter sends.",
            check=lambda v: _choice("send_shortcut", "Send shortcut", v, SendShortcut),
            group=Group.CHAT,
            widget=Widget.CHOICE,
            caption="&Send with",
            choices=(
                (SendShortcut.ENTER, "Enter (Shift+Enter adds a line)"),
                (SendShortcut.CTRL_ENTER, "Ctrl+Enter (Enter adds a line)"),
            ),
        ),
    )
    theme: Theme = field(
        default=Theme.SYSTEM,
        metadata=_meta(
            label="Theme",
            doc="system follows the desktop's light or dark mode.",
            check=lambda v: _choice("theme", "Theme", v, Theme),
            group=Group.CHAT,
            widget=Widget.CHOICE,
            caption="&Theme",
            choices=(
                (Theme.SYSTEM, "Same as the system"),
                (Theme.LIGHT, "Light"),
                (Theme.DARK, "Dark"),
            ),
        ),
    )
    hotkey: str = field(
        default="ctrl+alt+space",
        metadata=_meta(
            label="Quick ask hotkey",
            doc="Global shortcut that opens quick ask; empty turns it off. Where global hotkeys "
            "are unavailable (Wayland), bind `chatdesk --quick-ask` in the desktop settings.",
            check=_check_hotkey,
            group=Group.QUICK_ASK,
            caption="&Hotkey",
            placeholder="e.g. ctrl+alt+space (empty: no global hotkey)",
        ),
    )
    quick_ask_model: str = field(
        default="gpt-4o-mini",
        metadata=_meta(
            label="Quick ask model",
            doc="The model the quick-ask popup uses; a fast, cheap one suits short questions.",
            check=_check_model("quick_ask_model", "Quick ask model"),
            group=Group.QUICK_ASK,
            widget=Widget.MODEL,
            caption="Mo&del",
        ),
    )
    close_to_tray: bool = field(
        default=True,
        metadata=_meta(
            label="Keep running in the tray",
            doc="Closing the window keeps Chatdesk in the system tray so quick ask stays available "
            "(ignored where there is no tray).",
            check=_check_bool("close_to_tray", "Keep running in the tray"),
            group=Group.QUICK_ASK,
            widget=Widget.CHECK,
        ),
    )
    monthly_budget_usd: float | None = field(
        default=None,
        metadata=_meta(
            label="Monthly budget ($)",
            doc="What you mean to spend per calendar month, in US dollars, counting every "
            "request Chatdesk makes (window, quick ask and `chatdesk ask`). The status bar warns "
            "at 80% and when it is used up; empty means no budget.",
            check=check_monthly_budget,
            group=Group.SPENDING,
            widget=Widget.AMOUNT,
            caption="Monthly &budget ($)",
            placeholder="No budget",
        ),
    )
    budget_hard_limit: bool = field(
        default=False,
        metadata=_meta(
            label="Ask before going over the budget",
            doc="Before sending a request whose estimated cost (the prompt plus the longest "
            "reply it allows) would take this month past the budget, ask whether to send it.",
            check=_check_bool("budget_hard_limit", "Ask before going over the budget"),
            group=Group.SPENDING,
            widget=Widget.CHECK,
        ),
    )
    request_timeout_s: float = field(
        default=600.0,
        metadata=_meta(
            label="Request timeout (s)",
            doc="Seconds to wait for the server to send anything before giving up. Generous "
            "because reasoning models can think for minutes before their first token; you can "
            "always stop a reply yourself.",
            check=_check_timeout,
        ),
    )
    max_retries: int = field(
        default=2,
        metadata=_meta(
            label="Retries",
            doc="How often a request is retried after a connection error, a 429 or a 5xx, "
            "with backoff.",
            check=_check_retries,
        ),
    )
    system_prompt: str = field(
        default="",
        metadata=_meta(
            label="System prompt",
            doc="Instructions sent first in every new conversation; empty sends none.",
            check=lambda v: _string("system_prompt", "System prompt", v, single_line=False),
        ),
    )
    image_detail: Detail = field(
        default=Detail.AUTO,
        metadata=_meta(
            label="Image detail",
            doc="How closely the model looks at attached images: low is cheapest, high reads fine "
            "print and costs more tokens.",
            check=lambda v: _choice("image_detail", "Image detail", v, Detail),
        ),
    )
    log_level: LogLevel = field(
        default=LogLevel.INFO,
        metadata=_meta(
            label="Log level",
            doc="How much goes to the log file. Keys are always masked, at every level.",
            check=lambda v: _choice("log_level", "Log level", v, LogLevel),
        ),
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            # Frozen: normalising a value (str → enum, int → float) needs object.__setattr__.
            object.__setattr__(self, f.name, f.metadata["check"](getattr(self, f.name)))

    @staticmethod
    def describe(name: str) -> tuple[str, str]:
        """The label and doc of setting `name`."""
        info = setting_info(name)
        return info.label, info.doc

    def to_json(self) -> dict[str, Any]:
        """The settings that differ from their defaults, as JSON values.

        Defaults are not written, so a user who never changed a setting gets improved
        defaults from later versions.
        """
        defaults = Settings()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(defaults, f.name)
        }


def setting_info(name: str) -> SettingInfo:
    """What setting `name` says about itself; KeyError if there is no such setting."""
    for f in fields(Settings):
        if f.name == name:
            info: SettingInfo = f.metadata["info"]
            return replace(info, name=name)
    raise KeyError(name)


def dialog_settings() -> dict[Group, tuple[SettingInfo, ...]]:
    """The settings the dialog shows, by group: groups and fields in the order shown."""
    shown = [setting_info(f.name) for f in fields(Settings)]
    return {group: tuple(info for info in shown if info.group is group) for group in Group}


def check_setting(name: str, value: object) -> object:
    """`value` as setting `name` takes it (text normalised, enums and numbers parsed).

    Raises `InvalidSetting` for a value the setting cannot take, and KeyError for a name that
    is not a setting.
    """
    for f in fields(Settings):
        if f.name == name:
            return f.metadata["check"](value)
    raise KeyError(name)


# The settings a new client is needed for, and a connection test sends.
CONNECTION_FIELDS = frozenset(info.name for info in dialog_settings()[Group.CONNECTION])


@dataclass(frozen=True)
class SettingsChange:
    """What a settings change event carries: both values and the names of fields that differ."""

    old: Settings
    new: Settings
    changed: frozenset[str]


class LoadedSettings(NamedTuple):
    settings: Settings
    warnings: tuple[UserFacingError, ...]


SettingsListener = Callable[[SettingsChange], None]


class SettingsStore:
    """Reads and writes one `settings.json` and tells subscribers when the settings change.

    Not thread-safe: use it from one thread (the GUI thread); writes are small.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._current: Settings | None = None
        self._listeners: list[SettingsListener] = []

    @property
    def current(self) -> Settings:
        """The settings last loaded or saved (loading the file on first use)."""
        if self._current is None:
            return self.load().settings
        return self._current

    def load(self) -> LoadedSettings:
        """Read the file. Never raises for bad content: problems come back as warnings."""
        warnings: list[UserFacingError] = []
        raw = self._read(warnings)
        values: dict[str, Any] = {}
        for f in fields(Settings):
            if f.name not in raw:
                continue
            try:
                values[f.name] = f.metadata["check"](raw[f.name])
            except InvalidSetting as exc:
                warnings.append(
                    UserFacingError(
                        f"{exc.headline} (in {self.path.name}); using the default "
                        f"{_shown(f.default) or '(empty)'}",
                        exc.remedy,
                    )
                )
        if any("key" in name.lower() and "api" in name.lower() for name in raw):
            warnings.append(
                UserFacingError(
                    f"{self.path.name} contains an API key entry; it is ignored and removed "
                    "on the next save",
                    KEY_IN_SETTINGS_REMEDY,
                )
            )
        settings = Settings(**values)
        self._set_current(settings)
        return LoadedSettings(settings, tuple(warnings))

    def save(self, settings: Settings) -> None:
        """Write `settings` atomically: a crash leaves the old file or the new, never half."""
        text = json.dumps(settings.to_json(), indent=2, sort_keys=True) + "\n"
        try:
            _write_atomically(self.path, text)
        except OSError as exc:
            raise SettingsSaveError(
                f"Could not save settings: {redact(exc.strerror or str(exc))}",
                f"Check that {self.path.parent} exists, is writable, and the disk is not full",
            ) from exc
        self._set_current(settings)

    def update(self, **changes: Any) -> Settings:
        """Validate `changes` against the current settings, save, and return the result.

        Raises `InvalidSetting` for a bad value (nothing is saved) and `TypeError` for a name
        that is not a setting.
        """
        current = self.current
        updated = replace(current, **changes)
        if updated != current:
            self.save(updated)
        return updated

    def subscribe(self, listener: SettingsListener) -> Callable[[], None]:
        """Call `listener` after every change; returns a function that unsubscribes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _set_current(self, settings: Settings) -> None:
        old, self._current = self._current, settings
        if old is None or old == settings:
            return
        changed = frozenset(
            f.name for f in fields(Settings) if getattr(old, f.name) != getattr(settings, f.name)
        )
        event = SettingsChange(old, settings, changed)
        for listener in list(self._listeners):
            listener(event)

    def _read(self, warnings: list[UserFacingError]) -> dict[str, Any]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            warnings.append(
                UserFacingError(
                    f"Could not read {self.path.name}: {redact(exc.strerror or str(exc))}; "
                    "using default settings",
                    f"Check the permissions of {self.path}",
                )
            )
            return {}
        try:
            parsed = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            parsed = None
        if isinstance(parsed, dict):
            return parsed
        aside = self._keep_aside()
        warnings.append(
            UserFacingError(
                f"{self.path.name} was unreadable and has been reset to defaults",
                f"The old file was kept as {aside.name}" if aside else "",
            )
        )
        return {}

    def _keep_aside(self) -> Path | None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for attempt in range(100):
            suffix = f"-{attempt}" if attempt else ""
            target = self.path.with_name(f"{self.path.name}.corrupt-{stamp}{suffix}")
            if target.exists():
                continue
            try:
                os.replace(self.path, target)
            except OSError:
                return None
            return target
        return None


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows cannot open a directory this way.
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
