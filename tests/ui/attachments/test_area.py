"""The image area end to end: drops, pastes and picks, through the real window, to the simulator."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QColor, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import QApplication, QFileDialog
from pytestqt.qtbot import QtBot

from app.application import GuiSession
from app.core.images import MAX_IMAGE_BYTES
from app.core.messages import Detail, ImagePart
from app.core.tokens import api_view_size
from app.simulator import SimulatorServer
from app.ui.attachments.area import MAX_IMAGES, ImageArea
from app.ui.attachments.tile import ImageTile, describe
from app.ui.attachments.worker import PreparedAttachment
from tests.support.dragdrop import drop, file_mime
from tests.support.gui_session import is_ready, make_context, open_session_fixture  # noqa: F401
from tests.support.qt import ChatWindow, Runner, wait_until
from tests.support.schema import schema_errors

PROMPT = "What is in this picture?"


def photo_file(path: Path, size: tuple[int, int] = (3000, 2000), fmt: str = "JPEG") -> Path:
    """A photo-like picture (a gradient) saved as `fmt`."""
    gradient = Image.linear_gradient("L").resize(size)
    Image.merge("RGB", (gradient, gradient.rotate(90), gradient)).save(path, fmt)
    return path


def choose_detail(qtbot: QtBot, tile: ImageTile, detail: Detail) -> None:
    """Pick `detail` in the tile's selector with the keyboard, as a person would."""
    combo = tile.detail_combo
    wanted = combo.findData(detail.value)
    key = Qt.Key.Key_Down if wanted > combo.currentIndex() else Qt.Key.Key_Up
    while combo.currentIndex() != wanted:
        qtbot.keyClick(combo, key)


def sent_image(simulator: SimulatorServer) -> dict[str, Any]:
    """The `image_url` object of the last request's last message."""
    content = simulator.requests[-1].body["messages"][-1]["content"]
    images = [part["image_url"] for part in content if part["type"] == "image_url"]
    assert len(images) == 1
    image: dict[str, Any] = images[0]
    return image


def decoded_size(data_url: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(data_url.partition(",")[2]))) as image:
        return image.size


async def send_and_wait(qtbot: QtBot, chat: ChatWindow, prompt: str = PROMPT) -> None:
    qtbot.keyClicks(chat.window.composer, prompt)
    qtbot.keyClick(chat.window.composer, Qt.Key.Key_Return)
    await wait_until(lambda: chat.controller.busy, "the request to start")
    await wait_until(lambda: not chat.controller.busy, "the reply to finish")


def settled(area: ImageArea) -> bool:
    """Nothing is being prepared any more."""
    return not any(tile.progress.isVisibleTo(tile) for tile in area.findChildren(ImageTile))


@pytest.mark.parametrize(
    ("prepared", "expected"),
    [
        (
            PreparedAttachment(
                ImagePart("data:", Detail.HIGH, 1024, 768), "JPEG", (4032, 3024), sent_format="JPEG"
            ),
            "4032×3024 JPEG → 1024×768",
        ),
        (
            PreparedAttachment(
                ImagePart("data:", Detail.LOW, 512, 512), "WEBP", (900, 900), sent_format="JPEG"
            ),
            "900×900 WebP → 512×512 JPEG",
        ),
        (
            PreparedAttachment(
                ImagePart("data:", Detail.LOW, 1365, 768), None, (3840, 2160), sent_format="PNG"
            ),
            "3840×2160 → 1365×768 PNG",
        ),
        (
            PreparedAttachment(
                ImagePart("data:", Detail.AUTO, 300, 200),
                "PNG",
                (300, 200),
                sent_format="PNG",
                unchanged=True,
            ),
            "300×200 PNG, sent as is",
        ),
        (
            PreparedAttachment.web("https://example.com/a.png", Detail.AUTO),
            "Web image: the API fetches it",
        ),
    ],
    ids=["downscaled", "converted", "pasted", "as-is", "web"],
)
def test_a_tile_says_what_the_image_is_and_what_is_sent(
    prepared: PreparedAttachment, expected: str
) -> None:
    """The tile's line reads like "4032×3024 JPEG → 1024×768"."""
    assert describe(prepared) == expected


