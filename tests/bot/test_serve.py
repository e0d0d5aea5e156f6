"""``baibain serve``'s server over a real socket: requests aiohttp cannot parse get the JSON
error of every route, without the bytes the client sent."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import pytest
from support import free_port, org_with_key

from bot.app import create_app
from bot.http import serve_app
from bot.settings import Settings


@pytest.fixture
async def port(make_settings: Callable[..., Settings]) -> AsyncIterator[int]:
    """``serve_app`` on a free port of this machine, stopped after the test."""
    chosen = free_port()
    started = asyncio.Event()
    app = create_app(make_settings(sample_data=False))
    serving = asyncio.create_task(serve_app(app, "127.0.0.1", chosen, started.set))
    await asyncio.wait_for(started.wait(), 60)
    yield chosen
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving


async def exchange(port: int, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    """Send ``raw`` bytes; the status line, headers and body of the answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    answer = await reader.read()  # the server closes the connection after an error
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status, headers, body


async def test_unparsable_requests_get_json_errors_that_quote_nothing(port: int, data_dir) -> None:
    key = org_with_key(data_dir, "テスト市")
    padded = f"Authorization: Bearer {key}{'A' * 9000}".encode()
    cases = [
        # A header past what the server reads (8 KB), key first.
        (b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\n" + padded + b"\r\n\r\n", "header_too_long"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", "header_too_long"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Api Key: secret-value\r\n\r\n", "bad_request"),
        (b"POST /api/v1/ask HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", "bad_request"),
    ]
    for raw, code in cases:
        status, headers, body = await exchange(port, raw)
        assert status.startswith("HTTP/1.") and " 400 " in status, (status, body)
        assert headers["content-type"].startswith("application/json")
        error = json.loads(body)["error"]
        assert error["code"] == code and "ください" in error["message"]
        for quoted in (key.encode(), b"secret-value", b"aaaa", b"Content-Length"):
            assert quoted not in body
    # The server serves on.
    status, _, body = await exchange(
        port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert " 200 " in status and json.loads(body) == {"status": "ok"}
