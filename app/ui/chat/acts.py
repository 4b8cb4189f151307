"""Which links each message of the chat view offers in its header.

Every message offers Copy. Only the last exchange offers Edit (or Cancel edit while the user
edits it), Regenerate, Continue and the reproducibility link, and only between replies: while
one streams, or while later stored messages are not shown, there is no "last" to redo.
"""

from __future__ import annotations

from collections.abc import Sequence

from app.ui.chat.transcript import Act, Message, Speaker, Transcript


def last_message(messages: Sequence[Message], speaker: Speaker) -> Message | None:
    for message in reversed(messages):
        if message.speaker is speaker:
            return message
    return None


class ActOffers:
    """The acts offered on `transcript`'s messages; `refresh` after any change of them."""

    def __init__(self, transcript: Transcript) -> None:
        self._transcript = transcript
        # The last user message is being edited (sending will replace its exchange).
        self.editing = False
        # The last reply was cut off and can be carried on.
        self.continuable = False
        # Stored messages after the last one shown: while there are any, the transcript does
        # not end where the conversation does, and redoing the "last" exchange is not offered.
        self.later = 0
        # The messages last given more than Copy, to take it back when they stop being last.
        self._acted: list[Message] = []

    def reset(self) -> None:
        self.editing = False
        self.continuable = False
        self._acted = []

    def forget(self, removed: Sequence[Message]) -> None:
        """`removed` are no longer in the transcript."""
        self._acted = [m for m in self._acted if m not in removed]

    def refresh(self, live: Message | None) -> None:
        """Offer each message its acts; `live` is the reply streaming, if any."""
        messages = self._transcript.messages
        last_user = last_message(messages, Speaker.USER)
        last_reply = last_message(messages, Speaker.ASSISTANT)
        if last_reply is not None and last_reply is not messages[-1]:
            last_reply = None
        idle = live is None and self.later == 0
        touched = [*self._acted, *(m for m in (last_user, last_reply) if m is not None)]
        for message in touched:
            acts: tuple[Act, ...] = (Act.COPY,)
            editing = False
            if message is last_user and idle:
                editing = self.editing
                acts = (Act.CANCEL_EDIT, Act.COPY) if editing else (Act.EDIT, Act.COPY)
            elif message is last_reply and idle:
                acts = (Act.COPY, Act.REGENERATE)
                if self.continuable:
                    acts = (Act.COPY, Act.CONTINUE, Act.REGENERATE)
                if message.reproduce is not None:
                    acts += (message.reproduce,)
            self._transcript.set_acts(message, acts, editing=editing)
            self._transcript.set_switchable(message, message is last_reply)
        self._acted = [m for m in (last_user, last_reply) if m is not None]