def test_a_dropped_photo_is_sent_downscaled_at_the_detail_chosen(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """A dropped file shows progress, then goes out as a data: URL at its detail's size."""
    photo = photo_file(tmp_path / "beach.jpg")
    chat = open_chat(simulator.base_url)
    area = chat.window.image_area

    async def scenario() -> None:
        assert drop(area, file_mime(photo))
        (tile,) = area.findChildren(ImageTile)
        assert tile.progress.isVisible()
        await wait_until(lambda: len(area.parts()) == 1, "the photo to be prepared")
        assert (area.parts()[0].width, area.parts()[0].height) == (1152, 768)
        assert tile.info_label.text() == "3000×2000 JPEG → 1152×768"
        choose_detail(qtbot, tile, Detail.LOW)
        await wait_until(
            lambda: [p.width for p in area.parts()] == [512], "the photo prepared again"
        )
        await send_and_wait(qtbot, chat)

    run(scenario())

    assert schema_errors(simulator.requests[-1].body) == []
    image = sent_image(simulator)
    assert image["detail"] == "low"
    assert image["url"].startswith("data:image/jpeg;base64,")
    assert decoded_size(image["url"]) == (512, 341)
    conversation = chat.controller.conversation
    assert conversation[0].images[0].url == image["url"]
    assert "JPEG, 512×341 pixels" in conversation[-1].text
    assert area.is_empty
    assert chat.window.composer.text() == ""
    assert "beach.jpg" in chat.window.chat_view.toPlainText()


def test_a_photo_dropped_on_the_composer_or_the_conversation_is_attached(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Files dropped on the composer or the transcript become attachments, not text."""
    first = photo_file(tmp_path / "one.png", (300, 200), "PNG")
    second = photo_file(tmp_path / "two.webp", (300, 200), "WEBP")
    chat = open_chat(simulator.base_url)
    window = chat.window

    async def scenario() -> None:
        assert drop(window.composer.viewport(), file_mime(first))
        assert drop(window.chat_view.viewport(), file_mime(second))
        await wait_until(lambda: len(window.image_area.parts()) == 2, "both to be prepared")

    run(scenario())

    assert window.composer.text() == ""
    assert [p.source for p in window.image_area.parts()] == [str(first), str(second)]


def test_a_pasted_image_is_sent_as_a_downscaled_png(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
) -> None:
    """Ctrl+V with a picture on the clipboard attaches it instead of pasting text."""
    picture = QImage(1600, 1200, QImage.Format.Format_RGB32)
    picture.fill(QColor(40, 120, 200))
    QGuiApplication.clipboard().setImage(picture)
    chat = open_chat(simulator.base_url)
    composer = chat.window.composer
    area = chat.window.image_area

    async def scenario() -> None:
        composer.setFocus()
        qtbot.keySequence(composer, QKeySequence.StandardKey.Paste)
        await wait_until(lambda: len(area.parts()) == 1, "the picture to be prepared")
        assert composer.text() == ""
        await send_and_wait(qtbot, chat)

    run(scenario())

    image = sent_image(simulator)
    assert image["detail"] == "auto"
    assert image["url"].startswith("data:image/png;base64,")
    assert decoded_size(image["url"]) == api_view_size(1600, 1200, Detail.AUTO) == (1024, 768)


def test_copied_files_paste_into_the_area_and_copied_text_stays_text(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Files copied in a file manager attach; text that comes with a picture is pasted as text."""
    photo = photo_file(tmp_path / "copied.jpg", (800, 600))
    chat = open_chat(simulator.base_url)
    area, composer = chat.window.image_area, chat.window.composer
    clipboard = QGuiApplication.clipboard()

    async def scenario() -> None:
        clipboard.setMimeData(file_mime(photo))
        area.setFocus()
        qtbot.keySequence(area, QKeySequence.StandardKey.Paste)
        await wait_until(lambda: len(area.parts()) == 1, "the copied file to be prepared")
        cells = QMimeData()
        cells.setText("12\t14\n15\t19")
        cells.setImageData(QImage(40, 20, QImage.Format.Format_RGB32))
        clipboard.setMimeData(cells)
        composer.setFocus()
        qtbot.keySequence(composer, QKeySequence.StandardKey.Paste)

    run(scenario())

    assert composer.text() == "12\t14\n15\t19"
    assert len(area.parts()) == 1


@pytest.mark.parametrize(
    ("html", "urls", "expected"),
    [
        (None, ["https://example.com/photos/cat.jpg"], "https://example.com/photos/cat.jpg"),
        (
            '<a href="https://example.com/page"><img src="https://cdn.example.com/c.png?w=2"></a>',
            ["https://example.com/page"],
            "https://cdn.example.com/c.png?w=2",
        ),
    ],
    ids=["uri-list", "img-in-html"],
)
def test_an_image_dragged_from_a_browser_is_passed_through_as_its_url(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    html: str | None,
    urls: list[str],
    expected: str,
) -> None:
    """A web image's address is sent as it is (never downloaded), from the <img> if there is one."""
    mime = QMimeData()
    mime.setUrls([QUrl(url) for url in urls])
    if html is not None:
        mime.setHtml(html)
    chat = open_chat(simulator.base_url)

    async def scenario() -> None:
        assert drop(chat.window.image_area, mime)
        assert len(chat.window.image_area.parts()) == 1
        await send_and_wait(qtbot, chat)

    run(scenario())

    assert sent_image(simulator) == {"url": expected, "detail": "auto"}


def _truncated_jpeg(path: Path) -> None:
    data = (photo_file(path, (900, 600))).read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _svg(path: Path) -> None:
    path.write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')


def _huge(path: Path) -> None:
    with path.open("wb") as file:
        file.truncate(MAX_IMAGE_BYTES + 1)


INVALID_FILES: dict[str, tuple[str, Callable[[Path], object], str]] = {
    "too large": ("huge.jpg", _huge, "“huge.jpg” is too large (20.0 MB)"),
    "bmp": ("scan.bmp", lambda p: Image.new("RGB", (8, 8)).save(p, "BMP"), "is a BMP file"),
    "tiff": ("scan.tif", lambda p: Image.new("RGB", (8, 8)).save(p, "TIFF"), "is a TIFF file"),
    "svg": ("logo.svg", _svg, "is a SVG file"),
    "truncated": ("cut.jpg", _truncated_jpeg, "“cut.jpg” is damaged or incomplete"),
    "empty": ("empty.png", lambda p: p.write_bytes(b""), "“empty.png” is empty (0 bytes)"),
    "not an image": ("notes.png", lambda p: p.write_text("hello"), "is not a PNG, JPEG"),
    "folder": ("album", lambda p: p.mkdir(), "“album” is a folder"),
    "missing": ("gone.jpg", lambda p: None, "“gone.jpg” was not found"),
}


@pytest.mark.parametrize("case", list(INVALID_FILES))
def test_each_kind_of_bad_file_is_explained_in_the_area_and_nothing_is_added(
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
    case: str,
) -> None:
    """A bad file gets its own inline message, no tile, no dialog and no request."""
    name, make, expected = INVALID_FILES[case]
    path = tmp_path / name
    make(path)
    chat = open_chat(simulator.base_url)
    area = chat.window.image_area

    async def scenario() -> None:
        assert drop(area, file_mime(path))
        await wait_until(lambda: area.messages and settled(area), "the refusal")

    run(scenario())

    ((headline, remedy),) = area.messages
    assert expected in headline
    assert remedy
    assert area.problems.isVisible()
    assert expected in area.problems.label.text().replace("&amp;", "&")
    assert area.is_empty
    assert area.findChildren(ImageTile) == [] or not any(
        t.isVisible() for t in area.findChildren(ImageTile)
    )
    assert QApplication.activeModalWidget() is None
    assert simulator.requests == []


@pytest.mark.parametrize(
    ("text", "urls", "expected"),
    [
        (None, ["ftp://files.example.com/cat.jpg"], "cannot be attached"),
        (None, ["https://example.com/logo.svg"], "is a SVG image, which cannot be sent"),
        ("just some words", [], "Nothing here can be attached"),
    ],
    ids=["ftp", "svg-url", "plain-text"],
)
def test_bad_addresses_and_text_dropped_on_the_area_are_explained(
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    text: str | None,
    urls: list[str],
    expected: str,
) -> None:
    """Addresses the API cannot take, or plain text, are refused inline at once."""
    mime = QMimeData()
    if urls:
        mime.setUrls([QUrl(url) for url in urls])
    if text is not None:
        mime.setText(text)
    area = open_chat(simulator.base_url).window.image_area

    assert drop(area, mime)

    assert expected in area.messages[0][0]
    assert area.is_empty


def test_a_thousand_files_dropped_at_once_are_refused_with_a_message(
    qtbot: QtBot,
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Over the per-message cap, the whole drop is refused at once: no tiles, no work queued."""
    chat = open_chat(simulator.base_url)
    area = chat.window.image_area
    paths = [tmp_path / f"photo-{n:04}.jpg" for n in range(1000)]

    assert drop(area, file_mime(*paths))

    (headline, remedy), *_ = area.messages
    assert headline == "1,000 images are too many for one message; none were added"
    assert f"at most {MAX_IMAGES}" in remedy
    assert area.is_empty
    assert area.findChildren(ImageTile) == []
    qtbot.keyClicks(chat.window.composer, "still typing")
    assert chat.window.composer.text() == "still typing"


# The offscreen platform warns when a new top-level window (the dialog) sets its size limits.
@pytest.mark.qt_log_ignore("propagateSizeHints")
def test_the_attach_button_opens_a_file_picker_that_adds_what_is_picked(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """ "Attach images…" opens a non-modal picker; the files picked are prepared."""
    photo = photo_file(tmp_path / "picked.jpg", (640, 480))
    area = open_chat(simulator.base_url).window.image_area

    async def scenario() -> None:
        qtbot.mouseClick(area.attach_button, Qt.MouseButton.LeftButton)
        dialog = area.findChild(QFileDialog)
        assert dialog is not None
        assert dialog.isVisible()
        dialog.filesSelected.emit([str(photo)])
        dialog.reject()
        await wait_until(lambda: len(area.parts()) == 1, "the picked file to be prepared")

    run(scenario())

    assert area.parts()[0].source == str(photo)


def test_removing_an_image_takes_it_out_of_the_message(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """The ✕ on a tile removes that image only."""
    keep = photo_file(tmp_path / "keep.png", (200, 100), "PNG")
    remove = photo_file(tmp_path / "remove.png", (200, 100), "PNG")
    area = open_chat(simulator.base_url).window.image_area

    async def scenario() -> None:
        drop(area, file_mime(keep, remove))
        await wait_until(lambda: len(area.parts()) == 2, "both to be prepared")
        tile = next(t for t in area.findChildren(ImageTile) if t.name == "remove.png")
        qtbot.mouseClick(tile.remove_button, Qt.MouseButton.LeftButton)

    run(scenario())

    assert [p.source for p in area.parts()] == [str(keep)]


def test_images_come_back_when_sending_fails(
    qtbot: QtBot, run: Runner[Any], open_chat: Callable[..., ChatWindow], tmp_path: Path
) -> None:
    """A rejected request puts the prompt and its images back, ready to send again."""
    photo = photo_file(tmp_path / "kept.jpg", (1000, 800))
    with SimulatorServer(api_key="sk-the-right-key") as simulator:
        chat = open_chat(simulator.base_url, api_key="sk-a-wrong-key")
        area = chat.window.image_area

        async def scenario() -> None:
            drop(area, file_mime(photo))
            await wait_until(lambda: len(area.parts()) == 1, "the photo to be prepared")
            before = area.parts()
            await send_and_wait(qtbot, chat)
            assert area.parts() == before

        run(scenario())

    assert chat.window.banner.headline == "API key rejected"
    assert chat.window.composer.text() == PROMPT
    assert chat.controller.conversation == ()


def test_a_model_without_vision_says_so_and_sending_images_to_it_is_refused(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """With o3-mini the area says it cannot see images; sending them is refused, draft kept."""
    photo = photo_file(tmp_path / "chart.png", (400, 300), "PNG")
    chat = open_chat(simulator.base_url)
    window = chat.window
    area = window.image_area
    window.model_combo.set_current_model("o3-mini")
    assert "o3-mini cannot see images" in area.hint_label.text()

    async def scenario() -> None:
        drop(area, file_mime(photo))
        await wait_until(lambda: len(area.parts()) == 1, "the image to be prepared")
        qtbot.keyClicks(window.composer, PROMPT)
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)

    run(scenario())

    headline, remedy = area.messages[-1]
    assert headline == "o3-mini cannot see images"
    assert "gpt-4o" in remedy
    assert not chat.controller.busy
    assert simulator.requests == []
    assert window.composer.text() == PROMPT
    assert len(area.parts()) == 1
    window.model_combo.set_current_model("gpt-4o")
    assert "cannot see" not in area.hint_label.text()


def test_sending_while_an_image_is_being_prepared_waits_for_it(
    qtbot: QtBot,
    run: Runner[Any],
    open_chat: Callable[..., ChatWindow],
    simulator: SimulatorServer,
    tmp_path: Path,
) -> None:
    """Enter before the preview appears says so and sends nothing; the next Enter sends both."""
    photo = photo_file(tmp_path / "slow.jpg")
    chat = open_chat(simulator.base_url)
    window = chat.window
    area = window.image_area

    async def scenario() -> None:
        drop(area, file_mime(photo))
        qtbot.keyClicks(window.composer, PROMPT)
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        assert area.messages == (
            (
                "The image is still being prepared",
                "Send again when the preview appears; your message is kept.",
            ),
        )
        assert window.composer.text() == PROMPT
        await wait_until(lambda: area.parts(), "the photo to be prepared")
        qtbot.keyClick(window.composer, Qt.Key.Key_Return)
        await wait_until(lambda: chat.controller.busy, "the request to start")
        await wait_until(lambda: not chat.controller.busy, "the reply to finish")

    run(scenario())

    assert len(simulator.requests) == 1
    assert sent_image(simulator)["url"].startswith("data:image/jpeg;base64,")
    assert area.messages == ()


def test_in_the_app_pillow_loads_on_the_first_image_and_the_detail_setting_is_the_default(
    qtbot: QtBot,
    run: Runner[Any],
    data_dir: Path,
    open_session: Callable[..., GuiSession],
    tmp_path: Path,
) -> None:
    """An idle session has not loaded Pillow; the first drop does; new images take the setting."""
    photo = photo_file(tmp_path / "demo.jpg", (1200, 900))
    context = make_context(data_dir)
    context.settings_store.update(image_detail=Detail.LOW)
    session = open_session(context, demo=True)
    area = session.window.image_area

    async def scenario() -> None:
        await session.connect()
        await wait_until(lambda: is_ready(session), "the demo to be ready")
        assert not session.controller.background.is_done("imaging")
        drop(area, file_mime(photo))
        await wait_until(lambda: area.parts(), "the photo to be prepared")
        context.settings_store.update(image_detail=Detail.HIGH)
        await send_and_wait(qtbot, session_chat(session))

    run(scenario())

    assert area.default_detail is Detail.HIGH
    (image,) = session.controller.conversation[0].images
    assert (image.detail, image.width, image.height) == (Detail.LOW, 512, 384)
    assert "(detail: low)" in session.controller.conversation[-1].text


def session_chat(session: GuiSession) -> ChatWindow:
    client = session.client
    assert client is not None
    return ChatWindow(session.window, session.controller, client)
