"""The parameter panel end to end: real widgets, the real client, the API simulator."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from app.core.catalog import REASONING_MODEL_REASON
from app.core.messages import Role
from app.core.params import ChatParams
from app.simulator import SimulatorServer
from app.ui.parameters.panel import ParameterPanel
from app.ui.parameters.rows import decode_stop, encode_stop
from tests.support.qt import MODEL, ChatWindow, Runner, wait_until
from tests.support.schema import schema_errors

PROMPT = "Name three rivers"
# What every streamed request carries whatever the panel says.
BASE_KEYS = {"model", "messages", "stream", "stream_options"}
SAMPLING = ("temperature", "top_p", "presence_penalty", "frequency_penalty")


@pytest.fixture
def chat(
    qtbot: QtBot, open_chat: Callable[..., ChatWindow], simulator: SimulatorServer
) -> ChatWindow:
    """A chat window on the simulator with the parameter panel open."""
    opened = open_chat(simulator.base_url)
    qtbot.mouseClick(opened.window.parameters_button, Qt.MouseButton.LeftButton)
    assert opened.window.parameter_dock.isVisible()
    return opened


def panel_of(chat: ChatWindow) -> ParameterPanel:
    return chat.window.parameter_panel


def send(qtbot: QtBot, run: Runner[Any], chat: ChatWindow, prompt: str = PROMPT) -> None:
    qtbot.keyClicks(chat.window.composer, prompt)
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)

    async def until_done() -> None:
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(until_done())


def sent_body(simulator: SimulatorServer) -> dict[str, Any]:
    """The last request the simulator received, checked against the official schema."""
    body: dict[str, Any] = simulator.requests[-1].body
    assert schema_errors(body) == []
    return body


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def test_untouched_controls_send_nothing(
    qtbot: QtBot, run: Runner[Any], chat: ChatWindow, simulator: SimulatorServer
) -> None:
    """With the panel open but untouched, the request holds no parameter at all."""
    send(qtbot, run, chat)
    assert set(sent_body(simulator)) == BASE_KEYS
    assert "Nothing set" in panel_of(chat).summary_label.text()
    assert not any(button.isEnabled() for button in panel_of(chat).reset_buttons.values())


def _temperature(qtbot: QtBot, panel: ParameterPanel) -> None:
    panel.number_rows["temperature"].slider.setValue(14)


def _top_p(qtbot: QtBot, panel: ParameterPanel) -> None:
    panel.number_rows["top_p"].spin.setValue(0.9)


def _presence(qtbot: QtBot, panel: ParameterPanel) -> None:
    panel.number_rows["presence_penalty"].slider.setValue(-20)


def _frequency(qtbot: QtBot, panel: ParameterPanel) -> None:
    panel.number_rows["frequency_penalty"].spin.setValue(0.5)


def _max_tokens(qtbot: QtBot, panel: ParameterPanel) -> None:
    panel.max_tokens_spin.setValue(500)


def _n(qtbot: QtBot, panel: ParameterPanel) -> None:
    panel.n_spin.setValue(2)


def _seed(qtbot: QtBot, panel: ParameterPanel) -> None:
    qtbot.keyClicks(panel.seed_edit, "-42")


def _one_stop(qtbot: QtBot, panel: ParameterPanel) -> None:
    qtbot.keyClicks(panel.stop_edits[0], "END")


def _two_stops(qtbot: QtBot, panel: ParameterPanel) -> None:
    qtbot.keyClicks(panel.stop_edits[0], "END")
    qtbot.keyClicks(panel.stop_edits[2], "\\n\\n")


def _json_mode(qtbot: QtBot, panel: ParameterPanel) -> None:
    click(qtbot, panel.json_check)


def _logprobs(qtbot: QtBot, panel: ParameterPanel) -> None:
    click(qtbot, panel.logprobs_check)
    panel.top_logprobs_spin.setValue(3)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (_temperature, {"temperature": 0.7}),
        (_top_p, {"top_p": 0.9}),
        (_presence, {"presence_penalty": -1.0}),
        (_frequency, {"frequency_penalty": 0.5}),
        (_max_tokens, {"max_tokens": 500}),
        (_n, {"n": 2}),
        (_seed, {"seed": -42}),
        (_one_stop, {"stop": "END"}),
        (_two_stops, {"stop": ["END", "\n\n"]}),
        (_json_mode, {"response_format": {"type": "json_object"}}),
        (_logprobs, {"logprobs": True, "top_logprobs": 3}),
    ],
    ids=lambda value: getattr(value, "__name__", "").strip("_") or None,
)
def test_each_control_reaches_the_request(
    qtbot: QtBot,
    run: Runner[Any],
    chat: ChatWindow,
    simulator: SimulatorServer,
    change: Callable[[QtBot, ParameterPanel], None],
    expected: dict[str, Any],
) -> None:
    """Changing one control sends exactly that parameter, in a schema-valid body."""
    change(qtbot, panel_of(chat))
    send(qtbot, run, chat, "Reply in JSON: name three rivers")
    body = sent_body(simulator)
    assert {k: v for k, v in body.items() if k not in BASE_KEYS} == expected
    assert chat.controller.conversation[-1].role is Role.ASSISTANT


def test_reset_returns_a_control_to_not_set(
    qtbot: QtBot, run: Runner[Any], chat: ChatWindow, simulator: SimulatorServer
) -> None:
    """Reset clears one control, Reset parameters clears them all; cleared ones send nothing."""
    panel = panel_of(chat)
    panel.number_rows["temperature"].slider.setValue(10)
    panel.max_tokens_spin.setValue(300)
    qtbot.keyClicks(panel.seed_edit, "7")
    reset = panel.reset_buttons["temperature"]
    assert reset.isEnabled()
    click(qtbot, reset)
    assert not reset.isEnabled()
    assert panel.number_rows["temperature"].spin.value() == 1.0
    send(qtbot, run, chat)
    assert {k: v for k, v in sent_body(simulator).items() if k not in BASE_KEYS} == {
        "max_tokens": 300,
        "seed": 7,
    }

    click(qtbot, panel.reset_all_button)
    assert chat.controller.params == ChatParams()
    assert panel.seed_edit.text() == ""
    assert panel.max_tokens_spin.text() == "default"
    send(qtbot, run, chat, "And three more")
    assert set(sent_body(simulator)) == BASE_KEYS


@pytest.mark.parametrize("model", ["o1", "o3-mini"])
def test_reasoning_models_disable_sampling_controls_and_drop_their_values(
    qtbot: QtBot, run: Runner[Any], chat: ChatWindow, simulator: SimulatorServer, model: str
) -> None:
    """On o1 / o3-mini sampling, penalties and logprobs are disabled, explained and not sent."""
    panel = panel_of(chat)
    for name in SAMPLING:
        panel.number_rows[name].slider.setValue(2)
    click(qtbot, panel.logprobs_check)
    assert not panel.reasoning_combo.isVisible()

    chat.window.model_combo.setCurrentText(model)
    disabled = [panel.logprobs_check, panel.top_logprobs_spin]
    for name in SAMPLING:
        disabled += [panel.number_rows[name].slider, panel.number_rows[name].spin]
    for widget in disabled:
        assert not widget.isEnabled()
        assert REASONING_MODEL_REASON in widget.toolTip()
        assert model in widget.toolTip()
    assert panel.reasoning_combo.isVisible()
    assert f"Not sent to {model}" in panel.summary_label.text()

    panel.max_tokens_spin.setValue(1000)
    qtbot.keyClicks(panel.reasoning_combo, "high")
    assert panel.reasoning_combo.currentText() == "high"
    send(qtbot, run, chat)
    body = sent_body(simulator)
    assert body["model"] == model
    assert {k: v for k, v in body.items() if k not in BASE_KEYS} == {
        "max_completion_tokens": 1000,
        "reasoning_effort": "high",
    }
    # The values stay with the conversation for a switch back.
    assert chat.controller.params.temperature == 0.1


def test_max_tokens_is_bounded_by_the_models_output_limit(chat: ChatWindow) -> None:
    """The max tokens spin box stops at the model's output limit and says which field it sets."""
    panel = panel_of(chat)
    assert panel.max_tokens_spin.maximum() == 16_384
    assert "max_tokens" in panel.max_tokens_spin.toolTip()
    chat.window.model_combo.setCurrentText("gpt-4-turbo")
    assert panel.max_tokens_spin.maximum() == 4_096
    chat.window.model_combo.setCurrentText("o1")
    assert panel.max_tokens_spin.maximum() == 100_000
    assert "max_completion_tokens" in panel.max_tokens_spin.toolTip()


