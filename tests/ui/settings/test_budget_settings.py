"""The monthly budget in the settings dialog: typed as an amount, checked, saved with the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from app.core.redact import SecretRegistry
from app.core.secrets import KeyResolver
from app.core.settings_store import SettingsStore
from app.ui.connection import list_models_at
from app.ui.settings.dialog import SettingsDialog
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
    opened.open_at("monthly_budget_usd")
    qtbot.waitExposed(opened)
    run(settle(opened))
    return opened


def test_the_dialog_opens_at_the_budget_when_asked_for_it(dialog: SettingsDialog) -> None:
    """The Usage window's Budget… button lands the cursor in the budget field, empty at first."""
    assert dialog.focusWidget() is dialog.budget_edit
    assert dialog.budget_edit.text() == ""
    assert dialog.budget_edit.placeholderText() == "No budget"
    assert not dialog.hard_limit_check.isChecked()


def test_a_typed_budget_and_the_hard_limit_are_saved(
    qtbot: QtBot, run: Runner[Any], dialog: SettingsDialog, store: SettingsStore
) -> None:
    """ "$25.5" and the ticked box are saved as a $25.50 budget with a hard limit."""
    qtbot.keyClicks(dialog.budget_edit, "$25.5")
    # Scrolled to, as a user would, when the dialog is shorter than its fields.
    dialog.scroll_area.ensureWidgetVisible(dialog.hard_limit_check)
    box = dialog.hard_limit_check
    # On the box itself: the check box is wider than its label, and only those respond.
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert run(dialog.save())
    assert store.current.monthly_budget_usd == 25.5
    assert store.current.budget_hard_limit is True
    dialog.close()
    dialog.open_at()
    run(settle(dialog))
    assert dialog.budget_edit.text() == "25.50"
    assert dialog.hard_limit_check.isChecked()


def test_a_budget_that_is_not_an_amount_is_explained_and_nothing_is_saved(
    qtbot: QtBot, run: Runner[Any], dialog: SettingsDialog, store: SettingsStore
) -> None:
    """A word in the budget field shows what to enter under it; no setting changes."""
    qtbot.keyClicks(dialog.budget_edit, "twenty")
    assert not run(dialog.save())
    error = dialog.errors["monthly_budget_usd"]
    assert error.isVisible()
    assert "Monthly budget must be an amount in dollars" in error.text()
    assert "leave it empty for no budget" in error.text()
    assert store.current.monthly_budget_usd is None
    assert not store.path.exists()


def test_emptying_the_field_removes_the_budget(
    qtbot: QtBot, run: Runner[Any], dialog: SettingsDialog, store: SettingsStore
) -> None:
    """Clearing a saved budget means no budget again, not $0."""
    store.update(monthly_budget_usd=40)
    dialog.load()
    assert dialog.budget_edit.text() == "40.00"
    dialog.budget_edit.clear()
    assert run(dialog.save())
    assert store.current.monthly_budget_usd is None
