"""Thread openings the Slack adapter has read, and when it may read the next one.

Slack lets an app from outside its Marketplace call ``conversations.replies`` about once a
minute per workspace, and answers more with ``429`` and a ``Retry-After`` of up to a minute.
A mention must not wait that long for a colleague's message it may not even need, so an
opening is read once per thread and remembered for a while (a thread's later mentions find
it here), and after a ``429`` no opening is read in that workspace until the pause Slack asked
for is over: the question is answered from its own words meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cachetools import TTLCache

from adapters.slack.translate import Opening

# How long a read opening is used without reading it again (an edit shows after this), and
# how many threads are remembered at most (the least recently read are forgotten first).
REMEMBERED_S = 30 * 60
REMEMBERED_THREADS = 2048
# The pause after a 429 that did not say how long to wait.
DEFAULT_PAUSE_S = 60.0

Thread = tuple[str, str, str]  # workspace, channel, thread ts


class Openings:
    """The openings read (empty for one the bot wrote or that was deleted) and each
    workspace's pause after Slack refused a read. The clock is injectable for tests."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._read: TTLCache[Thread, Opening] = TTLCache(REMEMBERED_THREADS, REMEMBERED_S, clock)
        self._paused_until: dict[str, float] = {}

    def known(self, thread: Thread) -> Opening | None:
        """The thread's opening as read lately; ``None`` when it has to be read."""
        return self._read.get(thread)

    def remember(self, thread: Thread, opening: Opening) -> None:
        self._read[thread] = opening

    def paused(self, workspace: str) -> bool:
        """Whether Slack asked this workspace's reads to wait, and the wait is not over."""
        until = self._paused_until.get(workspace)
        if until is None:
            return False
        if self._clock() >= until:
            del self._paused_until[workspace]
            return False
        return True

    def pause(self, workspace: str, seconds: float | None) -> None:
        """No reads in ``workspace`` for ``seconds`` (as Slack's ``Retry-After`` said)."""
        wait = DEFAULT_PAUSE_S if seconds is None else seconds
        self._paused_until[workspace] = self._clock() + wait
