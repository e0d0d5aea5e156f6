"""``create_app(settings)``: the one aiohttp application serving every route."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from importlib import resources

from aiohttp import web

from admin.db import ping_db
from bot import api, api_datasets, invoke
from bot.app_keys import SERVICES
from bot.chat import mount_chat
from bot.http import MAX_BODY_BYTES, error_middleware, json_error, json_ok, quiet_server_logger
from bot.services import open_services
from bot.settings import Settings
from knowledge.errors import BaibainError

log = logging.getLogger(__name__)

# Below the usual 5 s timeout of a load balancer's health check.
READY_TIMEOUT_S = 4.0


def _page(requires_key: bool) -> str:
    template = resources.files("bot.web").joinpath("index.html").read_text("utf-8")
    return template.replace("__REQUIRES_KEY__", "true" if requires_key else "false")


async def index_page(request: web.Request) -> web.Response:
    """``GET /``: the small web chat page."""
    requires_key = not api.is_local_demo(request)
    return web.Response(
        text=_page(requires_key),
        content_type="text/html",
        headers={
            "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
            "script-src 'unsafe-inline'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def healthz(_request: web.Request) -> web.Response:
    """``GET /healthz``: the process is alive."""
    return json_ok({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """``GET /readyz``: 200 when the database and the index answer, 503 saying which does not
    (the reason in detail goes to the log)."""
    services = request.app[SERVICES]
    try:
        # In a thread and bounded: a hung database must neither stall every other request of
        # this process nor leave the load balancer's check without an answer.
        await asyncio.wait_for(asyncio.to_thread(ping_db, services.engine), READY_TIMEOUT_S)
    except TimeoutError:
        log.warning("readiness: database did not answer within %gs", READY_TIMEOUT_S)
        return json_error(
            503,
            "database_unavailable",
            f"データベースが応答しません（{READY_TIMEOUT_S:g}秒以内に応答がありませんでした）",
        )
    except Exception as exc:  # any driver error means "not ready"; the reason is reported
        log.warning("readiness: database unreachable: %s", type(exc).__name__)
        return json_error(
            503, "database_unavailable", f"データベースに接続できません ({type(exc).__name__})"
        )
    try:
        await services.index.ping()
    except BaibainError as exc:
        # The detail (a file path, an internal address) is for the log: anyone who reaches the
        # port reads this body.
        log.warning("readiness: index unavailable code=%s detail=%s", exc.code, exc.detail)
        return json_error(
            503,
            exc.code,
            f"検索インデックス（{services.settings.index}）を利用できません。"
            "原因はサーバーのログ（readiness: index unavailable）を確認してください。",
        )
    return json_ok({"status": "ready"})


def create_app(settings: Settings, *, show_progress: bool = False) -> web.Application:
    """The web application; services open on startup and close on shutdown (``cleanup_ctx``)."""
    quiet_server_logger()
    app = web.Application(middlewares=[error_middleware], client_max_size=MAX_BODY_BYTES)

    async def services_ctx(app: web.Application) -> AsyncIterator[None]:
        services = await open_services(settings, show_progress=show_progress)
        app[SERVICES] = services
        yield
        await services.close()

    app.cleanup_ctx.append(services_ctx)
    app.router.add_get("/", index_page)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_post("/api/v1/ask", api.ask)
    app.router.add_post("/api/v1/summarize", api.summarize)
    app.router.add_get("/api/v1/quota", api.quota)
    app.router.add_get("/api/v1/usage", api.usage)
    api_datasets.add_routes(app)
    app.router.add_route("*", "/invoke", invoke.invoke)
    mount_chat(app, settings)
    return app
