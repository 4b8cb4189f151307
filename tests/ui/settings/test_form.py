"""The settings dialog's fields, generated from the settings' metadata."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QGroupBox
from pytestqt.qtbot import QtBot

from app.core.redact import SecretRegistry
from app.core.secrets import KeyResolver
from app.core.settings import Group, Settings, Theme, dialog_settings
from app.core.settings_store import SettingsStore
from app.ui.connection import list_models_at
from app.ui.settings.dialog import SettingsDialog
from app.ui.settings.fields import CheckField
from tests.support.gui_session import MemorySecretStore, settle
from tests.support.qt import Runner


@pytest.fixture
def store(data_dir: Path) -> SettingsStore:
    return SettingsStore(data_dir / "settings.json")


@pytest.fixture
def dialog(qtbot: QtBot, run: Runner[Any], store: SettingsStore) -> SettingsDialog:
    keys = KeyResolver(MemorySecretStore(), {}, SecretRegistry())
    opened = SettingsDialog(store, keys, tester=list_models_at, models=["gpt-4o-mini"])
    qtbot.addWidget(opened)
    opened.open_at()
    qtbot.waitExposed(opened)
    run(settle(opened))
    return opened


def test_every_setting_with_a_group_has_a_field_named_and_explained_by_its_metadata(
    dialog: SettingsDialog,
) -> None:
    """The fields are the grouped settings, in order, each with its label, doc and problem note."""
    shown = [info for infos in dialog_settings().values() for info in infos]
    assert list(dialog.fields) == [info.name for info in shown]
    for info in shown:
        widget = dialog.fields[info.name]
        assert widget.accessibleName() == info.label
        assert widget.toolTip() == info.doc
        assert dialog.errors[info.name].objectName() == f"{info.name}Error"
        if isinstance(widget, CheckField):
            assert widget.text() == info.label
    # Settings without a group are edited in settings.json only.
    hidden = {f.name for f in fields(Settings)} - set(dialog.fields)
    assert hidden == {
        "request_timeout_s",
        "max_retries",
        "system_prompt",
        "image_detail",
        "log_level",
    }


def test_the_groups_are_boxes_titled_in_order(dialog: SettingsDialog) -> None:
    """One box per group, titled as the group, the API key section at the top of Connection."""
    boxes = [box.title() for box in dialog.findChildren(QGroupBox)]
    assert boxes == [group.value for group in Group]
    connection = dialog.findChildren(QGroupBox)[0]
    assert connection.isAncestorOf(dialog.key_edit)
    assert connection.isAncestorOf(dialog.base_url_edit)


def test_every_field_reads_back_the_value_it_was_loaded_with(
    run: Runner[Any], dialog: SettingsDialog, store: SettingsStore
) -> None:
    """Load then check gives the saved settings back; saving them unchanged writes no change."""
    changed = Settings(
        organization="org-abc",
        default_model="gpt-4o",
        theme=Theme.DARK,
        hotkey="ctrl+shift+k",
        close_to_tray=False,
        monthly_budget_usd=12.5,
        budget_hard_limit=True,
    )
    store.save(changed)
    dialog.load()

    values = dialog.form.checked_values()

    assert values == {name: getattr(changed, name) for name in dialog.fields}
    assert run(dialog.save())
    assert store.current == changed
