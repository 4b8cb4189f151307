"""Typed settings: defaults, validation, tolerant loading, atomic saves, change events."""

from __future__ import annotations

import errno
import json
import os
import stat
import typing
from dataclasses import fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest

from app.core.catalog import DEFAULT_MODEL
from app.core.connection import resolve_base_url
from app.core.messages import Detail
from app.core.problems import UserFacingError
from app.core.settings import (
    CONNECTION_FIELDS,
    SendShortcut,
    Settings,
    Theme,
    Widget,
    dialog_settings,
    setting_info,
)
from app.core.settings_checks import InvalidSetting, check_base_url
from app.core.settings_store import SettingsChange, SettingsSaveError, SettingsStore

KEY = "sk-proj-" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5mN7pQ9rS1tU3v"


@pytest.fixture
def store(tmp_path: Path) -> SettingsStore:
    return SettingsStore(tmp_path / "config" / "settings.json")


def write_json(store: SettingsStore, data: object) -> None:
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text(json.dumps(data), "utf-8")


def test_defaults() -> None:
    """The defaults are the documented ones."""
    settings = Settings()
    assert settings.base_url == "https://api.openai.com/v1"
    assert (settings.organization, settings.project) == ("", "")
    assert settings.default_model == DEFAULT_MODEL
    assert settings.quick_ask_model == "gpt-4o-mini"
    assert settings.send_shortcut is SendShortcut.ENTER
    assert settings.theme is Theme.SYSTEM
    assert settings.hotkey == "ctrl+alt+space"
    assert settings.request_timeout_s >= 60
    assert settings.max_retries == 2


def test_every_setting_has_a_type_default_label_and_doc() -> None:
    """Each field documents itself for the settings dialog."""
    for f in fields(Settings):
        label, doc = Settings.describe(f.name)
        assert f.type and label and len(doc) > 20, f.name


def test_every_setting_in_the_dialog_declares_a_widget_its_type_fits() -> None:
    """Yes/no settings are check boxes, enum settings offer every member, each has a caption."""
    types = typing.get_type_hints(Settings)
    groups = dialog_settings()
    assert all(groups.values())
    for info in (info for infos in groups.values() for info in infos):
        kind = types[info.name]
        assert info.caption and info.name == setting_info(info.name).name, info.name
        assert (info.widget is Widget.CHECK) == (kind is bool), info.name
        if isinstance(kind, type) and issubclass(kind, StrEnum):
            assert info.widget is Widget.CHOICE, info.name
            assert [value for value, _ in info.choices] == list(kind), info.name


def test_the_connection_group_holds_what_a_client_is_built_from() -> None:
    """Changing one of these needs a new client; a connection test sends them."""
    assert frozenset({"base_url", "organization", "project"}) == CONNECTION_FIELDS


def test_no_setting_can_hold_an_api_key() -> None:
    """There is no key field, and no text setting accepts something shaped like a key."""
    assert not any("api_key" in f.name or f.name == "key" for f in fields(Settings))
    for name in ("organization", "project", "default_model", "system_prompt"):
        change: dict[str, Any] = {name: KEY}
        with pytest.raises(InvalidSetting, match="API key") as raised:
            replace(Settings(), **change)
        assert KEY not in str(raised.value)


def test_key_pasted_as_base_url_is_refused_without_echoing_it() -> None:
    """A key typed into the base URL field is recognised as one, and the message masks it."""
    with pytest.raises(InvalidSetting, match="API key") as raised:
        replace(Settings(), base_url=KEY)
    assert KEY not in str(raised.value)


def test_key_in_the_base_url_path_is_refused() -> None:
    """A key appended to the base URL's path would be saved to the file: it is refused."""
    with pytest.raises(InvalidSetting, match="API key") as raised:
        replace(Settings(), base_url=f"https://example.com/v1/{KEY}")
    assert KEY not in str(raised.value)


def test_base_url_host_starting_with_sk_is_accepted() -> None:
    """A host name that happens to start with `sk-` is a valid base URL."""
    url = "https://sk-prod-inference-gateway.example.com/v1"
    assert replace(Settings(), base_url=url).base_url == url


def test_missing_file_gives_defaults_without_warnings(store: SettingsStore) -> None:
    """A first start loads the defaults and writes nothing."""
    loaded = store.load()
    assert loaded == (Settings(), ())
    assert not store.path.exists()


