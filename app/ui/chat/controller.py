"""The window's conversations: turns the composer's text into streamed replies.

The controller shows one `ChatSession` at a time and drives its turns through the turn engine
(`app/core/turn.py`); the widgets only render what it tells them and forward what the user
does. A session whose reply is streaming keeps streaming when the user opens another
conversation or starts a new chat: it goes on in the background, into its own history row,
and is shown live again when its conversation is opened (up to `MAX_STREAMING` at once).

What happens to a turn that does not finish:
- Stopped after text arrived: the partial answer stays, in the view and in the conversation.
- Stopped before any text, declined at the budget question, or failed before any text: the
  turn is withdrawn and the draft (with its images) goes back into the composer.
- Failed after text arrived: the partial answer stays; Retry withdraws it and asks again.
Whatever the ending, the turn recorded what the reply cost (estimated when the server never
said) and stored how it ended. Regenerate, Edit, Continue and the choice of n > 1 replies are
in `redo.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from app.core.as_code import SentRequest
from app.core.budget import BudgetPolicy
from app.core.catalog import lookup
from app.core.client import ChatClient
from app.core.messages import ChatMessage
from app.core.params import ChatParams
from app.core.problems import UserFacingError
from app.core.reply import Reply
from app.core.request import validate
from app.core.store.history import History
from app.core.store.ledger import Source
from app.core.turn import NotConnected
from app.ui.attachments.area import ImageArea
from app.ui.background import BackgroundImports
from app.ui.chat.composer import Composer
from app.ui.chat.drafts import DraftSending
from app.ui.chat.opening import Opening
from app.ui.chat.redo import Redo
from app.ui.chat.request_gauge import DraftRequest, RequestEstimator
from app.ui.chat.seed_rerun import SeedRerun
from app.ui.chat.session import ChatSession
from app.ui.chat.stored_pages import StoredPages
from app.ui.chat.turns import Turns
from app.ui.chat.view import ChatView
from app.ui.usage.spend_tracker import SpendTracker
from app.ui.widgets.error_banner import ErrorBanner
from app.ui.widgets.status_bar import StatusBar

log = logging.getLogger(__name__)

_RETRY_MESSAGE_MS = 8000


class ChatController(Turns, Opening, Redo, DraftSending, QObject):
    """Sends the open conversation's turns and streams replies into the view; one per window."""

    reply_started = Signal()
    reply_ended = Signal()
    # Another conversation was opened or a new chat started (None: not stored yet).
    conversation_opened = Signal(object)
    # The model, parameters or system prompt changed other than by the panel (a new chat).
    parameters_changed = Signal()
    # What the server would reject about the parameters, as sentences (empty when fine).
    parameter_problems_changed = Signal(list)
    # A conversation's row in the history changed (a message, a reply's end): its id.
    conversation_saved = Signal(int)
    # Writing to the history failed (reported once per conversation); the chat goes on.
    history_write_failed = Signal(object)
    # Which conversations stream behind the open one, and which finished there unseen.
    background_changed = Signal(object, object)

    def __init__(
        self,
        *,
        view: ChatView,
        composer: Composer,
        banner: ErrorBanner,
        status: StatusBar,
        model: str,
        client: ChatClient | None = None,
        system_prompt: str = "",
        params: ChatParams | None = None,
        spend: SpendTracker | None = None,
        history: History | None = None,
        budget: Callable[[], BudgetPolicy | None] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._view = view
        self._composer = composer
        self._banner = banner
        self._status = status
        self._spend = spend
        self._history = history
        self._budget = budget or (lambda: None)
        self._client = client
        self._no_client: UserFacingError = NotConnected(
            "Not connected yet", "Wait a moment for Chatdesk to finish starting, then send again."
        )
        # What a new chat starts from.
        self._default_model = model
        self._default_system_prompt = system_prompt
        self._default_params = params or ChatParams()
        self._session = self._new_session()
        self._session.system_prompt = system_prompt
        # Sessions streaming behind the open one, by conversation id; those that ended there.
        self._background: dict[int, ChatSession] = {}
        self._unseen: set[int] = set()
        # Unsent drafts of conversations that are not open, by conversation id.
        self._drafts: dict[int, str] = {}
        self._pages = StoredPages(
            view, self._read_stored, lambda: self._session.cut_off is not None
        )
        self._parameter_problems: list[str] = []
        # The status bar's note of the SDK retrying the current request (stale once it ends).
        self._retry_note = ""
        # The last user message while the user edits it in the composer.
        self._editing: ChatMessage | None = None
        self._images: ImageArea | None = None
        self._connected = asyncio.Event()
        if client is not None:
            self._connected.set()
        self.background = BackgroundImports(self.client_ready)
        self.estimator = RequestEstimator(self.draft_request, self.background, parent=self)
        for changed in (self.parameters_changed, self.reply_started, self.reply_ended):
            changed.connect(self.on_request_changed)
        composer.submitted.connect(self.on_composer_submitted)
        composer.textChanged.connect(self.on_composer_text_changed)
        composer.textChanged.connect(self.estimator.schedule)
        banner.retry_clicked.connect(self.on_banner_retry_clicked)
        self.connect_redo(view)
        view.earlier_requested.connect(self._pages.earlier)
        view.later_requested.connect(self._pages.later)
        self.reruns = SeedRerun(
            view,
            subject=self.rerun_subject,
            turn=self._turn(Source.RERUN, with_budget=True),
            on_settled=self._on_turn_settled,
            status=status,
            parent=self,
        )

    # What is open

    @property
    def params(self) -> ChatParams:
        return self._session.params

    @property
    def conversation(self) -> tuple[ChatMessage, ...]:
        """The messages sent with the next request: the system prompt (if any), then the turns."""
        return tuple(self._session.with_system_prompt())

    @property
    def system_prompt(self) -> str:
        return self._session.system_prompt

    @property
    def parameter_problems(self) -> list[str]:
        return list(self._parameter_problems)

    @property
    def model(self) -> str:
        return self._session.model

    @property
    def conversation_id(self) -> int | None:
        """The open conversation's id in the history (None until its first message is sent)."""
        return self._session.conversation_id

    @property
    def busy(self) -> bool:
        return self._session.busy

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task streaming the open conversation's reply, if any."""
        return self._session.task

    @property
    def reply(self) -> Reply | None:
        """The reply being streamed (set before `reply_started`), or the last one streamed."""
        return self._session.reply

    @property
    def last_request(self) -> SentRequest | None:
        """The last request sent in this conversation and where it went (None before any)."""
        return self._session.last_request

    @property
    def client(self) -> ChatClient | None:
        return self._client

    @property
    def streaming(self) -> tuple[int, ...]:
        """Conversations whose reply is streaming behind the open one."""
        return tuple(self._background)

    def streaming_count(self) -> int:
        """Replies streaming now, on screen and behind it."""
        return len(self._background) + int(self.busy)

    # Settings of the open conversation

    def set_model(self, model: str) -> None:
        if model == self._session.model:
            return
        self._session.model = model
        self.parameters_changed.emit()
        self._check_parameters()
        self._session.save_settings()

    def set_params(self, params: ChatParams) -> None:
        """Use `params` for this conversation from its next request on."""
        self._session.params = params
        self._check_parameters()
        self.estimator.schedule()
        self._session.save_settings()

    def set_system_prompt(self, system_prompt: str) -> None:
        """Use `system_prompt` for this conversation from its next request on."""
        self._session.system_prompt = system_prompt
        self._check_parameters()
        self.estimator.schedule()
        self._session.save_settings()

    def set_defaults(self, *, model: str, system_prompt: str) -> None:
        """What the next new chat starts from (the settings' default model and system prompt)."""
        self._default_model = model
        self._default_system_prompt = system_prompt

    def set_client(
        self, client: ChatClient | None, *, missing: UserFacingError | None = None
    ) -> None:
        """Use `client` from now on; without one, sending shows `missing` in the banner."""
        self._client = client
        if client is None:
            self._connected.clear()
        else:
            self._connected.set()
        if missing is not None:
            self._no_client = missing

    async def client_ready(self) -> None:
        """Wait for a client and its SDK import, which other heavy imports must not overlap."""
        while self._client is None:
            await self._connected.wait()
        await self._client.warm_up()

    def attach_images(self, images: ImageArea) -> None:
        """Send `images`' attachments with the next message, and count them in the estimate."""
        self._images = images
        images.use_background(self.background)
        images.set_model(self._session.model)
        images.changed.connect(self.estimator.schedule)

    def draft_request(self) -> DraftRequest:
        """The request sending the draft now would make: model, messages and parameters."""
        session = self._session
        images = self._images.parts() if self._images is not None else ()
        draft = session.draft
        messages = session.with_system_prompt()
        if draft.strip() or images:
            messages.append(ChatMessage.user(draft, images))
        return session.model, messages, session.params.without_unsupported(lookup(session.model))

    def on_request_changed(self) -> None:
        if self._images is not None:
            self._images.set_model(self._session.model)
        self.estimator.schedule()

    def on_composer_text_changed(self) -> None:
        # The one place the composer is read: from here on the draft is the session's.
        self._session.draft = self._composer.text()
        # Only JSON mode depends on the draft (a message must mention JSON).
        if self._session.params.json_mode:
            self._check_parameters()

    def _check_parameters(self) -> None:
        """Tell the panel what the server would reject about the parameters, if that changed."""
        session = self._session
        model = lookup(session.model)
        # The draft stands for the next message; problems that are not the parameters' doing
        # (no prompt, images for a text-only model) are for the banner on send, not the panel.
        messages = [*session.with_system_prompt(), ChatMessage.user(session.draft)]
        sent = session.params.without_unsupported(model)
        baseline = set(validate(model, messages, ChatParams()))
        problems = [p for p in validate(model, messages, sent) if p not in baseline]
        if problems != self._parameter_problems:
            self._parameter_problems = problems
            self.parameter_problems_changed.emit(problems)
