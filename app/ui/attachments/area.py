"""The image area by the composer: the images that go with the next message.

Images arrive by drop (files, or images dragged from a web page), by paste (image data or copied
files, here or in the composer) or through "Attach images…". Each becomes a tile: a thumbnail,
what it is and what will be sent, a detail choice and a remove button. Anything that cannot be
attached is explained in a line here, never in a dialog. The work happens in `ImagePreparer`, on
worker threads; the area renders its state and forwards what the user does. How images arrive
is in `intake`; what each one is and what keeps them from being sent, in `entries`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from functools import partial

from PySide6.QtCore import QEvent, QMimeData, Qt, Signal
from PySide6.QtGui import QDragMoveEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import ModelInfo, lookup
from app.core.messages import Detail, ImagePart
from app.core.problems import UserFacingError
from app.ui.attachments import intake
from app.ui.attachments.entries import Attachment, Entry, blocking_problem, hint_text
from app.ui.attachments.intake import FORMATS, DropTarget
from app.ui.attachments.problems import ImageProblems, too_many
from app.ui.attachments.sources import (
    FileSource,
    Harvest,
    ImageSource,
    UrlSource,
    harvest,
    offers_images,
)
from app.ui.attachments.strip import TileStrip
from app.ui.attachments.tile import ImageTile
from app.ui.attachments.worker import ImagePreparer, PreparedAttachment
from app.ui.background import BackgroundImports
from app.ui.widgets.elided_label import ElidedLabel

__all__ = ["MAX_IMAGES", "Attachment", "ImageArea"]

MAX_IMAGES = 20

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
        self._entries: list[Entry] = []
        self._jobs: dict[int, Entry] = {}
        self._job_numbers = itertools.count(1)
        self._model = ""
        self._vision = True
        self._preparer: ImagePreparer | None = None

        self.tiles_scroll = TileStrip(self)
        self.tiles = self.tiles_scroll.tiles
        self._drops = DropTarget(self, self.add_mime)

        self.problems = ImageProblems(self)

        self.attach_button = QPushButton("Attach images…", self)
        self.attach_button.setObjectName("attachImagesButton")
        self.attach_button.setAccessibleName("Attach images")
        self.attach_button.setToolTip(
            f"Pick image files ({FORMATS}); dropping or pasting them works too"
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
        self._drops.watch(widget)

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
        return blocking_problem(self._entries, self.max_images, model)

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
        self.add(intake.dropped(mime))

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
        self.add(intake.pasted())

    def pick_files(self) -> None:
        intake.pick_files(self, self.add_files)

    # --- Drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragMoveEvent) -> None:
        self._drops.drag(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._drops.drag(event)

    def dragLeaveEvent(self, event: QEvent) -> None:
        self._drops.leave()

    def dropEvent(self, event: QDropEvent) -> None:
        self._drops.drop(event)

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

    def on_tile_remove_clicked(self, entry: Entry) -> None:
        self._discard(entry)
        self._refresh()
        self.changed.emit()

    def on_tile_detail_chosen(self, entry: Entry, detail: Detail) -> None:
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

    def _new_entry(self, source: ImageSource, detail: Detail, position: int) -> Entry:
        tile = ImageTile(source.name, detail, self.tiles)
        entry = Entry(source, detail, tile)
        tile.remove_clicked.connect(partial(self.on_tile_remove_clicked, entry))
        tile.detail_chosen.connect(partial(self.on_tile_detail_chosen, entry))
        self._entries.insert(position, entry)
        self.tiles_scroll.insert(position, tile)
        if isinstance(source, UrlSource):
            entry.prepared = PreparedAttachment.web(source.url, detail)
            tile.show_ready(entry.prepared, self._model)
        return entry

    def _prepare(self, entry: Entry) -> None:
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

    def _discard(self, entry: Entry) -> None:
        if entry.job is not None:
            if self._preparer is not None:
                self._preparer.cancel(entry.job)
            self._jobs.pop(entry.job, None)
            entry.job = None
        self._entries.remove(entry)
        entry.tile.hide()
        entry.tile.deleteLater()

    def _refresh(self) -> None:
        self.tiles_scroll.fit([entry.tile for entry in self._entries])
        self._render_hint()

    def _render_hint(self) -> None:
        text = hint_text(self._entries, self.max_images, self._model, self._vision)
        self.hint_label.setText(text)
        warning = not self._vision
        if self.hint_label.property("warning") != warning:
            self.hint_label.setProperty("warning", warning)
            self.hint_label.style().unpolish(self.hint_label)
            self.hint_label.style().polish(self.hint_label)
