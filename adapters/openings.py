"""Thread openings: the message a colleague opened a thread with, read for a mention replying
in it, remembered for a while, and what a turn takes from it.

Slack reads an opening with ``conversations.replies``, Teams with Microsoft Graph; both limit
how often an app may read (Slack lets an app from outside its Marketplace call
``conversations.replies`` about once a minute per workspace), and answer more with ``429``
and a ``Retry-After`` of up to a minute. A mention must not wait that long for a colleague's
message it may not even need, so an opening is read once per thread and remembered for a
while (a thread's later mentions find it here), and after a ``429`` no opening is read in that
space (a Slack workspace, a Teams tenant) until the pause the platform asked for is over: the
question is answered from its own words meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from cachetools import TTLCache

from bot.turns import Attachment, ChatBot, Turn

# How long a read opening is used without reading it again (an edit shows after this), and
# how many threads are remembered at most (the least recently read are forgotten first).
REMEMBERED_S = 30 * 60
REMEMBERED_THREADS = 2048
# The pause after a 429 that did not say how long to wait.
DEFAULT_PAUSE_S = 60.0

Thread = tuple[str, str, str]  # space (Slack workspace, Teams tenant), channel, thread


@dataclass(frozen=True)
class Opening:
    """A thread's opening message as a turn reads it: its text, the files posted with it (a
    colleague's PDF, about which the bot is asked in the thread) and the web addresses it
    links to."""

    text: str = ""
    files: tuple[Attachment, ...] = ()
    links: tuple[str, ...] = ()


class Openings:
    """The openings read (empty for one the bot wrote or that was deleted) and each space's
    pause after the platform refused a read. The clock is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._read: TTLCache[Thread, Opening] = TTLCache(REMEMBERED_THREADS, REMEMBERED_S, clock)
        self._paused_until: dict[str, float] = {}

    def known(self, thread: Thread) -> Opening | None:
        """The thread's opening as read lately; ``None`` when it has to be read."""
        return self._read.get(thread)

    def remember(self, thread: Thread, opening: Opening) -> None:
        self._read[thread] = opening

    def paused(self, space: str) -> bool:
        """Whether the platform asked this space's reads to wait, and the wait is not over."""
        until = self._paused_until.get(space)
        if until is None:
            return False
        if self._clock() >= until:
            del self._paused_until[space]
            return False
        return True

    def pause(self, space: str, seconds: float | None) -> None:
        """No reads in ``space`` for ``seconds`` (as the platform's ``Retry-After`` said)."""
        wait = DEFAULT_PAUSE_S if seconds is None else seconds
        self._paused_until[space] = self._clock() + wait


async def with_opening(bot: ChatBot, turn: Turn, opening: Opening) -> Turn:
    """``turn`` with the message that opened its thread: its text, and when the turn brings
    no file and asks about what the opening brought (``ChatBot.asks_about_opening``), its
    files, or the one document it links to."""
    turn = replace(turn, thread_opening=opening.text)
    brought = opening.files or len(opening.links) == 1
    if turn.attachments or not brought:
        return turn
    if not await bot.asks_about_opening(turn):
        return turn
    if opening.files:
        return replace(turn, attachments=opening.files)
    return replace(turn, opening_link=opening.links[0])
