"""The chat view's links: what a click on one asks for, and the resources nothing may load.

Model output is untrusted. Only http(s) links leave the view (to `open_url`, the system
browser); internal links (see `markdown.links`) copy a message or a code block, switch the
choice shown, open an inspector, or ask for the last exchange to be redone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication, QImage, QTextDocument

from app.ui.chat.acts import last_message
from app.ui.chat.transcript import Speaker
from app.ui.markdown.links import InternalLinks, is_web_link
from app.ui.markdown.render import CodeRegistry

if TYPE_CHECKING:
    from app.ui.chat.view import ChatView

UrlOpener = Callable[[QUrl], object]
TextCopier = Callable[[str], None]


def copy_to_clipboard(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def placeholder_resource(kind: int) -> object:
    """What the view answers when its document asks for a resource: never the real one."""
    # Nothing in the transcript refers to a resource, and model text must never make the
    # view read one: answer every request with an empty placeholder (a null answer would
    # make Qt try the local file system itself).
    if kind == QTextDocument.ResourceType.ImageResource.value:
        image = QImage(1, 1, QImage.Format.Format_ARGB32)
        image.fill(0)
        return image
    return " "


class LinkClicks:
    """Carries out a click on a link in `view`, through its public methods and signals."""

    def __init__(
        self,
        view: ChatView,
        links: InternalLinks,
        codes: CodeRegistry,
        open_url: UrlOpener,
        copy_text: TextCopier,
    ) -> None:
        self._view = view
        self._links = links
        self._codes = codes
        self._open_url = open_url
        self._copy_text = copy_text

    def click(self, url: QUrl) -> None:
        view = self._view
        action = self._links.parse(url)
        if action is None:
            if is_web_link(url.toString()):
                self._open_url(url)
            return
        if action.name == "copy-code":
            text = self._codes.text(int(action.argument)) if action.argument.isdigit() else None
            if text is not None:
                self._copy_text(text)
            return
        serial, _, choice = action.argument.partition(".")
        messages = view.messages
        message = next((m for m in messages if str(m.serial) == serial), None)
        if message is None:
            return
        if action.name == "copy":
            self._copy_text(message.text())
        elif action.name == "choice" and choice.isdigit():
            view.select_choice(int(choice))
        elif action.name in {t.name.lower().replace("_", "-") for t in message.tools}:
            view.inspect_requested.emit(message, action.name)
        elif view.streaming:
            return
        elif action.name == "edit" and message is last_message(messages, Speaker.USER):
            view.edit_requested.emit()
        elif action.name == "cancel-edit":
            view.edit_cancelled.emit()
        elif message is not last_message(messages, Speaker.ASSISTANT):
            return
        elif action.name == "regenerate":
            view.regenerate_requested.emit()
        elif action.name == "continue":
            view.continue_requested.emit()
        elif action.name == "rerun":
            view.rerun_requested.emit()
        elif action.name == "set-seed":
            view.seed_requested.emit()
