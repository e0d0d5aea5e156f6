"""HTTP plumbing shared by every route: JSON errors, body parsing, authentication."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError, LineTooLong
from sqlalchemy.exc import OperationalError

from admin.db import unavailable
from knowledge.errors import BadInput, BaibainError
from knowledge.ingest import no_text


class PayloadTooLarge(BadInput):
    """The request body is over the server's limit."""

    code = "payload_too_large"
    status = 413


class UnsupportedMediaType(BadInput):
    """The body is sent as another media type (``Content-Type``) than the route reads."""

    code = "unsupported_media_type"
    status = 415


log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Large enough for base64 attachments to /invoke and /api/v1/summarize (about 15 MB of file).
MAX_BODY_BYTES = 20 * 1024 * 1024

_STATUS_MESSAGES = {
    404: ("not_found", "指定されたURLは存在しません。"),
    405: ("method_not_allowed", "このURLではそのメソッドは使えません。"),
    413: ("payload_too_large", "リクエストが大きすぎます。"),
}


def too_large() -> PayloadTooLarge:
    """The error for a body over ``MAX_BODY_BYTES``, with the limit and what to do."""
    limit_mb = MAX_BODY_BYTES // (1024 * 1024)
    return PayloadTooLarge(
        f"リクエストが大きすぎます（上限 {limit_mb}MB）。ファイルを分割するか小さくしてください。"
    )


def unreadable_body() -> BadInput:
    """The error for a body aiohttp cannot read: compressed (``Content-Encoding``) or chunked
    wrongly."""
    return BadInput(
        "リクエスト本文を読み取れません。圧縮（Content-Encoding）や分割送信の形式を確認してください。"
    )


def json_error(status: int, code: str, message: str) -> web.Response:
    """The one error shape of the JSON API."""
    return web.json_response(
        {"error": {"code": code, "message": message}},
        status=status,
        dumps=lambda o: json.dumps(o, ensure_ascii=False),
    )


