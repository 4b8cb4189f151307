"""The main window: model picker, conversation, composer, Send/Stop and the status bar.

It lays the widgets out and routes the user's intent (buttons, shortcuts, model choice) to the
`ChatController`; it holds no conversation state of its own.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.catalog import lookup
from app.core.messages import Detail
from app.core.settings import SendShortcut
from app.ui.attachments.area import ImageArea
from app.ui.chat.composer import Composer
from app.ui.chat.controller import ChatController
from app.ui.chat.inspector.dock import InspectorDock
from app.ui.chat.inspector.follower import ReplyInspector
from app.ui.chat.request_gauge import RequestGauge
from app.ui.chat.view import ChatView
from app.ui.conversations.actions import ConversationActions, ConversationSource
from app.ui.conversations.sidebar import Sidebar
from app.ui.parameters.model_picker import ModelPicker
from app.ui.parameters.panel import ParameterDock
from app.ui.welcome import WelcomePanel
from app.ui.widgets.clickable import ClickWatcher
from app.ui.widgets.error_banner import ErrorBanner
from app.ui.widgets.status_bar import StatusBar
from app.ui.window_actions import Owner, add_actions, keys_text

APP_TITLE = "Chatdesk"


class MainWindow(QMainWindow):
    """Chatdesk's main window. `closed` is emitted when the user closes it."""

    closed = Signal()
    demo_requested = Signal()
    # The settings dialog was asked for; the argument names the field to focus ("" for none).
    settings_requested = Signal(str)
    # The Usage window was asked for (its button, Ctrl+Shift+U, or a click on the spend).
    usage_requested = Signal()
    # The Stop and New chat commands from the keyboard (`bind` hands them to the controller).
    stop_requested = Signal()
    new_chat_requested = Signal()

    def __init__(
        self,
        models: Iterable[str],
        current_model: str,
        *,
        send_shortcut: SendShortcut = SendShortcut.ENTER,
        image_detail: Detail = Detail.AUTO,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(APP_TITLE)
        self.setObjectName("mainWindow")
        self.resize(1120, 740)
        self.setMinimumSize(480, 400)
        self._controller: ChatController | None = None
        # Asked before the window closes (False: not now); the session sets it.
        self.close_guard: Callable[[], bool] | None = None
        # The window's own commands; the Conversation menu builds its own from the same table.
        self.window_actions = add_actions(Owner.WINDOW, self, self)

        # The catalog's models, then the server's (`model_combo.set_server_models`).
        self.model_combo = ModelPicker(models, current_model, self)
        model_label = QLabel("&Model", self)
        model_label.setBuddy(self.model_combo)
        self.settings_button = QPushButton("Settings", self)
        self.settings_button.setObjectName("settingsButton")
        self.settings_button.setAccessibleName("Settings")
        self.settings_button.setToolTip(
            f"API key, server, theme and more ({self._keys('settings')})"
        )
        self.settings_button.clicked.connect(self.on_settings_button_clicked)
        self.usage_button = QPushButton("Usage", self)
        self.usage_button.setObjectName("usageButton")
        self.usage_button.setAccessibleName("Usage")
        self.usage_button.setToolTip(
            f"Spend per day and model, and the budget ({self._keys('usage')})"
        )
        self.usage_button.clicked.connect(self.usage_requested)

        self.parameter_dock = ParameterDock(self)
        self.parameter_panel = self.parameter_dock.panel
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.parameter_dock)
        self.parameter_dock.hide()
        self.parameters_button = QPushButton("Parameters", self)
        self.parameters_button.setObjectName("parametersButton")
        self.parameters_button.setAccessibleName("Parameters")
        self.parameters_button.setToolTip("Show or hide this conversation's parameters")
        self.parameters_button.setCheckable(True)
        self.parameters_button.toggled.connect(self.parameter_dock.setVisible)
        self.parameter_dock.toggleViewAction().toggled.connect(self.parameters_button.setChecked)
        # A reply's token probabilities or JSON tree, opened from links in the reply's header.
        self.inspector_dock = InspectorDock(self)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.inspector_dock)
        self.inspector_dock.hide()

        self.banner = ErrorBanner(self)
        self.sidebar = Sidebar(self)
        self.new_chat_button = self.sidebar.new_chat_button
        self.new_chat_button.setToolTip(f"Start an empty conversation ({self._keys('new_chat')})")
        self.chat_view = ChatView(self)
        self.welcome = WelcomePanel(self)
        self.welcome.demo_requested.connect(self.demo_requested)
        self.welcome.key_requested.connect(self.on_welcome_key_requested)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(self.chat_view)
        self.pages.addWidget(self.welcome)

        self.composer = Composer(send_shortcut, self)
        self.image_area = ImageArea(default_detail=image_detail, parent=self)
        self.request_gauge = RequestGauge(self)
        self.image_area.add_header_widget(self.request_gauge)
        # Images dropped on the window or the conversation, or pasted into the composer, are
        # attached rather than inserted as text.
        self.image_area.accept_drops_on(self)
        self.image_area.accept_drops_on(self.chat_view.viewport())
        self.composer.set_attachment_handler(self.image_area)
        self.send_button = QPushButton("Send", self)
        self.send_button.setObjectName("sendButton")
        self.send_button.setAccessibleName("Send")
        self.send_button.setDefault(False)
        self.send_button.setAutoDefault(False)
        self.stop_button = QPushButton("Stop", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setAccessibleName("Stop")
        self.stop_button.setToolTip(f"Stop the reply, keeping what arrived ({self._keys('stop')})")
        self.stop_button.setEnabled(False)
        for button in (self.send_button, self.stop_button):
            button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            button.setMinimumWidth(84)

        self.status = StatusBar(self)
        self.setStatusBar(self.status)
        # Export and View as code live in their own module; the window only places them.
        self.conversation_actions = ConversationActions(
            self, banner=self.banner, status=self.status
        )
        self.conversation_button = self.conversation_actions.button
        self._lay_out(model_label)

        self.spend_clicks = ClickWatcher(self.status.totals_label)
        self.spend_clicks.clicked.connect(self.usage_requested)
        self._set_tab_order()
        self.composer.setFocus()

    def _keys(self, name: str) -> str:
        """The keys of command `name`, as this platform writes them (for tooltips)."""
        return keys_text(self.window_actions[name])

    def _set_tab_order(self) -> None:
        # From writing to sending first, then the controls above the conversation, then the
        # conversation and the problem banner; Tab from the last wraps to the composer.
        chain: list[QWidget] = [
            self.composer,
            self.send_button,
            self.stop_button,
            self.model_combo,
            self.parameters_button,
            self.usage_button,
            self.settings_button,
            self.welcome.key_button,
            self.welcome.demo_button,
            self.banner.retry_button,
            self.banner.dismiss_button,
            self.chat_view,
            self.sidebar.new_chat_button,
            self.sidebar.search_button,
            self.sidebar.list_view,
            self.conversation_button,
        ]
        for first, second in itertools.pairwise(chain):
            QWidget.setTabOrder(first, second)

    def _lay_out(self, model_label: QLabel) -> None:
        top = QHBoxLayout()
        top.setContentsMargins(12, 10, 12, 6)
        top.setSpacing(8)
        top.addWidget(model_label)
        top.addWidget(self.model_combo)
        top.addStretch(1)
        top.addWidget(self.conversation_button)
        top.addWidget(self.parameters_button)
        top.addWidget(self.usage_button)
        top.addWidget(self.settings_button)

        buttons = QVBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.send_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(12, 6, 12, 10)
        bottom.setSpacing(8)
        bottom.addWidget(self.composer, 1)
        bottom.addLayout(buttons)

        banner_row = QHBoxLayout()
        banner_row.setContentsMargins(12, 0, 12, 6)
        banner_row.addWidget(self.banner)

        column = QVBoxLayout()
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addLayout(top)
        column.addLayout(banner_row)
        column.addWidget(self.pages, 1)
        column.addWidget(self.image_area)
        column.addLayout(bottom)
        chat = QWidget(self)
        chat.setLayout(column)
        # The conversation list beside the chat; the chat gets any extra width.
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(chat)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([240, 880])
        self.setCentralWidget(self.splitter)

    @property
    def controller(self) -> ChatController | None:
        return self._controller

    def bind(self, controller: ChatController) -> None:
        """Route buttons, shortcuts and the model picker to `controller`."""
        self._controller = controller
        self.send_button.clicked.connect(controller.on_composer_submitted)
        self.stop_button.clicked.connect(controller.stop)
        self.stop_requested.connect(controller.stop)
        self.new_chat_button.clicked.connect(controller.new_chat)
        self.new_chat_requested.connect(controller.new_chat)
        self.model_combo.currentTextChanged.connect(controller.set_model)
        controller.reply_started.connect(self.on_controller_reply_started)
        controller.reply_ended.connect(self.on_controller_reply_ended)
        self.parameter_panel.params_edited.connect(controller.set_params)
        self.parameter_panel.system_prompt_edited.connect(controller.set_system_prompt)
        controller.parameters_changed.connect(self.on_controller_parameters_changed)
        controller.parameter_problems_changed.connect(self.parameter_panel.show_problems)
        controller.attach_images(self.image_area)
        self.request_gauge.follow(controller.estimator)
        self.conversation_actions.set_request_source(lambda: controller.last_request)
        self.inspector = ReplyInspector(controller, self.chat_view, self.inspector_dock, self)
        controller.set_model(self.model_combo.currentText())
        self.on_controller_parameters_changed()
        self.parameter_panel.show_problems(controller.parameter_problems)

    def set_exporter(self, current: ConversationSource) -> None:
        """Export what `current()` returns: the open conversation, or None when there is none."""
        self.conversation_actions.set_exporter(current)

    def set_subtitle(self, subtitle: str) -> None:
        self.setWindowTitle(f"{APP_TITLE} — {subtitle}" if subtitle else APP_TITLE)

    def show_welcome(self, headline: str, note: str = "") -> None:
        """Replace the conversation with how to add a key; sending is off until then."""
        self.welcome.show_missing_key(headline, note)
        self.pages.setCurrentWidget(self.welcome)
        self._set_composing_enabled(False)
        self.composer.setPlaceholderText("Add an API key, or try the demo, to start chatting")
        self.welcome.key_button.setFocus()

    def show_chat(self) -> None:
        self.pages.setCurrentWidget(self.chat_view)
        self._set_composing_enabled(True)
        self.composer.set_send_shortcut(self.composer.send_shortcut)
        self.composer.setFocus()

    def on_controller_reply_started(self) -> None:
        self.send_button.setEnabled(False)
        self.stop_button.setEnabled(True)

    def on_controller_reply_ended(self) -> None:
        self.send_button.setEnabled(self.composer.isEnabled())
        self.stop_button.setEnabled(False)

    def on_controller_parameters_changed(self) -> None:
        """Show the conversation's model, parameters and system prompt (after a new chat)."""
        controller = self._controller
        if controller is None:
            return
        self.model_combo.set_current_model(controller.model)
        self.parameter_panel.show_conversation(
            controller.params, controller.system_prompt, lookup(controller.model)
        )

    def focus_composer(self) -> None:
        self.composer.setFocus()

    def on_settings_button_clicked(self) -> None:
        self.settings_requested.emit("")

    def on_welcome_key_requested(self) -> None:
        self.settings_requested.emit("api_key")

    def _set_composing_enabled(self, enabled: bool) -> None:
        self.composer.setEnabled(enabled)
        self.image_area.setEnabled(enabled)
        self.send_button.setEnabled(enabled)
        self.model_combo.setEnabled(enabled)
        self.new_chat_button.setEnabled(enabled)

    def closeEvent(self, event: QCloseEvent) -> None:
        # Asked first while replies stream (see app/ui/quit_question.py); it closes again.
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()
