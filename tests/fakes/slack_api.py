"""An in-process fake of the Slack platform for tests: the Web API the bot calls, the
``response_url`` of slash commands and button clicks, private file downloads, and helpers that
build correctly signed Events API, slash command and interactivity requests.

It listens on 127.0.0.1 on a random port and speaks Slack's wire format, so the real
``slack_sdk`` ``AsyncWebClient`` (``base_url`` = :attr:`FakeSlack.api_url`) talks to it:

* ``POST /api/auth.test`` — the bot's identity (``user_id``, ``bot_id``, ``team_id``);
* ``POST /api/chat.postMessage`` and ``/api/chat.update`` — JSON or form bodies, ``ts`` values
  that increase; ``{"ok": false, "error": "invalid_auth"}`` for a wrong bot token;
* ``GET /api/conversations.replies`` — a thread opened with :meth:`FakeSlack.add_thread`, its
  opening first, ``limit`` messages at most; like Slack it reads a read method's arguments
  from the query string or a form body only (a JSON body is ignored: ``channel_not_found``),
  and answers ``thread_not_found`` for a thread it does not know;
* ``POST /response/{id}`` — a response URL (:meth:`FakeSlack.response_url`);
* ``GET /files/{name}`` — a private file (:meth:`FakeSlack.add_file`), bot token required.

:meth:`FakeSlack.script` queues HTTP errors (``Retry-After`` included) for a method. Every call
is recorded with the token redacted (``authorized`` says whether it was the bot token).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest_asyncio
from aiohttp import web

from fakes import Failure, FakeServer


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received."""

    method: str
    body: dict[str, Any]
    authorized: bool
    at: float
    status: int = 200

    @property
    def blocks(self) -> list[dict[str, Any]]:
        blocks = self.body.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    @property
    def block_text(self) -> str:
        """All text of the blocks, joined (what a user reads)."""
        texts: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("text"), str):
                    texts.append(node["text"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.blocks)
        return "\n".join(texts)


class FakeSlack(FakeServer):
    """See the module docstring. Start with :meth:`start`, stop with :meth:`close`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        signing_secret: str = "slack-signing-secret",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBAIBAIN",
        bot_id: str = "BBAIBAIN",
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.calls: list[SlackCall] = []
        self.files: dict[str, bytes] = {}
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._ts = 0
        self._triggers = itertools.count(3)
        super().__init__()
        app = self.app
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response)
        app.router.add_get("/files/{name}", self._file)

    @property
    def url(self) -> str:
        return self.root_url

    @property
    def api_url(self) -> str:
        """What ``BAIBAIN_SLACK_API_URL`` is set to."""
        return f"{self.url}/api/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.url}/response/{key}"

    def add_file(self, name: str, content: bytes) -> str:
        """Serve a private file; returns its ``url_private_download``."""
        self.files[name] = content
        return f"{self.url}/files/{name}"

    def add_thread(
        self,
        text: str,
        *,
        channel: str = "C0CHAN",
        ts: str = "1700000000.000100",
        user: str = "U0COLLEAGUE",
        **fields: Any,
    ) -> dict[str, Any]:
        """A thread whose opening message ``user`` wrote (``""``: none, as in an integration's
        ``bot_message``; ``fields``: ``bot_id``, ``subtype``…), as ``conversations.replies``
        returns it; replies to it are the bot's to receive."""
        opening = {
            "type": "message",
            **({"user": user} if user else {}),
            "text": text,
            "ts": ts,
            "thread_ts": ts,
            "team": self.team_id,
            **fields,
        }
        self.threads[(channel, ts)] = [opening]
        return opening

    def script(self, method: str, *failures: Failure) -> None:
        """The next calls of ``method`` (``chat.update``, ``response``…) fail like this."""
        self._failures[method].extend(failures)

    def of(self, method: str) -> list[SlackCall]:
        """Successful calls of one method, in order."""
        return [c for c in self.calls if c.method == method and c.status == 200]

    # -- handlers -------------------------------------------------------------------------

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        if request.content_type == "application/json":
            return dict(await request.json())
        return {**request.query, **(await request.post())}

    def _authorized(self, request: web.Request, body: Mapping[str, Any]) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() or str(body.get("token") or "")
        return hmac.compare_digest(token, self.bot_token)

    def _next_failure(self, method: str) -> Failure | None:
        queue = self._failures.get(method)
        return queue.popleft() if queue else None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        authorized = self._authorized(request, body)
        failure = self._next_failure(method)
        status = failure.status if failure else 200
        self.calls.append(SlackCall(method, body, authorized, time.monotonic(), status))
        if failure is not None:
            error = failure.error or ("ratelimited" if failure.status == 429 else "internal_error")
            return web.json_response(
                {"ok": False, "error": error}, status=failure.status, headers=failure.headers
            )
        if not authorized:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "url": "https://test.slack.com/",
                    "team": "テスト",
                    "user": "baibain",
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "bot_id": self.bot_id,
                    "is_enterprise_install": False,
                }
            )
        if method == "chat.postMessage":
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": ts})
        if method == "chat.update":
            return web.json_response(
                {"ok": True, "channel": body.get("channel"), "ts": body.get("ts")}
            )
        if method == "conversations.replies":
            arguments = dict(request.query) if request.content_type == "application/json" else body
            return web.json_response(self._replies(arguments))
        return web.json_response({"ok": False, "error": "unknown_method"}, status=404)

    def _replies(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        channel, ts = str(arguments.get("channel") or ""), str(arguments.get("ts") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        thread = self.threads.get((channel, ts))
        if thread is None:
            return {"ok": False, "error": "thread_not_found"}
        limit = int(arguments.get("limit") or 1000)
        return {"ok": True, "messages": thread[:limit], "has_more": len(thread) > limit}

    async def _response(self, request: web.Request) -> web.Response:
        body = dict(await request.json())
        failure = self._next_failure("response")
        status = failure.status if failure else 200
        self.calls.append(SlackCall("response", body, True, time.monotonic(), status))
        if failure is not None:
            return web.Response(status=failure.status, headers=failure.headers, text="error")
        return web.Response(text="ok")

    async def _file(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        authorized = hmac.compare_digest(header.removeprefix("Bearer ").strip(), self.bot_token)
        self.calls.append(SlackCall("file", {"name": request.match_info["name"]}, authorized, 0))
        content = self.files.get(request.match_info["name"])
        if not authorized or content is None:
            return web.Response(status=404 if authorized else 403)
        return web.Response(body=content, content_type="application/octet-stream")

    # -- requests to the bot ------------------------------------------------------------------

    def signed_headers(
        self, body: str, *, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (v0 HMAC-SHA256)."""
        ts = str(int(time.time()) if timestamp is None else timestamp)
        key = (secret or self.signing_secret).encode()
        digest = hmac.new(key, f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}

    def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str = "Ev0001",
        team_id: str | None = None,
    ) -> dict[str, Any]:
        """An Events API ``event_callback`` envelope."""
        return {
            "token": "legacy-verification-token",
            "team_id": team_id or self.team_id,
            "api_app_id": "A0TEST",
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "team_id": team_id or self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }

    def _message(
        self,
        event: dict[str, Any],
        *,
        ts: str,
        user: str = "U0USER",
        thread_ts: str | None = None,
        **envelope: Any,
    ) -> dict[str, Any]:
        event |= {"user": user, "ts": ts, "event_ts": ts}
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **envelope)

    def mention(
        self, text: str, *, channel: str = "C0CHAN", ts: str = "1700000100.000200", **options: Any
    ) -> dict[str, Any]:
        """An ``app_mention`` (the text gets the bot mention in front); ``options``: ``user``,
        ``thread_ts`` and the envelope's ``event_id`` or ``team_id``."""
        text = f"<@{self.bot_user_id}> {text}".rstrip()
        event = {"type": "app_mention", "text": text, "channel": channel}
        return self._message(event, ts=ts, **options)

    def direct_message(
        self, text: str, *, channel: str = "D0DM", ts: str = "1700000200.000100", **options: Any
    ) -> dict[str, Any]:
        """A ``message`` in the bot's DM (``thread_ts``: a reply in the thread of that
        message, as Slack's 「スレッドで返信する」 sends it); ``options`` as for ``mention``."""
        event = {"type": "message", "channel_type": "im", "text": text, "channel": channel}
        return self._message(event, ts=ts, **options)

    def member_joined(
        self, *, user: str | None = None, channel: str = "C0CHAN", **envelope: Any
    ) -> dict[str, Any]:
        """A ``member_joined_channel`` event: the bot itself joined (``user``: someone else)."""
        event = {
            "type": "member_joined_channel",
            "user": user or self.bot_user_id,
            "channel": channel,
            "channel_type": "C",
            "team": self.team_id,
            "inviter": "U0USER",
            "event_ts": "1700000400.000100",
        }
        return self.event(event, **envelope)

    def home_opened(
        self, *, user: str = "U0USER", tab: str = "messages", channel: str = "D0DM", **envelope: Any
    ) -> dict[str, Any]:
        """An ``app_home_opened`` event, as Slack sends it at every opening of the bot's DM
        (``tab="messages"``) or Home tab (``tab="home"``)."""
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": channel,
            "tab": tab,
            "event_ts": "1700000500.000100",
        }
        return self.event(event, **envelope)

    def slash_command(
        self, text: str, *, user: str = "U0USER", team_id: str | None = None, key: str = "r1"
    ) -> str:
        """A form-encoded ``/baibain`` slash command, with a ``trigger_id`` of its own (as
        Slack gives every invocation)."""
        return urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": team_id or self.team_id,
                "team_domain": "test",
                "channel_id": "C0CHAN",
                "channel_name": "general",
                "user_id": user,
                "user_name": "yamada",
                "command": "/baibain",
                "text": text,
                "api_app_id": "A0TEST",
                "response_url": self.response_url(key),
                "trigger_id": f"1.2.{next(self._triggers)}",
            }
        )

    def button_click(
        self, action_id: str, value: str, *, user: str = "U0USER", key: str = "click"
    ) -> str:
        """A form-encoded ``block_actions`` interactivity payload."""
        payload = {
            "type": "block_actions",
            "team": {"id": self.team_id, "domain": "test"},
            "user": {"id": user, "team_id": self.team_id},
            "api_app_id": "A0TEST",
            "container": {"type": "message", "channel_id": "C0CHAN"},
            "channel": {"id": "C0CHAN"},
            "trigger_id": "1.2.4",
            "response_url": self.response_url(key),
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "baibain_feedback",
                    "value": value,
                    "action_ts": "1700000300.000100",
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload, ensure_ascii=False)})


@pytest_asyncio.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    """A started :class:`FakeSlack`."""
    fake = FakeSlack()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