def json_ok(payload: Any, status: int = 200) -> web.Response:
    return web.json_response(
        payload, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


def with_retry_after(response: web.Response, exc: BaibainError) -> web.Response:
    """An error that knows when trying again may succeed says so (RFC 9110 ``Retry-After``, in
    seconds): a 429 for a used-up budget, when the next month's budget starts (a budget set to
    0 has no such time); a 409 for a dataset another upload holds, when that hold lapses."""
    if (retry_at := exc.retry_at) is not None:
        seconds = (retry_at - datetime.now(UTC)).total_seconds()
        response.headers["Retry-After"] = str(max(math.ceil(seconds), 1))
    return response


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Users never see a stack trace: every failure becomes a short JSON error."""
    try:
        try:
            return await handler(request)
        except OperationalError as exc:  # the database went away after the process started
            raise unavailable(exc) from exc
        except web.RequestPayloadError as exc:  # a body of any route, uploads and webhooks too
            raise unreadable_body() from exc
    except BaibainError as exc:
        if exc.status >= 500:
            log.warning(
                "request failed path=%s code=%s detail=%s", request.path, exc.code, exc.detail
            )
        response = json_error(exc.status, exc.code, exc.user_message)
        if exc.status == 401 and request.path.startswith("/api/v1/"):
            # RFC 9110: a 401 names the scheme that would be accepted (the REST API's keys).
            response.headers["WWW-Authenticate"] = 'Bearer realm="baibain"'
        return with_retry_after(response, exc)
    except web.HTTPException as exc:
        if exc.status in _STATUS_MESSAGES:
            code, message = _STATUS_MESSAGES[exc.status]
            response = json_error(exc.status, code, message)
            if "Allow" in exc.headers:  # 405: the methods the route takes (RFC 9110)
                response.headers["Allow"] = exc.headers["Allow"]
            return response
        raise
    except Exception:
        log.exception("unhandled error path=%s", request.path)
        return json_error(500, "internal_error", BaibainError.default_message)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; ``BadInput`` (400) otherwise.

    Requiring ``application/json`` also makes browsers send a CORS preflight for cross-site
    requests, which this server never approves.
    """
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Content-Type: application/json で JSON を送信してください。")
    try:
        text = await request.text()
        # A byte order mark, as Windows tools save UTF-8, is ignored (RFC 8259 lets readers).
        body = json.loads(text.removeprefix("\ufeff"))
    except UnicodeDecodeError as exc:  # Shift_JIS from a Windows tool, most likely
        raise BadInput(
            f"リクエスト本文を {request.charset or 'UTF-8'} の文字として読めません。"
            "UTF-8 で送るか、Content-Type の charset に文字コードを指定してください。"
        ) from exc
    except (ValueError, LookupError, RecursionError) as exc:
        # Malformed JSON, an unknown charset, nesting beyond what Python reads
        raise BadInput("リクエスト本文が JSON として読めません。") from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise too_large() from exc
    except web.RequestPayloadError as exc:  # here too for /invoke, which answers its own errors
        raise unreadable_body() from exc
    if not isinstance(body, dict):
        raise BadInput("リクエスト本文は JSON オブジェクトにしてください。")
    if _holds_no_text(body):
        raise BadInput(
            "リクエスト本文に読み取れない文字が含まれています。文字化けしていないか確認してください。"
        )
    return body


def _holds_no_text(value: object) -> bool:
    """Whether a JSON value has a string (or key) that is no text (``no_text``). Walked without
    recursion: a body nested as deep as the parser reads would overflow a recursive walk begun
    further down the stack."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str) and no_text(item):
            return True
    return False


def refuse_unknown_fields(body: Mapping[str, Any], known: Sequence[str], where: str = "") -> None:
    """``BadInput`` naming the keys of ``body`` (the object ``where`` names, 「filters 」) that
    are not ``known``, with those that are: a misspelled field (「visibilty」) left unread would
    do something else than the client asked, without a word."""
    if extra := [key for key in body if key not in known]:
        raise BadInput(
            f"{where}使えない項目があります（{', '.join(map(str, extra))[:200]}）。"
            f"使える項目: {', '.join(known)}。"
        )


def optional_text(body: Mapping[str, Any], key: str, name: str = "") -> str:
    """``body[key]`` as a string, ``""`` when it is absent or null. Another type (a number, a
    list, ``false``) is ``BadInput`` naming the field (``name``, by default ``key``): taking it
    as absent would quietly do something else than what the client asked."""
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadInput(f"{name or key} は文字列で指定してください。")
    return value


def bearer_token(request: web.Request) -> str | None:
    """The token of an ``Authorization: Bearer …`` header, if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class _NoRequestBytes(logging.Filter):
    """aiohttp logs a request it cannot parse with its parser's error, which quotes the bytes
    it refused: a header line too long to read quotes the ``Authorization`` or ``x-api-key``
    header, key and all. Only the kind of error is kept, as a warning: the client's mistake,
    answered with 400, is no error of the server to alert anyone about."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, HttpProcessingError):
            record.msg, record.args = "unreadable request refused: %s", (type(exc).__name__,)
            record.exc_info, record.exc_text = None, None
            if record.levelno > logging.WARNING:  # aiohttp logs some at debug level
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_server_logger() -> None:
    """Install ``_NoRequestBytes`` on aiohttp's server logger (once)."""
    server_log = logging.getLogger("aiohttp.server")
    if not any(isinstance(f, _NoRequestBytes) for f in server_log.filters):
        server_log.addFilter(_NoRequestBytes())


_UNREADABLE_REQUEST = (
    "bad_request",
    "リクエストを HTTP として読み取れません。リクエスト行とヘッダーの形式を確認してください。",
)
_LINE_TOO_LONG = (
    "header_too_long",
    "URL またはヘッダーが長すぎます（1行 8KB まで）。ファイルや長い値は URL やヘッダーではなく、"
    "本文（JSON・multipart）で送ってください。",
)


class JsonErrorRequestHandler(web.RequestHandler):
    """aiohttp's connection protocol, answering a request it cannot parse (a header line over
    8 KB, a malformed request line or header) with the JSON error of every route instead of
    its plain text, which quotes the bytes it refused: the ``Authorization`` header, key and
    all. aiohttp answers these before any middleware sees a request and has no hook for them
    (aio-libs/aiohttp#3287); ``handle_error`` of its protocol is where it builds the answer."""

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own first: it logs the error (``_NoRequestBytes`` keeps the bytes out) and
        # refuses when part of a response went out already.
        super().handle_error(request, status, exc, message)
        if status >= 500:
            code, text = "internal_error", BaibainError.default_message
        else:
            code, text = _LINE_TOO_LONG if isinstance(exc, LineTooLong) else _UNREADABLE_REQUEST
        response = json_error(status, code, text)
        response.force_close()  # the connection's bytes past the error cannot be trusted
        return response


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# As ``web.run_app`` keeps an idle connection: longer than the 60 s after which common load
# balancers drop theirs, so that the balancer, not this server, closes first.
KEEPALIVE_S = 75.0


async def serve_app(
    app: web.Application, host: str, port: int, started: Callable[[], None]
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM, as ``web.run_app`` does, each
    connection spoken by ``JsonErrorRequestHandler``; ``started`` is called once the app has
    started and the port takes connections. The port is bound before the app starts, so a
    port in use (``OSError``) opens nothing."""
    loop = asyncio.get_running_loop()
    runner = web.AppRunner(app)

    def connection() -> JsonErrorRequestHandler:
        assert runner.server is not None  # serving starts after setup
        return JsonErrorRequestHandler(runner.server, loop=loop, keepalive_timeout=KEEPALIVE_S)

    listener = await loop.create_server(connection, host, port, backlog=128, start_serving=False)
    try:
        await runner.setup()
        stop = asyncio.Event()
        for signum in _STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C interrupts
                loop.add_signal_handler(signum, stop.set)
        await listener.start_serving()
        started()
        await stop.wait()
    finally:
        for signum in _STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(signum)
        listener.close()
        await runner.cleanup()
