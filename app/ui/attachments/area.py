"""The image area by the composer: the images that go with the next message.

Images arrive by drop (files, or images dragged from a web page), by paste (image data or copied
files, here or in the composer) or through "Attach images…". Each becomes a tile: a thumbnail,
what it is and what will be sent, a detail choice and a remove button. Anything that cannot be
attached is explained in a line here, never in a dialog. The work happens in `ImagePreparer`, on
worker threads; the area renders its state and forwards what the user does.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import partial

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, Signal
from PySide6.QtGui import (
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
)
from PySide6.QtWidgets import (
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import CATALOG, ModelInfo, lookup
from app.core.messages import Detail, ImagePart
from app.core.problems import UserFacingError
from app.ui.attachments.problems import ImageProblems, too_many
from app.ui.attachments.sources import (
    FileSource,
    Harvest,
    ImageSource,
    Refusal,
    UrlSource,
    harvest,
    may_hold_images,
    offers_images,
)
from app.ui.attachments.tile import ImageTile
from app.ui.attachments.worker import ImagePreparer, PreparedAttachment
from app.ui.background import BackgroundImports
from app.ui.widgets.elided_label import ElidedLabel

MAX_IMAGES = 20
_FORMATS = "PNG, JPEG, GIF or WebP"
_FILE_FILTER = "Images (*.png *.jpg *.jpeg *.gif *.webp);;All files (*)"
VISION_MODELS = ", ".join(info.id for info in CATALOG.values() if info.vision)

_STYLE = """
QFrame#imageArea[dropping="true"] {
    border: 2px dashed palette(highlight);
    border-radius: 8px;
    background: palette(alternate-base);
}
QFrame#imageTile {
    border: 1px solid palette(mid);
    border-radius: 6px;
    background: palette(base);
}
QFrame#imageTile[failed="true"] { border-color: #e57373; }
QFrame#imageTile QLabel { border: none; background: transparent; }
QLabel#imageThumbnail { background: palette(alternate-base); border-radius: 4px; }
QLabel#imageHint[warning="true"] { color: #b26a00; font-weight: bold; }
"""


@dataclass(frozen=True)
class Attachment:
    """A prepared image handed to a message, with its source so it can be put back."""

    source: ImageSource
    prepared: PreparedAttachment

    @property
    def part(self) -> ImagePart:
        return self.prepared.part

    @property
    def name(self) -> str:
        return self.source.name


@dataclass(eq=False)
class _Entry:
    source: ImageSource
    detail: Detail
    tile: ImageTile
    prepared: PreparedAttachment | None = None
    job: int | None = None  # the preparation running for it, if any
    problem: UserFacingError | None = None  # why the last preparation failed

    @property
    def ready(self) -> bool:
        return self.prepared is not None and self.job is None and self.problem is None


class ImageArea(QFrame):
    """Images for the next message. `changed` is emitted whenever what would be sent changes."""

    changed = Signal()

    def __init__(
        self,
        *,
        default_detail: Detail = Detail.AUTO,
        max_images: int = MAX_IMAGES,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("imageArea")
        self.setAccessibleName("Attached images")
        self.setStyleSheet(_STYLE)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.default_detail = default_detail
        self.max_images = max_images
        self._entries: list[_Entry] = []
        self._jobs: dict[int, _Entry] = {}
        self._job_numbers = itertools.count(1)
        self._model = ""
        self._vision = True
        self._preparer: ImagePreparer | None = None

        self.tiles = QWidget()
        self.tiles.setObjectName("imageTiles")
        self._tiles_row = QHBoxLayout(self.tiles)
        self._tiles_row.setContentsMargins(0, 0, 0, 0)
        self._tiles_row.setSpacing(8)
        self._tiles_row.addStretch(1)
        self.tiles_scroll = QScrollArea(self)
        self.tiles_scroll.setObjectName("imageScroll")
        self.tiles_scroll.setAccessibleName("Attached images")
        # The tiles' own controls take the focus; the strip holding them needs none.
        self.tiles_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tiles_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.tiles_scroll.setWidgetResizable(True)
        self.tiles_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tiles_scroll.setWidget(self.tiles)
        self.tiles_scroll.hide()

        self.problems = ImageProblems(self)

        self.attach_button = QPushButton("Attach images…", self)
        self.attach_button.setObjectName("attachImagesButton")
        self.attach_button.setAccessibleName("Attach images")
        self.attach_button.setToolTip(
            f"Pick image files ({_FORMATS}); dropping or pasting them works too"
        )
        self.attach_button.setAutoDefault(False)
        self.attach_button.clicked.connect(self.pick_files)
        self.hint_label = ElidedLabel(self)
        self.hint_label.setObjectName("imageHint")
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._header = QHBoxLayout()
        self._header.setSpacing(10)
        self._header.addWidget(self.attach_button)
        self._header.addWidget(self.hint_label, 1)

        column = QVBoxLayout(self)
        column.setContentsMargins(12, 4, 12, 2)
        column.setSpacing(6)
        column.addWidget(self.tiles_scroll)
        column.addWidget(self.problems)
        column.addLayout(self._header)

        self.paste_shortcut = QShortcut(QKeySequence.StandardKey.Paste, self)
        self.paste_shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.paste_shortcut.activated.connect(self.paste)
        self._refresh()

    # --- Wiring ------------------------------------------------------------------------------

    def use_background(self, background: BackgroundImports) -> None:
        """Prepare images on worker threads once `background` has loaded Pillow."""
        if self._preparer is not None:
            self._preparer.cancel_all()
        self._preparer = ImagePreparer(background, parent=self)
        self._preparer.progressed.connect(self.on_preparer_progressed)
        self._preparer.prepared.connect(self.on_preparer_prepared)
        self._preparer.failed.connect(self.on_preparer_failed)

    def add_header_widget(self, widget: QWidget) -> None:
        """Put `widget` at the end of the area's bottom row (the request estimate goes there)."""
        self._header.addWidget(widget, 0, Qt.AlignmentFlag.AlignVCenter)

    def accept_drops_on(self, widget: QWidget) -> None:
        """Let images dropped on `widget` (the whole window, say) land here."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)

    def set_model(self, model_id: str) -> None:
        """Say whether the model can see images, and count tokens at its rates."""
        self._model = model_id
        self._vision = lookup(model_id).vision
        for entry in self._entries:
            if entry.ready and entry.prepared is not None:
                entry.tile.show_tokens(entry.prepared, model_id)
        self._refresh()

    # --- State for the controller ------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not self._entries

    @property
    def messages(self) -> tuple[tuple[str, str], ...]:
        """The problems shown, as (headline, remedy)."""
        return self.problems.problems

    def parts(self) -> tuple[ImagePart, ...]:
        """The images ready to send, in order."""
        return tuple(e.prepared.part for e in self._entries if e.ready and e.prepared is not None)

    def blocking_problem(self, model: ModelInfo) -> UserFacingError | None:
        """Why the attached images cannot be sent to `model` now, or None if they can."""
        if not self._entries:
            return None
        preparing = sum(1 for entry in self._entries if entry.job is not None)
        failed = [entry for entry in self._entries if entry.problem is not None]
        if preparing:
            return UserFacingError(
                "The image is still being prepared"
                if preparing == 1
                else f"{preparing} images are still being prepared",
                "Send again when the preview appears; your message is kept.",
            )
        if failed:
            return UserFacingError(
                f"“{failed[0].source.name}” could not be prepared",
                "Remove it, or choose another detail to try again.",
            )
        if len(self._entries) > self.max_images:
            return UserFacingError(
                f"{len(self._entries)} images are attached; a message can carry {self.max_images}",
                "Remove some of them, then send again.",
            )
        if not model.vision:
            return UserFacingError(
                f"{model.id} cannot see images",
                f"Remove the images, or pick a model with vision ({VISION_MODELS}).",
            )
        return None

    def take(self) -> tuple[Attachment, ...]:
        """Hand the ready images to the message being sent, leaving the area empty."""
        taken = tuple(
            Attachment(entry.source, entry.prepared)
            for entry in self._entries
            if entry.ready and entry.prepared is not None
        )
        for entry in list(self._entries):
            self._discard(entry)
        self.problems.clear()
        self._refresh()
        self.changed.emit()
        return taken

    def restore(self, attachments: Sequence[Attachment]) -> None:
        """Put back images whose message could not be sent, before any attached since."""
        for position, attachment in enumerate(attachments):
            entry = self._new_entry(attachment.source, attachment.part.detail, position)
            entry.prepared = attachment.prepared
            entry.tile.show_ready(attachment.prepared, self._model)
        if attachments:
            self._refresh()
            self.changed.emit()

    def show_problem(self, problem: UserFacingError) -> None:
        """Explain a problem in the area's problem strip (keeps earlier ones)."""
        self.problems.add(problem)

    # --- What the user does ------------------------------------------------------------------

    def can_take(self, mime: QMimeData) -> bool:
        """Whether text being pasted or dropped in the composer is really images to attach."""
        return self.isEnabled() and offers_images(mime, any_url=False)

    def take_mime(self, mime: QMimeData) -> bool:
        """Attach what text pasted or dropped in the composer carries; False if it is text."""
        found = harvest(mime, any_url=False) if self.isEnabled() else Harvest()
        if found.empty:
            return False
        self.add(found)
        return True

    def add_mime(self, mime: QMimeData) -> None:
        """Attach what was dropped or pasted on the area, or say why nothing was."""
        found = harvest(mime)
        if found.empty:
            found = Harvest(
                refusals=(
                    Refusal(
                        "Nothing here can be attached",
                        f"Drop or paste image files ({_FORMATS}), or images from a web page.",
                    ),
                )
            )
        self.add(found)

    def add_files(self, paths: Iterable[str]) -> None:
        self.add(Harvest(tuple(FileSource(path) for path in paths)))

    def add(self, found: Harvest) -> None:
        """Start preparing `found`'s images; explain its refusals. Replaces earlier problems."""
        problems = [UserFacingError(r.headline, r.remedy) for r in found.refusals]
        sources = found.sources
        if len(sources) > self.max_images - len(self._entries):
            problems.append(too_many(len(sources), len(self._entries), self.max_images))
            sources = ()
        if sources and self._preparer is None:
            problems.append(
                UserFacingError(
                    "Images cannot be attached yet", "Wait for Chatdesk to finish starting."
                )
            )
            sources = ()
        self.problems.replace(problems)
        for source in sources:
            entry = self._new_entry(source, self.default_detail, len(self._entries))
            self._prepare(entry)
        self._refresh()
        if sources:
            self.changed.emit()

    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            self.add(Harvest(refusals=(Refusal("The clipboard is empty", "Copy an image first."),)))
            return
        self.add_mime(mime)

    def pick_files(self) -> None:
        # Non-native and opened without a nested event loop, so the asyncio loop keeps running.
        dialog = QFileDialog(self, "Attach images")
        dialog.setObjectName("attachImagesDialog")
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(_FILE_FILTER)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(self.add_files)
        dialog.open()

    # --- Drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragMoveEvent) -> None:
        self._on_drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._on_drag(event)

    def dragLeaveEvent(self, event: QEvent) -> None:
        self._set_dropping(False)

    def dropEvent(self, event: QDropEvent) -> None:
        self._on_drop(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragMoveEvent
        ):
            self._on_drag(event)
            return True
        if kind == QEvent.Type.DragLeave:
            self._set_dropping(False)
            return True
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent):
            self._on_drop(event)
            return True
        return super().eventFilter(watched, event)

    def _on_drag(self, event: QDragMoveEvent) -> None:
        mime = event.mimeData()
        if self.isEnabled() and mime is not None and may_hold_images(mime):
            event.acceptProposedAction()
            self._set_dropping(True)
        else:
            event.ignore()

    def _on_drop(self, event: QDropEvent) -> None:
        self._set_dropping(False)
        mime = event.mimeData()
        if not self.isEnabled() or mime is None:
            event.ignore()
            return
        event.acceptProposedAction()
        self.add_mime(mime)

    def _set_dropping(self, dropping: bool) -> None:
        if self.property("dropping") != dropping:
            self.setProperty("dropping", dropping)
            self.style().unpolish(self)
            self.style().polish(self)

    # --- Preparation results -----------------------------------------------------------------

    def on_preparer_progressed(self, job: int, text: str) -> None:
        entry = self._jobs.get(job)
        if entry is not None:
            entry.tile.show_preparing(text)

    def on_preparer_prepared(self, job: int, prepared: PreparedAttachment) -> None:
        entry = self._jobs.pop(job, None)
        if entry is None:
            return
        entry.job = None
        entry.problem = None
        entry.prepared = prepared
        entry.tile.show_ready(prepared, self._model)
        self._refresh()
        self.changed.emit()

    def on_preparer_failed(self, job: int, problem: UserFacingError) -> None:
        entry = self._jobs.pop(job, None)
        if entry is None:
            return
        entry.job = None
        self.problems.add(problem)
        if entry.prepared is None:
            # Never attached: the message says why, and nothing is left behind.
            self._discard(entry)
        else:
            entry.problem = problem
            entry.tile.show_failed(problem)
        self._refresh()
        self.changed.emit()

    def on_tile_remove_clicked(self, entry: _Entry) -> None:
        self._discard(entry)
        self._refresh()
        self.changed.emit()

    def on_tile_detail_chosen(self, entry: _Entry, detail: Detail) -> None:
        if detail is entry.detail and entry.problem is None:
            return
        entry.detail = detail
        current = entry.prepared
        if (
            entry.job is None
            and entry.problem is None
            and current is not None
            and current.serves(detail)
        ):
            # The same bytes serve this detail (auto and high, or a small image): no new work.
            entry.prepared = current.with_detail(detail)
            entry.tile.show_ready(entry.prepared, self._model)
            self.changed.emit()
            return
        self._prepare(entry)
        self._refresh()
        self.changed.emit()

    # --- Internals ---------------------------------------------------------------------------

    def _new_entry(self, source: ImageSource, detail: Detail, position: int) -> _Entry:
        tile = ImageTile(source.name, detail, self.tiles)
        entry = _Entry(source, detail, tile)
        tile.remove_clicked.connect(partial(self.on_tile_remove_clicked, entry))
        tile.detail_chosen.connect(partial(self.on_tile_detail_chosen, entry))
        self._entries.insert(position, entry)
        self._tiles_row.insertWidget(position, tile)
        if isinstance(source, UrlSource):
            entry.prepared = PreparedAttachment.web(source.url, detail)
            tile.show_ready(entry.prepared, self._model)
        return entry

    def _prepare(self, entry: _Entry) -> None:
        if isinstance(entry.source, UrlSource):
            entry.prepared = PreparedAttachment.web(entry.source.url, entry.detail)
            entry.tile.show_ready(entry.prepared, self._model)
            return
        assert self._preparer is not None
        if entry.job is not None:
            self._preparer.cancel(entry.job)
            self._jobs.pop(entry.job, None)
        job = next(self._job_numbers)
        entry.job = job
        entry.problem = None
        self._jobs[job] = entry
        entry.tile.show_preparing("Waiting…")
        self._preparer.start(job, entry.source, entry.detail)

    def _discard(self, entry: _Entry) -> None:
        if entry.job is not None:
            if self._preparer is not None:
                self._preparer.cancel(entry.job)
            self._jobs.pop(entry.job, None)
            entry.job = None
        self._entries.remove(entry)
        entry.tile.hide()
        entry.tile.deleteLater()

    def _refresh(self) -> None:
        self.tiles_scroll.setVisible(bool(self._entries))
        if self._entries:
            tile_height = max(entry.tile.sizeHint().height() for entry in self._entries)
            bar = self.tiles_scroll.horizontalScrollBar().sizeHint().height()
            self.tiles_scroll.setFixedHeight(tile_height + bar + 2)
        self._render_hint()

    def _render_hint(self) -> None:
        preparing = sum(1 for entry in self._entries if entry.job is not None)
        count = len(self._entries)
        if not self._vision:
            text = (
                f"{self._model} cannot see images: pick a model with vision to send them."
                if count
                else f"{self._model} cannot see images."
            )
        elif count:
            text = f"{count} image{'s' if count != 1 else ''} (up to {self.max_images})"
            if preparing:
                text += f" · preparing {preparing}…"
        else:
            text = f"or drop or paste them here ({_FORMATS}, up to {self.max_images})"
        self.hint_label.setText(text)
        warning = not self._vision
        if self.hint_label.property("warning") != warning:
            self.hint_label.setProperty("warning", warning)
            self.hint_label.style().unpolish(self.hint_label)
            self.hint_label.style().polish(self.hint_label)
