"""``POST /slack/events``: slack-bolt's ``AsyncApp`` mounted in our aiohttp application.

``X-Slack-Signature`` (v0 HMAC-SHA256 over ``v0:{ts}:{body}``, 300 s window) is verified here,
with slack_sdk's ``SignatureVerifier``, before bolt sees the request: bolt's own check logs a
refused request's body (message text) and fails with a server error on a timestamp that is no
number. Bolt answers ``url_verification``, ignores the bot's own events and parses events, slash
commands and button clicks. Our listeners run before the response is sent
(``process_before_response=True``) but only acknowledge, translate and schedule the work, so
the 3 s deadline holds however long the answer takes, and however slow the database is: the
event id that catches Slack's retries (and a slash command's trigger id, which catches a
signed request replayed within its window) is claimed in the scheduled work, after the ack.

A mention or direct message replying in a thread someone else opened is read with that
thread's opening message (``conversations.replies``, which needs the ``*:history`` scopes):
fetched after the placeholder is shown, and left out, with a warning, when Slack refuses it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.common import (
    FAILURE_ANSWER,
    MAX_DOWNLOAD_BYTES,
    PLACEHOLDER_TEXT,
    WITHDRAW_TIMEOUT_S,
    BodyTooLarge,
    ChatRuntime,
    DownloadRefused,
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
from adapters.openings import Opening, Openings, with_opening
from adapters.outbound import RetryableSend, SendFailed, retry_after_seconds, split_answer
from adapters.progress import answer_as_written
from adapters.slack.translate import (
    ACTION_DOWN,
    ACTION_UP,
    ThreadReply,
    read_opening,
    render,
    render_progress,
    thread_reply,
    to_feedback,
    to_turn,
    welcome_target,
)
from bot.turns import Attachment, ConversationRef, Feedback, Stage, Turn

log = logging.getLogger(__name__)

COMMAND = "/baibain"
DEFAULT_API_URL = "https://slack.com/api/"
# Answer text per message; each message is split into sections of at most 3000 characters.
MESSAGE_LIMIT = 12_000
# Tries at reading a thread's opening, and the longest pause Slack may ask for between them:
# the answer waits for the opening, and goes on without it (``openings``).
OPENING_ATTEMPTS = 2
OPENING_MAX_WAIT_S = 2.0


@dataclass(frozen=True)
class SlackConfig:
    """Secrets and endpoint of the Slack app."""

    bot_token: str
    signing_secret: str
    api_url: str = ""


@dataclass(frozen=True)
class SlackTarget:
    """Where an answer goes: a channel (and thread), or a slash command's ``response_url``."""

    channel: str
    thread_ts: str | None = None
    response_url: str | None = None


def _quiet_logger(name: str) -> logging.Logger:
    # slack_sdk logs request bodies (message text) at DEBUG; never let them through.
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    return logger


def _retryable(exc: SlackApiError) -> RetryableSend | None:
    response = exc.response
    status = int(getattr(response, "status_code", 0) or 0)
    if status != 429 and status < 500:
        return None
    headers = {
        str(k).lower(): str(v) for k, v in (getattr(response, "headers", None) or {}).items()
    }
    return RetryableSend(status, retry_after_seconds(headers.get("retry-after")))


def signed(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether a request carries Slack's signature of ``body`` made at most 300 s ago (either
    way); a timestamp that is no number of seconds is no signature, and a body that is not
    UTF-8 (which the verifier reads it as) no payload Slack signed."""
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = presented_signature(headers.get("X-Slack-Signature"))
    if not signature or unix_seconds(timestamp) is None:
        return False
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return SignatureVerifier(secret).is_valid(text, timestamp, signature)


def _payload_object(body: bytes, content_type: str) -> bool:
    """Whether a signed body reads, as bolt reads it (JSON, a form, or a form's ``payload``
    JSON), as one object: bolt's request fails with a server error on anything else."""
    try:
        return isinstance(parse_body(body.decode("utf-8"), content_type), dict)
    except (ValueError, RecursionError):  # malformed or nested deeper than Python reads
        return False


