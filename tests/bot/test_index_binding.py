"""The data dir's index serves the database it was built with: pointed at another database
(whose organization 1 may be another city), every command that opens it, the worker and the
server refuse to start instead of answering from the first database's private documents."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from fakes.weaviate_wire import WeaviateWireServer
from sqlalchemy import create_engine, text
from support import free_port
from typer.testing import Result

from admin.identity import database_identity
from bot.app import create_app
from bot.services import open_services
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import IndexBoundElsewhere, IndexUnavailable
from knowledge.weaviate_store import WeaviateIndexStore

SECRET = "第三倉庫に除雪機を十二台配備する。"
QUESTION = "除雪機は何台配備しますか"


def _audit_records(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM audit_record")).scalar_one())
    finally:
        engine.dispose()


def test_a_data_dir_ingested_with_one_database_is_refused_with_another(
    run: Callable[..., Result], data_dir: Path, database_url: str, tmp_path: Path
) -> None:
    first = f"sqlite:///{tmp_path / 'first.sqlite3'}"
    assert run("org", "create", "横浜市", BAIBAIN_DATABASE_URL=first).exit_code == 0
    plan = tmp_path / "除雪計画.txt"
    plan.write_text(f"除雪計画\n\n{SECRET}\n", encoding="utf-8")
    ingest = ("ingest", str(plan), "--dataset", "内部資料", "--org", "横浜市", "--category", "計画")
    ingested = run(*ingest, BAIBAIN_DATABASE_URL=first)
    assert ingested.exit_code == 0, ingested.output
    assert "十二台" in run("ask", QUESTION, "--org", "横浜市", BAIBAIN_DATABASE_URL=first).output

    # Another database, whose organization 1 has the same name (or any other).
    assert run("org", "create", "横浜市", BAIBAIN_DATABASE_URL=database_url).exit_code == 0
    records = _audit_records(database_url)
    index_before = Settings(data_dir=data_dir).index_path.read_bytes()
    for command in (
        ("ask", QUESTION, "--org", "横浜市"),
        ("search", QUESTION),
        ("dataset", "list", "--org", "横浜市"),
        ingest,
        ("worker", "--once", "retention"),
    ):
        refused = run(*command, BAIBAIN_DATABASE_URL=database_url)
        assert refused.exit_code == 2, (command, refused.output)
        assert "十二台" not in refused.output
        assert "別のデータベースで文書を取り込んだものです" in refused.output
        assert "BAIBAIN_DATA_DIR" in refused.output
    # Nothing written to either side.
    assert _audit_records(database_url) == records
    assert Settings(data_dir=data_dir).index_path.read_bytes() == index_before

    # The database it was built with goes on as before.
    again = run("ask", QUESTION, "--org", "横浜市", BAIBAIN_DATABASE_URL=first)
    assert again.exit_code == 0 and "十二台" in again.output


async def test_the_server_does_not_start_on_an_index_of_another_database(
    data_dir: Path, database_url: str, tmp_path: Path, aiohttp_client: Callable[..., object]
) -> None:
    first = Settings(data_dir=data_dir, database_url=f"sqlite:///{tmp_path / 'first.sqlite3'}")
    services = await open_services(first)
    await services.index.upsert(_private())
    await services.close()
    with pytest.raises(IndexBoundElsewhere):
        await aiohttp_client(create_app(Settings(data_dir=data_dir, database_url=database_url)))


def _private() -> Document:
    meta = DocumentMeta(
        doc_id="plan", title="除雪計画", dataset="内部", owner_org="1", visibility="organization"
    )
    return Document(meta, chunk_sections("plan", [Section(SECRET, "第1条")]), content_hash(SECRET))


async def test_an_index_from_before_bindings_is_bound_to_the_database_that_opens_it(
    tmp_path: Path, database_url: str
) -> None:
    data_dir = tmp_path / "upgraded"
    settings = Settings(data_dir=data_dir, database_url=database_url, sample_data=False)
    old = EmbeddedIndexStore(settings.index_path, Analyzer())  # as an earlier Baibain wrote it
    await old.upsert(_private())
    await old.close()
    services = await open_services(settings)
    try:
        assert (await services.index.get_document("plan")) is not None
        identity = await asyncio.to_thread(database_identity, services.engine)
    finally:
        await services.close()
    # Restarting with the same database works; the index now names it.
    services = await open_services(settings)
    await services.close()
    with pytest.raises(IndexBoundElsewhere):
        EmbeddedIndexStore(settings.index_path, Analyzer(), database=f"not-{identity}")


def _weaviate_settings(tmp_path: Path, database_url: str, url: str, grpc_port: int) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        index="weaviate",
        weaviate_url=url,
        weaviate_grpc_port=grpc_port,
    )


async def test_the_server_starts_while_weaviate_is_down(tmp_path: Path, database_url: str) -> None:
    # /readyz reports the index and users get a polite message per question until it answers.
    http, grpc = free_port(), free_port()
    while grpc == http:  # the client refuses one port for both
        grpc = free_port()
    settings = _weaviate_settings(tmp_path, database_url, f"http://127.0.0.1:{http}", grpc)
    services = await open_services(settings)
    try:
        with pytest.raises(IndexUnavailable) as down:
            await services.index.ping()
        assert not isinstance(down.value, IndexBoundElsewhere)
    finally:
        await services.close()


async def test_the_server_does_not_start_on_a_weaviate_collection_of_another_database(
    tmp_path: Path, database_url: str
) -> None:
    wire = WeaviateWireServer()
    await wire.start()
    try:
        other = WeaviateIndexStore(wire.config(), Analyzer(), database="another-database")
        await other.upsert(_private())
        await other.close()
        settings = _weaviate_settings(tmp_path, database_url, wire.url, wire.grpc_port)
        with pytest.raises(IndexBoundElsewhere):
            await open_services(settings)
    finally:
        await wire.stop()