def test_save_and_load_round_trip(store: SettingsStore) -> None:
    """Saved settings load back equal, from a new store on the same file."""
    changed = replace(Settings(), theme=Theme.DARK, max_retries=5, system_prompt="Be brief.\n")
    store.save(changed)
    assert SettingsStore(store.path).load() == (changed, ())


def test_file_holds_only_changed_settings_as_plain_json(store: SettingsStore) -> None:
    """Only values that differ from the defaults are written, so new defaults reach users."""
    store.save(replace(Settings(), theme=Theme.LIGHT, send_shortcut=SendShortcut.CTRL_ENTER))
    assert json.loads(store.path.read_text("utf-8")) == {
        "send_shortcut": "ctrl+enter",
        "theme": "light",
    }


def test_unknown_keys_are_ignored(store: SettingsStore) -> None:
    """Keys from a newer or older version do not stop the rest from loading."""
    write_json(store, {"theme": "dark", "window_geometry": [1, 2, 3, 4]})
    settings, warnings = store.load()
    assert settings.theme is Theme.DARK
    assert warnings == ()


def test_bad_values_fall_back_to_defaults_with_warnings(store: SettingsStore) -> None:
    """Each wrong-typed or invalid value is replaced by its default and reported."""
    write_json(
        store,
        {
            "theme": "purple",
            "max_retries": "two",
            "request_timeout_s": -5,
            "base_url": "ftp://example.com",
            "close_to_tray": "yes",
            "default_model": "gpt-4o",
        },
    )
    settings, warnings = store.load()
    defaults = Settings()
    assert settings == replace(defaults, default_model="gpt-4o")
    assert len(warnings) == 5
    assert all(isinstance(w, UserFacingError) for w in warnings)
    text = "\n".join(str(w) for w in warnings)
    for fragment in ("purple", "two", "ftp://example.com", "using the default"):
        assert fragment in text


def test_corrupt_file_is_kept_aside(store: SettingsStore) -> None:
    """Unparseable JSON is renamed settings.json.corrupt-<timestamp> and defaults are used."""
    store.path.parent.mkdir(parents=True)
    store.path.write_text('{"theme": "dark",', "utf-8")
    settings, warnings = store.load()
    assert settings == Settings()
    (aside,) = store.path.parent.glob("settings.json.corrupt-*")
    assert aside.read_text("utf-8") == '{"theme": "dark",'
    assert not store.path.exists()
    assert len(warnings) == 1 and aside.name in warnings[0].remedy


def test_json_that_is_not_an_object_counts_as_corrupt(store: SettingsStore) -> None:
    """A JSON list or string is not settings: it is kept aside like a corrupt file."""
    write_json(store, ["theme", "dark"])
    settings, warnings = store.load()
    assert settings == Settings() and len(warnings) == 1
    assert len(list(store.path.parent.glob("settings.json.corrupt-*"))) == 1


def test_api_key_found_in_the_file_is_ignored_and_dropped(store: SettingsStore) -> None:
    """A key someone put in settings.json is not used, is reported, and vanishes on save."""
    write_json(store, {"api_key": KEY, "theme": "dark"})
    settings, warnings = store.load()
    assert settings.theme is Theme.DARK
    assert len(warnings) == 1 and "chatdesk key set" in warnings[0].remedy
    assert KEY not in str(warnings[0])
    store.update(theme=Theme.LIGHT)
    assert KEY not in store.path.read_text("utf-8")


def test_update_validates_and_saves(store: SettingsStore) -> None:
    """update() converts text to the setting's type, saves, and returns the new settings."""
    updated = store.update(theme="dark", request_timeout_s=90, hotkey=" Ctrl+Shift+K ")
    assert (updated.theme, updated.request_timeout_s, updated.hotkey) == (
        Theme.DARK,
        90.0,
        "ctrl+shift+k",
    )
    assert SettingsStore(store.path).load().settings == updated


