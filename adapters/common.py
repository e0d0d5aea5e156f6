"""What every platform adapter shares: the runtime handed in by the bot, JSON errors, bounded
body reading, command detection and the turn-to-answer step with its last-resort message."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import aiohttp
from aiohttp import HttpVersion11, web

from adapters.background import BackgroundTasks
from adapters.outbound import Outbox
from bot.turns import (
    Answer,
    Attachment,
    ChatBot,
    Citation,
    Platform,
    Progress,
    Turn,
    starts_as_command,
    without_unseen,
)

log = logging.getLogger(__name__)

PLACEHOLDER_TEXT = "回答を作成しています…"
FAILURE_TEXT = (
    "申し訳ありません。回答の作成中に問題が発生しました。時間をおいてもう一度お試しください。"
)
# What replaces a placeholder when its answer cannot be given (the bot failed, or shutdown
# cancelled it), and how long that last message may take at shutdown.
FAILURE_ANSWER = Answer(text=FAILURE_TEXT, outcome="error", footer="", feedback=False)
WITHDRAW_TIMEOUT_S = 3.0
# Chat webhooks carry small JSON or form bodies; anything bigger is not from the platform.
MAX_WEBHOOK_BYTES = 1024 * 1024
# The largest file taken from a chat message (upload, summarize, a question about it).
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024
DOWNLOAD_PIECE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ChatRuntime:
    """What adapters get from the application: the bot port, background work, the paced
    outbox and one HTTP client session for outbound calls."""

    bot: ChatBot
    tasks: BackgroundTasks
    outbox: Outbox
    session: aiohttp.ClientSession


class BodyTooLarge(Exception):
    """The request body exceeds ``MAX_WEBHOOK_BYTES``."""


def citation_details(citation: Citation) -> str:
    """Position, dataset, publishing organization and date of a citation, joined by ・."""
    return "・".join(citation.details())


def is_web_link(url: str) -> bool:
    """Whether ``url`` may be shown as a link (http or https only)."""
    return url.startswith(("https://", "http://"))


def unix_seconds(timestamp: str | None) -> int | None:
    """A request timestamp header as Unix seconds, ``None`` when it is none: empty, not ASCII
    digits, or far longer than the 10 digits of a time (past 4,300 digits ``int`` refuses it)."""
    if not timestamp or len(timestamp) > 12 or not (timestamp.isascii() and timestamp.isdigit()):
        return None
    return int(timestamp)


def presented_signature(header: str | None) -> str | None:
    """A signature header as presented, ``None`` when it is none: empty, or not ASCII (no hex
    digest is, and ``hmac.compare_digest`` refuses to compare such a string)."""
    value = (header or "").strip()
    return value if value and value.isascii() else None


# Host names of the machine itself.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
# Headers a reverse proxy adds: a forwarded request is never local, even when the proxy
# connects over loopback and names a loopback host.
_FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Real-IP", "Via")


def request_host(request: web.Request) -> str:
    """The host a request names, without its port (「[::1]」 kept in brackets)."""
    host = request.host
    if host.startswith("["):
        return host[: host.find("]") + 1]
    return host.rsplit(":", 1)[0]


def from_this_machine(request: web.Request) -> bool:
    """Whether a request names a loopback host (which also defeats DNS rebinding) and no
    proxy forwarded it: what a keyless local mode may accept on a loopback bind.

    A proxy says so by a forwarding header, or, as nginx does by default (no such header,
    ``Host: 127.0.0.1:8080``), by speaking HTTP/1.0 to its upstream, which browsers and HTTP
    clients on the machine no longer do."""
    return (
        request_host(request) in LOOPBACK_HOSTS
        and request.version >= HttpVersion11
        and not any(name in request.headers for name in _FORWARDING_HEADERS)
    )


def json_error(status: int, code: str, message: str) -> web.Response:
    """The JSON error shape of every route: ``{"error": {"code", "message"}}``."""
    return web.json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        dumps=lambda o: json.dumps(o, ensure_ascii=False),
    )


def unauthorized() -> web.Response:
    """401 for a missing, invalid or expired signature or token."""
    return json_error(401, "unauthorized", "リクエストの署名または認証情報を確認できませんでした。")


def too_large() -> web.Response:
    """413 for an oversized webhook body."""
    return json_error(413, "payload_too_large", "リクエストが大きすぎます。")


async def read_body(request: web.Request, limit: int = MAX_WEBHOOK_BYTES) -> bytes:
    """The raw body, at most ``limit`` bytes (``BodyTooLarge`` otherwise)."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge()
    raw = await request.read()
    if len(raw) > limit:
        raise BodyTooLarge()
    return raw


