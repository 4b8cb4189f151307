"""Sending the composer's draft: what is checked before it leaves the composer, and Retry.

A draft that cannot be sent as it is (an image the model cannot take, a prompt over the
context window) is explained and stays in place; a long draft that has not been counted yet
is counted before anything is drawn, since drawing a huge prompt only to withdraw it froze the
window for seconds. Mixed into `ChatController`.
"""

from __future__ import annotations

import asyncio

from app.core import preflight
from app.core.catalog import lookup
from app.core.problems import UserFacingError
from app.ui.chat.parts import ControllerParts


class DraftSending(ControllerParts):
    """The composer's side of sending."""

    def on_composer_submitted(self) -> None:
        images = self._images
        with_images = images is not None and not images.is_empty
        if self._session.busy or not (self._session.draft.strip() or with_images):
            return
        if self.too_many_streaming() or self._refused_before_sending():
            return
        if self._may_not_fit():
            self._start(self._submit_once_counted())
            return
        self._submit_draft()

    def _submit_draft(self) -> None:
        images = self._images
        taken = images.take() if images is not None else ()
        prompt = self._composer.take_text()
        self.send(prompt, taken, message=self.replace_edited(prompt, taken))

    def _may_not_fit(self) -> bool:
        """The request is not counted yet and is long enough that it may not fit the window."""
        if self.estimator.current() is not None:
            return False
        model, messages, params = self.draft_request()
        return not preflight.surely_fits(model, messages, params)

    async def _submit_once_counted(self) -> None:
        """Count a long draft, then send it if it fits; the draft stays in place until then."""
        draft = self._session.draft
        model, messages, params = self.draft_request()
        counting = "Counting tokens before sending…"
        self._status.showMessage(counting)
        try:
            await self.background.counting(model)
            estimate = await asyncio.get_running_loop().run_in_executor(
                None, preflight.estimate, model, list(messages), params
            )
            preflight.ensure_fits(estimate)
        except UserFacingError as problem:
            self._banner.show_problem(problem.headline, problem.remedy)
            return
        finally:
            if self._status.currentMessage() == counting:
                self._status.clearMessage()
        # Edited while it was counted: the user is still writing, so nothing is sent.
        if self._session.draft == draft:
            self._submit_draft()

    def _refused_before_sending(self) -> bool:
        """Explain what stops the draft from being sent as it is; the draft stays in place."""
        images = self._images
        model = lookup(self._session.model)
        problem = images.blocking_problem(model) if images is not None else None
        if images is not None and problem is not None:
            images.show_problem(problem)
            return True
        # Only an estimate of the draft as it stands; while counting, the turn checks again.
        estimate = self.estimator.current()
        if estimate is not None and not estimate.fits:
            try:
                preflight.ensure_fits(estimate)
            except preflight.OverContextWindow as too_long:
                self._banner.show_problem(too_long.headline, too_long.remedy)
                return True
        return False

    def on_banner_retry_clicked(self) -> None:
        session = self._session
        if session.busy:
            return
        failed, session.failed_turn = session.failed_turn, None
        if failed is None:
            self.on_composer_submitted()
            return
        session.forget_from(failed.start)
        self._view.rollback_turn()
        self.send(failed.prompt, failed.images)
