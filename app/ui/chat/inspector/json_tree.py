"""A JSON value as a collapsible tree: each member's key, a preview of its value, its size.

Children are made when their parent is first opened, so a large document opens at once.
Each node copies as JSON (Ctrl+C or its context menu), or as its path (`.images[0]`).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtGui import QColor, QGuiApplication, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHeaderView,
    QMenu,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from app.core import json_answer
from app.ui.markdown.theme import Theme

TextCopier = Callable[[str], None]
# Levels opened when a document is shown: its top-level members and theirs.
_OPEN_LEVELS = 2
_TIP_CHARS = 2000
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def copy_to_clipboard(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


class JsonItem(QTreeWidgetItem):
    """One node: its key (or index) and value; a container's children come when it opens."""

    def __init__(self, key: str | int | None, value: object, path: str) -> None:
        super().__init__()
        self.key = key
        self.value = value
        self.path = path
        self.filled = not isinstance(value, dict | list) or not value
        if not self.filled:
            self.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)

    def fill(self) -> None:
        """Make the children (once)."""
        if self.filled:
            return
        tree = self.treeWidget()
        if not isinstance(tree, JsonTree):
            return
        self.filled = True
        self.setChildIndicatorPolicy(
            QTreeWidgetItem.ChildIndicatorPolicy.DontShowIndicatorWhenChildless
        )
        self.addChildren(_children(self.value, self.path, tree))


class JsonTree(QTreeWidget):
    """A JSON value's members as a tree of key and value-preview columns."""

    def __init__(self, parent: QWidget | None = None, *, copy_text: TextCopier | None = None):
        super().__init__(parent)
        self.setObjectName("jsonTree")
        self.setAccessibleName("JSON tree")
        self.setColumnCount(2)
        self.setHeaderLabels(["Key", "Value"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(True)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self.on_tree_context_menu_requested)
        self.itemExpanded.connect(self.on_tree_item_expanded)
        self._copy_text: TextCopier = copy_text or copy_to_clipboard
        self.copy_shortcut = QShortcut(QKeySequence.StandardKey.Copy, self)
        self.copy_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_shortcut.activated.connect(self.copy_current)
        self._colors = Theme.from_palette(self.palette(), self.font()).syntax

    def show_value(self, value: object) -> None:
        """Show `value`: a container's members at the top level, opened two levels deep."""
        self.clear()
        self._colors = Theme.from_palette(self.palette(), self.font()).syntax
        if isinstance(value, dict | list):
            self.addTopLevelItems(_children(value, "", self))
        else:
            self.addTopLevelItem(self.make_item(None, value, "."))
        self._open(self.invisibleRootItem(), _OPEN_LEVELS)
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, min(self.columnWidth(0) + 12, max(120, self.width() // 2)))

    def make_item(self, key: str | int | None, value: object, path: str) -> JsonItem:
        item = JsonItem(key, value, path)
        if key is None:
            label = "(value)"
        elif isinstance(key, int):
            label = f"[{key}]"
        else:
            label = key
        item.setText(0, label)
        item.setText(1, json_answer.preview(value))
        item.setToolTip(0, path)
        kind = json_answer.kind(value)
        color = self._kind_color(kind)
        if color is not None:
            item.setForeground(1, color)
        if isinstance(value, str) and len(value) > 40:
            shown = value if len(value) <= _TIP_CHARS else value[:_TIP_CHARS] + "…"
            item.setToolTip(1, "<qt>" + html.escape(shown) + "</qt>")
        return item

    def items(self) -> list[JsonItem]:
        """Every node made so far, depth first (unopened containers' children are not made)."""
        found: list[JsonItem] = []

        def walk(parent: QTreeWidgetItem) -> None:
            for index in range(parent.childCount()):
                child = parent.child(index)
                if isinstance(child, JsonItem):
                    found.append(child)
                    walk(child)

        walk(self.invisibleRootItem())
        return found

    def copy_current(self) -> None:
        item = self.currentItem()
        if isinstance(item, JsonItem):
            self._copy_text(json_answer.dumps(item.value))

    def on_tree_item_expanded(self, item: QTreeWidgetItem) -> None:
        if isinstance(item, JsonItem):
            item.fill()

    def on_tree_context_menu_requested(self, point: QPoint) -> None:
        item = self.itemAt(point)
        if not isinstance(item, JsonItem):
            return
        menu = QMenu(self)
        menu.addAction("Copy JSON", lambda: self._copy_text(json_answer.dumps(item.value)))
        menu.addAction("Copy path", lambda: self._copy_text(item.path))
        menu.exec(self.viewport().mapToGlobal(point))

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_colors"):
            # The value colours follow the theme (a light and a dark set).
            self._colors = Theme.from_palette(self.palette(), self.font()).syntax
            for item in self.items():
                color = self._kind_color(json_answer.kind(item.value))
                if color is not None:
                    item.setForeground(1, color)

    def _open(self, parent: QTreeWidgetItem, levels: int) -> None:
        if levels <= 0:
            return
        for index in range(parent.childCount()):
            child = parent.child(index)
            if isinstance(child, JsonItem) and isinstance(child.value, dict | list):
                child.fill()
                child.setExpanded(True)
                self._open(child, levels - 1)

    def _kind_color(self, kind: str) -> QColor | None:
        colors = self._colors
        return {
            "string": colors.string,
            "number": colors.number,
            "boolean": colors.keyword,
            "null": colors.comment,
            "object": colors.comment,
            "array": colors.comment,
        }.get(kind)


def _children(value: object, path: str, tree: JsonTree) -> list[QTreeWidgetItem]:
    make = tree.make_item
    if isinstance(value, dict):
        return [make(str(key), member, path + _key_path(str(key))) for key, member in value.items()]
    if isinstance(value, list):
        return [make(index, member, f"{path}[{index}]") for index, member in enumerate(value)]
    return []


def _key_path(key: str) -> str:
    return f".{key}" if _PLAIN_KEY.fullmatch(key) else f"[{json.dumps(key, ensure_ascii=False)}]"
