"""An index serves the administrative database it was built with: documents name their owners
by that database's organization numbers, which another database gives out to others.

Both stores: the embedded one on real SQLite files, Weaviate through the wire fake (the real
weaviate-client over REST and gRPC)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fakes.weaviate_wire import WeaviateWireServer

from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import IndexBoundElsewhere
from knowledge.index import IndexQuery, SearchFilter, Signal
from knowledge.weaviate_store import WeaviateIndexStore

ANALYZER = Analyzer()
SECRET = "第三倉庫に除雪機を十二台配備する。"


def private(doc_id: str, owner: str = "1") -> Document:
    """An organization-only document of organization ``owner`` (a number of its database)."""
    meta = DocumentMeta(
        doc_id=doc_id, title="除雪計画", dataset="内部", owner_org=owner, visibility="organization"
    )
    return Document(meta, chunk_sections(doc_id, [Section(SECRET, "第1条")]), content_hash(SECRET))


def shared(doc_id: str) -> Document:
    """A document of no organization, as the bundled sample's are."""
    meta = DocumentMeta(doc_id=doc_id, title="道路法", dataset="サンプル法令データ")
    text = "道路の除雪は道路管理者が行う。"
    return Document(meta, chunk_sections(doc_id, [Section(text, "第1条")]), content_hash(text))


def query(viewer: str) -> IndexQuery:
    words = dict.fromkeys(ANALYZER.words("除雪機"), 1.0)
    return IndexQuery((Signal(words, {"words": 1.0}),), SearchFilter(viewer_org=viewer))


# -- embedded --------------------------------------------------------------------------------


async def embedded_with(path: Path, database: str | None, *documents: Document) -> None:
    store = EmbeddedIndexStore(path, ANALYZER, database=database)
    await store.upsert_many(documents)
    await store.close()


async def test_an_embedded_index_of_another_database_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    await embedded_with(path, "database-a", private("secret"))
    before = path.read_bytes()
    with pytest.raises(IndexBoundElsewhere) as refused:
        EmbeddedIndexStore(path, ANALYZER, database="database-b")
    message = refused.value.user_message
    assert str(path) in message and "別のデータベース" in message
    assert "BAIBAIN_DATABASE_URL" in message and "BAIBAIN_DATA_DIR" in message
    assert path.read_bytes() == before
    # The database it was built with still has its document.
    again = EmbeddedIndexStore(path, ANALYZER, database="database-a")
    try:
        assert [h.meta.doc_id for h in await again.search(query("1"))] == ["secret"]
    finally:
        await again.close()


async def test_an_embedded_index_from_before_bindings_serves_the_first_database_to_open_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    await embedded_with(path, None, private("secret"))  # written by an earlier Baibain
    upgraded = EmbeddedIndexStore(path, ANALYZER, database="database-a")
    try:
        assert [h.meta.doc_id for h in await upgraded.search(query("1"))] == ["secret"]
    finally:
        await upgraded.close()
    with pytest.raises(IndexBoundElsewhere):
        EmbeddedIndexStore(path, ANALYZER, database="database-b")


