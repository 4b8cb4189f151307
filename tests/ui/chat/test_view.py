"""The transcript widget: Markdown rendering, streaming, safety of model text, scrolling, turns."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QPalette, QTextDocument, QTextTable
from PySide6.QtWidgets import QAbstractSlider, QApplication
from pytestqt.qtbot import QtBot

from app.simulator.prose import filler
from app.ui.chat.view import ChatView
from app.ui.markdown.formats import CODE_LANGUAGE
from app.ui.markdown.plain import HARD_BLOCK_CHARS
from app.ui.markdown.stream import TAIL_LIMIT
from tests.ui.markdown.structure import anchors, blocks, click_text, document_structure

CODE = (
    'def greet(name):\n\t"""Say hello."""\n    return f"hi {name}"  # <b>&amp;\n\nprint(greet("x"))'
)
DEMO = f"""# Title

Some **bold** text, `inline code` and a [site](https://example.com/page).

- first
- second

| Model | Price |
|---|---:|
| mini | 0.15 |

```python
{CODE}
```

> a quote
"""


def make_view(qtbot: QtBot, **kwargs: Callable[..., object]) -> ChatView:
    view = ChatView(**kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(view)
    view.resize(600, 400)
    view.show()
    qtbot.waitExposed(view)
    return view


def stream(view: ChatView, text: str, *, seed: int = 0, max_delta: int = 7) -> int:
    """Stream `text` into a new reply in random small deltas; how many updates it took."""
    rng = random.Random(seed)
    view.begin_reply("gpt-4o-mini")
    updates = 0
    position = 0
    while position < len(text):
        size = rng.randint(1, max_delta)
        view.append_reply(text[position : position + size])
        position += size
        if rng.random() < 0.25:
            view.flush()
            updates += 1
    view.end_reply()
    return updates


def one_shot(qtbot: QtBot, text: str) -> ChatView:
    view = make_view(qtbot)
    view.begin_reply("gpt-4o-mini")
    view.append_reply(text)
    view.end_reply()
    return view


# Markdown


def test_a_heading_renders_as_a_heading_block(qtbot: QtBot) -> None:
    """`# Title` becomes a level-1 heading block holding just the title text."""
    view = one_shot(qtbot, DEMO)
    headings = [b for b in blocks(view.document()) if b.blockFormat().headingLevel()]
    assert [(b.text(), b.blockFormat().headingLevel()) for b in headings] == [("Title", 1)]


def test_a_table_renders_as_a_text_table(qtbot: QtBot) -> None:
    """A GitHub table becomes a QTextTable with its header and cells."""
    view = one_shot(qtbot, DEMO)
    tables = [f for f in view.document().rootFrame().childFrames() if isinstance(f, QTextTable)]
    assert len(tables) == 1
    table = tables[0]
    assert (table.rows(), table.columns()) == (2, 2)
    cells = [
        table.cellAt(r, c).firstCursorPosition().block().text() for r in (0, 1) for c in (0, 1)
    ]
    assert cells == ["Model", "Price", "mini", "0.15"]


def test_a_list_and_inline_markup_render_without_their_markers(qtbot: QtBot) -> None:
    """List items are list blocks and emphasis loses its asterisks in the rendered text."""
    view = one_shot(qtbot, DEMO)
    items = [b.text() for b in blocks(view.document()) if b.textList() is not None]
    assert items == ["first", "second"]
    rendered = view.rendered_text()
    assert "Some bold text, inline code and a site." in rendered
    assert "**" not in rendered


def test_a_code_block_is_highlighted_and_its_copy_link_copies_the_code_exactly(
    qtbot: QtBot,
) -> None:
    """Code lines carry syntax colours, and clicking Copy puts exactly the code on the clipboard."""
    view = one_shot(qtbot, DEMO)
    code_lines = [b for b in blocks(view.document()) if b.blockFormat().property(CODE_LANGUAGE)]
    # Qt shows a tab as spaces; Copy still gives the tab.
    assert [b.text() for b in code_lines] == CODE.replace("\t", "    ").split("\n")
    first = code_lines[0]
    keyword = view.theme.syntax.keyword.name()
    colours = {
        (r.start, r.length, r.format.foreground().color().name()) for r in first.layout().formats()
    }
    assert (0, 3, keyword) in colours

    QApplication.clipboard().clear()
    click_text(qtbot, view, "python   Copy", "Copy")
    assert QApplication.clipboard().text() == CODE


def test_a_line_break_in_a_message_stays_a_line_break(qtbot: QtBot) -> None:
    """Lines typed one under the other are shown one under the other, not run together."""
    view = make_view(qtbot)
    view.add_user_message("Roses are red,\nviolets are blue")
    assert "Roses are red,\nviolets are blue" in view.rendered_text()


def test_copy_message_copies_its_markdown_source(qtbot: QtBot) -> None:
    """The reply header's Copy link copies the reply as the Markdown it was written in."""
    copied: list[str] = []
    view = make_view(qtbot, copy_text=copied.append)
    view.add_user_message("show me")
    stream(view, DEMO)
    reply_copy = [href for text, href in anchors(view.document()) if text == "Copy"][1]
    view.on_anchor_clicked(QUrl(reply_copy))
    assert copied == [DEMO]


# Streaming


def test_streaming_updates_incrementally_and_ends_as_rendering_the_whole_text(
    qtbot: QtBot,
) -> None:
    """Deltas show over many updates; the final document equals the whole text rendered at once."""
    text = DEMO + "\n" + filler(random.Random(7), 600, topic="streaming")
    streamed = make_view(qtbot)
    snapshots: list[str] = []
    streamed.reply_text_flushed.connect(lambda: snapshots.append(streamed.rendered_text()))
    assert stream(streamed, text) > 10
    assert len(snapshots) > 10
    assert len(snapshots[0]) < len(snapshots[len(snapshots) // 2]) < len(snapshots[-1])
    whole = one_shot(qtbot, text)
    assert document_structure(streamed.document()) == document_structure(whole.document())


def test_a_long_open_block_is_shown_verbatim_until_it_closes(qtbot: QtBot) -> None:
    """A list longer than the redraw limit shows as raw text while open, rendered once closed."""
    items = "".join(f"- item number {n} of a very long list\n" for n in range(200))
    assert len(items) > TAIL_LIMIT
    view = make_view(qtbot)
    view.begin_reply("gpt-4o-mini")
    view.append_reply(items)
    view.flush()
    assert "- item number 199" in view.rendered_text()
    view.end_reply()
    assert "- item number" not in view.rendered_text()
    assert sum(b.textList() is not None for b in blocks(view.document())) == 200


def test_a_megabyte_on_one_line_is_stored_as_many_short_blocks(qtbot: QtBot) -> None:
    """An endless unbroken line is spread over short blocks without changing its text."""
    view = make_view(qtbot)
    chunk = "abcdefghij" * 100
    view.begin_reply("gpt-4o-mini")
    for _ in range(1000):
        view.append_reply(chunk)
        view.flush()
    view.end_reply()
    texts = [b.text() for b in blocks(view.document())]
    body = texts[texts.index("gpt-4o-mini   Copy  ·  Regenerate") + 1 :]
    assert max(len(text) for text in body) <= HARD_BLOCK_CHARS
    assert "".join(body) == chunk * 1000
    assert view.last_reply_text() == chunk * 1000


def test_deltas_within_a_frame_reach_the_document_in_one_update(qtbot: QtBot) -> None:
    """Many deltas queued before the next frame are written with a single update."""
    view = make_view(qtbot)
    view.begin_reply("gpt-4o")
    updates: list[str] = []
    view.reply_text_flushed.connect(lambda: updates.append(view.rendered_text()))
    for word in ("a", "b", "c", "d"):
        view.append_reply(word + " ")
    qtbot.waitUntil(lambda: len(updates) == 1)
    assert updates[0].endswith("a b c d")


def test_user_selection_survives_streaming(qtbot: QtBot) -> None:
    """Selecting text while a reply streams is not disturbed by the appended text."""
    view = make_view(qtbot)
    view.add_user_message("select me")
    view.begin_reply("gpt-4o")
    found = view.document().find("select me")
    view.setTextCursor(found)
    for word in ("streamed ", "text\n\nmore ", "text"):
        view.append_reply(word)
        view.flush()
    assert view.textCursor().selectedText() == "select me"


# Model text is untrusted


def test_raw_html_is_shown_as_text_and_no_resource_is_ever_loaded(qtbot: QtBot) -> None:
    """`<img>`, `<script>` and Markdown images render as text; resources resolve to nothing."""
    view = one_shot(
        qtbot,
        'A <img src="http://127.0.0.1:9/x.png"> and <script>alert(1)</script> and '
        "![chart](http://127.0.0.1:9/chart.png) and ![local](/etc/hosts)\n",
    )
    rendered = view.rendered_text()
    assert '<img src="http://127.0.0.1:9/x.png">' in rendered
    assert "<script>alert(1)</script>" in rendered
    assert "[image: chart]" in rendered
    assert "[image: local]" in rendered
    assert "\ufffc" not in rendered
    placeholder = view.loadResource(
        QTextDocument.ResourceType.ImageResource.value, QUrl("file:///etc/hosts")
    )
    assert placeholder.width() == 1
    assert view.loadResource(QTextDocument.ResourceType.StyleSheetResource.value, "x.css") == " "


# Clicking text that is not a link is ignored by the widget, which Qt reports.
@pytest.mark.qt_log_ignore("Mouse event .* not accepted")
def test_javascript_and_file_links_are_plain_text_and_do_nothing(qtbot: QtBot) -> None:
    """Links with other schemes than http(s) lose their link, and clicking them opens nothing."""
    opened: list[QUrl] = []
    view = make_view(qtbot, open_url=opened.append)
    view.begin_reply("gpt-4o-mini")
    view.append_reply("[run me](javascript:alert(1)) and [secrets](file:///etc/passwd)\n")
    view.end_reply()
    assert [text for text, _ in anchors(view.document())] == ["Copy", "Regenerate"]
    click_text(qtbot, view, "run me")
    click_text(qtbot, view, "secrets")
    view.on_anchor_clicked(QUrl("javascript:alert(1)"))
    view.on_anchor_clicked(QUrl("file:///etc/passwd"))
    assert opened == []


def test_web_links_open_through_the_opener_only_when_clicked(qtbot: QtBot) -> None:
    """An http link is not followed by rendering; a click hands it to the injected opener."""
    opened: list[QUrl] = []
    view = make_view(qtbot, open_url=opened.append)
    stream(view, "See [the docs](https://example.com/docs?a=1) for more.\n")
    assert opened == []
    click_text(qtbot, view, "the docs")
    assert opened == [QUrl("https://example.com/docs?a=1")]


def test_internal_actions_cannot_be_forged_by_model_text(qtbot: QtBot) -> None:
    """A model link imitating the view's own action scheme is plain text, not an action."""
    view = make_view(qtbot)
    view.add_user_message("hi")
    view.begin_reply("gpt-4o-mini")
    view.end_reply()
    scheme = QUrl(anchors(view.document())[0][1]).scheme()
    requested: list[int] = []
    view.regenerate_requested.connect(lambda: requested.append(1))
    view.add_user_message("again")
    stream(view, f"[click](chatdesk-forged:regenerate/1) [also]({scheme}x:regenerate/1)\n")
    assert [t for t, _ in anchors(view.document()) if t in ("click", "also")] == []
    assert requested == []


# Scrolling


def test_auto_scroll_follows_until_the_user_scrolls_up_and_resumes_at_the_bottom(
    qtbot: QtBot,
) -> None:
    """New text keeps the view at the bottom unless the user scrolled up to read."""
    view = make_view(qtbot)
    bar = view.verticalScrollBar()
    view.begin_reply("gpt-4o")
    for _ in range(80):
        view.append_reply("a line of the answer\n\n")
    view.flush()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    assert bar.value() == bar.maximum()

    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMinimum)
    assert not view.following
    view.append_reply("more\n\n" * 40)
    view.flush()
    assert bar.value() == 0

    bar.triggerAction(QAbstractSlider.SliderAction.SliderToMaximum)
    assert view.following
    view.append_reply("even more\n\n" * 40)
    view.flush()
    assert bar.value() == bar.maximum()


def test_a_shrinking_open_block_does_not_resume_following(qtbot: QtBot) -> None:
    """Redrawing the open block (shorter for a moment) leaves a reader's position alone."""
    view = make_view(qtbot)
    bar = view.verticalScrollBar()
    view.begin_reply("gpt-4o")
    view.append_reply("para\n\n" * 60 + "| a | b |\n")
    view.flush()
    qtbot.waitUntil(lambda: bar.maximum() > 0)
    bar.triggerAction(QAbstractSlider.SliderAction.SliderSingleStepSub)
    assert not view.following
    view.append_reply("|---|---|\n")  # the paragraph becomes a (shorter) table
    view.flush()
    assert not view.following


# Turns


def test_rollback_removes_only_the_current_turn(qtbot: QtBot) -> None:
    """Withdrawing a turn leaves earlier turns exactly as they were."""
    view = make_view(qtbot)
    view.add_user_message("first")
    stream(view, "first **answer**")
    before = document_structure(view.document())

    view.add_user_message("second")
    view.begin_reply("gpt-4o")
    view.append_reply("partial")
    view.flush()
    view.rollback_turn()

    # The previous reply offers Regenerate again, as it did before.
    assert document_structure(view.document()) == before
    view.rollback_turn()
    assert document_structure(view.document()) == before


def test_rolling_back_the_only_turn_empties_the_view(qtbot: QtBot) -> None:
    """Withdrawing the first turn leaves an empty document ready for the next one."""
    view = make_view(qtbot)
    view.add_user_message("hello")
    view.begin_reply("gpt-4o")
    view.rollback_turn()
    assert view.is_empty
    view.add_user_message("again")
    assert view.reply_text() == "You\nagain"


def test_only_the_last_exchange_offers_edit_and_regenerate(qtbot: QtBot) -> None:
    """Edit sits on the last message and Regenerate on the last reply, and only between replies."""
    view = make_view(qtbot)
    view.add_user_message("one")
    stream(view, "reply one")
    view.add_user_message("two")
    view.begin_reply("gpt-4o")
    assert [t for t, _ in anchors(view.document())] == ["Copy", "Copy", "Copy", "Copy"]
    view.end_reply()
    assert [t for t, _ in anchors(view.document())] == [
        "Copy",
        "Copy",
        "Edit",
        "Copy",
        "Copy",
        "Regenerate",
    ]
    view.set_editing(True)
    assert "Cancel edit" in [t for t, _ in anchors(view.document())]


def test_choices_stream_side_by_side_and_switch_in_place(qtbot: QtBot) -> None:
    """With three choices each streams; the tabs switch which one is shown and report it."""
    view = make_view(qtbot)
    view.begin_reply("gpt-4o-mini", choices=3)
    for n in range(3):
        view.append_reply(f"answer {n} ", n)
    view.flush()
    assert "answer 0" in view.rendered_text()
    assert "answer 1" not in view.rendered_text()
    selected: list[int] = []
    view.choice_selected.connect(selected.append)
    click_text(qtbot, view, "Choice 2")
    view.append_reply("continues", 1)
    view.flush()
    assert selected == [1]
    assert "answer 1 continues" in view.rendered_text()
    assert "answer 0" not in view.rendered_text()
    view.end_reply()
    assert view.last_reply_text() == "answer 1 continues"


def test_a_dark_palette_redraws_with_its_own_colours(qtbot: QtBot) -> None:
    """Switching to a dark palette redraws the transcript with tints made for it."""
    view = one_shot(qtbot, DEMO)
    light = view.theme.code_background
    dark = QPalette(view.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1f22"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#dfe1e5"))
    view.setPalette(dark)
    assert view.theme.dark
    assert view.theme.code_background != light
    assert view.theme.code_background.lightnessF() < 0.3
    assert "Title" in view.rendered_text()
