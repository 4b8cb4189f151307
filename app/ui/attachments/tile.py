"""One attached image as the image area shows it: thumbnail, what is sent, detail, remove."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.messages import Detail, ImagePart
from app.core.problems import UserFacingError
from app.core.tokens import image_tokens
from app.ui.attachments.worker import PreparedAttachment, format_bytes

THUMBNAIL_SIZE = 64
TILE_WIDTH = 290
_DETAILS = ((Detail.AUTO, "Auto detail"), (Detail.HIGH, "High detail"), (Detail.LOW, "Low detail"))


def _format_label(fmt: str | None) -> str:
    return "WebP" if fmt == "WEBP" else fmt or ""


def describe(prepared: PreparedAttachment) -> str:
    """What the image is and what is sent: "4032×3024 JPEG → 1365×1024"."""
    if prepared.part.is_remote:
        return "Web image: the API fetches it"
    original, sent = prepared.original_size, prepared.sent_size
    if original is None or sent is None:
        return ""
    before = f"{original[0]}×{original[1]}"
    if prepared.original_format:
        before += f" {_format_label(prepared.original_format)}"
    after = f"{sent[0]}×{sent[1]}"
    # The format sent is named when it differs, or when there was none (a pasted picture).
    if prepared.sent_format != prepared.original_format:
        after += f" {_format_label(prepared.sent_format)}"
    if prepared.unchanged:
        return f"{before}, sent as is"
    return f"{before} → {after}"


def weight_text(prepared: PreparedAttachment) -> str:
    """Bytes before and after: "18.4 MB → 212 KB"."""
    if prepared.sent_bytes is None:
        return ""
    if prepared.original_bytes is None or prepared.original_bytes == prepared.sent_bytes:
        return format_bytes(prepared.sent_bytes)
    return f"{format_bytes(prepared.original_bytes)} → {format_bytes(prepared.sent_bytes)}"


def tokens_text(part: ImagePart, model_id: str) -> str:
    count = image_tokens(part.width, part.height, part.detail, model_id)
    return f"{'≤ ' if part.is_remote else ''}{count:,} tokens"


class ImageTile(QFrame):
    """One attached image: thumbnail, description, detail choice and remove button."""

    remove_clicked = Signal()
    detail_chosen = Signal(object)  # Detail

    def __init__(self, name: str, detail: Detail, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("imageTile")
        self.setAccessibleName(f"Image {name}")
        self.setFixedWidth(TILE_WIDTH)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.name = name
        self.thumbnail = QLabel("…", self)
        self.thumbnail.setObjectName("imageThumbnail")
        self.thumbnail.setFixedSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE)
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.name_label = QLabel(self)
        self.name_label.setObjectName("imageName")
        # Bold through the font, not a style sheet, so the eliding below measures bold text.
        bold = self.name_label.font()
        bold.setBold(True)
        self.name_label.setFont(bold)
        self.info_label = QLabel(self)
        self.info_label.setObjectName("imageInfo")
        self.status_label = QLabel(self)
        self.status_label.setObjectName("imageStatus")
        self.status_label.setEnabled(False)  # the theme's dimmed text colour
        self.progress = QProgressBar(self)
        self.progress.setObjectName("imageProgress")
        self.progress.setAccessibleName(f"Preparing {name}")
        self.progress.setRange(0, 0)  # busy: decoding reports no fraction done
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(6)
        self.progress.hide()
        self.detail_combo = QComboBox(self)
        self.detail_combo.setObjectName("imageDetail")
        self.detail_combo.setAccessibleName(f"Detail for {name}")
        self.detail_combo.setToolTip(
            "How closely the model looks: low costs a fixed small amount of tokens, high "
            "counts 512-pixel tiles, auto lets the API choose (estimated as high)."
        )
        for value, text in _DETAILS:
            self.detail_combo.addItem(text, value.value)
        self.set_detail(detail)
        self.detail_combo.activated.connect(self.on_detail_combo_activated)
        self.remove_button = QToolButton(self)
        self.remove_button.setObjectName("removeImageButton")
        self.remove_button.setText("✕")
        self.remove_button.setAccessibleName(f"Remove {name}")
        self.remove_button.setToolTip(f"Remove {name}")
        self.remove_button.clicked.connect(self.remove_clicked)

        top = QHBoxLayout()
        top.setSpacing(4)
        top.addWidget(self.name_label, 1)
        top.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        lines = QVBoxLayout()
        lines.setSpacing(2)
        lines.addLayout(top)
        lines.addWidget(self.info_label)
        lines.addWidget(self.status_label)
        lines.addWidget(self.progress)
        lines.addWidget(self.detail_combo, 0, Qt.AlignmentFlag.AlignLeft)
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 6, 4, 6)
        row.setSpacing(8)
        row.addWidget(self.thumbnail, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(lines, 1)
        self._set_name()
        # As tall as the busiest state (progress shown), so tiles never change height.
        self.progress.show()
        self.setFixedHeight(self.sizeHint().height())
        self.progress.hide()

    @property
    def detail(self) -> Detail:
        return Detail(self.detail_combo.currentData())

    def set_detail(self, detail: Detail) -> None:
        self.detail_combo.setCurrentIndex(self.detail_combo.findData(detail.value))

    def show_preparing(self, text: str) -> None:
        self._set_failed(False)
        self.status_label.setText(text)
        self.progress.show()

    def show_ready(self, prepared: PreparedAttachment, model_id: str) -> None:
        self._set_failed(False)
        self.progress.hide()
        if prepared.thumbnail is not None:
            pixmap = QPixmap.fromImage(prepared.thumbnail)
            pixmap.setDevicePixelRatio(
                max(1.0, max(pixmap.width(), pixmap.height()) / THUMBNAIL_SIZE)
            )
            self.thumbnail.setPixmap(pixmap)
        elif prepared.part.is_remote:
            self.thumbnail.setText("web")
        self.info_label.setText(describe(prepared))
        self.show_tokens(prepared, model_id)
        tip = [prepared.part.source or self.name, *prepared.notes]
        self.setToolTip("\n".join(tip))

    def show_tokens(self, prepared: PreparedAttachment, model_id: str) -> None:
        parts = [weight_text(prepared), tokens_text(prepared.part, model_id)]
        self.status_label.setText(" · ".join(part for part in parts if part))

    def show_failed(self, problem: UserFacingError) -> None:
        self._set_failed(True)
        self.progress.hide()
        self.status_label.setText(problem.headline)
        self.setToolTip(f"{problem.headline}. {problem.remedy}")

    def on_detail_combo_activated(self, _index: int) -> None:
        self.detail_chosen.emit(self.detail)

    def _set_failed(self, failed: bool) -> None:
        if self.property("failed") != failed:
            self.setProperty("failed", failed)
            self.style().unpolish(self)
            self.style().polish(self)

    def _set_name(self) -> None:
        metrics = self.name_label.fontMetrics()
        # What the row leaves the name: margins, spacing, the thumbnail and the remove button.
        width = TILE_WIDTH - THUMBNAIL_SIZE - 30 - self.remove_button.sizeHint().width()
        self.name_label.setText(metrics.elidedText(self.name, Qt.TextElideMode.ElideMiddle, width))
        self.name_label.setToolTip(self.name)