@pytest.mark.parametrize(
    ("changes", "headline"),
    [
        ({"base_url": "api.openai.com/v1"}, "not an http:// or https:// address"),
        ({"base_url": "file:///etc/passwd"}, "not an http:// or https:// address"),
        ({"base_url": "https://user:pw@example.com/v1"}, "user name or password"),
        ({"base_url": "https://example.com/v1?x=1"}, "query"),
        ({"base_url": "https://example.com:99999/v1"}, "invalid port"),
        ({"theme": "purple"}, "Theme cannot be"),
        ({"send_shortcut": "shift+enter"}, "Send shortcut cannot be"),
        ({"max_retries": True}, "Retries cannot be"),
        ({"max_retries": 11}, "Retries cannot be"),
        ({"request_timeout_s": float("nan")}, "out of range"),
        ({"hotkey": "space"}, "not a key combination"),
        ({"hotkey": "ctrl+alt"}, "not a key combination"),
        ({"default_model": ""}, "cannot be empty"),
        ({"organization": "org one"}, "without spaces"),
        ({"image_detail": "ultra"}, "Image detail cannot be"),
    ],
)
def test_update_rejects_invalid_values(
    store: SettingsStore, changes: dict[str, object], headline: str
) -> None:
    """An invalid value raises a user-facing error naming the setting; nothing is saved."""
    with pytest.raises(InvalidSetting) as raised:
        store.update(**changes)
    assert headline in raised.value.headline
    assert raised.value.name == next(iter(changes))
    assert store.current == Settings()
    assert not store.path.exists()


def test_update_of_an_unknown_setting_is_a_bug(store: SettingsStore) -> None:
    """A misspelt or invented name (api_key included) raises TypeError."""
    with pytest.raises(TypeError):
        store.update(api_key=KEY)
    assert not store.path.exists()


def test_accepted_values_are_normalised() -> None:
    """Base URLs lose trailing slashes; an empty hotkey turns the hotkey off."""
    text_values: dict[str, Any] = {
        "base_url": " http://localhost:11434/v1/ ",
        "hotkey": "",
        "image_detail": "high",
    }
    settings = replace(Settings(), **text_values)
    assert settings.base_url == "http://localhost:11434/v1"
    assert settings.hotkey == ""
    assert settings.image_detail is Detail.HIGH


def test_save_is_atomic_and_private(store: SettingsStore) -> None:
    """A save replaces the file whole, leaves no temporary file, and is owner-only."""
    store.save(replace(Settings(), theme=Theme.DARK))
    store.save(replace(Settings(), theme=Theme.LIGHT))
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]
    if os.name == "posix":
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600


