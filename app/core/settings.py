"""Typed user settings: what each one is, its default, and what it says about itself.

Every setting is a field of the frozen `Settings` dataclass with a type, a default, a label, a
doc and, for those the settings dialog shows, its group and widget kind (all in the field
metadata: `setting_info()` reads it, and the dialog is generated from it). A `Settings` value is
always valid: construction and `dataclasses.replace` run every field's check (they are in
`app.core.settings_checks`). `app.core.settings_store` keeps them in `settings.json`.

The API key is not a setting. It lives in the system keyring (see `app.core.secrets`), and no
setting may hold anything shaped like a key, so it can never reach that file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from enum import StrEnum
from typing import Any

from app.core.catalog import DEFAULT_MODEL
from app.core.messages import Detail
from app.core.settings_checks import (
    check_base_url,
    check_bool,
    check_choice,
    check_hotkey,
    check_model,
    check_monthly_budget,
    check_optional_id,
    check_retries,
    check_text,
    check_timeout,
)


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
            check=check_optional_id("organization", "Organization"),
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
            check=check_optional_id("project", "Project"),
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
            check=check_model("default_model", "Default model"),
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
            check=lambda v: check_choice("send_shortcut", "Send shortcut", v, SendShortcut),
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
            check=lambda v: check_choice("theme", "Theme", v, Theme),
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
            check=check_hotkey,
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
            check=check_model("quick_ask_model", "Quick ask model"),
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
            check=check_bool("close_to_tray", "Keep running in the tray"),
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
            check=check_bool("budget_hard_limit", "Ask before going over the budget"),
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
            check=check_timeout,
        ),
    )
    max_retries: int = field(
        default=2,
        metadata=_meta(
            label="Retries",
            doc="How often a request is retried after a connection error, a 429 or a 5xx, "
            "with backoff.",
            check=check_retries,
        ),
    )
    system_prompt: str = field(
        default="",
        metadata=_meta(
            label="System prompt",
            doc="Instructions sent first in every new conversation; empty sends none.",
            check=lambda v: check_text("system_prompt", "System prompt", v, single_line=False),
        ),
    )
    image_detail: Detail = field(
        default=Detail.AUTO,
        metadata=_meta(
            label="Image detail",
            doc="How closely the model looks at attached images: low is cheapest, high reads fine "
            "print and costs more tokens.",
            check=lambda v: check_choice("image_detail", "Image detail", v, Detail),
        ),
    )
    log_level: LogLevel = field(
        default=LogLevel.INFO,
        metadata=_meta(
            label="Log level",
            doc="How much goes to the log file. Keys are always masked, at every level.",
            check=lambda v: check_choice("log_level", "Log level", v, LogLevel),
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
