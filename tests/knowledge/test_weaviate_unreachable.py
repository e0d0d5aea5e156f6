"""``BAIBAIN_INDEX=weaviate`` with a Weaviate that is down or hangs: start, report, answer politely.

A closed port on 127.0.0.1 stands for a server that is down (connection refused at once); a
listener that accepts connections and never answers stands for a hung one (only timeouts help).
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import IndexUnavailable

POLITE = IndexUnavailable.default_message
QUESTION = "住民監査請求をすることができるのは誰ですか"
AUDIT_KEY = base64.b64encode(os.urandom(32)).decode()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def weaviate_settings(tmp_path: Path, port: int, **extra: object) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        index="weaviate",
        weaviate_url=f"http://127.0.0.1:{port}",
        weaviate_grpc_port=closed_port(),
        audit_key=AUDIT_KEY,  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    for writer in held:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_app_starts_reports_not_ready_and_answers_politely(
    aiohttp_client, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    port = closed_port()
    client = await aiohttp_client(create_app(weaviate_settings(tmp_path, port)))
    assert (await client.get("/healthz")).status == 200

    ready = await client.get("/readyz")
    assert ready.status == 503
    error = (await ready.json())["error"]
    assert (
        error["code"] == "index_unavailable" and "検索インデックス（weaviate）" in error["message"]
    )
    # Where it is and why it failed are for the operator's log, not for whoever asks.
    assert f"127.0.0.1:{port}" not in error["message"]
    assert f"127.0.0.1:{port}" in caplog.text and "connect failed" in caplog.text

    async with asyncio.timeout(30):  # not the client's minute of retries: refused is final
        answer = await client.post("/api/v1/ask", json={"question": QUESTION})
    assert answer.status == 503
    assert (await answer.json())["error"] == {"code": "index_unavailable", "message": POLITE}


async def test_a_hanging_server_times_out_instead_of_hanging(
    aiohttp_client, tmp_path, silent_port, caplog: pytest.LogCaptureFixture
) -> None:
    # Queries and inserts could wait longer than the test does: connecting must be what fails.
    settings = weaviate_settings(
        tmp_path,
        silent_port,
        weaviate_connect_timeout_s=0.3,
        weaviate_timeout_s=600,
        weaviate_insert_timeout_s=600,
    )
    async with asyncio.timeout(60):  # three bounded connection attempts
        client = await aiohttp_client(create_app(settings))
        ready = await client.get("/readyz")
        answer = await client.post("/api/v1/ask", json={"question": QUESTION})
    assert ready.status == 503
    assert "timed out after 0.3s" in caplog.text
    assert answer.status == 503
    assert (await answer.json())["error"]["message"] == POLITE


def _env(tmp_path: Path, port: int) -> dict[str, str]:
    return {
        "BAIBAIN_DATA_DIR": str(tmp_path / "var"),
        "BAIBAIN_INDEX": "weaviate",
        "BAIBAIN_WEAVIATE_URL": f"http://127.0.0.1:{port}",
        "BAIBAIN_WEAVIATE_GRPC_PORT": str(closed_port()),
        "BAIBAIN_AUDIT_KEY": AUDIT_KEY,
    }


def test_cli_ask_prints_the_polite_message(tmp_path: Path) -> None:
    # How fast it gives up is `make bench` country; here, that it says so, not a traceback.
    result = CliRunner().invoke(cli, ["ask", QUESTION], env=_env(tmp_path, closed_port()))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"エラー: {POLITE}" in result.output


def test_cli_without_a_weaviate_url_says_what_to_set(tmp_path: Path) -> None:
    env = {**_env(tmp_path, closed_port()), "BAIBAIN_WEAVIATE_URL": ""}
    result = CliRunner().invoke(cli, ["ask", QUESTION], env=env)
    assert result.exit_code == 2
    assert "BAIBAIN_WEAVIATE_URL" in result.output


def test_cli_migrate_to_an_unreachable_weaviate_fails_politely(tmp_path: Path) -> None:
    env = _env(tmp_path, closed_port())
    index_path = Settings(data_dir=tmp_path / "var").index_path
    asyncio.run(EmbeddedIndexStore(index_path, Analyzer()).close())
    result = CliRunner().invoke(cli, ["index", "migrate", "--to", "weaviate"], env=env)
    assert result.exit_code == 1
    assert f"エラー: {POLITE}" in result.output


def test_cli_migrate_needs_an_embedded_index_and_a_known_target(tmp_path: Path) -> None:
    env = _env(tmp_path, closed_port())
    missing = CliRunner().invoke(cli, ["index", "migrate", "--to", "weaviate"], env=env)
    assert missing.exit_code == 2 and "見つかりません" in missing.output
    wrong = CliRunner().invoke(cli, ["index", "migrate", "--to", "elasticsearch"], env=env)
    assert wrong.exit_code == 2 and "weaviate を指定" in wrong.output
