"""What a chat user sees while the bot makes an answer, before the answer itself.

Where the adapter can edit its placeholder (Slack ``chat.update``, the Bot Connector's
activity update), ``answer_as_written`` answers a turn with ``PlaceholderProgress`` as the
turn's ``Progress`` callback: the placeholder shows the text so far (or a summary's ``Stage``),
edited in the background, always to the newest text (the bot reports every few seconds). A
failed edit is logged by its error type and ends the editing for that answer, which still
replaces the placeholder as usual.

Where replies cannot be edited (LoGo Chat), ``DelayedNotice`` posts one short notice when the
answer is not ready after a few seconds, and nothing when it is ready sooner.

Neither ever holds up the answer: the callback only notes the newest report, and the message
is sent by a background task. On leaving its ``async with`` block the answer is ready: a
message under way is let finish, so that none lands after the answer, and nothing more is
sent; when the answer was cancelled (shutdown), the task is cancelled at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from adapters.common import answer_turn
from adapters.markdown import plain_text
from bot.turns import Answer, ChatBot, Stage, Turn

log = logging.getLogger(__name__)

PROGRESS_MARK = "（回答を作成しています…）"
# What a notice asks of the user, after what is under way.
PLEASE_WAIT = "少々お待ちください。"
WAITING_TEXT = f"回答を作成しています。{PLEASE_WAIT}"


def progress_text(progress: str | Stage, limit: int) -> str:
    """What the placeholder shows, at most ``limit`` characters: a stage as it is said (it
    says itself what is under way), or a partial answer as plain text (no Markdown marks)
    followed by ``PROGRESS_MARK``."""
    if isinstance(progress, Stage):
        return _within(progress.text, limit)
    shown = _within(plain_text(progress).strip(), limit - len(PROGRESS_MARK) - 2)
    return f"{shown}\n\n{PROGRESS_MARK}"


def notice_text(progress: str | Stage | None) -> str:
    """The notice of an answer not ready yet: a summary's stage as it is said
    (「「備蓄計画」を要約しています（3/8 の部分を読みました）。少々お待ちください。」), else
    ``WAITING_TEXT``."""
    if isinstance(progress, Stage):
        return f"{progress.text}。{PLEASE_WAIT}"
    return WAITING_TEXT


def _within(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


Show = Callable[[str | Stage], Awaitable[object]]
Say = Callable[[str], Awaitable[object]]


async def answer_as_written(bot: ChatBot, turn: Turn, show: Show | None) -> Answer:
    """The bot's answer (``answer_turn``); while a model writes it, ``show`` edits the
    placeholder with the text so far, or a summary's stage (``None``: a placeholder that
    cannot be edited)."""
    if show is None:
        return await answer_turn(bot, turn)
    async with PlaceholderProgress(show, turn.conversation.platform) as progress:
        return await answer_turn(bot, turn, progress)


class _WhileAnswering:
    """A ``Progress`` that notes the newest report for one background task of the subclass's
    (see the module); used as ``async with``."""

    def __init__(self, platform: str) -> None:
        self._platform = platform
        self._newest: str | Stage | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopped = asyncio.Event()

    async def __call__(self, progress: str | Stage) -> None:
        if not self._stopped.is_set():
            self._newest = progress
            self._noted()

    def _noted(self) -> None:
        """A report was noted (the subclass may start its task)."""

    def _not_shown(self, exc: Exception) -> None:
        # A courtesy: the answer follows regardless, and the error's text may quote the reply.
        log.warning("%s progress not shown: %s", self._platform, type(exc).__name__)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.finish()
        else:
            await self.abandon()

    async def finish(self) -> None:
        """Send nothing more, once a message under way is sent (the answer goes in next)."""
        self._stopped.set()
        if self._task is not None:
            await self._task

    async def abandon(self) -> None:
        """Send nothing more, at once (the answer was cancelled)."""
        self._stopped.set()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class PlaceholderProgress(_WhileAnswering):
    """Edits one placeholder with ``show(text)`` as the answer grows (see the module)."""

    def __init__(self, show: Show, platform: str) -> None:
        super().__init__(platform)
        self._show = show

    def _noted(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._edit(), name=f"{self._platform}-progress")

    async def _edit(self) -> None:
        while self._newest is not None and not self._stopped.is_set():
            text, self._newest = self._newest, None
            try:
                await self._show(text)
            except Exception as exc:
                self._not_shown(exc)
                self._stopped.set()  # no more edits for this answer


class DelayedNotice(_WhileAnswering):
    """``say(notice_text(…))`` once, when the answer is not ready ``delay`` seconds after the
    block was entered (see the module)."""

    def __init__(self, say: Say, delay: float, platform: str) -> None:
        super().__init__(platform)
        self._say = say
        self._delay = delay
        self.sent = False  # whether the talk was told to wait

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._notify(), name=f"{self._platform}-notice")
        return self

    async def _notify(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._delay):
                await self._stopped.wait()
        if self._stopped.is_set():
            return
        # Counted as sent from the start: one cancelled on its way may have reached the talk,
        # which is then owed the apology (a notice that failed did not).
        self.sent = True
        try:
            await self._say(notice_text(self._newest))
        except Exception as exc:
            self.sent = False
            self._not_shown(exc)
