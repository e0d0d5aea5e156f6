"""An in-process fake of the Bot Framework for Teams tests.

It plays the three Microsoft services a bot talks to, on 127.0.0.1 and a random port:

* the channel's OpenID metadata and signing keys (``login.botframework.com``): the bot sets
  ``BAIBAIN_TEAMS_OPENID_METADATA_URL`` to :attr:`FakeBotFramework.metadata_url`; activities
  are signed with :meth:`FakeBotFramework.token` (RS256, a key the JWKS publishes, with the
  ``msteams`` endorsement), or with a rogue key it does not publish;
* Entra ID's client-credentials token endpoint (:attr:`FakeBotFramework.token_url`), which
  issues tokens for the Bot Connector and for Microsoft Graph (``scopes`` says which is which;
  :mod:`fakes.graph` accepts only Graph's);
* the Bot Connector at the activities' ``serviceUrl`` (:attr:`FakeBotFramework.service_url`):
  reply (``POST …/activities/{id}``), send (``POST …/activities``) and update
  (``PUT …/activities/{id}``), each recorded with whether the bot's token was valid.

Each instance serves under a random path prefix, so the botframework library's process-wide
metadata cache never mixes two fakes that happened to get the same port.
"""

from __future__ import annotations

import hmac
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
import pytest_asyncio
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from fakes import Failure, FakeServer

ISSUER = "https://api.botframework.com"
BOT_SCOPE = "https://api.botframework.com/.default"
TEAM_ID = "19:team@thread.tacv2"  # the Teams id of the team channel activities come from
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


@cache
def _private_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass(frozen=True)
class ConnectorCall:
    """One call the connector received."""

    method: str
    conversation_id: str
    activity_id: str
    body: dict[str, Any]
    authorized: bool
    status: int = 200

    @property
    def card(self) -> dict[str, Any]:
        for attachment in self.body.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return dict(attachment["content"])
        return {}

    @property
    def card_text(self) -> str:
        return "\n".join(b.get("text", "") for b in self.card.get("body", []))


