"""Work that runs after a webhook has been acknowledged.

Platforms want an answer to the HTTP request within seconds (Slack: 3 s), while an answer may
take much longer. Handlers therefore acknowledge first and hand the work to ``BackgroundTasks``,
which the application owns: shutdown waits a grace period for running work, then cancels the
rest, so nothing is left running against closed clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)


class BackgroundTasks:
    """A bounded, tracked set of background coroutines."""

    def __init__(self, max_concurrent: int = 32) -> None:
        self._tasks: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max_concurrent)
        self._closing = False

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> bool:
        """Run ``work`` in the background; ``False`` (and the work discarded) while closing."""
        if self._closing:
            work.close()
            log.warning("background work refused during shutdown name=%s", name)
            return False
        task = asyncio.create_task(self._run(work, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _run(self, work: Coroutine[Any, Any, None], name: str) -> None:
        async with self._slots:
            try:
                await work
            except asyncio.CancelledError:
                log.warning("background work cancelled name=%s", name)
                raise
            except Exception as exc:  # the task has no caller to report to; log the type only
                log.error("background work failed name=%s error=%s", name, type(exc).__name__)
                log.debug("background work failure details name=%s", name, exc_info=True)

    @property
    def pending(self) -> int:
        """How many tasks are running or waiting for a slot."""
        return len(self._tasks)

    async def join(self) -> None:
        """Wait until no work is left (including work spawned meanwhile)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, grace: float = 10.0) -> None:
        """Refuse new work, wait up to ``grace`` seconds, then cancel what is still running."""
        self._closing = True
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("cancelled %d background task(s) at shutdown", len(pending))
            await asyncio.gather(*pending, return_exceptions=True)
