"""A streaming reply reaches the disk often enough to survive a crash, and no more often.

The recorder runs on an asyncio loop whose clock the test moves by hand (the recorder is given
the same clock), so timers fire exactly when the test says and nothing depends on real time.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from app.core.messages import ChatMessage
from app.core.store.history import History
from app.core.store.records import MessageState
from app.core.store.reply_recorder import ReplyRecorder

INTERVAL = 0.5


class ManualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose time moves only in `advance`."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0

    def time(self) -> float:
        return self.now


def run(test: Callable[[ManualClockLoop], Coroutine[Any, Any, None]]) -> None:
    with asyncio.Runner(loop_factory=ManualClockLoop) as runner:
        loop = runner.get_loop()
        assert isinstance(loop, ManualClockLoop)
        runner.run(test(loop))


async def advance(loop: ManualClockLoop, seconds: float) -> None:
    """Move time on and let every timer now due run."""
    loop.now += seconds
    # One turn moves due timers to the ready queue behind this task, the next runs them.
    await asyncio.sleep(0)
    await asyncio.sleep(0)


class Reply:
    """The text on screen, a recorder saving it, and when (by the loop's clock) each save was."""

    def __init__(self, history: History, loop: ManualClockLoop) -> None:
        self.conversation_id = history.create_conversation(model="gpt-4o")
        history.add_message(self.conversation_id, ChatMessage.user("tell me something long"))
        self.message_id = history.begin_reply(self.conversation_id, model="gpt-4o")
        self.history = history
        self.loop = loop
        self.text = ""
        self.saved_at: list[float] = []
        self.recorder = ReplyRecorder(
            history, self.message_id, self._snapshot, interval_s=INTERVAL, clock=loop.time
        )

    def _snapshot(self) -> tuple[str, Sequence[str]]:
        self.saved_at.append(self.loop.time())
        return self.text, ()

    def arrive(self, delta: str) -> None:
        self.text += delta
        self.recorder.changed()

    def saved(self) -> str:
        """The reply's text as a new process would read it from the database."""
        [message] = [
            m for m in self.history.load(self.conversation_id).messages if m.id == self.message_id
        ]
        return message.content


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(times)]


# Steps are binary fractions of a second so that the clock's sums are exact.
STEP = 1 / 64


def test_a_fast_stream_is_saved_at_most_once_per_interval(history: History) -> None:
    """64 deltas a second for 4 s are saved about 8 times, never twice within an interval."""

    async def scenario(loop: ManualClockLoop) -> None:
        reply = Reply(history, loop)
        for index in range(256):
            reply.arrive(f"word{index} ")
            await advance(loop, STEP)
        assert all(gap >= INTERVAL for gap in gaps(reply.saved_at))
        assert reply.recorder.writes == len(reply.saved_at) == 8
        assert reply.saved().startswith("word0 word1 ")
        assert reply.text.startswith(reply.saved())
        reply.recorder.close()

    run(scenario)


def test_the_tail_is_saved_an_interval_after_deltas_stop(history: History) -> None:
    """When the stream stalls, what arrived last is on disk one interval after the last save."""

    async def scenario(loop: ManualClockLoop) -> None:
        reply = Reply(history, loop)
        await advance(loop, 1.0)
        reply.arrive("Hello")  # saved at once: the last save is old enough
        await advance(loop, 0.125)
        reply.arrive(", world")
        assert reply.saved() == "Hello"

        await advance(loop, 0.25)
        assert reply.saved() == "Hello"
        await advance(loop, 0.125)
        assert reply.saved() == "Hello, world"
        assert reply.saved_at == [1001.0, 1001.5]

        await advance(loop, 10 * INTERVAL)
        assert reply.recorder.writes == 2  # nothing new, nothing written
        reply.recorder.close()

    run(scenario)


def test_a_late_timer_does_not_cause_a_second_save_right_after_the_first(
    history: History,
) -> None:
    """A busy loop that runs the save timer late still gets saves an interval apart."""

    async def scenario(loop: ManualClockLoop) -> None:
        reply = Reply(history, loop)
        reply.arrive("a")  # too soon after the start: a timer is set for 1000.5
        loop.now += 0.75  # the loop was busy parsing chunks; the timer is overdue
        reply.arrive("b")  # saved at once, the last save being old enough
        loop.now += STEP
        reply.arrive("c")  # must wait an interval after "b"
        await advance(loop, 0)  # the overdue timer's turn
        assert reply.saved() == "ab"
        await advance(loop, INTERVAL - STEP)
        assert reply.saved() == "abc"
        assert reply.saved_at == [1000.75, 1001.25]
        reply.recorder.close()

    run(scenario)


def test_after_close_nothing_more_is_written(history: History) -> None:
    """Once the reply has ended, a pending save never overwrites the final text."""

    async def scenario(loop: ManualClockLoop) -> None:
        reply = Reply(history, loop)
        reply.arrive("partial")
        reply.recorder.close()
        history.finish_reply(reply.message_id, "the final text", state=MessageState.COMPLETE)
        reply.arrive(" late delta")
        await advance(loop, 5 * INTERVAL)
        assert reply.saved() == "the final text"
        assert reply.recorder.writes == 0

    run(scenario)
