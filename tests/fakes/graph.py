"""An in-process fake of Microsoft Graph's channel messages, for Teams tests.

``GET /v1.0/teams/{team-id}/channels/{channel-id}/messages/{message-id}`` answers the
``chatMessage`` posted with :meth:`FakeGraph.post` (404 for any other), as Graph v1.0 gives
it, to a request carrying ``Authorization: Bearer`` with a token the fake Entra ID endpoint
(:class:`fakes.botframework.FakeBotFramework`) issued for ``https://graph.microsoft.com/.default``
(401 otherwise: a Bot Connector token is no Graph token). Every request is recorded, with the
scope of the token it carried; :meth:`FakeGraph.script` makes the next ones fail.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest_asyncio
from aiohttp import web

from fakes import Failure, FakeServer
from fakes.botframework import GRAPH_SCOPE, FakeBotFramework

TEAM = "8f5b3c0a-1d2e-4f60-9a7b-0c1d2e3f4a5b"  # the team's Entra ID group id
CHANNEL = "19:general@thread.tacv2"
ROOT = "1700000000000"

Message = tuple[str, str, str]  # team, channel, message id


@dataclass(frozen=True)
class GraphRequest:
    """One request Graph received: which message, the scope of the token presented ("" for
    none or an unknown token), and the status answered."""

    team: str
    channel: str
    message: str
    scope: str
    status: int


class FakeGraph(FakeServer):
    """See the module docstring."""

    def __init__(self, entra: FakeBotFramework) -> None:
        self.entra = entra
        self.messages: dict[Message, dict[str, Any]] = {}
        self.requests: list[GraphRequest] = []
        self._failures: deque[Failure] = deque()
        super().__init__()
        path = "/v1.0/teams/{team}/channels/{channel}/messages/{message}"
        self.app.router.add_get(path, self._message)

    @property
    def url(self) -> str:
        """Graph's base URL (``BAIBAIN_TEAMS_GRAPH_URL``)."""
        return self.root_url

    def script(self, *failures: Failure) -> None:
        """The next requests fail like this (a 403 without consent, a 429 with Retry-After)."""
        self._failures.extend(failures)

    def post(
        self,
        content: str,
        *,
        message_id: str = ROOT,
        channel: str = CHANNEL,
        team: str = TEAM,
        content_type: str = "html",
        subject: str | None = None,
        bot: bool = False,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """A channel's root message, as Graph gives it: written by a colleague, or by the bot
        (``bot``: ``from.application``); ``deleted``: as a deleted message reads (no body)."""
        if bot:
            sender: dict[str, Any] = {
                "application": {
                    "@odata.type": "#microsoft.graph.teamworkApplicationIdentity",
                    "id": self.entra.app_id,
                    "displayName": "バイバイン",
                    "applicationIdentityType": "bot",
                },
                "device": None,
                "user": None,
            }
        else:
            sender = {
                "application": None,
                "device": None,
                "user": {
                    "@odata.type": "#microsoft.graph.teamworkUserIdentity",
                    "id": "aad-user-2",
                    "displayName": "田中 花子",
                    "userIdentityType": "aadUser",
                    "tenantId": "tenant-test",
                },
            }
        message = {
            "id": message_id,
            "replyToId": None,
            "etag": message_id,
            "messageType": "message",
            "createdDateTime": "2024-04-01T00:00:00.000Z",
            "lastModifiedDateTime": "2024-04-01T00:00:00.000Z",
            "lastEditedDateTime": None,
            "deletedDateTime": "2024-04-01T01:00:00.000Z" if deleted else None,
            "subject": subject,
            "summary": None,
            "chatId": None,
            "importance": "normal",
            "locale": "en-us",
            "webUrl": f"https://teams.microsoft.com/l/message/{channel}/{message_id}",
            "policyViolation": None,
            "eventDetail": None,
            "from": sender,
            "body": {"contentType": content_type, "content": "" if deleted else content},
            "channelIdentity": {"teamId": team, "channelId": channel},
            "attachments": [],
            "mentions": [],
            "reactions": [],
        }
        self.messages[(team, channel, message_id)] = message
        return message

    async def _message(self, request: web.Request) -> web.Response:
        info = request.match_info
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        scope = self.entra.scopes.get(token, "")
        message = self.messages.get((info["team"], info["channel"], info["message"]))
        failure = self._failures.popleft() if self._failures else None
        if failure is not None:
            status = failure.status
        elif scope != GRAPH_SCOPE:
            status = 401
        else:
            status = 200 if message is not None else 404
        self.requests.append(
            GraphRequest(info["team"], info["channel"], info["message"], scope, status)
        )
        if status != 200:
            headers = dict(failure.headers) if failure else {}
            error = {"code": "Forbidden" if status == 403 else "Error", "message": "refused"}
            return web.json_response({"error": error}, status=status, headers=headers)
        context = f"{self.url}/v1.0/$metadata#teams('{info['team']}')/channels/messages/$entity"
        return web.json_response({"@odata.context": context, **(message or {})})


@pytest_asyncio.fixture
async def graph_fake(botframework_fake: FakeBotFramework) -> AsyncIterator[FakeGraph]:
    """A started :class:`FakeGraph` taking the tokens ``botframework_fake`` issues."""
    fake = FakeGraph(botframework_fake)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
