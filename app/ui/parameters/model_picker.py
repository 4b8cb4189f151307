"""The model picker: the catalog's models, then the ones the server lists, each with its limits
and price in its tooltip.

The catalog's models always come first, in catalog order, so the familiar names stay where
they were; models only the server knows (dated snapshots, fine-tunes, local models) follow
after a separator. A model the catalog does not know works with default parameters.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from app.core.catalog import ModelInfo, lookup
from app.core.usage import format_usd

PICKER_TOOLTIP = "The model that answers the next message"


def model_summary(info: ModelInfo) -> str:
    """Context window, output limit and price of `info`, a few lines for a tooltip."""
    lines = [info.id]
    if info.known:
        context = f"Context window: {info.context_window:,} tokens"
        if info.max_output_tokens:
            context += f", up to {info.max_output_tokens:,} in the reply"
        lines.append(context)
    else:
        lines.append(
            f"Not in Chatdesk's catalog: default parameters; a context window of "
            f"{info.context_window:,} tokens is assumed"
        )
    if info.input_per_million is not None and info.output_per_million is not None:
        price = (
            f"Price per million tokens: {format_usd(info.input_per_million)} in, "
            f"{format_usd(info.output_per_million)} out"
        )
        if info.cached_input_per_million is not None:
            price += f" ({format_usd(info.cached_input_per_million)} cached in)"
        lines.append(price)
    else:
        lines.append("Price unknown: costs are shown as unknown")
    if info.reasoning:
        lines.append("Reasoning model: no temperature, top P, penalties or logprobs")
    if not info.vision:
        lines.append("Cannot see images")
    return "\n".join(lines)


class ModelPicker(QComboBox):
    """The model for the next message; `currentTextChanged` says which was picked."""

    def __init__(
        self, catalog_models: Iterable[str], current: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("modelCombo")
        self.setAccessibleName("Model")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setMaxVisibleItems(20)
        self._catalog = list(dict.fromkeys(catalog_models))
        self._server: list[str] = []
        self._fill(current)
        self.currentTextChanged.connect(self.on_current_text_changed)
        self.on_current_text_changed(self.currentText())

    @property
    def current_model(self) -> str:
        return self.currentText()

    @property
    def server_models(self) -> tuple[str, ...]:
        return tuple(self._server)

    def model_ids(self) -> list[str]:
        """Every model offered, in the order shown."""
        return [self.itemText(i) for i in range(self.count()) if self.itemText(i)]

    def set_current_model(self, model_id: str) -> None:
        """Select `model_id`, adding it below the others if it is not offered yet."""
        if model_id == self.currentText():
            return
        if self.findText(model_id, Qt.MatchFlag.MatchExactly) < 0:
            self._server = sorted({*self._server, model_id})
            self._fill(model_id)
            self.on_current_text_changed(model_id)
            self.currentTextChanged.emit(model_id)
            return
        self.setCurrentText(model_id)

    def set_server_models(self, model_ids: Iterable[str]) -> None:
        """Offer the models the server listed besides the catalog's; the selection stays."""
        current = self.currentText()
        self._server = sorted({m for m in model_ids if m} - set(self._catalog))
        self._fill(current)

    def _fill(self, current: str) -> None:
        extras = list(self._server)
        if current and current not in self._catalog and current not in extras:
            # The selected model stays on offer even when the server stops listing it.
            extras = sorted({*extras, current})
        # Repopulating must not look like the user picking a model.
        blocked = self.blockSignals(True)
        try:
            self.clear()
            for model_id in self._catalog:
                self._add(model_id)
            if extras:
                self.insertSeparator(self.count())
                for model_id in extras:
                    self._add(model_id)
            index = self.findText(current, Qt.MatchFlag.MatchExactly)
            self.setCurrentIndex(max(index, 0))
        finally:
            self.blockSignals(blocked)

    def _add(self, model_id: str) -> None:
        self.addItem(model_id)
        self.setItemData(
            self.count() - 1, model_summary(lookup(model_id)), Qt.ItemDataRole.ToolTipRole
        )

    def on_current_text_changed(self, model_id: str) -> None:
        summary = model_summary(lookup(model_id)) if model_id else ""
        self.setToolTip(f"{PICKER_TOOLTIP}\n\n{summary}" if summary else PICKER_TOOLTIP)