def test_an_invalid_combination_shows_inline_and_on_send_in_the_banner_keeping_the_draft(
    qtbot: QtBot, run: Runner[Any], chat: ChatWindow, simulator: SimulatorServer
) -> None:
    """Top logprobs without logprobs is explained in the panel; sending shows it in the banner."""
    panel = panel_of(chat)
    assert not panel.problems_label.isVisible()
    panel.top_logprobs_spin.setValue(5)
    assert panel.problems_label.isVisible()
    assert "Top logprobs needs logprobs" in panel.problems_label.text()
    assert QApplication.activeModalWidget() is None

    send(qtbot, run, chat)
    assert simulator.requests == []
    banner = chat.window.banner
    assert banner.isVisible()
    assert banner.headline == "Top logprobs needs logprobs turned on."
    assert chat.window.composer.text() == PROMPT
    assert chat.controller.conversation == ()

    click(qtbot, panel.logprobs_check)
    assert not panel.problems_label.isVisible()


def test_json_mode_asks_for_json_in_a_message_until_the_draft_mentions_it(
    qtbot: QtBot, chat: ChatWindow
) -> None:
    """JSON mode without "json" in any message is flagged inline; typing it clears the flag."""
    panel = panel_of(chat)
    click(qtbot, panel.json_check)
    assert "JSON mode needs" in panel.problems_label.text()
    qtbot.keyClicks(chat.window.composer, "Answer as Json")
    assert not panel.problems_label.isVisible()
    chat.window.composer.clear()
    assert panel.problems_label.isVisible()
    qtbot.keyClicks(panel.system_prompt_edit, "You always answer in JSON.")
    assert not panel.problems_label.isVisible()