def test_failed_save_keeps_the_old_file(
    store: SettingsStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the disk fails mid-save, the previous settings survive and the error is user-facing."""
    store.save(replace(Settings(), theme=Theme.DARK))
    before = store.path.read_bytes()

    def disk_full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(SettingsSaveError, match="No space left"):
        store.update(theme=Theme.LIGHT)
    assert store.path.read_bytes() == before
    assert [p.name for p in store.path.parent.iterdir()] == ["settings.json"]
    assert store.current.theme is Theme.DARK


def test_unwritable_location_is_a_user_facing_error(tmp_path: Path) -> None:
    """Saving where a file blocks the directory gives a headline and a remedy."""
    (tmp_path / "config").write_text("not a directory", "utf-8")
    with pytest.raises(SettingsSaveError) as raised:
        SettingsStore(tmp_path / "config" / "settings.json").save(Settings())
    assert raised.value.remedy


def test_subscribers_hear_about_changes(store: SettingsStore) -> None:
    """A change notifies subscribers with the old and new settings and the changed names."""
    events: list[SettingsChange] = []
    store.subscribe(events.append)
    store.load()
    store.update(theme=Theme.DARK, max_retries=3)
    store.update(theme=Theme.DARK)
    assert len(events) == 1
    assert events[0].changed == {"theme", "max_retries"}
    assert (events[0].old.theme, events[0].new.theme) == (Theme.SYSTEM, Theme.DARK)


def test_unsubscribe_stops_notifications(store: SettingsStore) -> None:
    """After unsubscribing, a listener hears nothing; unsubscribing twice is harmless."""
    events: list[SettingsChange] = []
    unsubscribe = store.subscribe(events.append)
    unsubscribe()
    unsubscribe()
    store.update(theme=Theme.DARK)
    assert events == []


def test_reload_notifies_when_the_file_changed(store: SettingsStore) -> None:
    """Loading again after the file was edited elsewhere notifies subscribers."""
    store.load()
    events: list[SettingsChange] = []
    store.subscribe(events.append)
    write_json(store, {"theme": "light"})
    store.load()
    assert [e.changed for e in events] == [frozenset({"theme"})]


def test_no_monthly_budget_and_no_hard_limit_by_default() -> None:
    """A new user has no budget and is never asked before sending."""
    settings = Settings()
    assert settings.monthly_budget_usd is None
    assert settings.budget_hard_limit is False


@pytest.mark.parametrize(
    ("typed", "budget"),
    [("20", 20.0), (" $1,500.50 ", 1500.5), ("12.345", 12.35), ("0", 0.0), ("", None)],
)
def test_monthly_budget_accepts_amounts_as_typed(typed: str, budget: float | None) -> None:
    """Dollar signs and thousands separators are fine, cents are kept, empty means no budget."""
    assert replace(Settings(), monthly_budget_usd=typed).monthly_budget_usd == budget


@pytest.mark.parametrize(
    ("value", "headline"),
    [
        ("twenty", "must be an amount in dollars"),
        ("nan", "must be an amount in dollars"),
        (True, "must be an amount in dollars"),
        ([20], "must be an amount in dollars"),
        (-5, "out of range"),
        ("1000001", "out of range"),
    ],
)
def test_monthly_budget_rejects_what_is_not_an_amount(value: object, headline: str) -> None:
    """Words, negative and absurd amounts are refused with a remedy that says what to enter."""
    with pytest.raises(InvalidSetting) as raised:
        replace(Settings(), monthly_budget_usd=value)
    assert headline in raised.value.headline
    assert "leave it empty for no budget" in raised.value.remedy
    assert raised.value.name == "monthly_budget_usd"


def test_budget_is_saved_as_a_plain_number(store: SettingsStore) -> None:
    """settings.json holds the budget as a JSON number and the hard limit as true."""
    store.update(monthly_budget_usd="25.50", budget_hard_limit=True)
    assert json.loads(store.path.read_text("utf-8")) == {
        "budget_hard_limit": True,
        "monthly_budget_usd": 25.5,
    }
    settings, warnings = SettingsStore(store.path).load()
    assert (settings.monthly_budget_usd, settings.budget_hard_limit, warnings) == (25.5, True, ())


@pytest.mark.parametrize(
    "url",
    [
        "https://user:pw-secret-1@example.com/v1",
        "https://only-a-user@example.com/v1",
        "https://@example.com/v1",
        "ftp://user:pw-secret-1@example.com/v1",
        "user:pw-secret-1@example.com/v1",
    ],
)
def test_base_url_with_credentials_is_refused_with_where_the_key_belongs(url: str) -> None:
    """A user name or password in the base URL is refused, pointing to the keyring."""
    with pytest.raises(InvalidSetting) as raised:
        check_base_url(url)
    assert raised.value.headline == "Base URL contains a user name or password"
    assert raised.value.remedy.startswith("Put the key in the keyring, not in the URL")
    assert "pw-secret-1" not in str(raised.value) and "only-a-user" not in str(raised.value)


def test_an_at_sign_in_the_path_is_not_a_credential() -> None:
    """Only an "@" before the path means userinfo; one in the path is an ordinary character."""
    assert check_base_url("https://example.com/team@eu/v1") == "https://example.com/team@eu/v1"


@pytest.mark.parametrize(
    ("environ", "override", "label"),
    [
        ({"OPENAI_BASE_URL": "http://user:pw-secret-1@localhost:8080/v1"}, None, "OPENAI_BASE_URL"),
        ({}, "http://user:pw-secret-1@localhost:8080/v1", "--base-url"),
    ],
    ids=["environment", "flag"],
)
def test_base_url_with_credentials_from_outside_settings_is_refused(
    environ: dict[str, str], override: str | None, label: str
) -> None:
    """OPENAI_BASE_URL and --base-url are not checked like settings, but credentials are refused."""
    with pytest.raises(InvalidSetting) as raised:
        resolve_base_url(Settings(), environ, override)
    assert label in raised.value.headline and "user name or password" in raised.value.headline
    assert "Put the key in the keyring, not in the URL" in raised.value.remedy
    assert "pw-secret-1" not in str(raised.value)


def test_base_url_from_the_environment_without_credentials_is_used() -> None:
    """An ordinary OPENAI_BASE_URL still wins over the saved setting, trailing slash dropped."""
    environ = {"OPENAI_BASE_URL": "http://localhost:8080/v1/"}
    assert resolve_base_url(Settings(), environ, None) == "http://localhost:8080/v1"
