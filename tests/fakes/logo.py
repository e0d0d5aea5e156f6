"""An in-process fake of a LoGo Chat-style workspace for tests: the ``reply_url`` endpoint the
bot posts answers to, and helpers that build correctly signed webhook deliveries.

The contract is the one in DESIGN.md: the webhook is signed with
``X-LoGo-Signature: v0=<hex HMAC-SHA256(secret, "v0:{ts}:{raw body}")>`` and
``X-LoGo-Request-Timestamp``; replies are ``POST reply_url`` with
``Authorization: Bearer <reply token>`` and ``{"talk_id", "thread_id", "text"}``.
:meth:`FakeLogo.script` queues HTTP errors (``Retry-After`` included) for the next replies.
Files of messages (:meth:`FakeLogo.add_file`) are served at their ``download_url`` to the reply
token only, as Slack serves ``url_private`` to the bot token.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from aiohttp import web

from fakes import Failure, FakeServer


@dataclass(frozen=True)
class Reply:
    """One reply the endpoint received."""

    body: dict[str, Any]
    authorized: bool
    status: int
    at: float

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))


class FakeLogo(FakeServer):
    """See the module docstring."""

    def __init__(
        self,
        *,
        signing_secret: str = "logo-signing-secret",
        reply_token: str = "logo-reply-token",
        org_id: str = "logo-org-1",
    ) -> None:
        self.signing_secret = signing_secret
        self.reply_token = reply_token
        self.org_id = org_id
        self.received: list[Reply] = []
        self.files: dict[str, bytes] = {}
        self.downloads: list[bool] = []  # whether each download carried the reply token
        self._failures: deque[Failure] = deque()
        self._event = 0
        super().__init__()
        app = self.app
        app.router.add_post("/reply", self._reply)
        app.router.add_get("/files/{file_id}", self._file)

    @property
    def reply_url(self) -> str:
        return f"{self.root_url}/reply"

    @property
    def replies(self) -> list[Reply]:
        """Accepted replies, in order."""
        return [r for r in self.received if r.status == 200]

    def script(self, *failures: Failure) -> None:
        self._failures.extend(failures)

    def add_file(self, file_id: str, name: str, content: bytes) -> dict[str, Any]:
        """Serve a file; returns its entry for ``message.files``."""
        self.files[file_id] = content
        return {
            "file_id": file_id,
            "name": name,
            "mime_type": "text/plain",
            "size": len(content),
            "download_url": f"{self.root_url}/files/{file_id}",
        }

    async def _file(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        authorized = hmac.compare_digest(header, f"Bearer {self.reply_token}")
        self.downloads.append(authorized)
        content = self.files.get(request.match_info["file_id"])
        if not authorized or content is None:
            return web.Response(status=404 if authorized else 401)
        return web.Response(body=content, content_type="application/octet-stream")

    async def _reply(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        authorized = hmac.compare_digest(header, f"Bearer {self.reply_token}")
        body = dict(await request.json())
        failure = self._failures.popleft() if self._failures else None
        status = failure.status if failure else (200 if authorized else 401)
        self.received.append(Reply(body, authorized, status, time.monotonic()))
        if failure is not None:
            return web.json_response({"ok": False}, status=status, headers=failure.headers)
        return web.json_response({"ok": authorized}, status=status)

    # -- deliveries to the bot ------------------------------------------------------------------

    def signed_headers(
        self, body: bytes, *, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        key = (secret or self.signing_secret).encode()
        digest = hmac.new(key, b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
        return {
            "Content-Type": "application/json",
            "X-LoGo-Request-Timestamp": ts,
            "X-LoGo-Signature": f"v0={digest}",
        }

    def event(
        self,
        text: str = "",
        *,
        type: str = "mention",
        event_id: str | None = None,
        org_id: str | None = None,
        talk_id: str = "talk-1",
        thread_id: str | None = None,
        user_id: str = "user-1",
        message_id: str = "msg-1",
        command: dict[str, str] | None = None,
        files: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A webhook body (a mention of the bot by default)."""
        self._event += 1
        body: dict[str, Any] = {
            "event_id": event_id or f"ev-{self._event}",
            "type": type,
            "org_id": org_id or self.org_id,
            "talk_id": talk_id,
            "thread_id": thread_id,
            "user": {"id": user_id, "display_name": "山田 太郎"},
            "reply_url": self.reply_url,
        }
        if type == "command":
            body["command"] = command or {"name": "baibain", "text": text}
        else:
            prefix = "@バイバイン " if type == "mention" else ""
            body["message"] = {
                "id": message_id,
                "text": f"{prefix}{text}",
                "mentions": [{"user_id": "bot-1"}] if type == "mention" else [],
                "files": files or [],
            }
        return body

    def encode(self, body: Mapping[str, Any]) -> bytes:
        return json.dumps(body, ensure_ascii=False).encode()


@pytest_asyncio.fixture
async def logo_fake() -> AsyncIterator[FakeLogo]:
    """A started :class:`FakeLogo`."""
    fake = FakeLogo()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
