"""How images reach the area: dropped on it or on a widget it watches, pasted, or picked.

Each way ends in a `Harvest` (see `sources`) for the area to attach; what cannot be attached
arrives as a refusal the area explains.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt
from PySide6.QtGui import QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QFileDialog, QWidget

from app.ui.attachments.sources import Harvest, Refusal, harvest, may_hold_images

FORMATS = "PNG, JPEG, GIF or WebP"
_FILE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.webp);;All files (*)"


def dropped(mime: QMimeData) -> Harvest:
    """What was dropped or pasted on the area; a refusal if none of it is an image."""
    found = harvest(mime)
    if found.empty:
        found = Harvest(
            refusals=(
                Refusal(
                    "Nothing here can be attached",
                    f"Drop or paste image files ({FORMATS}), or images from a web page.",
                ),
            )
        )
    return found


def pasted() -> Harvest:
    """What the clipboard holds, as `dropped` sees it."""
    mime = QGuiApplication.clipboard().mimeData()
    if mime is None:
        return Harvest(refusals=(Refusal("The clipboard is empty", "Copy an image first."),))
    return dropped(mime)


def pick_files(parent: QWidget, chosen: Callable[[list[str]], None]) -> None:
    """Ask for image files; `chosen` receives their paths if the user picks any."""
    # Non-native and opened without a nested event loop, so the asyncio loop keeps running.
    dialog = QFileDialog(parent, "Attach images")
    dialog.setObjectName("attachImagesDialog")
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
    dialog.setNameFilter(_FILE_FILTER)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.filesSelected.connect(chosen)
    dialog.open()


class DropTarget(QObject):
    """Drags over the area, or over a widget it watches, that may carry images.

    While one hovers the area is marked (its `dropping` property, which its style sheet
    outlines); what is dropped goes to `take`. Nothing is taken while the area is disabled.
    """

    def __init__(self, area: QWidget, take: Callable[[QMimeData], None]) -> None:
        super().__init__(area)
        self._area = area
        self._take = take

    def watch(self, widget: QWidget) -> None:
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragMoveEvent
        ):
            self.drag(event)
            return True
        if kind == QEvent.Type.DragLeave:
            self.leave()
            return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            self.drop(event)
            return True
        return super().eventFilter(watched, event)

    def drag(self, event: QDragMoveEvent) -> None:
        mime = event.mimeData()
        if self._area.isEnabled() and mime is not None and may_hold_images(mime):
            event.acceptProposedAction()
            self._set_dropping(True)
        else:
            event.ignore()

    def leave(self) -> None:
        self._set_dropping(False)

    def drop(self, event: QDropEvent) -> None:
        self._set_dropping(False)
        mime = event.mimeData()
        if not self._area.isEnabled() or mime is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self._take(mime)

    def _set_dropping(self, dropping: bool) -> None:
        area = self._area
        if area.property("dropping") != dropping:
            area.setProperty("dropping", dropping)
            area.style().unpolish(area)
            area.style().polish(area)
