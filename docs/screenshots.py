"""Screenshots of the real app in a real X11 window, for the README and for looking at.

Run through `scripts/screenshots` (it starts Xvfb). Each scene drives the real window the way a
user would — typing into the composer and pressing Enter, attaching files — against the
simulator, then captures the window with ImageMagick's `import`.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageDraw
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor, QTextDocument
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.application import GuiSession, run_event_loop
from app.core.catalog import lookup
from app.core.messages import ChatMessage
from app.core.paths import AppPaths
from app.core.redact import SecretRegistry
from app.core.settings import Theme
from app.core.settings_store import SettingsStore
from app.core.store.database import open_database
from app.core.store.ledger import Source, UsageLedger
from app.core.usage import Usage
from app.simulator import Fault, SimulatorServer
from app.ui.widgets.theme import ThemeController
from app.wiring import AppContext

OUT = Path(__file__).resolve().parent / "screenshots"
FAKE_KEY = "sk-proj-screenshots000000000000000000000000"


class _NoKeyring:
    backend_name = "none"

    def get(self, account: str) -> str | None:
        return None

    def set(self, account: str, secret: str) -> None:
        raise RuntimeError("screenshots never store keys")

    def delete(self, account: str) -> bool:
        return False


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the window did not get there in time")
        await asyncio.sleep(0.02)


async def pause(seconds: float) -> None:
    await asyncio.sleep(seconds)


def capture(session: GuiSession, name: str) -> None:
    QApplication.processEvents()
    window_id = str(int(session.window.winId()))
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(["import", "-window", window_id, str(OUT / f"{name}.png")], check=True)
    print(f"wrote {OUT / name}.png")


async def ask(session: GuiSession, prompt: str) -> None:
    composer = session.window.composer
    composer.setFocus()
    QTest.keyClicks(composer, prompt)
    QTest.keyClick(composer, Qt.Key.Key_Return)
    await until(lambda: session.controller.busy)


async def answered(session: GuiSession) -> None:
    await until(lambda: not session.controller.busy, 60)
    await pause(0.4)


async def quick_ask(session: GuiSession, question: str) -> None:
    """The quick-ask popup with a streamed answer, captured on its own."""
    companion = session.companion
    companion.open_quick_ask()
    await until(companion.popup.isVisible)
    QTest.keyClicks(companion.popup.input, question)
    QTest.keyClick(companion.popup.input, Qt.Key.Key_Return)
    await until(lambda: companion.quick_ask.busy)
    await until(lambda: not companion.quick_ask.busy, 60)
    await pause(0.4)
    QApplication.processEvents()
    window_id = str(int(companion.popup.winId()))
    subprocess.run(["import", "-window", window_id, str(OUT / "quick-ask.png")], check=True)
    print(f"wrote {OUT / 'quick-ask'}.png")
    companion.popup.dismiss()


async def history_and_search(session: GuiSession) -> None:
    """The sidebar with a few more conversations, and Ctrl+K finding a word in one of them."""
    history = session.history
    assert history is not None and session.browser is not None
    for title, prompt, answer in (
        ("Lisbon in three days", "Plan three days in Lisbon", "**Day 1**: Alfama and the castle."),
        ("SQL window functions", "What does ROW_NUMBER do?", "It numbers rows per partition."),
        ("Birthday poem for Ana", "A four-line poem for Ana", "Roses bloom where laughter grows…"),
    ):
        conversation = history.create_conversation(model="gpt-4o")
        history.add_message(conversation, ChatMessage.user(prompt))
        history.add_message(conversation, ChatMessage.assistant(answer))
        history.rename(conversation, title)
    history.set_pinned(conversation, True)
    session.window.sidebar.refresh()
    session.window.activateWindow()
    await pause(0.3)
    QTest.keyClick(session.window.composer, Qt.Key.Key_K, Qt.KeyboardModifier.ControlModifier)
    dialog = session.browser.search_dialog
    await until(dialog.isVisible)
    QTest.keyClicks(dialog.query_edit, "retries")
    await until(lambda: bool(dialog.hits()) and not dialog.busy)
    await pause(0.4)
    QApplication.processEvents()
    # The dialog over the window, as the user sees them together.
    subprocess.run(
        ["import", "-window", "root", "-crop", "1180x820+0+0", str(OUT / "search.png")],
        check=True,
    )
    print(f"wrote {OUT / 'search'}.png")
    dialog.close()


async def reply_behind(session: GuiSession, sim: SimulatorServer) -> None:
    """A reply streaming behind a new chat: the sidebar says it is still answering."""
    delay, sim.chunk_delay = sim.chunk_delay, 0.08
    try:
        session.controller.new_chat()
        await ask(session, "Explain how a rainbow forms, step by step")
        await until(lambda: len(session.window.chat_view.reply_text()) > 120)
        session.controller.new_chat()
        QTest.keyClicks(session.window.composer, "And why is the sky blue?")
        await pause(0.6)
        capture(session, "reply-behind")
    finally:
        sim.chunk_delay = delay
    await until(lambda: not session.controller.streaming, timeout=60)
    session.window.composer.clear()


async def usage_window(session: GuiSession, context: AppContext) -> None:
    """The Usage window over three weeks of generated spending, with a monthly budget."""
    ledger = UsageLedger(open_database(context.paths.database_file))
    rng = random.Random(7)
    now = datetime.now()
    for days_ago in range(24, -1, -1):
        if days_ago and rng.random() < 0.2:
            continue  # a day off
        at = min(now - timedelta(minutes=5), now - timedelta(days=days_ago, hours=3))
        for model, prompt, reply in (
            ("gpt-4o", 250_000, 30_000),
            ("gpt-4o-mini", 900_000, 200_000),
            ("o3-mini", 120_000, 60_000),
        ):
            if rng.random() < 0.7:
                scale = rng.uniform(0.3, 1.6)
                usage = Usage(int(prompt * scale), int(reply * scale))
                ledger.record(model, usage, Source.WINDOW, at=at.timestamp())
    ledger.record("llama3", Usage(800, 200, estimated=True), Source.CLI, at=now.timestamp())
    context.settings_store.update(monthly_budget_usd=40, budget_hard_limit=True)
    session.window.usage_requested.emit()
    window = session.usage_window
    assert window is not None
    await until(lambda: window.snapshot is not None and not window.busy)
    await pause(0.4)
    QApplication.processEvents()
    OUT.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["import", "-window", str(int(window.winId())), str(OUT / "usage.png")], check=True
    )
    print(f"wrote {OUT / 'usage'}.png")
    window.close()


async def compare_models(session: GuiSession) -> None:
    """Compare models: the draft sent to three columns, answered side by side."""
    session.controller.new_chat()
    QTest.keyClicks(session.window.composer, "Explain the CAP theorem in a few sentences")
    session.window.conversation_actions.compare_action.trigger()
    compare = session.compare_window
    assert compare is not None
    await until(compare.isVisible)
    compare.add_button.click()
    third = compare.columns[2]
    third.model_picker.set_current_model("gpt-4o-mini")
    third.set_overrides(temperature="1.2", seed="7")
    compare.send()
    await until(lambda: compare.comparison is not None and not compare.busy, 60)
    await pause(0.4)
    QApplication.processEvents()
    subprocess.run(
        ["import", "-window", str(int(compare.winId())), str(OUT / "compare.png")], check=True
    )
    print(f"wrote {OUT / 'compare'}.png")
    compare.close()
    session.window.composer.take_text()


async def seed_rerun(session: GuiSession, sim: SimulatorServer) -> None:
    """A seeded reply re-run after a (simulated) backend update: the word diff and the note."""
    controller = session.controller
    controller.new_chat()
    controller.set_params(replace(controller.params, seed=42))
    controller.parameters_changed.emit()
    await ask(session, "Why do cats purr?")
    await answered(session)
    original = session.window.chat_view.last_reply_text()
    # A new build that words the answer a little differently: one sentence fewer, one word.
    sentences = original.split(". ")
    del sentences[3:4]
    sim.system_fingerprint = "fp_sim_0002"
    sim.script_answer(". ".join(sentences).replace("(simulated)", "(emulated)", 1))
    controller.reruns.on_view_rerun_requested()
    await until(lambda: controller.reruns.dialog is not None and not controller.reruns.busy, 60)
    dialog = controller.reruns.dialog
    assert dialog is not None
    # The reply's header (its fingerprint and seed) in view beside the dialog.
    session.window.chat_view.scroll_to_message(0)
    dialog.move(session.window.x() + 440, session.window.y() + 200)
    await pause(0.5)
    QApplication.processEvents()
    # The dialog over the window, with the reply's fingerprint and seed in view behind it.
    subprocess.run(
        ["import", "-window", "root", "-crop", "1180x820+0+0", str(OUT / "seed-diff.png")],
        check=True,
    )
    print(f"wrote {OUT / 'seed-diff'}.png")
    sim.system_fingerprint = "fp_sim_0001"
    dialog.close()
    controller.set_params(replace(controller.params, seed=None))


def click_link(session: GuiSession, label: str) -> None:
    """Click the last link labelled `label` in the transcript, scrolled into view first."""
    view = session.window.chat_view
    document = view.document()
    flags = QTextDocument.FindFlag.FindBackward | QTextDocument.FindFlag.FindCaseSensitively
    found = document.find(label, document.characterCount() - 1, flags)
    middle = QTextCursor(document)
    middle.setPosition(found.selectionStart() + len(label) // 2)
    view.setTextCursor(middle)
    view.ensureCursorVisible()
    QTest.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.cursorRect(middle).center()
    )


async def inspector_views(session: GuiSession) -> None:
    """The inspector: a reply's token probabilities with one token's tip, then JSON trees."""
    controller, window = session.controller, session.window
    controller.new_chat()
    controller.set_params(replace(controller.params, logprobs=True, top_logprobs=5))
    await ask(session, "Why do herons stand on one leg?")
    await answered(session)
    click_link(session, "Probabilities")
    heat_map = window.inspector_dock.heat_map
    await until(lambda: bool(heat_map.cells))
    await pause(0.4)
    # An unsure token near the top, whose alternatives are worth a look.
    index = next(
        i
        for i, cell in enumerate(heat_map.cells)
        if i > 8 and cell.text[1:].isalpha() and 0.1 < cell.probability < 0.4
    )
    point = heat_map.cell_rect_center(index)
    QTest.mouseMove(heat_map.viewport(), point)
    await pause(0.3)
    heat_map.show_tip(index, point)
    await pause(0.6)
    QApplication.processEvents()
    # The tooltip is a window of its own: capture the screen around the main window.
    subprocess.run(
        ["import", "-window", "root", "-crop", "1180x820+0+0", str(OUT / "logprobs.png")],
        check=True,
    )
    print(f"wrote {OUT / 'logprobs'}.png")

    controller.set_params(
        replace(controller.params, logprobs=False, top_logprobs=None, json_mode=True)
    )
    await ask(session, "Describe the grey heron as json")
    await answered(session)
    click_link(session, "JSON")
    tree = window.inspector_dock.json_page.tree
    await until(lambda: tree.topLevelItemCount() > 0)
    tree.setCurrentItem(next(item for item in tree.items() if item.path == ".answer"))
    await pause(0.4)
    capture(session, "json-tree")

    controller.set_params(replace(controller.params, max_output_tokens=75))
    await ask(session, "Now the white stork, as json")
    await answered(session)
    click_link(session, "Invalid JSON")
    await pause(0.4)
    capture(session, "json-cut-off")
    controller.set_params(replace(controller.params, json_mode=False, max_output_tokens=None))
    window.inspector_dock.hide()


def sample_photo(folder: Path) -> Path:
    path = folder / "harbour.jpg"
    image = Image.new("RGB", (3200, 2100), (40, 90, 150))
    draw = ImageDraw.Draw(image)
    for i in range(0, 3200, 160):
        draw.rectangle([i, 1300 + (i % 480), i + 120, 2100], fill=(200, 120 + i % 100, 60))
    draw.ellipse([2300, 200, 2800, 700], fill=(250, 220, 90))
    image.save(path, quality=90)
    return path


async def scenes(app: QApplication, data_dir: Path, sim: SimulatorServer) -> int:
    paths = AppPaths.under(data_dir).ensure()
    context = AppContext(
        paths=paths,
        settings_store=SettingsStore(paths.settings_file),
        environ={"OPENAI_API_KEY": FAKE_KEY, "OPENAI_BASE_URL": sim.base_url},
        secrets=SecretRegistry(),
        _secret_store=_NoKeyring(),
    )
    theme = ThemeController(app, app)
    theme.apply(Theme.LIGHT)
    session = GuiSession(context, theme=theme)
    session.window.resize(1180, 820)
    runner = asyncio.ensure_future(session.run())
    try:
        await until(session.window.isVisible)
        await session.controller.client_ready()

        await ask(
            session, "Write a Python function that retries a request, with a short list of tips"
        )
        await pause(1.2)
        capture(session, "streaming")
        await answered(session)
        capture(session, "answer-with-code")

        session.controller.new_chat()
        session.window.image_area.add_files([str(sample_photo(data_dir))])
        await until(
            lambda: (
                session.window.image_area.blocking_problem(lookup(session.controller.model)) is None
            )
        )
        await pause(0.5)
        capture(session, "image-attached")
        await ask(session, "What is in this picture?")
        await answered(session)
        capture(session, "image-question")

        await quick_ask(session, "How do I undo the last git commit but keep the changes?")
        await history_and_search(session)
        await reply_behind(session, sim)
        await usage_window(session, context)
        await compare_models(session)
        await seed_rerun(session, sim)
        await inspector_views(session)

        theme.apply(Theme.DARK)
        session.controller.new_chat()
        await ask(session, "Summarise the difference between top_p and temperature")
        await answered(session)
        capture(session, "dark-mode")

        # A wait longer than the SDK retries on its own (120 s) goes straight to the banner.
        sim.script(Fault.status(429, retry_after=130))
        await ask(session, "One more question")
        await until(lambda: session.window.banner.isVisible())
        await pause(0.5)
        capture(session, "rate-limit-banner")
    finally:
        session.window.close()
        await asyncio.wait_for(runner, 20)
    return 0


def main() -> int:
    app = QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    with (
        tempfile.TemporaryDirectory() as data_dir,
        SimulatorServer(chunk_delay=0.03, answer_words=160) as sim,
    ):
        sim.warm_up()
        return run_event_loop(app, scenes(app, Path(data_dir), sim))


if __name__ == "__main__":
    sys.exit(main())
