"""The root messages of Teams channel threads, read through Microsoft Graph.

A mention replying in a channel thread a colleague opened is read with the thread's root
message, as on Slack: ``GET /v1.0/teams/{team}/channels/{channel}/messages/{root}``, with an
application token for ``https://graph.microsoft.com/.default`` from the token endpoint of the
activity's tenant (client credentials of the bot's own app registration). The app asks for
the resource-specific permission ``ChannelMessage.Read.Group`` in its manifest, which a team's
owner grants when adding the app to the team. Without it (Graph answers 403), or when Graph
cannot be reached in time, a warning is logged (the status or the error's type, never text or
tokens) and the question is answered from its own words. Each root message is read once per
thread and remembered, and a tenant Graph throttled is not read again until the pause it asked
for is over (``adapters.openings``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import quote

import aiohttp
from cachetools import LRUCache
from yarl import URL

from adapters.openings import Opening, Openings
from adapters.outbound import Outbox, RetryableSend, SendFailed
from adapters.teams.connector import (
    ConnectorRejected,
    TeamsConnector,
    TokenSource,
    default_token_url,
    retry_or_raise,
)
from adapters.teams.translate import ChannelReply, read_channel_message

log = logging.getLogger(__name__)

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFAULT_GRAPH_URL = "https://graph.microsoft.com"
# Tries at reading a root message, the longest pause Graph may ask for between them, and the
# longest the answer waits for it all (token included): it goes on without the opening then.
OPENING_ATTEMPTS = 2
OPENING_MAX_WAIT_S = 2.0
OPENING_TIMEOUT_S = 5.0
# Tenants whose Graph token is kept, and teams whose group id is (a bot serves a few; the
# least recently used go first).
TOKEN_TENANTS = 256
KNOWN_TEAMS = 4096


class GraphOpenings:
    """Root messages of channel threads, read with the app's Graph token for each tenant.

    ``token_url``: one token endpoint for every tenant (a gateway, tests) instead of Entra
    ID's endpoint of the activity's tenant; ``graph_url``: Graph's base URL."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        outbox: Outbox,
        connector: TeamsConnector,
        app_id: str,
        password: str,
        *,
        token_url: str = "",
        graph_url: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self._outbox = outbox
        self._connector = connector
        self._groups: LRUCache[str, str] = LRUCache(KNOWN_TEAMS)
        self._app_id = app_id
        self._password = password
        self._token_url = token_url
        self._graph_url = (graph_url or DEFAULT_GRAPH_URL).rstrip("/")
        self._clock = clock
        self._tokens: LRUCache[str, TokenSource] = LRUCache(TOKEN_TENANTS)
        self._openings = Openings(clock)

    def _tokens_for(self, tenant: str) -> TokenSource:
        url = self._token_url or default_token_url(quote(tenant, safe=""))
        tokens = self._tokens.get(url)
        if tokens is None:
            tokens = TokenSource(
                self._session, url, self._app_id, self._password, GRAPH_SCOPE, self._clock
            )
            self._tokens[url] = tokens
        return tokens

    def _message_url(self, reply: ChannelReply) -> URL:
        parts = (reply.team, reply.channel, reply.root_id)
        team, channel, root = (quote(part, safe="") for part in parts)
        path = f"/v1.0/teams/{team}/channels/{channel}/messages/{root}"
        return URL(self._graph_url + path, encoded=True)

    async def opening(self, lane: str, reply: ChannelReply) -> Opening:
        """The root message of the thread ``reply`` is in (empty when the bot or another app
        wrote it, or it was deleted), read once per thread; empty, with a warning, when Graph
        does not give it in time (no consent in the team, throttled, unreachable)."""
        thread = (reply.tenant, reply.channel, reply.root_id)
        known = self._openings.known(thread)
        if known is not None:
            return known
        if self._openings.paused(reply.tenant):
            log.warning("teams thread opening not read: rate limited")
            return Opening()
        try:
            message = await asyncio.wait_for(self._read(lane, reply), OPENING_TIMEOUT_S)
            if message is None:
                log.warning("teams thread opening not read: the team's group id is unknown")
                return Opening()
        except SendFailed as exc:
            if exc.status == 429:
                self._openings.pause(reply.tenant, exc.retry_after)
            log.warning("teams thread opening not read: status=%d", exc.status)
            return Opening()
        except ConnectorRejected as exc:  # Graph's 403: the team's owner did not consent
            log.warning("teams thread opening not read: %s", exc)  # who refused, and the status
            return Opening()
        except (TimeoutError, ValueError, RecursionError) as exc:  # slow, or not a message
            log.warning("teams thread opening not read: %s", type(exc).__name__)
            return Opening()
        opening = read_channel_message(message)
        self._openings.remember(thread, opening)
        return opening

    async def _group(self, lane: str, reply: ChannelReply) -> str:
        """The Entra ID group id of the reply's team: as the activity gave it, or as the Bot
        Connector tells it for the team (asked once per team)."""
        if reply.team or not (reply.team_id and reply.service_url):
            return reply.team
        known = self._groups.get(reply.team_id)
        if known is None:
            details = functools.partial(
                self._connector.team_group, reply.service_url, reply.team_id
            )
            known = await self._outbox.send(
                f"{lane}|read", details, max_attempts=OPENING_ATTEMPTS, max_wait=OPENING_MAX_WAIT_S
            )
            if known:
                self._groups[reply.team_id] = known
        return known

    async def _read(self, lane: str, reply: ChannelReply) -> dict[str, Any] | None:
        """The chatMessage Graph gives for the root message (429 and 5xx retried in the
        conversation's read lane: ``Outbox.send``); ``None`` when the team's group id, which
        Graph names the team by, cannot be known."""
        group = await self._group(lane, reply)
        if not group:
            return None
        tokens = self._tokens_for(reply.tenant)
        url = self._message_url(replace(reply, team=group))

        async def call() -> dict[str, Any]:
            headers = {"Authorization": f"Bearer {await tokens.token()}"}
            try:
                async with self._session.get(url, headers=headers) as resp:
                    if resp.status == 401:
                        tokens.invalidate()
                    if resp.status != 200:
                        await resp.read()
                        retry_or_raise("graph", resp)
                    body = await resp.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RetryableSend(0) from exc
            if not isinstance(body, dict):
                raise ValueError("not a chatMessage")
            return body

        return await self._outbox.send(
            f"{lane}|read", call, max_attempts=OPENING_ATTEMPTS, max_wait=OPENING_MAX_WAIT_S
        )
