"""Wiring of the chat platforms into the web application.

``mount_chat`` adds ``POST /slack/events``, ``POST /api/messages`` and ``POST /logo/events``
and a cleanup context that builds the enabled adapters on startup and, on shutdown, waits for
answers still being written (then cancels them) before closing the HTTP session. A platform
whose settings are missing is not enabled: its route answers 503 with a JSON error naming the
settings to add.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import aiohttp
from aiohttp import web

from adapters.background import BackgroundTasks
from adapters.common import ChatRuntime, json_error
from adapters.logo.handler import LogoAdapter, LogoConfig
from adapters.outbound import Outbox
from adapters.slack.handler import SlackAdapter, SlackConfig
from adapters.teams.handler import TeamsAdapter, TeamsConfig
from bot.app_keys import SERVICES
from bot.chat_commands import install
from bot.router import ChatRouter
from bot.settings import Settings

log = logging.getLogger(__name__)

OUTBOUND_TIMEOUT_S = 30.0


@dataclass
class ChatPlatforms:
    """The enabled adapters (``None`` = not configured) and the work they scheduled."""

    router: ChatRouter
    tasks: BackgroundTasks
    slack: SlackAdapter | None = None
    teams: TeamsAdapter | None = None
    logo: LogoAdapter | None = None


CHAT: web.AppKey[ChatPlatforms] = web.AppKey("chat", ChatPlatforms)


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


def _log_half_configured(platform: str, settings: dict[str, str]) -> None:
    """A platform with one of its two settings given was meant to be enabled: say which one is
    missing (by name, never a value), as the route's 503 does."""
    missing = [name for name, value in settings.items() if not value]
    if len(missing) == 1:
        log.error("%s disabled: %s is not set", platform, missing[0])


def slack_config(settings: Settings) -> SlackConfig | None:
    """Slack is enabled when both the bot token and the signing secret are set."""
    token, secret = _secret(settings.slack_bot_token), _secret(settings.slack_signing_secret)
    if not (token and secret):
        _log_half_configured(
            "Slack", {"BAIBAIN_SLACK_BOT_TOKEN": token, "BAIBAIN_SLACK_SIGNING_SECRET": secret}
        )
        return None
    return SlackConfig(bot_token=token, signing_secret=secret, api_url=settings.slack_api_url)


def teams_config(settings: Settings) -> TeamsConfig | None:
    """Teams is enabled with an app id and password, or in the local mode (empty app id and
    ``BAIBAIN_ALLOW_INSECURE_LOCAL=1``)."""
    app_id, password = settings.teams_app_id.strip(), _secret(settings.teams_app_password)
    config = TeamsConfig(
        app_id=app_id,
        app_password=password,
        tenant_id=settings.teams_tenant_id.strip(),
        openid_metadata_url=settings.teams_openid_metadata_url,
        token_url=settings.teams_token_url,
        graph_url=settings.teams_graph_url,
        file_hosts=tuple(h.strip() for h in settings.teams_file_hosts.split(",") if h.strip()),
    )
    if app_id and password:
        return config
    if app_id:
        log.error("Teams disabled: BAIBAIN_TEAMS_APP_PASSWORD is not set")
        return None
    if settings.allow_insecure_local and not settings.bound_to_loopback:
        log.error("Teams disabled: the unauthenticated local mode needs a loopback --host")
        return None
    if settings.allow_insecure_local:
        log.warning("Teams in the unauthenticated local mode: activities are not verified")
        return replace(config, insecure_local=True)
    return None


def logo_config(settings: Settings) -> LogoConfig | None:
    """LoGo Chat is enabled when the signing secret and the reply token are set."""
    secret, token = _secret(settings.logo_signing_secret), _secret(settings.logo_reply_token)
    if not (secret and token):
        _log_half_configured(
            "LoGo", {"BAIBAIN_LOGO_SIGNING_SECRET": secret, "BAIBAIN_LOGO_REPLY_TOKEN": token}
        )
        return None
    return LogoConfig(signing_secret=secret, reply_token=token)


def _chat_context(
    settings: Settings,
) -> Callable[[web.Application], AsyncIterator[None]]:
    async def chat_ctx(app: web.Application) -> AsyncIterator[None]:
        services = app[SERVICES]
        router = ChatRouter(
            services.engine,
            services.assistant,
            services.auditor,
            summarizer=services.summarizer,
            metering=services.assistant.llm,
        )
        install(router.handlers, services)
        tasks = BackgroundTasks()
        session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=OUTBOUND_TIMEOUT_S))
        runtime = ChatRuntime(router, tasks, Outbox(interval=settings.chat_send_interval), session)
        slack, teams, logo = slack_config(settings), teams_config(settings), logo_config(settings)
        platforms = ChatPlatforms(
            router=router,
            tasks=tasks,
            slack=SlackAdapter(slack, runtime) if slack else None,
            teams=TeamsAdapter(teams, runtime) if teams else None,
            logo=LogoAdapter(logo, runtime) if logo else None,
        )
        app[CHAT] = platforms
        log.info(
            "chat platforms slack=%s teams=%s logo=%s",
            "on" if slack else "off",
            ("local" if teams.insecure_local else "on") if teams else "off",
            "on" if logo else "off",
        )
        try:
            yield
        finally:
            await tasks.close(grace=settings.chat_shutdown_grace_s)
            await session.close()

    return chat_ctx


def _disabled(platform: str, settings: str) -> web.Response:
    return json_error(
        503,
        "platform_disabled",
        f"{platform} 連携は有効になっていません。{settings} を設定してください。",
    )


async def slack_events(request: web.Request) -> web.StreamResponse:
    """``POST /slack/events``."""
    adapter = request.app[CHAT].slack
    if adapter is None:
        return _disabled("Slack", "BAIBAIN_SLACK_BOT_TOKEN と BAIBAIN_SLACK_SIGNING_SECRET")
    return await adapter.handle(request)


async def teams_messages(request: web.Request) -> web.StreamResponse:
    """``POST /api/messages``."""
    adapter = request.app[CHAT].teams
    if adapter is None:
        return _disabled("Teams", "BAIBAIN_TEAMS_APP_ID と BAIBAIN_TEAMS_APP_PASSWORD")
    return await adapter.handle(request)


async def logo_events(request: web.Request) -> web.StreamResponse:
    """``POST /logo/events``."""
    adapter = request.app[CHAT].logo
    if adapter is None:
        return _disabled("LoGo チャット", "BAIBAIN_LOGO_SIGNING_SECRET と BAIBAIN_LOGO_REPLY_TOKEN")
    return await adapter.handle(request)


def mount_chat(app: web.Application, settings: Settings) -> None:
    """Add the chat routes and their cleanup context (after the services' context)."""
    app.cleanup_ctx.append(_chat_context(settings))
    app.router.add_post("/slack/events", slack_events)
    app.router.add_post("/api/messages", teams_messages)
    app.router.add_post("/logo/events", logo_events)
