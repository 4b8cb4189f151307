"""Helpers for tests of the Markdown view: describing its document, clicking its text."""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextBlock, QTextCursor, QTextDocument
from PySide6.QtWidgets import QTextEdit
from pytestqt.qtbot import QtBot

from app.ui.markdown.formats import CODE_LANGUAGE

# The view's own action links carry a per-view token and a running number.
_ACTION = re.compile(r"chatdesk-[0-9a-f]+:([a-z-]+)/[0-9.]+")


def blocks(document: QTextDocument) -> list[QTextBlock]:
    found = []
    block = document.begin()
    while block.isValid():
        found.append(block)
        block = block.next()
    return found


def anchors(document: QTextDocument) -> list[tuple[str, str]]:
    """(text, href) of every link, in document order."""
    found = []
    for block in blocks(document):
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            if fragment.charFormat().isAnchor():
                found.append((fragment.text(), fragment.charFormat().anchorHref()))
            iterator += 1
    return found


def document_structure(document: QTextDocument) -> list[tuple[Any, ...]]:
    """Every block with the frame holding it, its layout-relevant formats and its text runs."""
    described = []
    for block in blocks(document):
        block_format = block.blockFormat()
        frame = document.frameAt(block.position())
        runs = []
        iterator = block.begin()
        while not iterator.atEnd():
            fragment = iterator.fragment()
            char = fragment.charFormat()
            runs.append(
                (
                    fragment.text(),
                    tuple(char.fontFamilies() or ()),
                    char.fontPointSize(),
                    char.fontWeight(),
                    char.fontItalic(),
                    char.fontUnderline(),
                    char.foreground().color().name(),
                    char.background().color().name(),
                    _ACTION.sub(r"\1", char.anchorHref()),
                )
            )
            iterator += 1
        described.append(
            (
                block.text(),
                type(frame).__name__,
                frame.frameFormat().background().color().name(),
                block_format.topMargin(),
                block_format.bottomMargin(),
                block_format.leftMargin(),
                block_format.lineHeight(),
                block_format.headingLevel(),
                block_format.indent(),
                block_format.background().color().name(),
                block_format.property(CODE_LANGUAGE),
                block.textList() is not None,
                tuple(runs),
            )
        )
    return described


def click_text(qtbot: QtBot, view: QTextEdit, text: str, part: str = "") -> None:
    """Click the middle of `part` (all of it by default) of the first `text` in `view`."""
    document = view.document()
    found = document.find(text, 0, QTextDocument.FindFlag.FindCaseSensitively)
    assert not found.isNull(), f"{text!r} is not in the view"
    part = part or text
    middle = QTextCursor(document)
    middle.setPosition(found.selectionStart() + text.index(part) + len(part) // 2)
    bar = view.verticalScrollBar()
    rect = view.cursorRect(middle)
    if not view.viewport().rect().contains(rect):
        bar.setValue(bar.value() + rect.top() - view.viewport().height() // 2)
        rect = view.cursorRect(middle)
    point = rect.center() + QPoint(1, 0)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
