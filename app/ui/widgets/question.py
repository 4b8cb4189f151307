"""A question in a message box, awaited without a nested event loop.

`QMessageBox.exec()` would start a nested Qt loop and stall the asyncio loop under it (and
every reply streaming meanwhile); the box is opened window-modally instead and its answer
awaited as a future.
"""

from __future__ import annotations

import asyncio

from PySide6.QtWidgets import QAbstractButton, QMessageBox


async def answered_yes(box: QMessageBox, yes: QAbstractButton) -> bool:
    """Open `box` and wait for its answer: True when `yes` was clicked. The box is closed and
    deleted afterwards, also when the waiting task is cancelled."""
    answered: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def on_finished(_result: int) -> None:
        if not answered.done():
            answered.set_result(box.clickedButton() is yes)

    box.finished.connect(on_finished)
    box.open()
    try:
        return await answered
    finally:
        box.finished.disconnect(on_finished)
        box.close()
        box.deleteLater()