def test_system_prompt_is_sent_as_the_first_message(
    qtbot: QtBot, run: Runner[Any], chat: ChatWindow, simulator: SimulatorServer
) -> None:
    """The panel's multi-line system prompt leads the request's messages."""
    prompt = "You are terse.\nAnswer in one line."
    panel = panel_of(chat)
    panel.system_prompt_edit.setFocus()
    qtbot.keyClicks(panel.system_prompt_edit, "You are terse.")
    qtbot.keyClick(panel.system_prompt_edit, Qt.Key.Key_Return)
    qtbot.keyClicks(panel.system_prompt_edit, "Answer in one line.")
    send(qtbot, run, chat)
    messages = sent_body(simulator)["messages"]
    assert messages[0] == {"role": "system", "content": prompt}
    assert messages[1] == {"role": "user", "content": PROMPT}
    assert chat.controller.conversation[0].role is Role.SYSTEM


def test_a_new_chat_resets_parameters_system_prompt_and_model(
    qtbot: QtBot, run: Runner[Any], chat: ChatWindow, simulator: SimulatorServer
) -> None:
    """New chat starts from the defaults, and the panel and picker show them."""
    panel = panel_of(chat)
    chat.window.model_combo.setCurrentText("gpt-4o")
    panel.number_rows["temperature"].slider.setValue(4)
    qtbot.keyClicks(panel.stop_edits[1], "STOP")
    qtbot.keyClicks(panel.system_prompt_edit, "Be brief.")
    send(qtbot, run, chat)
    assert sent_body(simulator)["temperature"] == 0.2

    click(qtbot, chat.window.new_chat_button)
    assert chat.controller.params == ChatParams()
    assert chat.controller.system_prompt == ""
    assert chat.window.model_combo.currentText() == MODEL
    assert panel.number_rows["temperature"].spin.value() == 1.0
    assert [edit.text() for edit in panel.stop_edits] == ["", "", "", ""]
    assert panel.system_prompt_edit.toPlainText() == ""
    send(qtbot, run, chat)
    body = sent_body(simulator)
    assert set(body) == BASE_KEYS
    assert body["model"] == MODEL
    assert [m["role"] for m in body["messages"]] == ["user"]


def test_the_parameters_button_opens_and_closes_the_panel(qtbot: QtBot, chat: ChatWindow) -> None:
    """The toolbar button and the dock's close button agree on whether the panel is open."""
    window = chat.window
    click(qtbot, window.parameters_button)
    assert not window.parameter_dock.isVisible()
    click(qtbot, window.parameters_button)
    assert window.parameter_dock.isVisible()
    window.parameter_dock.close()
    assert not window.parameters_button.isChecked()


def test_stop_sequences_round_trip_their_escapes() -> None:
    """\\n and \\t typed in a stop field become a line break and a tab, and display back."""
    assert decode_stop(r"a\nb\tc\\n") == "a\nb\tc\\n"
    assert encode_stop("a\nb\tc\\n") == r"a\nb\tc\\n"
    assert decode_stop(r"\x") == r"\x"