async def test_an_index_of_no_organizations_documents_moves_and_the_old_database_stops_serving(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    await embedded_with(path, "database-a", shared("road"))
    old = EmbeddedIndexStore(path, ANALYZER, database="database-a")
    new = EmbeddedIndexStore(path, ANALYZER, database="database-b")  # the sample is no one's
    try:
        await new.upsert(private("secret"))
        # The process still on database A must not show B's organization 1 its document.
        with pytest.raises(IndexBoundElsewhere):
            await old.search(query("1"))
        with pytest.raises(IndexBoundElsewhere):
            await old.upsert(private("other"))
        with pytest.raises(IndexBoundElsewhere):
            await old.get_document("secret")
        # Nor delete it: database A's dataset 3 and database B's name their documents alike.
        with pytest.raises(IndexBoundElsewhere):
            await old.delete("secret")
        assert await new.get_document("secret") is not None
        assert "secret" in [h.meta.doc_id for h in await new.search(query("1"))]
    finally:
        await old.close()
        await new.close()


def test_processes_opening_a_new_embedded_index_together_agree(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"

    def open_and_close(_: int) -> None:
        asyncio.run(EmbeddedIndexStore(path, ANALYZER, database="database-a").close())

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(open_and_close, range(8)))
    asyncio.run(embedded_with(path, "database-a", private("secret")))
    with pytest.raises(IndexBoundElsewhere):
        EmbeddedIndexStore(path, ANALYZER, database="database-b")


# -- Weaviate --------------------------------------------------------------------------------


@pytest.fixture
async def wire() -> AsyncIterator[WeaviateWireServer]:
    server = WeaviateWireServer()
    await server.start()
    yield server
    await server.stop()


def weaviate(wire: WeaviateWireServer, database: str | None) -> WeaviateIndexStore:
    return WeaviateIndexStore(wire.config(), ANALYZER, database=database)


async def weaviate_with(
    wire: WeaviateWireServer, database: str | None, *documents: Document
) -> None:
    store = weaviate(wire, database)
    await store.upsert_many(documents)
    await store.close()


_WRITES = ("POST /v1/objects", "POST /v1/schema", "PATCH", "DELETE", "BatchObjects", "BatchDelete")


async def test_a_weaviate_collection_of_another_database_is_refused_before_anything_is_written(
    wire: WeaviateWireServer,
) -> None:
    await weaviate_with(wire, "database-a", private("secret"))
    objects = dict(wire.state.collections["BaibainChunk"].objects)
    start = len(wire.received)
    other = weaviate(wire, "database-b")
    try:
        with pytest.raises(IndexBoundElsewhere) as refused:
            await other.ping()
        with pytest.raises(IndexBoundElsewhere):
            await other.search(query("1"))
        with pytest.raises(IndexBoundElsewhere):
            await other.upsert(private("other"))
    finally:
        await other.close()
    message = refused.value.user_message
    assert "BaibainChunk" in message and "BAIBAIN_WEAVIATE_COLLECTION" in message
    assert "BAIBAIN_DATABASE_URL" in message
    sent = [r.method for r in wire.received[start:]]
    assert not [m for m in sent if m.startswith(_WRITES)], sent
    assert wire.state.collections["BaibainChunk"].objects == objects


async def test_a_weaviate_collection_from_before_bindings_serves_the_first_database(
    wire: WeaviateWireServer,
) -> None:
    await weaviate_with(wire, None, private("secret"))  # written by an earlier Baibain
    upgraded = weaviate(wire, "database-a")
    try:
        assert [h.meta.doc_id for h in await upgraded.search(query("1"))] == ["secret"]
    finally:
        await upgraded.close()
    other = weaviate(wire, "database-b")
    try:
        with pytest.raises(IndexBoundElsewhere):
            await other.search(query("1"))
    finally:
        await other.close()


async def test_processes_connecting_to_a_new_collection_together_agree(
    wire: WeaviateWireServer,
) -> None:
    same = [weaviate(wire, "database-a") for _ in range(3)]
    rival = weaviate(wire, "database-b")
    try:
        results = await asyncio.gather(*(s.ping() for s in [*same, rival]), return_exceptions=True)
    finally:
        for store in [*same, rival]:
            await store.close()
    refused = [isinstance(r, IndexBoundElsewhere) for r in results]
    # One database wins; every store of the other is refused.
    assert refused in ([False, False, False, True], [True, True, True, False]), results


async def test_a_dropped_collection_takes_its_binding_along(wire: WeaviateWireServer) -> None:
    first = weaviate(wire, "database-a")
    await first.upsert(private("secret"))
    await first.drop_collection()
    await first.close()
    await weaviate_with(wire, "database-b", private("again"))
    assert "BaibainChunkBinding" in wire.state.collections
