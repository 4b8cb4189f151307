"""Drops as another application delivers them: a drag entering a widget, then the drop."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget


def file_mime(*paths: Path | str) -> QMimeData:
    """What a file manager puts on a drag of `paths`: their file:// URLs."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path)) for path in paths])
    return mime


def drop(target: QWidget, mime: QMimeData) -> bool:
    """Drag `mime` onto the middle of `target` and drop it there; whether it was accepted."""
    point = target.rect().center()
    buttons, keys = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point, Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    dropped = QDropEvent(point.toPointF(), Qt.DropAction.CopyAction, mime, buttons, keys)
    QApplication.sendEvent(target, dropped)
    return True
