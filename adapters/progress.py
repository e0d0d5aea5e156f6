"""An answer shown while the model writes it: its placeholder message edited as the text grows.

``answer_as_written`` answers a turn whose placeholder the adapter can edit (Slack
``chat.update``, the Bot Connector's activity update) with ``PlaceholderProgress`` as the
turn's ``Progress`` callback. An edit
never holds up the answer: the callback only notes the newest text, and one edit at a time runs
in the background, always of the newest text (the bot reports every few seconds). A failed edit
is logged by its error type and ends the editing for that answer, which still replaces the
placeholder as usual; ``finish`` waits for an edit under way, so that none lands after it.
A summary the model writes part by part reports its ``Stage`` the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from adapters.common import answer_turn
from adapters.markdown import plain_text
from bot.turns import Answer, ChatBot, Stage, Turn

log = logging.getLogger(__name__)

PROGRESS_MARK = "（回答を作成しています…）"


def progress_text(progress: str | Stage, limit: int) -> str:
    """What the placeholder shows, at most ``limit`` characters: a stage as it is said (it
    says itself what is under way), or a partial answer as plain text (no Markdown marks)
    followed by ``PROGRESS_MARK``."""
    if isinstance(progress, Stage):
        return _within(progress.text, limit)
    shown = _within(plain_text(progress).strip(), limit - len(PROGRESS_MARK) - 2)
    return f"{shown}\n\n{PROGRESS_MARK}"


def _within(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


Show = Callable[[str | Stage], Awaitable[object]]


async def answer_as_written(bot: ChatBot, turn: Turn, show: Show | None) -> Answer:
    """The bot's answer (``answer_turn``); while a model writes it, ``show`` edits the
    placeholder with the text so far, or a summary's stage (``None``: a placeholder that
    cannot be edited)."""
    if show is None:
        return await answer_turn(bot, turn)
    progress = PlaceholderProgress(show, turn.conversation.platform)
    try:
        answer = await answer_turn(bot, turn, progress)
    except asyncio.CancelledError:  # no edit may land after what replaces the placeholder
        await progress.abandon()
        raise
    await progress.finish()
    return answer


class PlaceholderProgress:
    """Edits one placeholder with ``show(text)`` as the answer grows (see the module)."""

    def __init__(self, show: Show, platform: str) -> None:
        self._show = show
        self._platform = platform
        self._newest: str | Stage | None = None
        self._editing: asyncio.Task[None] | None = None
        self._stopped = False

    async def __call__(self, progress: str | Stage) -> None:
        if self._stopped:
            return
        self._newest = progress
        if self._editing is None or self._editing.done():
            self._editing = asyncio.create_task(self._edit(), name=f"{self._platform}-progress")

    async def _edit(self) -> None:
        while self._newest is not None and not self._stopped:
            text, self._newest = self._newest, None
            try:
                await self._show(text)
            except Exception as exc:  # a courtesy: the answer follows regardless
                log.warning("%s progress not shown: %s", self._platform, type(exc).__name__)
                self._stopped = True

    async def finish(self) -> None:
        """Stop editing, once an edit under way is done (the answer goes in next)."""
        self._stopped = True
        if self._editing is not None:
            await self._editing

    async def abandon(self) -> None:
        """Stop editing at once (the answer was cancelled)."""
        self._stopped = True
        if self._editing is not None:
            self._editing.cancel()
            await asyncio.gather(self._editing, return_exceptions=True)