def as_command(text: str) -> tuple[bool, str]:
    """``(True, rest)`` for a message starting with ``/`` (or the full-width ／), else
    ``(False, text)``: after the mention, ``/help`` is a command, anything else a question
    (a zero-width space copied before the slash is not seen, so not read either)."""
    stripped = without_unseen(text).strip()
    if starts_as_command(stripped):
        return True, stripped[1:].strip()
    return False, stripped


async def claim(runtime: ChatRuntime, platform: Platform, event_id: str) -> bool:
    """Claim an event before processing it; events without an id are always processed."""
    if not event_id:
        return True
    return await runtime.bot.claim_event(platform, event_id)


async def answer_turn(bot: ChatBot, turn: Turn, progress: Progress | None = None) -> Answer:
    """The bot's answer (``progress``: see ``ChatBot.handle``); if the bot itself fails, a
    short apology instead of silence."""
    try:
        return await bot.handle(turn, progress)
    except Exception as exc:  # the user must get a message; the type goes to the log
        log.error(
            "turn failed platform=%s error=%s", turn.conversation.platform, type(exc).__name__
        )
        return FAILURE_ANSWER


class DownloadRefused(Exception):
    """A file URL outside the platform's file hosts, a failed download, or a file too large."""


def on_hosts(url: str, hosts: Collection[str], *, subdomains: bool = False) -> bool:
    """Whether ``url`` is http(s) on one of ``hosts`` (with ``subdomains``, or under one:
    ``sharepoint.com`` covers ``city.sharepoint.com``); a host may name its port."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return False
    netloc = parts.netloc.lower()
    return any(
        netloc == host or (subdomains and netloc.endswith("." + host))
        for host in (h.lower() for h in hosts)
        if host
    )


async def download(
    session: aiohttp.ClientSession,
    attachment: Attachment,
    headers: Mapping[str, str] | None = None,
    limit: int = MAX_DOWNLOAD_BYTES,
) -> bytes:
    """The content of an attached file (the caller has checked where its URL points);
    ``DownloadRefused`` for a failed download or one over ``limit`` bytes."""
    if attachment.size > limit:
        raise DownloadRefused("file too large")
    content = bytearray()
    try:
        async with session.get(attachment.url, headers=headers or {}) as response:
            if response.status != 200:
                raise DownloadRefused(f"download status {response.status}")
            # ``read(n)`` returns what has arrived so far: read to the end, within the limit.
            async for piece in response.content.iter_chunked(DOWNLOAD_PIECE_BYTES):
                content += piece
                if len(content) > limit:
                    raise DownloadRefused("file too large")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise DownloadRefused(type(exc).__name__) from exc
    return bytes(content)


async def with_files(turn: Turn, fetch: Callable[[Attachment], Awaitable[bytes]]) -> Turn:
    """The turn's attached files downloaded by ``fetch`` (for ``upload``, ``summarize`` or a
    question about them); a file that cannot be fetched stays without content, and the reply
    says so."""
    if not turn.attachments:
        return turn
    files = []
    for attachment in turn.attachments:
        try:
            files.append(replace(attachment, content=await fetch(attachment)))
        except DownloadRefused as exc:
            log.warning("%s file not downloaded: %s", turn.conversation.platform, exc)
            files.append(attachment)
    return replace(turn, attachments=tuple(files))
