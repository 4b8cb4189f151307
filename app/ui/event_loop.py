"""The asyncio loop inside Qt's: qasync's, with the async-generator hooks asyncio's own sets.

asyncio's loops register hooks so that an async generator dropped while suspended (a stream
left mid-iteration when its task is cancelled) is closed by a task on the loop. qasync's
`run_forever` leaves them out, so such a generator was finalized wherever the garbage
collector met it, outside any task: httpcore's stream cleanup then failed with "unknown async
library" and the connection was not released properly.
"""

from __future__ import annotations

import sys
from typing import Any

import qasync


class EventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """`qasync.QEventLoop` that closes abandoned async generators on the loop."""

    _saved_hooks: Any = None

    def _before_run_forever(self) -> None:
        super()._before_run_forever()
        self._saved_hooks = sys.get_asyncgen_hooks()
        sys.set_asyncgen_hooks(
            firstiter=self._asyncgen_firstiter_hook, finalizer=self._asyncgen_finalizer_hook
        )

    def _after_run_forever(self) -> None:
        if self._saved_hooks is not None:
            sys.set_asyncgen_hooks(*self._saved_hooks)
            self._saved_hooks = None
        super()._after_run_forever()
