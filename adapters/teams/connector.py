"""Replies to Teams: the Bot Connector REST API at the activity's ``serviceUrl``.

The bot authenticates with an OAuth 2.0 client-credentials token for
``https://api.botframework.com/.default`` from Microsoft Entra ID (the bot's tenant, or
``botframework.com`` for a multi-tenant registration); ``TokenSource`` gets the token for
Microsoft Graph (``adapters.teams.graph``) the same way, for another scope. Calls are plain
aiohttp so the event loop never blocks, and every call goes through the outbox (pacing,
429/5xx retries).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from adapters.outbound import RetryableSend, retry_after_seconds

log = logging.getLogger(__name__)

BOT_SCOPE = "https://api.botframework.com/.default"
TOKEN_MARGIN_S = 300


def default_token_url(tenant_id: str) -> str:
    """Entra ID's token endpoint for the bot's tenant (``botframework.com`` if none)."""
    return f"https://login.microsoftonline.com/{tenant_id or 'botframework.com'}/oauth2/v2.0/token"


class ConnectorRejected(Exception):
    """The connector, the token endpoint or Graph refused a call (not worth retrying)."""

    def __init__(self, what: str, status: int) -> None:
        super().__init__(f"{what} refused status={status}")
        self.status = status


def retry_or_raise(what: str, resp: aiohttp.ClientResponse) -> None:
    """``RetryableSend`` for a 429 or 5xx answer, else ``ConnectorRejected``."""
    if resp.status == 429 or resp.status >= 500:
        raise RetryableSend(resp.status, retry_after_seconds(resp.headers.get("Retry-After")))
    raise ConnectorRejected(what, resp.status)


class TokenSource:
    """The app's access token for ``scope`` (the Bot Connector's by default) from the token
    endpoint at ``url``, fetched once and renewed shortly before it expires."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        app_id: str,
        password: str,
        scope: str = BOT_SCOPE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._url = url
        self._form = {
            "grant_type": "client_credentials",
            "client_id": app_id,
            "client_secret": password,
            "scope": scope,
        }
        self._clock = clock
        self._token = ""
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Forget the token (after the service it was for answered 401)."""
        self._token = ""

    async def token(self) -> str:
        """A valid token; raises ``RetryableSend`` or ``ConnectorRejected`` when unavailable."""
        async with self._lock:
            if self._token and self._clock() < self._expires_at:
                return self._token
            try:
                async with self._session.post(self._url, data=self._form) as resp:
                    if resp.status != 200:
                        await resp.read()
                        retry_or_raise("token endpoint", resp)
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise RetryableSend(0) from exc
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise ConnectorRejected("token endpoint", 200)
            lifetime = float(body.get("expires_in") or 3600)
            self._token = token
            self._expires_at = self._clock() + max(lifetime - TOKEN_MARGIN_S, 30.0)
            return token


@dataclass(frozen=True)
class TeamsTarget:
    """Where replies to one activity go."""

    service_url: str
    conversation_id: str
    reply_to_id: str


class TeamsConnector:
    """Reply to an activity and update an activity in place (one HTTP call per method)."""

    def __init__(self, session: aiohttp.ClientSession, tokens: TokenSource | None) -> None:
        self._session = session
        self._tokens = tokens  # None in the unauthenticated local mode

    def _url(self, target: TeamsTarget, activity_id: str = "") -> URL:
        base = target.service_url.rstrip("/")
        conversation = quote(target.conversation_id, safe="")
        url = f"{base}/v3/conversations/{conversation}/activities"
        return URL(f"{url}/{quote(activity_id, safe='')}" if activity_id else url, encoded=True)

    async def _call(self, method: str, url: URL, activity: dict[str, Any] | None) -> dict[str, Any]:
        headers = {}
        if self._tokens is not None:
            headers["Authorization"] = f"Bearer {await self._tokens.token()}"
        try:
            async with self._session.request(method, url, json=activity, headers=headers) as resp:
                if resp.status == 401 and self._tokens is not None:
                    self._tokens.invalidate()
                if not 200 <= resp.status < 300:
                    await resp.read()
                    retry_or_raise("connector", resp)
                body = await resp.json(content_type=None) if resp.content_length != 0 else {}
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryableSend(0) from exc
        except ValueError:
            body = {}
        return body if isinstance(body, dict) else {}

    async def reply(self, target: TeamsTarget, activity: dict[str, Any]) -> str:
        """Post ``activity`` as a reply; the new activity's id."""
        payload = {**activity, "replyToId": target.reply_to_id}
        body = await self._call("POST", self._url(target, target.reply_to_id), payload)
        return str(body.get("id") or "")

    async def send(self, target: TeamsTarget, activity: dict[str, Any]) -> str:
        """Post ``activity`` as a new message in the conversation (not a reply); its id."""
        body = await self._call("POST", self._url(target), activity)
        return str(body.get("id") or "")

    async def team_group(self, service_url: str, team_id: str) -> str:
        """The Entra ID group id of a team (``GET /v3/teams/{id}``, the team's details), which
        Microsoft Graph names teams by; empty when the connector does not say."""
        base = service_url.rstrip("/")
        url = URL(f"{base}/v3/teams/{quote(team_id, safe='')}", encoded=True)
        body = await self._call("GET", url, None)
        return str(body.get("aadGroupId") or "")

    async def update(self, target: TeamsTarget, activity_id: str, activity: dict[str, Any]) -> None:
        """Replace an activity the bot sent earlier (the placeholder)."""
        await self._call("PUT", self._url(target, activity_id), {**activity, "id": activity_id})
