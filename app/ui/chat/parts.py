"""What the parts of the chat controller share: its state, and the operations one part calls
in another. `ChatController` is composed of `Turns`, `Opening`, `Redo` and `DraftSending`, each
a module of its own; this declares, once, what they may use of each other."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import SignalInstance

from app.core.budget import BudgetPolicy
from app.core.client import ChatClient
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.reply import Reply
from app.core.reproduce import RerunSubject
from app.core.store.history import History
from app.core.store.records import MessageState, StoredMessage
from app.core.turn import TurnPlan
from app.ui.attachments.area import Attachment, ImageArea
from app.ui.background import BackgroundImports
from app.ui.chat.composer import Composer
from app.ui.chat.request_gauge import DraftRequest, RequestEstimator
from app.ui.chat.session import ChatSession
from app.ui.chat.stored_pages import StoredPages
from app.ui.chat.view import ChatView
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.error_banner import ErrorBanner
from app.ui.widgets.status_bar import StatusBar


class ControllerParts:
    """The chat controller's state and cross-part operations (set up by `ChatController`)."""

    # The conversation on screen; those streaming behind it, ended there unseen, or left with
    # an unsent draft (by conversation id).
    _session: ChatSession
    _background: dict[int, ChatSession]
    _unseen: set[int]
    _drafts: dict[int, str]
    # What a new chat starts from.
    _default_model: str
    _default_params: ChatParams
    _default_system_prompt: str
    # The widgets it drives, and what it sends with.
    _view: ChatView
    _composer: Composer
    _banner: ErrorBanner
    _status: StatusBar
    _pages: StoredPages
    _images: ImageArea | None
    _editing: ChatMessage | None
    _client: ChatClient | None
    _no_client: UserFacingError
    _spend: SpendTracker | None
    _history: History | None
    _budget: Callable[[], BudgetPolicy | None]
    _retry_note: str
    background: BackgroundImports
    estimator: RequestEstimator
    # ChatController's signals.
    reply_started: SignalInstance
    reply_ended: SignalInstance
    background_changed: SignalInstance
    conversation_opened: SignalInstance
    conversation_saved: SignalInstance
    history_write_failed: SignalInstance
    parameters_changed: SignalInstance

    if TYPE_CHECKING:  # each defined by one of the parts

        @property
        def busy(self) -> bool: ...
        @property
        def streaming(self) -> tuple[int, ...]: ...
        def send(
            self,
            prompt: str,
            images: tuple[Attachment, ...] = (),
            *,
            message: ChatMessage | None = None,
        ) -> asyncio.Task[None]: ...
        def stop(self) -> None: ...
        def _start(self, turn: Coroutine[Any, Any, None]) -> asyncio.Task[None]: ...
        def _begin(self, session: ChatSession) -> None: ...
        async def _run(
            self, session: ChatSession, plan: TurnPlan, reply: Reply, start: int, prompt: str
        ) -> None: ...
        def _check_parameters(self) -> None: ...
        def set_params(self, params: ChatParams) -> None: ...
        def draft_request(self) -> DraftRequest: ...
        def too_many_streaming(self) -> bool: ...
        def replace_edited(
            self, prompt: str, images: tuple[Attachment, ...]
        ) -> ChatMessage | None: ...
        def rerun_of(self, reply: Reply) -> RerunSubject: ...
        def stored_rerun(self, last: StoredMessage | None) -> RerunSubject | None: ...
        @staticmethod
        def cut_off_of(last: StoredMessage | None) -> tuple[MessageState, str] | None: ...
