"""The model picker: catalog and server models, their tooltips, the on-disk list, unknown models."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.catalog import CATALOG, lookup
from app.core.model_list_cache import ModelListCache
from app.core.paths import AppPaths
from app.simulator import SimulatorServer
from app.ui.parameters.model_picker import ModelPicker, model_summary
from app.ui.widgets.status_bar import ConnectionState
from tests.end2end.test_application import keyless_context
from tests.support.qt import ChatWindow, Runner, wait_until
from tests.support.schema import schema_errors

LOCAL_MODEL = "llama3:8b"


def tooltip_of(picker: ModelPicker, model_id: str) -> str:
    index = picker.findText(model_id, Qt.MatchFlag.MatchExactly)
    assert index >= 0, model_id
    return str(picker.itemData(index, Qt.ItemDataRole.ToolTipRole))


def test_each_item_tooltip_shows_context_window_and_price(qtbot: QtBot) -> None:
    """Hovering a catalog model shows its context window, reply limit and price per million."""
    picker = ModelPicker(CATALOG, "gpt-4o-mini")
    qtbot.addWidget(picker)
    assert picker.model_ids() == list(CATALOG)
    tip = tooltip_of(picker, "gpt-4o")
    assert "128,000 tokens" in tip
    assert "16,384" in tip
    assert "$2.50 in" in tip
    assert "$10.00 out" in tip
    assert "Reasoning model" in tooltip_of(picker, "o3-mini")
    assert "gpt-4o-mini" in picker.toolTip()


def test_server_models_follow_the_catalog_and_keep_the_selection(qtbot: QtBot) -> None:
    """A server list adds its extra models after the catalog's without changing the pick."""
    picker = ModelPicker(CATALOG, "gpt-4o-mini")
    qtbot.addWidget(picker)
    picker.setCurrentText("o1")
    changes: list[str] = []
    picker.currentTextChanged.connect(changes.append)
    picker.set_server_models(["gpt-4o", "gpt-4o-2024-08-06", LOCAL_MODEL])
    assert picker.model_ids() == [*CATALOG, "gpt-4o-2024-08-06", LOCAL_MODEL]
    assert picker.currentText() == "o1"
    assert changes == []
    tip = tooltip_of(picker, LOCAL_MODEL)
    assert "Not in Chatdesk's catalog" in tip
    assert "Price unknown" in tip


def test_a_model_the_server_stops_listing_stays_selected(qtbot: QtBot) -> None:
    """The picked server model stays on offer when a later list no longer has it."""
    picker = ModelPicker(CATALOG, LOCAL_MODEL)
    qtbot.addWidget(picker)
    assert picker.currentText() == LOCAL_MODEL
    picker.set_server_models(["qwen2.5"])
    assert picker.currentText() == LOCAL_MODEL
    assert picker.model_ids()[-2:] == [LOCAL_MODEL, "qwen2.5"]


def test_summary_of_a_dated_snapshot_uses_its_familys_price() -> None:
    """A snapshot the server lists is priced like its family."""
    assert "$0.15 in" in model_summary(lookup("gpt-4o-mini-2024-07-18"))


@pytest.fixture
def local_simulator() -> Iterator[SimulatorServer]:
    """A simulator that also serves a model the catalog does not know."""
    with SimulatorServer(extra_models=[LOCAL_MODEL]) as server:
        yield server


def test_an_unknown_server_model_answers_with_default_parameters(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    local_simulator: SimulatorServer,
) -> None:
    """Picking a model only the server lists sends a plain, schema-valid request to it."""
    chat = open_chat(local_simulator.base_url)
    chat.window.model_combo.set_server_models([LOCAL_MODEL])
    chat.window.model_combo.setCurrentText(LOCAL_MODEL)
    panel = chat.window.parameter_panel
    assert panel.number_rows["temperature"].spin.isEnabled()
    assert panel.max_tokens_spin.maximum() == 8_192

    async def scenario() -> None:
        qtbot.keyClicks(chat.window.composer, "Hello local model")
        qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
        await wait_until(lambda: chat.controller.busy, "the reply to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())
    body = local_simulator.requests[-1].body
    assert body["model"] == LOCAL_MODEL
    assert schema_errors(body) == []
    assert chat.controller.conversation[-1].text
    assert not chat.window.banner.isVisible()


@pytest.fixture
def open_session(
    qtbot: QtBot, run: Runner[Any], data_dir: Path
) -> Iterator[Callable[[str], GuiSession]]:
    """Start the app's session on `data_dir` against a base URL that needs no key."""
    opened: list[GuiSession] = []

    def open_one(base_url: str) -> GuiSession:
        session = GuiSession(keyless_context(data_dir), base_url=base_url)
        qtbot.addWidget(session.window)
        session.window.show()
        qtbot.waitExposed(session.window)
        opened.append(session)
        return session

    yield open_one
    for session in opened:
        run(session.shutdown())


def test_the_servers_models_appear_in_the_picker_and_are_cached_on_disk(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[[str], GuiSession],
    local_simulator: SimulatorServer,
) -> None:
    """After connecting, the server's own models are offered and saved for the next start."""
    session = open_session(local_simulator.base_url)
    picker = session.window.model_combo
    assert LOCAL_MODEL not in picker.model_ids()

    async def scenario() -> None:
        await session.connect()
        await wait_until(lambda: LOCAL_MODEL in picker.model_ids(), "the server's models")

    run(scenario())
    assert "gpt-4o-2024-08-06" in picker.model_ids()
    cache = ModelListCache.in_cache_dir(AppPaths.under(data_dir).cache_dir)
    cached = cache.load(local_simulator.base_url)
    assert cached is not None
    assert LOCAL_MODEL in cached


def test_the_next_start_shows_cached_models_and_a_listing_failure_is_only_logged(
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[[str], GuiSession],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Cached models show even when listing fails; the failure is logged, not shown."""
    with SimulatorServer(api_key="sk-the-only-key") as server:
        base_url = server.base_url
        cache = ModelListCache.in_cache_dir(AppPaths.under(data_dir).cache_dir)
        cache.save(base_url, ["gpt-4o", LOCAL_MODEL])
        session = open_session(base_url)
        picker = session.window.model_combo

        async def scenario() -> None:
            await session.connect()
            await wait_until(
                lambda: "could not list the models" in caplog.text, "the listing to fail"
            )

        with caplog.at_level(logging.INFO, logger="app.core.model_list_cache"):
            run(scenario())
    assert LOCAL_MODEL in picker.model_ids()
    assert set(CATALOG) <= set(picker.model_ids())
    assert not session.window.banner.isVisible()
    assert session.window.status.connection_label.property("state") == ConnectionState.READY
    assert cache.load(base_url) == ["gpt-4o", LOCAL_MODEL]
