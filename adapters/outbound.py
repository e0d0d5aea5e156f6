"""Outbound chat messages: per-conversation pacing, retries and splitting at platform limits.

Every platform limits how fast a bot may post into one conversation (Slack: about one message
per second per channel) and answers ``429 Too Many Requests`` with ``Retry-After`` when pushed.
``Outbox.send`` serializes the sends of one conversation, keeps them at least ``interval``
seconds apart, and retries a send that raised ``RetryableSend`` (429 or 5xx) after the wait the
platform asked for, or after an exponential back-off when it did not say.

The clock and the sleep function are injectable, so tests never really wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from bot.turns import Answer

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_INTERVAL_S = 1.0
DEFAULT_MAX_ATTEMPTS = 5
# A platform asking for a longer pause than this is treated as down for this message.
DEFAULT_MAX_WAIT_S = 120.0
_PRUNE_ABOVE = 1000


class RetryableSend(Exception):
    """A send failed in a way worth retrying (429, 5xx); ``retry_after`` in seconds if given."""

    def __init__(self, status: int, retry_after: float | None = None) -> None:
        super().__init__(f"retryable status {status}")
        self.status = status
        self.retry_after = retry_after


class SendFailed(Exception):
    """A send was given up after retries (or the platform asked to wait too long);
    ``retry_after``: the wait the platform asked for last, in seconds, if it said."""

    def __init__(self, status: int, attempts: int, retry_after: float | None = None) -> None:
        super().__init__(f"send failed status={status} attempts={attempts}")
        self.status = status
        self.attempts = attempts
        self.retry_after = retry_after


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now(), 0.0)


@dataclass
class _Lane:
    lock: asyncio.Lock
    last_sent: float | None = None


class Outbox:
    """Paced, retried sends, one lane per conversation."""

    def __init__(
        self,
        *,
        interval: float = DEFAULT_INTERVAL_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_wait: float = DEFAULT_MAX_WAIT_S,
        base_backoff: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.interval = interval
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.base_backoff = base_backoff
        self._clock = clock
        self._sleep = sleep
        self._lanes: dict[str, _Lane] = {}

    def _lane(self, conversation: str) -> _Lane:
        lane = self._lanes.get(conversation)
        if lane is None:
            if len(self._lanes) > _PRUNE_ABOVE:
                self._prune()
            lane = self._lanes[conversation] = _Lane(asyncio.Lock())
        return lane

    def _prune(self) -> None:
        now = self._clock()
        for key, lane in list(self._lanes.items()):
            idle = lane.last_sent is None or now - lane.last_sent > self.interval
            if idle and not lane.lock.locked():
                del self._lanes[key]

    async def send(
        self,
        conversation: str,
        call: Callable[[], Awaitable[T]],
        *,
        max_attempts: int | None = None,
        max_wait: float | None = None,
    ) -> T:
        """Run ``call`` in the conversation's lane: paced, and retried on ``RetryableSend``
        (up to ``max_attempts`` tries; 1 for a send that is not worth waiting for), unless the
        platform asks for a pause over ``max_wait`` seconds (the outbox's by default)."""
        lane = self._lane(conversation)
        attempts = max_attempts or self.max_attempts
        longest = self.max_wait if max_wait is None else max_wait
        async with lane.lock:
            attempt = 0
            while True:
                attempt += 1
                if lane.last_sent is not None:
                    wait = lane.last_sent + self.interval - self._clock()
                    if wait > 0:
                        await self._sleep(wait)
                try:
                    result = await call()
                except RetryableSend as exc:
                    lane.last_sent = self._clock()
                    delay = exc.retry_after
                    if delay is None:
                        delay = self.base_backoff * 2 ** (attempt - 1)
                    if attempt >= attempts or delay > longest:
                        log.warning(
                            "outbound send given up status=%d attempts=%d", exc.status, attempt
                        )
                        raise SendFailed(exc.status, attempt, exc.retry_after) from exc
                    log.info(
                        "outbound send retry status=%d attempt=%d wait_s=%.1f",
                        exc.status,
                        attempt,
                        delay,
                    )
                    await self._sleep(delay)
                    continue
                lane.last_sent = self._clock()
                return result


def _cut(window: str) -> int:
    """Where to end a part inside ``window``: a paragraph, line, sentence or word boundary."""
    floor = len(window) // 3
    for separator in ("\n\n", "\n", "。", "．", ". ", "、", " "):
        at = window.rfind(separator)
        if at >= floor:
            return at + len(separator)
    return len(window)


def split_text(text: str, limit: int) -> list[str]:
    """``text`` in parts of at most ``limit`` characters, cut at natural boundaries.

    Paragraphs are preferred, then lines, then sentences (。), then words; a run without any
    boundary is cut hard. Whitespace at the cuts is dropped; nothing else is lost.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    rest = text.strip()
    parts: list[str] = []
    while len(rest) > limit:
        cut = _cut(rest[:limit])
        part = rest[:cut].rstrip()
        if part:
            parts.append(part)
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def split_answer(answer: Answer, limit: int) -> list[Answer]:
    """An answer whose text exceeds ``limit`` as several answers; citations, the footer, the
    notice and the feedback buttons stay on the last part."""
    texts = split_text(answer.text, limit) or [answer.text]
    if len(texts) == 1:
        return [answer]
    head = [
        replace(answer, text=t, citations=(), footer="", notice="", feedback=False)
        for t in texts[:-1]
    ]
    return [*head, replace(answer, text=texts[-1])]
