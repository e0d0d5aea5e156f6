"""``POST /logo/events``: verify the signature, validate, acknowledge, answer in the background.

Contract (DESIGN.md): headers ``X-LoGo-Request-Timestamp`` (unix seconds) and
``X-LoGo-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{raw body}")>``, at most 300 s old;
replies are ``POST reply_url`` with ``Authorization: Bearer <reply token>`` and
``{"talk_id", "thread_id", "text"}``, split at ``TEXT_LIMIT`` characters. A reply cannot be
edited, so an answer not ready after ``NOTICE_AFTER_S`` seconds is preceded by one short notice
that it is being written (``adapters.progress.DelayedNotice``).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from pydantic import ValidationError

from adapters.common import (
    FAILURE_ANSWER,
    WITHDRAW_TIMEOUT_S,
    BodyTooLarge,
    ChatRuntime,
    DownloadRefused,
    answer_turn,
    claim,
    download,
    json_error,
    on_hosts,
    presented_signature,
    read_body,
    too_large,
    unauthorized,
    unix_seconds,
    with_files,
)
from adapters.logo.models import LogoEvent
from adapters.logo.translate import render, reply_thread, to_turn
from adapters.outbound import RetryableSend, SendFailed, retry_after_seconds, split_text
from adapters.progress import DelayedNotice
from bot.turns import Attachment, Turn

log = logging.getLogger(__name__)

TIMESTAMP_HEADER = "X-LoGo-Request-Timestamp"
SIGNATURE_HEADER = "X-LoGo-Signature"
MAX_SKEW_S = 300
TEXT_LIMIT = 4000
# How long a turn may take before its talk is told that the answer is being written: staff who
# see nothing for longer think the bot missed the question and ask again.
NOTICE_AFTER_S = 5.0


@dataclass(frozen=True)
class LogoConfig:
    """Secrets of the LoGo Chat connection."""

    signing_secret: str
    reply_token: str


class ReplyRejected(Exception):
    """The reply endpoint refused a reply with a status not worth retrying (4xx but 429)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"reply rejected status={status}")
        self.status = status


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``v0=<hex HMAC-SHA256(secret, "v0:{ts}:{body}")>``."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float
) -> bool:
    """Whether the request is signed with ``secret`` and at most ``MAX_SKEW_S`` seconds old;
    the hex digits in either case (.NET's ``Convert.ToHexString`` writes capitals)."""
    seconds, presented = unix_seconds(timestamp), presented_signature(signature)
    if not presented or timestamp is None or seconds is None or abs(now - seconds) > MAX_SKEW_S:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), presented.lower())


def _fields(exc: ValidationError) -> str:
    names = sorted({".".join(str(p) for p in e["loc"]) or "本文" for e in exc.errors()})
    return ", ".join(names[:8])


class LogoAdapter:
    """The LoGo Chat webhook handler and its reply client."""

    def __init__(
        self,
        config: LogoConfig,
        runtime: ChatRuntime,
        clock: Callable[[], float] = time.time,
        *,
        notice_after: float = NOTICE_AFTER_S,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self._clock = clock
        self.notice_after = notice_after

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Verify, validate, claim the event id, schedule the answer and return 200 at once."""
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return too_large()
        ok = verify(
            self.config.signing_secret,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            raw,
            self._clock(),
        )
        if not ok:
            await self.runtime.bot.record_security_event("logo", "bad_signature")
            return unauthorized()
        try:
            event = LogoEvent.model_validate_json(raw)
        except ValidationError as exc:
            return json_error(
                400, "bad_input", f"リクエストの形式が正しくありません（{_fields(exc)}）。"
            )
        turn = to_turn(event)
        # Each organization's LoGo (or gateway) numbers its own events: the same id from
        # another organization is another event.
        if not await claim(self.runtime, "logo", f"{event.org_id}/{event.event_id}"):
            log.info("logo duplicate event ignored")
            return web.json_response({"ok": True, "duplicate": True})
        self.runtime.tasks.spawn(self._answer(event, turn), name="logo-answer")
        return web.json_response({"ok": True})

    async def _answer(self, event: LogoEvent, turn: Turn) -> None:
        url, lane, thread = str(event.reply_url), turn.conversation.key, reply_thread(event)

        def payload(text: str) -> dict[str, str | None]:
            return {"talk_id": event.talk_id, "thread_id": thread, "text": text}

        async def say(text: str) -> None:  # tried once: a retry would hold the answer up
            await self._reply(url, lane, payload(text), max_attempts=1)

        fetch = functools.partial(self.download, url)
        notice = DelayedNotice(say, self.notice_after, "logo")
        try:
            async with notice:
                answer = await answer_turn(self.runtime.bot, await with_files(turn, fetch), notice)
        except asyncio.CancelledError:  # shutdown: a talk told to wait is told what happened
            if notice.sent:
                await self._withdraw(say)
            raise
        for part in split_text(render(answer)["text"], TEXT_LIMIT):
            try:
                await self._reply(url, lane, payload(part))
            except (SendFailed, ReplyRejected) as exc:
                log.warning("logo reply not delivered: %s", exc)
                return

    async def _withdraw(self, say: Callable[[str], Awaitable[None]]) -> None:
        """Follow a notice whose answer was cancelled with an apology (best effort)."""
        try:
            await asyncio.wait_for(say(render(FAILURE_ANSWER)["text"]), WITHDRAW_TIMEOUT_S)
        except (SendFailed, ReplyRejected, TimeoutError) as exc:
            log.warning("logo notice not withdrawn: %s", type(exc).__name__)

    async def download(self, reply_url: str, attachment: Attachment) -> bytes:
        """A file of the message, fetched with the reply token as Slack's files are with the
        bot token; only from the host the replies go to, else ``DownloadRefused``."""
        if not on_hosts(attachment.url, [urlsplit(reply_url).netloc]):
            raise DownloadRefused("file URL outside the LoGo server")
        headers = {"Authorization": f"Bearer {self.config.reply_token}"}
        return await download(self.runtime.session, attachment, headers)

    async def _reply(
        self, url: str, lane: str, payload: dict[str, str | None], max_attempts: int | None = None
    ) -> None:
        headers = {"Authorization": f"Bearer {self.config.reply_token}"}

        async def call() -> None:
            try:
                async with self.runtime.session.post(url, json=payload, headers=headers) as resp:
                    await resp.read()
                    if 200 <= resp.status < 300:
                        return
                    if resp.status == 429 or resp.status >= 500:
                        wait = retry_after_seconds(resp.headers.get("Retry-After"))
                        raise RetryableSend(resp.status, wait)
                    raise ReplyRejected(resp.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.info("logo reply connection failed: %s", type(exc).__name__)
                raise RetryableSend(0) from exc

        await self.runtime.outbox.send(lane, call, max_attempts=max_attempts)