class FakeBotFramework(FakeServer):
    """See the module docstring."""

    def __init__(
        self, *, app_id: str = "11111111-2222-3333-4444-555555555555", app_password: str = "pw"
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.prefix = uuid.uuid4().hex[:12]
        self.kid = f"key-{self.prefix}"
        self.calls: list[ConnectorCall] = []
        self.token_requests: list[dict[str, str]] = []
        self.issued: set[str] = set()
        self.scopes: dict[str, str] = {}  # token -> the scope it was issued for
        self.metadata_requests = 0
        # The Bot Framework Emulator's connector accepts calls without a token.
        self.accept_anonymous = False
        self._failures: deque[tuple[str, Failure]] = deque()
        self._next_id = 0
        super().__init__()
        app = self.app
        base = f"/{self.prefix}"
        app.router.add_get(f"{base}/v1/.well-known/openidconfiguration", self._metadata)
        app.router.add_get(f"{base}/v1/.well-known/keys", self._keys)
        app.router.add_post(f"{base}/{{tenant}}/oauth2/v2.0/token", self._token)
        connector = f"{base}/connector/v3/conversations/{{conversation}}/activities"
        app.router.add_post(connector, self._send)
        app.router.add_post(f"{connector}/{{activity}}", self._send)
        app.router.add_put(f"{connector}/{{activity}}", self._send)
        # A team's details (``GET /v3/teams/{id}``): its Entra ID group id, from ``team_groups``.
        self.team_groups: dict[str, str] = {}
        self.team_lookups: list[str] = []
        app.router.add_get(f"{base}/connector/v3/teams/{{team}}", self._team)
        # SharePoint's side: pre-authenticated download URLs of files attached in personal chat.
        self.files: dict[str, bytes] = {}
        self.downloads: list[str] = []
        app.router.add_get("/download/{name}", self._download)

    @property
    def url(self) -> str:
        return f"{self.root_url}/{self.prefix}"

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/v1/.well-known/openidconfiguration"

    @property
    def token_url(self) -> str:
        return f"{self.url}/botframework.com/oauth2/v2.0/token"

    @property
    def service_url(self) -> str:
        return f"{self.url}/connector/"

    def script(self, *failures: Failure, method: str = "") -> None:
        """The next connector calls (of HTTP ``method`` only: ``PUT`` updates an activity)
        fail like this."""
        self._failures.extend((method, failure) for failure in failures)

    def of(self, method: str) -> list[ConnectorCall]:
        """Successful connector calls with this HTTP method, in order."""
        return [c for c in self.calls if c.method == method and c.status == 200]

    # -- signing --------------------------------------------------------------------------------

    def token(
        self,
        service_url: str | None = None,
        *,
        expires_in: int = 3600,
        rogue: bool = False,
        audience: str | None = None,
        issuer: str = ISSUER,
    ) -> str:
        """A channel → bot JWT as the Bot Framework signs it."""
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": audience or self.app_id,
            "serviceurl": service_url or self.service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + expires_in,
        }
        key = _private_key("rogue" if rogue else "trusted")
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": self.kid})

    # -- activities -----------------------------------------------------------------------------

    def activity(
        self,
        text: str,
        *,
        activity_id: str = "1700000000100",
        conversation_id: str = "19:general@thread.tacv2;messageid=1700000000000",
        conversation_type: str = "channel",
        tenant_id: str = "tenant-test",
        user: str = "aad-user-1",
        mention: bool = True,
        value: dict[str, Any] | None = None,
        others: tuple[tuple[str, str], ...] = (),
        team: str = "",
    ) -> dict[str, Any]:
        """A Teams message activity (a channel thread by default, with the bot mentioned);
        ``others``: (name, user) of people mentioned too, written ``<at>name</at>`` in ``text``;
        ``team``: the team's Entra ID group id (``channelData.team.aadGroupId``) in a channel."""
        bot = {"id": f"28:{self.app_id}", "name": "バイバイン"}
        activity: dict[str, Any] = {
            "type": "message",
            "id": activity_id,
            "timestamp": "2024-04-01T00:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": f"29:{user}", "name": "山田 太郎", "aadObjectId": user},
            "conversation": {
                "id": conversation_id,
                "conversationType": conversation_type,
                "tenantId": tenant_id,
                "isGroup": conversation_type != "personal",
            },
            "recipient": bot,
            "text": f"<at>バイバイン</at> {text}" if mention else text,
            "textFormat": "plain",
            "locale": "ja-JP",
            "channelData": {"tenant": {"id": tenant_id}},
        }
        if conversation_type == "channel":
            channel = conversation_id.partition(";")[0]
            activity["channelData"] |= {
                "teamsChannelId": channel,
                "teamsTeamId": TEAM_ID,
                "channel": {"id": channel},
                "team": {"id": TEAM_ID} | ({"aadGroupId": team} if team else {}),
            }
        mentioned = [(bot["name"], bot["id"])] if mention else []
        mentioned += [(name, f"29:{person}") for name, person in others]
        if mentioned:
            activity["entities"] = [
                {
                    "type": "mention",
                    "text": f"<at>{name}</at>",
                    "mentioned": {"id": i, "name": name},
                }
                for name, i in mentioned
            ]
        if value is not None:
            activity["value"] = value
            activity["text"] = ""
        return activity

    def card_action(
        self, action: dict[str, Any], *, card_id: str, activity_id: str = "f:click-1", **where: Any
    ) -> dict[str, Any]:
        """The ``adaptiveCard/action`` invoke Teams sends when someone presses an
        ``Action.Execute`` button (``action``, as the card gave it) on the card ``card_id``;
        ``where``: as for :meth:`activity` (``conversation_id``, ``user``…)."""
        activity = self.activity("", activity_id=activity_id, mention=False, **where)
        del activity["text"], activity["textFormat"]
        invoked = {k: action[k] for k in ("type", "verb", "data") if k in action}
        return activity | {
            "type": "invoke",
            "name": "adaptiveCard/action",
            "replyToId": card_id,
            "value": {"action": invoked, "trigger": "manual"},
        }

    def members_added(
        self,
        *,
        bot: bool = True,
        activity_id: str = "f:install-1",
        conversation_id: str = "a:1personal",
        conversation_type: str = "personal",
        tenant_id: str = "tenant-test",
        user: str = "aad-user-1",
    ) -> dict[str, Any]:
        """A ``conversationUpdate`` as Teams sends it when the app is installed (``bot``: the
        bot is among the members added; else only a user joined the team or chat)."""
        bot_account = {"id": f"28:{self.app_id}", "name": "バイバイン"}
        added: list[dict[str, Any]] = [{"id": f"29:{user}", "aadObjectId": user}]
        if bot:
            added.insert(0, {"id": bot_account["id"]})
        conversation: dict[str, Any] = {
            "id": conversation_id,
            "conversationType": conversation_type,
            "tenantId": tenant_id,
        }
        channel_data: dict[str, Any] = {"tenant": {"id": tenant_id}}
        if conversation_type == "channel":
            conversation["isGroup"] = True
            channel_data |= {"team": {"id": conversation_id}, "eventType": "teamMemberAdded"}
        return {
            "type": "conversationUpdate",
            "id": activity_id,
            "timestamp": "2024-04-01T00:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": {"id": f"29:{user}", "aadObjectId": user},
            "conversation": conversation,
            "recipient": bot_account,
            "membersAdded": added,
            "channelData": channel_data,
        }

    def file_attachment(self, name: str, content: bytes) -> dict[str, Any]:
        """A file attached in personal chat, as Teams sends it (content served by the fake)."""
        self.files[name] = content
        return {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "name": name,
            "content": {
                "downloadUrl": f"{self.root_url}/download/{name}",
                "uniqueId": uuid.uuid4().hex,
                "fileType": name.rsplit(".", 1)[-1],
            },
        }

    # -- handlers -------------------------------------------------------------------------------

    async def _download(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.downloads.append(name)
        content = self.files.get(name)
        if content is None:
            return web.Response(status=404)
        return web.Response(body=content, content_type="application/octet-stream")

    async def _metadata(self, _request: web.Request) -> web.Response:
        self.metadata_requests += 1
        return web.json_response(
            {
                "issuer": ISSUER,
                "authorization_endpoint": "https://invalid.botframework.com",
                "jwks_uri": f"{self.url}/v1/.well-known/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        )

    async def _keys(self, _request: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(_private_key("trusted").public_key()))
        jwk |= {"kid": self.kid, "use": "sig", "endorsements": ["msteams", "webchat"]}
        return web.json_response({"keys": [jwk]})

    async def _token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == self.app_id
            and hmac.compare_digest(
                str(form.get("client_secret", "")).encode(), self.app_password.encode()
            )
            and form.get("scope") in (BOT_SCOPE, GRAPH_SCOPE)
        )
        self.token_requests.append({**{k: str(v) for k, v in form.items()}, "client_secret": "*"})
        if not ok:
            return web.json_response({"error": "invalid_client"}, status=401)
        token = f"bot-token-{uuid.uuid4().hex}"
        self.issued.add(token)
        self.scopes[token] = str(form["scope"])
        return web.json_response(
            {
                "token_type": "Bearer",
                "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": token,
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        authorized = self.scopes.get(header.removeprefix("Bearer ").strip()) == BOT_SCOPE
        failure = None
        if self._failures and self._failures[0][0] in ("", request.method):
            failure = self._failures.popleft()[1]
        allowed = authorized or (self.accept_anonymous and not header)
        status = failure.status if failure else (200 if allowed else 401)
        self.calls.append(
            ConnectorCall(
                method=request.method,
                conversation_id=request.match_info["conversation"],
                activity_id=request.match_info.get("activity", ""),
                body=dict(await request.json()),
                authorized=authorized,
                status=status,
            )
        )
        if failure is not None:
            return web.json_response(
                {"error": {"code": "Throttled"}}, status=status, headers=failure.headers
            )
        if not allowed:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        if request.method == "PUT":
            return web.json_response({"id": request.match_info["activity"]})
        self._next_id += 1
        return web.json_response({"id": f"bot-activity-{self._next_id}"})

    async def _team(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if self.scopes.get(token) != BOT_SCOPE:
            return web.json_response({"error": {"code": "Unauthorized"}}, status=401)
        team = request.match_info["team"]
        self.team_lookups.append(team)
        if team not in self.team_groups:
            return web.json_response({"error": {"code": "NotFound"}}, status=404)
        return web.json_response(
            {"id": team, "name": "市民課", "aadGroupId": self.team_groups[team]}
        )


@pytest_asyncio.fixture
async def botframework_fake() -> AsyncIterator[FakeBotFramework]:
    """A started :class:`FakeBotFramework`."""
    fake = FakeBotFramework()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
