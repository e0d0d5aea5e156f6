"""``POST /api/messages``: Bot Framework activities from Microsoft Teams through ``CloudAdapter``.

The inbound JWT is validated by botframework-connector against the Bot Framework OpenID
metadata (issuer, signature, audience = our app id, ``serviceurl`` claim = the activity's
``serviceUrl``, endorsements). We call the authentication ourselves instead of
``CloudAdapter.process``, which turns only ``PermissionError`` into 401 (an expired or garbled
token would surface as a 500), and we run it in a worker thread with a deadline because the
library fetches the metadata with blocking ``requests`` calls that have no timeout.
The authenticated activity then goes through ``CloudAdapter.process_activity``, whose turn
only claims the activity id and schedules the answer.

A mention replying in a channel thread someone else opened is read with that thread's root
message (Microsoft Graph, ``adapters.teams.graph``): fetched after the placeholder is shown,
and left out, with a warning, when Graph refuses it.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from dataclasses import dataclass
from typing import Any

import requests
from aiohttp import web
from botbuilder.core import InvokeResponse, TurnContext, serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes, CallerIdConstants
from botframework.connector.auth import (
    AuthenticateRequestResult,
    AuthenticationConfiguration,
    AuthenticationConstants,
    BotFrameworkAuthentication,
    BotFrameworkAuthenticationFactory,
    PasswordServiceClientCredentialFactory,
)

from adapters.common import (
    FAILURE_ANSWER,
    PLACEHOLDER_TEXT,
    WITHDRAW_TIMEOUT_S,
    BodyTooLarge,
    ChatRuntime,
    DownloadRefused,
    claim,
    download,
    from_this_machine,
    json_error,
    on_hosts,
    read_body,
    too_large,
    unauthorized,
    with_files,
)
from adapters.openings import with_opening
from adapters.outbound import SendFailed, split_answer
from adapters.progress import answer_as_written
from adapters.teams.connector import (
    ConnectorRejected,
    TeamsConnector,
    TeamsTarget,
    TokenSource,
    default_token_url,
)
from adapters.teams.graph import GraphOpenings
from adapters.teams.translate import (
    ChannelReply,
    added_to,
    channel_reply,
    is_personal,
    render,
    render_progress,
    to_feedback,
    to_turn,
)
from bot.turns import Attachment, ConversationRef, Stage, Turn

log = logging.getLogger(__name__)

# The only Bot Framework channel whose activities carry a tenant and user to trust.
TEAMS_CHANNEL = "msteams"

AUTH_TIMEOUT_S = 15.0
# Answer text per card; Teams accepts about 28 KB per message (Japanese is 3 bytes a character).
TEXT_LIMIT = 5000
# The invoke response type of a message shown to the user who pressed a card's button.
ACTIVITY_MESSAGE = "application/vnd.microsoft.activity.message"


@dataclass(frozen=True)
class TeamsConfig:
    """The bot registration and the endpoints it trusts.

    ``openid_metadata_url``, ``token_url`` and ``graph_url`` default to Microsoft's
    (sovereign clouds, gateways and tests set them; ``token_url`` then serves Graph tokens
    too). ``insecure_local`` accepts unsigned activities, as the Bot Framework Emulator sends
    them; only with an empty app id. ``file_hosts``: where attached files may be downloaded
    from (those hosts and their subdomains).
    """

    app_id: str
    app_password: str = ""
    tenant_id: str = ""
    openid_metadata_url: str = ""
    token_url: str = ""
    graph_url: str = ""
    insecure_local: bool = False
    file_hosts: tuple[str, ...] = ("sharepoint.com",)


def build_authentication(config: TeamsConfig) -> BotFrameworkAuthentication:
    """Bot Framework authentication for the public cloud, with overridable endpoints."""
    credentials = PasswordServiceClientCredentialFactory(
        config.app_id or None, config.app_password or None, config.tenant_id or None
    )
    return BotFrameworkAuthenticationFactory.create(
        channel_service="",
        validate_authority=True,
        to_channel_from_bot_login_url=AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL_PREFIX
        + (config.tenant_id or "botframework.com"),
        to_channel_from_bot_oauth_scope=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
        to_bot_from_channel_token_issuer=AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
        oauth_url=AuthenticationConstants.OAUTH_URL,
        to_bot_from_channel_open_id_metadata_url=config.openid_metadata_url
        or AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL,
        to_bot_from_emulator_open_id_metadata_url=(
            AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL
        ),
        caller_id=CallerIdConstants.public_azure_channel,
        credential_factory=credentials,
        auth_configuration=AuthenticationConfiguration(),
    )


def _conversation_id(body: dict[str, Any]) -> str:
    conversation = body.get("conversation")
    return str(conversation.get("id") or "") if isinstance(conversation, dict) else ""


def _feedback_reply(text: str) -> Activity:
    """The response to a 👍/👎 invoke: a message Teams shows to the person who pressed the
    button alone (as Slack shows its reply ephemerally), the card unchanged for the others."""
    body = {"statusCode": 200, "type": ACTIVITY_MESSAGE, "value": text}
    response = InvokeResponse(status=200, body=body)
    return Activity(type=ActivityTypes.invoke_response, value=response)


def _authenticate_blocking(
    auth: BotFrameworkAuthentication, activity: Activity, header: str | None
) -> AuthenticateRequestResult:
    return asyncio.run(auth.authenticate_request(activity, header))


class TeamsAdapter:
    """The CloudAdapter, our authentication step and the connector used for answers."""

    def __init__(self, config: TeamsConfig, runtime: ChatRuntime) -> None:
        self.config = config
        self.runtime = runtime
        self.auth = build_authentication(config)
        self.adapter = CloudAdapter(self.auth)
        tokens = None
        if not config.insecure_local:
            tokens = TokenSource(
                runtime.session,
                config.token_url or default_token_url(config.tenant_id),
                config.app_id,
                config.app_password,
            )
        self.connector = TeamsConnector(runtime.session, tokens)
        # Threads' root messages are read with the app's credentials: not in the local mode.
        self.openings: GraphOpenings | None = None
        if tokens is not None:
            self.openings = GraphOpenings(
                runtime.session,
                runtime.outbox,
                self.connector,
                config.app_id,
                config.app_password,
                token_url=config.token_url,
                graph_url=config.graph_url,
            )

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Authenticate, then let the adapter run a turn that only schedules the answer."""
        try:
            raw = await read_body(request)
            body = json.loads(raw)
            activity = Activity().deserialize(body) if isinstance(body, dict) else None
        except BodyTooLarge:
            return too_large()
        except (ValueError, UnicodeDecodeError, RecursionError):
            activity = None  # malformed JSON, not UTF-8, or nested deeper than Python reads
        if activity is None or not activity.type:
            return json_error(400, "bad_input", "Bot Framework のアクティビティとして読めません。")
        if self.config.insecure_local and not from_this_machine(request):
            # Unauthenticated: only for an emulator on this machine, never through a proxy.
            await self.runtime.bot.record_security_event("teams", "insecure_local_forwarded")
            return unauthorized()
        header = None if self.config.insecure_local else request.headers.get("Authorization")
        if not self.config.insecure_local and not header:
            await self.runtime.bot.record_security_event("teams", "missing_token")
            return unauthorized()
        try:
            result = await asyncio.wait_for(
                asyncio.to_thread(_authenticate_blocking, self.auth, activity, header),
                AUTH_TIMEOUT_S,
            )
        except (requests.RequestException, TimeoutError) as exc:
            log.warning("teams metadata unavailable: %s", type(exc).__name__)
            return json_error(
                503, "upstream_unavailable", "認証情報を確認できませんでした。再送してください。"
            )
        except Exception as exc:  # any failure to validate the token means "not authenticated"
            await self.runtime.bot.record_security_event(
                "teams", "invalid_token", {"error": type(exc).__name__}
            )
            return unauthorized()
        invoke = await self.adapter.process_activity(
            result, activity, functools.partial(self._on_turn, body)
        )
        if invoke is not None:  # our answer to an invoke, or the adapter's 501 for others
            payload = invoke.body
            if payload is not None and not isinstance(payload, dict):
                payload = serializer_helper(payload)
            return web.json_response(payload or {}, status=invoke.status)
        return web.json_response({})

    async def _on_turn(self, body: dict[str, Any], context: TurnContext) -> None:
        # The tenant and the user come from the activity's body, which only the Teams channel
        # vouches for: in Web Chat or Direct Line the client writes them itself.
        if not self.config.insecure_local and body.get("channelId") != TEAMS_CHANNEL:
            await self.runtime.bot.record_security_event(
                "teams", "foreign_channel", {"channel": str(body.get("channelId") or "")[:40]}
            )
            return
        # The raw body is translated (not the deserialized Activity), so that fields the
        # schema classes do not model (mention entities, channelData) are kept.
        service_url = str(body.get("serviceUrl") or "")
        added = added_to(body)
        if added is not None:
            event_id = f"{_conversation_id(body)}|{body.get('id') or ''}"
            if service_url and await claim(self.runtime, "teams", event_id):
                target = TeamsTarget(service_url, _conversation_id(body), "")
                welcome = self._welcome(added, target, direct=is_personal(body))
                self.runtime.tasks.spawn(welcome, name="teams-welcome")
            return
        feedback = to_feedback(body)
        if feedback is not None:
            reply = await self.runtime.bot.record_feedback(feedback)
            if body.get("type") == "invoke":  # Action.Execute: tell the one who pressed it
                await context.send_activity(_feedback_reply(reply))
            elif service_url:  # Action.Submit posted a message: a short message answers it
                target = TeamsTarget(service_url, _conversation_id(body), str(body.get("id") or ""))
                self.runtime.tasks.spawn(self._feedback_said(target, reply), name="teams-feedback")
            return
        turn = to_turn(body)
        if turn is None or not service_url:
            return
        if not await claim(self.runtime, "teams", turn.event_id):
            log.info("teams duplicate activity ignored")
            return
        target = TeamsTarget(service_url, _conversation_id(body), str(body.get("id") or ""))
        answer = self._answer(turn, target, channel_reply(body))
        self.runtime.tasks.spawn(answer, name="teams-answer")

    async def _welcome(
        self, conversation: ConversationRef, target: TeamsTarget, *, direct: bool
    ) -> None:
        """Greet a conversation the app was just installed in: a new message, not a reply."""
        answer = await self.runtime.bot.welcome(conversation, direct=direct)
        if answer is None:
            return
        send = functools.partial(self.connector.send, target, render(answer))
        try:
            await self.runtime.outbox.send(conversation.key, send)
        except (SendFailed, ConnectorRejected) as exc:
            log.warning("teams welcome not delivered: %s", exc)

    async def _feedback_said(self, target: TeamsTarget, text: str) -> None:
        """Reply to a 👍/👎 pressed on a card with ``Action.Submit`` buttons: such a press
        arrives as a message, which has no response of its own to carry the text (the
        conversation sees the reply, as it saw the press)."""
        activity = {"type": "message", "text": text}
        send = functools.partial(self.connector.reply, target, activity)
        try:
            await self.runtime.outbox.send(target.conversation_id, send)
        except (SendFailed, ConnectorRejected) as exc:
            log.warning("teams feedback reply not delivered: %s", exc)

    async def _answer(
        self, turn: Turn, target: TeamsTarget, reply: ChannelReply | None = None
    ) -> None:
        """Answer a turn in place of a placeholder; ``reply``: the channel thread the turn
        replies in, whose root message it is read with."""
        lane = turn.conversation.key
        send = self.runtime.outbox.send
        placeholder: str | None = None
        try:
            placeholder = await send(
                lane,
                functools.partial(
                    self.connector.reply, target, {"type": "message", "text": PLACEHOLDER_TEXT}
                ),
            )
            show = None
            if placeholder:
                show = functools.partial(self._show_progress, lane, target, placeholder)
            if reply is not None and self.openings is not None:
                opening = await self.openings.opening(lane, reply)
                turn = await with_opening(self.runtime.bot, turn, opening)
            turn = await with_files(turn, self.download)
            answer = await answer_as_written(self.runtime.bot, turn, show)
            for i, part in enumerate(split_answer(answer, TEXT_LIMIT)):
                activity = render(part)
                if i == 0 and placeholder:
                    await self._replace(lane, target, placeholder, activity)
                else:
                    await send(lane, functools.partial(self.connector.reply, target, activity))
        except (SendFailed, ConnectorRejected) as exc:
            log.warning("teams answer not delivered: %s", exc)
        except asyncio.CancelledError:  # shutdown: no placeholder may stay 「作成しています」
            if placeholder:
                await self._withdraw(lane, target, placeholder)
            raise

    async def _show_progress(
        self, lane: str, target: TeamsTarget, placeholder: str, progress: str | Stage
    ) -> None:
        """The placeholder with the answer so far (or a summary's stage); tried once (a later
        edit shows more)."""
        activity = render_progress(progress, TEXT_LIMIT)
        update = functools.partial(self.connector.update, target, placeholder, activity)
        await self.runtime.outbox.send(lane, update, max_attempts=1)

    async def download(self, attachment: Attachment) -> bytes:
        """A file attached in personal chat, from its pre-authenticated download URL (no token
        is sent); only from the configured file hosts, else ``DownloadRefused``."""
        if not on_hosts(attachment.url, self.config.file_hosts, subdomains=True):
            raise DownloadRefused("file URL outside the Teams file hosts")
        return await download(self.runtime.session, attachment)

    async def _replace(
        self, lane: str, target: TeamsTarget, placeholder: str, activity: dict[str, Any]
    ) -> None:
        """Put the answer in place of its placeholder; when the connector refuses the update
        (the placeholder was deleted, a channel that allows no edits), reply with it instead."""
        send = self.runtime.outbox.send
        update = functools.partial(self.connector.update, target, placeholder, activity)
        try:
            await send(lane, update)
        except ConnectorRejected as exc:
            log.warning("teams placeholder not replaced (%s): answer sent as a reply", exc)
            await send(lane, functools.partial(self.connector.reply, target, activity))

    async def _withdraw(self, lane: str, target: TeamsTarget, placeholder: str) -> None:
        """Replace a placeholder whose answer was cancelled with an apology (best effort)."""
        update = functools.partial(
            self.connector.update, target, placeholder, render(FAILURE_ANSWER)
        )
        try:
            await asyncio.wait_for(self.runtime.outbox.send(lane, update), WITHDRAW_TIMEOUT_S)
        except (SendFailed, ConnectorRejected, TimeoutError) as exc:
            log.warning("teams placeholder not withdrawn: %s", type(exc).__name__)