class SlackAdapter:
    """The bolt app, its listeners and the Web API client used for answers."""

    def __init__(self, config: SlackConfig, runtime: ChatRuntime) -> None:
        self.config = config
        self.runtime = runtime
        self.api_url = config.api_url or DEFAULT_API_URL
        self.client = AsyncWebClient(
            token=config.bot_token,
            base_url=self.api_url,
            session=runtime.session,
            logger=_quiet_logger("adapters.slack.sdk"),
        )
        self.app = AsyncApp(
            client=self.client,
            signing_secret=config.signing_secret,
            process_before_response=True,
            request_verification_enabled=False,  # ``signed`` checks every request first
            logger=_quiet_logger("adapters.slack.bolt"),
        )
        # Clicks are stored one at a time, in the order they came: a 👎 right after a 👍
        # must not be overtaken by it.
        self._feedback_order = asyncio.Lock()
        self._openings = Openings()
        self.app.event("app_mention")(self._on_event)
        self.app.event("message")(self._on_event)
        self.app.event("file_shared")(self._on_ignored)
        self.app.event("member_joined_channel")(self._on_welcome)
        self.app.event("app_home_opened")(self._on_welcome)
        self.app.command(COMMAND)(self._on_command)
        self.app.action(ACTION_UP)(self._on_feedback)
        self.app.action(ACTION_DOWN)(self._on_feedback)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Hand the request to bolt; 401 (recorded) for a bad signature, 400 for a body that
        is signed but not a Slack payload."""
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return too_large()
        if not signed(self.config.signing_secret, raw, request.headers):
            await self.runtime.bot.record_security_event("slack", "bad_signature")
            return unauthorized()
        bolt_request: AsyncBoltRequest | None = None
        if _payload_object(raw, request.content_type):
            try:  # bolt reads the body again, in the charset the request names
                bolt_request = await to_bolt_request(request)
            except (ValueError, LookupError):  # not text in that charset, or no such charset
                bolt_request = None
        if bolt_request is None or not isinstance(bolt_request.body, dict):
            return json_error(400, "bad_input", "リクエストの形式が正しくありません。")
        response = await self.app.async_dispatch(bolt_request)
        if response.status == 401:
            await self.runtime.bot.record_security_event("slack", "bad_signature")
            return unauthorized()
        return await to_aiohttp_response(response)

    # -- listeners (bolt injects arguments by name) ----------------------------------------

    async def _on_ignored(self, ack: AsyncAck) -> None:
        await ack()

    async def _on_event(
        self, ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await ack()
        turn = to_turn(body)
        if turn is None:
            return
        reply = thread_reply(body, context.bot_id or "")
        self.runtime.tasks.spawn(self._answer_once(turn, reply=reply), name="slack-answer")

    async def _on_welcome(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        target = welcome_target(body)
        if target is not None:
            event_id = str(body.get("event_id") or "")
            self.runtime.tasks.spawn(self._welcome(event_id, *target), name="slack-welcome")

    async def _on_command(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        turn = to_turn(body)
        response_url = str(body.get("response_url") or "")
        if turn is None or not response_url:
            await ack()
            return
        await ack(response_type="ephemeral", text=PLACEHOLDER_TEXT)
        target = SlackTarget(turn.conversation.channel_id, response_url=response_url)
        self.runtime.tasks.spawn(self._answer_once(turn, target), name="slack-command")

    async def _on_feedback(self, ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        feedback = to_feedback(body)
        if feedback is None:
            return
        response_url = str(body.get("response_url") or "")
        self.runtime.tasks.spawn(self._feedback(feedback, response_url), name="slack-feedback")

    # -- answering ----------------------------------------------------------------------------

    async def _feedback(self, feedback: Feedback, response_url: str) -> None:
        """Store a 👍/👎 after the click was acknowledged (a slow database must not hold the
        ack past Slack's 3 s), then tell the one who clicked what became of it."""
        async with self._feedback_order:
            reply = await self.runtime.bot.record_feedback(feedback)
        if response_url:
            message = {"response_type": "ephemeral", "replace_original": False, "text": reply}
            await self._deliver_quietly(response_url, message)

    async def _answer_once(
        self, turn: Turn, target: SlackTarget | None = None, reply: ThreadReply | None = None
    ) -> None:
        """Answer an event (or a slash command, at ``target``) unless it is a retry or a
        replay of one claimed already (by any process). When the claim cannot be made (the
        database is down), it is answered anyway: acknowledged, Slack will not send it again,
        and the answer says what became of it. ``reply``: the thread the event replies in."""
        try:
            first = await claim(self.runtime, "slack", turn.event_id)
        except Exception as exc:  # the question must not be dropped; the type goes to the log
            log.warning("slack event not claimed: %s", type(exc).__name__)
            first = True
        if not first:
            log.info("slack duplicate event ignored")
            return
        if target is None:
            target = SlackTarget(turn.conversation.channel_id, turn.conversation.thread_id or None)
        await self._answer(turn, target, reply)

    async def _welcome(self, event_id: str, conversation: ConversationRef, user: str) -> None:
        """Greet a channel the bot joined, or a user's direct chat with it, unless the event
        is a retry (once per user: a greeting that could not be sent is given up, so that the
        next opening greets)."""
        if not await claim(self.runtime, "slack", event_id):
            return
        bot = self.runtime.bot
        answer = await bot.welcome(conversation, direct=bool(user), user_id=user)
        if answer is None:
            return
        target = SlackTarget(conversation.channel_id)
        delivered = False
        try:
            await self._post(conversation.key, target, render(answer))
            delivered = True
        except (SendFailed, SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack welcome not delivered: %s", type(exc).__name__)
        finally:  # failed, or cancelled at shutdown mid-send: it may not have gone out
            if user and not delivered:
                await bot.greeting_undelivered(conversation, user)

    async def _answer(
        self, turn: Turn, target: SlackTarget, reply: ThreadReply | None = None
    ) -> None:
        lane = turn.conversation.key
        placeholder: str | None = None
        try:
            if target.response_url is None:
                placeholder = await self._post(lane, target, {"text": PLACEHOLDER_TEXT})
            if reply is not None:
                opening = await self._thread_opening(lane, turn.conversation.workspace_id, reply)
                turn = await with_opening(self.runtime.bot, turn, opening)
            rest = target  # where the parts after the first of a long answer go
            if placeholder and not target.thread_ts:
                # A DM answered outside a thread: replying in the answer's thread continues it,
                # so the rest of a long answer goes there too, where the follow-ups will be.
                turn = replace(turn, answer_thread=placeholder)
                rest = replace(target, thread_ts=placeholder)
            show = None  # a slash command's acknowledgement cannot be edited
            if placeholder:
                show = functools.partial(self._show_progress, lane, target, placeholder)
            turn = await with_files(turn, self.download)
            answer = await answer_as_written(self.runtime.bot, turn, show)
            for i, part in enumerate(split_answer(answer, MESSAGE_LIMIT)):
                message = render(part)
                if target.response_url is not None:
                    await self._respond(lane, target.response_url, message)
                elif i == 0 and placeholder:
                    await self._replace(lane, target, placeholder, message)
                else:
                    await self._post(lane, rest, message)
        except (SendFailed, SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack answer not delivered: %s", type(exc).__name__)
        except asyncio.CancelledError:  # shutdown: no placeholder may stay 「作成しています」
            if placeholder:
                await self._withdraw(lane, target, placeholder)
            raise

    async def _thread_opening(self, lane: str, workspace: str, reply: ThreadReply) -> Opening:
        """The message that opened the thread ``reply`` is in (empty when the bot wrote it),
        read once per thread (``openings``); empty, with a warning, when Slack does not give
        it (no ``*:history`` scope, the bot not in the channel, Slack unreachable or asking to
        wait): the question is answered from its own words then."""
        thread = (workspace, reply.channel, reply.thread_ts)
        known = self._openings.known(thread)
        if known is not None:
            return known
        if self._openings.paused(workspace):
            log.warning("slack thread opening not read: rate limited")
            return Opening()
        query = {"channel": reply.channel, "ts": reply.thread_ts, "limit": 1, "inclusive": True}
        try:
            replies = await self._api(
                f"{lane}|read",
                "conversations.replies",
                query,
                OPENING_ATTEMPTS,
                max_wait=OPENING_MAX_WAIT_S,
                read=True,
            )
        except SendFailed as exc:
            if exc.status == 429:
                self._openings.pause(workspace, exc.retry_after)
            log.warning("slack thread opening not read: status=%d", exc.status)
            return Opening()
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack thread opening not read: %s", type(exc).__name__)
            return Opening()
        opening = read_opening(replies, reply)
        self._openings.remember(thread, opening)
        return opening

    async def _show_progress(
        self, lane: str, target: SlackTarget, ts: str, progress: str | Stage
    ) -> None:
        """The placeholder with the answer so far (or a summary's stage); tried once (a later
        edit shows more)."""
        payload = {"channel": target.channel, "ts": ts, **render_progress(progress)}
        await self._api(lane, "chat.update", payload, max_attempts=1)

    async def _replace(
        self, lane: str, target: SlackTarget, placeholder: str, message: dict[str, Any]
    ) -> None:
        """Put the answer in place of its placeholder; when Slack refuses the update (the
        placeholder was deleted, edits are locked), post it as a new message instead."""
        try:
            await self._update(lane, target, placeholder, message)
        except SlackApiError:
            log.warning("slack placeholder not replaced: answer posted as a new message")
            await self._post(lane, target, message)

    async def _withdraw(self, lane: str, target: SlackTarget, placeholder: str) -> None:
        """Replace a placeholder whose answer was cancelled with an apology (best effort)."""
        message = render(FAILURE_ANSWER)
        try:
            update = self._update(lane, target, placeholder, message)
            await asyncio.wait_for(update, WITHDRAW_TIMEOUT_S)
        except (SendFailed, SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            log.warning("slack placeholder not withdrawn: %s", type(exc).__name__)

    async def _api(
        self,
        lane: str,
        method: str,
        payload: dict[str, Any],
        max_attempts: int | None = None,
        *,
        max_wait: float | None = None,
        read: bool = False,
    ) -> dict[str, Any]:
        """Call a Web API method in ``lane`` (paced, 429/5xx retried: ``Outbox.send``);
        ``read``: a method that reads (``conversations.replies``), whose arguments Slack takes
        from the query string only (JSON bodies are for write methods)."""

        async def call() -> dict[str, Any]:
            try:
                if read:
                    response = await self.client.api_call(method, http_verb="GET", params=payload)
                else:
                    response = await self.client.api_call(method, json=payload)
            except SlackApiError as exc:
                retry = _retryable(exc)
                if retry is not None:
                    raise retry from exc
                log.warning("slack %s failed: %s", method, exc.response.get("error", "?"))
                raise
            return dict(response.data) if isinstance(response.data, dict) else {}

        return await self.runtime.outbox.send(
            lane, call, max_attempts=max_attempts, max_wait=max_wait
        )

    async def _post(self, lane: str, target: SlackTarget, message: dict[str, Any]) -> str:
        payload = {"channel": target.channel, **message}
        if target.thread_ts:
            payload["thread_ts"] = target.thread_ts
        data = await self._api(lane, "chat.postMessage", payload)
        return str(data.get("ts") or "")

    async def _update(
        self, lane: str, target: SlackTarget, ts: str, message: dict[str, Any]
    ) -> None:
        await self._api(lane, "chat.update", {"channel": target.channel, "ts": ts, **message})

    async def _respond(self, lane: str, url: str, message: dict[str, Any]) -> None:
        payload = {"response_type": "ephemeral", "replace_original": False, **message}

        async def call() -> None:
            try:
                async with self.runtime.session.post(url, json=payload) as resp:
                    await resp.read()
                    if resp.status == 429 or resp.status >= 500:
                        wait = retry_after_seconds(resp.headers.get("Retry-After"))
                        raise RetryableSend(resp.status, wait)
                    if resp.status >= 400:
                        log.warning("slack response_url refused status=%d", resp.status)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise RetryableSend(0) from exc

        await self.runtime.outbox.send(lane, call)

    async def _deliver_quietly(self, url: str, message: dict[str, Any]) -> None:
        try:
            await self._respond(f"response:{url}", url, message)
        except SendFailed as exc:
            log.warning("slack response not delivered: %s", exc)

    # -- files --------------------------------------------------------------------------------

    def _file_hosts(self) -> set[str]:
        hosts = {"files.slack.com"}
        api_host = urlsplit(self.api_url).netloc
        if api_host and api_host != "slack.com":
            hosts.add(api_host)  # a proxy or LGWAN gateway serves files too
        return hosts

    async def download(self, attachment: Attachment, limit: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """The content of a shared file, fetched with the bot token.

        Only Slack's file host (or the configured API gateway) gets the token; anything else,
        a failed download or a file over ``limit`` bytes raises ``DownloadRefused``.
        """
        if not on_hosts(attachment.url, self._file_hosts()):
            raise DownloadRefused("file URL outside Slack")
        headers = {"Authorization": f"Bearer {self.config.bot_token}"}
        return await download(self.runtime.session, attachment, headers, limit)
