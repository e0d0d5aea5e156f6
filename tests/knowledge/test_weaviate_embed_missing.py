"""``WeaviateIndexStore.embed_missing``: vectors for chunks stored without one (or by another
model), from the fake embeddings endpoint over HTTP, onto the in-memory Weaviate stand-in, onto
the same stand-in behind the wire protocol (``fakes.weaviate_wire``, through the real client) —
and onto a real Weaviate as well when ``BAIBAIN_TEST_WEAVIATE_URL`` is set (on a fresh
collection from the contract suite's ``weaviate_factory``).

The fake endpoint answers every text with a unit vector derived from a hash of the text, so a
question whose embedding equals a chunk's finds that chunk with no word in common, and only if
the chunk was given its vector.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import pytest_asyncio
from fakes.openai_server import FakeOpenAIServer, Status
from fakes.weaviate_memory import FakeWeaviate
from fakes.weaviate_wire import WeaviateWireServer
from test_store_contract import weaviate_factory

from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.dense import embedding_input
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embeddings import Embedder, OpenAIEmbedder
from knowledge.errors import UpstreamUnavailable
from knowledge.index import Dense, IndexQuery, SearchFilter, Signal
from knowledge.llm import LLMConfig
from knowledge.migration import copy_index
from knowledge.weaviate_client import ClientFactory, make_client
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

ANALYZER = Analyzer()
MODEL = "test-embedding"


def document(doc_id: str, *texts: str) -> Document:
    meta = DocumentMeta(doc_id=doc_id, title=f"{doc_id}のご案内", dataset="テスト")
    sections = [Section(text=t, heading=f"第{n}節") for n, t in enumerate(texts, 1)]
    return Document(meta, chunk_sections(doc_id, sections), content_hash("|".join(texts)))


GOMI = document("gomi", "粗大ごみは申込みのうえ指定日に出してください。", "手数料は券で納めます。")
JUUMIN = document("juumin", "住民票の写しは窓口またはコンビニで交付します。")
HOIKU = document("hoiku", "保育所の入所申込みは毎年十月に受け付けます。")
LIBRARY = document("tosho", "図書館の本は二週間借りられます。", "返却はポストでもできます。")
CORPUS = [GOMI, JUUMIN, HOIKU, LIBRARY]
CHUNKS = sum(len(d.chunks) for d in CORPUS)  # 6


@dataclass
class Target:
    """Where the collection lives: the in-memory stand-in (``fake``, reached in process or
    over the wire) or a real server."""

    config: WeaviateConfig
    fake: FakeWeaviate | None = None
    factory: ClientFactory = make_client
    opened: list[WeaviateIndexStore] = field(default_factory=list)

    def store(self, embedder: Embedder | None = None, **tuning: int) -> WeaviateIndexStore:
        opened = WeaviateIndexStore(
            self.config, ANALYZER, embedder=embedder, client_factory=self.factory, **tuning
        )
        self.opened.append(opened)
        return opened

    async def close(self) -> None:
        for store in self.opened:
            await store.close()

    def calls(self, method: str) -> int:
        assert self.fake is not None
        return sum(1 for c in self.fake.calls if c.method == method)

    def objects(self) -> dict[str, dict[str, object]]:
        assert self.fake is not None
        return {
            u: dict(p) for u, p in self.fake.collections[self.config.collection].objects.items()
        }


@pytest_asyncio.fixture(params=["memory", "wire", "server"])
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    if request.param == "memory":
        config = WeaviateConfig(url="http://weaviate.invalid:8080", query_timeout=2.0)
        fake = FakeWeaviate()
        opened = Target(config, fake, fake.client)
        yield opened
    elif request.param == "wire":
        server = WeaviateWireServer()
        await server.start()
        opened = Target(server.config(query_timeout=2.0), server.state)
        yield opened
        await opened.close()
        await server.stop()
        return
    else:
        # The contract suite's fresh collection on BAIBAIN_TEST_WEAVIATE_URL (or a skip);
        # running the generator to its end drops the collection.
        stores = weaviate_factory()
        opened = Target((await anext(stores))().config)
        yield opened
        await anext(stores, None)
    await opened.close()


def endpoint(openai_fake: FakeOpenAIServer, model: str = MODEL) -> OpenAIEmbedder:
    return OpenAIEmbedder(LLMConfig(openai_fake.url, "sk-test", model, max_retries=0))


@pytest_asyncio.fixture
async def embedder(openai_fake: FakeOpenAIServer) -> AsyncIterator[OpenAIEmbedder]:
    opened = endpoint(openai_fake)
    yield opened
    await opened.close()


class Meanwhile:
    """The embedder over HTTP, with something else happening before its ``nth`` call: another
    process writing to the index, or the endpoint starting to fail."""

    def __init__(self, inner: Embedder, nth: int, action: Callable[[], Awaitable[None]]) -> None:
        self._inner, self._nth, self._action = inner, nth, action
        self.calls = 0

    @property
    def model(self) -> str:
        return self._inner.model

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.calls == self._nth:
            await self._action()
        return await self._inner.embed(texts)

    async def close(self) -> None:
        """Nothing: the wrapped embedder is closed by whoever opened it."""


def asked_by_its_own_text(
    openai_fake: FakeOpenAIServer, doc: Document, ordinal: int = 0
) -> IndexQuery:
    """A question with no word of the corpus whose vector equals one chunk's embedding."""
    vector = openai_fake.embedding(embedding_input(doc.meta, doc.chunks[ordinal]))
    signal = Signal({"該当なし語": 1.0}, {"words": 1.0})
    return IndexQuery([signal], SearchFilter(), 3, (), Dense(tuple(vector), MODEL))


async def top_doc(store: WeaviateIndexStore, query: IndexQuery) -> str | None:
    hits = await store.search(query)
    return hits[0].meta.doc_id if hits else None


async def chunks_found_by_their_own_text(
    store: WeaviateIndexStore, openai_fake: FakeOpenAIServer
) -> int:
    """How many chunks of the corpus come first for the question that is their own text."""
    found = 0
    for doc in CORPUS:
        for ordinal, chunk in enumerate(doc.chunks):
            hits = await store.search(asked_by_its_own_text(openai_fake, doc, ordinal))
            found += bool(hits) and hits[0].chunk == chunk
    return found


async def test_chunks_stored_without_vectors_get_them_and_are_found_without_matching_words(
    target: Target, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    await target.store().upsert_many(CORPUS)  # no embedder: lexical only
    store = target.store(embedder)
    assert await top_doc(store, asked_by_its_own_text(openai_fake, JUUMIN)) is None
    before = target.objects() if target.fake else {}
    seen: list[tuple[int, int]] = []
    assert await store.embed_missing(lambda done, total: seen.append((done, total))) == CHUNKS
    assert seen == [(CHUNKS, CHUNKS)]
    for doc in CORPUS:
        for ordinal in range(len(doc.chunks)):
            asked = asked_by_its_own_text(openai_fake, doc, ordinal)
            hits = await store.search(asked)
            assert hits[0].chunk == doc.chunks[ordinal] and hits[0].meta == doc.meta
    assert await store.count_chunks() == CHUNKS
    asked_before = len(openai_fake.embedding_requests)
    assert await store.embed_missing() == 0  # nothing left: one count, one empty page
    assert len(openai_fake.embedding_requests) == asked_before
    if target.fake is not None:  # the same objects, with the model added and nothing else
        assert target.objects() == {u: {**p, "vector_model": MODEL} for u, p in before.items()}
        assert target.calls("update") == CHUNKS and target.calls("insert_many") == 1


async def test_vectors_of_another_model_are_replaced(
    target: Target, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    another = endpoint(openai_fake, "another-model")
    try:
        await target.store(another).upsert_many(CORPUS)
    finally:
        await another.close()
    store = target.store(embedder)
    assert await top_doc(store, asked_by_its_own_text(openai_fake, HOIKU)) is None
    assert await store.embed_missing() == CHUNKS
    assert await top_doc(store, asked_by_its_own_text(openai_fake, HOIKU)) == "hoiku"
    assert await store.embed_missing() == 0


async def test_an_endpoint_failure_midway_keeps_the_batches_written_and_a_rerun_finishes(
    target: Target, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    await target.store().upsert_many(CORPUS)

    async def endpoint_fails() -> None:
        openai_fake.script_embeddings(Status(503))

    failing = Meanwhile(embedder, 2, endpoint_fails)
    store = target.store(failing, embed_batch=2)
    seen: list[tuple[int, int]] = []
    with pytest.raises(UpstreamUnavailable):
        await store.embed_missing(lambda done, total: seen.append((done, total)))
    assert seen == [(2, CHUNKS)]  # the first batch is written, the second failed
    assert await chunks_found_by_their_own_text(store, openai_fake) == 2
    seen.clear()
    assert await store.embed_missing(lambda done, total: seen.append((done, total))) == CHUNKS - 2
    assert seen == [(2, 4), (4, 4)]
    assert await chunks_found_by_their_own_text(store, openai_fake) == CHUNKS
    assert await store.embed_missing() == 0


async def test_documents_deleted_or_replaced_meanwhile_do_not_come_back(
    target: Target, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    other = target.store()  # another process, writing without embeddings
    await other.upsert_many(CORPUS)
    assert await other.delete("tosho")  # deleted before the run: never embedded
    new_hoiku = document("hoiku", "保育所の入所申込みは通年で受け付けます。")

    async def other_process_writes() -> None:
        assert await other.delete("juumin")
        await other.upsert(new_hoiku)

    store = target.store(Meanwhile(embedder, 1, other_process_writes))
    # gomi's two chunks; juumin and the old hoiku are gone when their vectors arrive; the new
    # hoiku is stored without a vector meanwhile and is embedded in the next batch.
    assert await store.embed_missing() == 3
    assert await store.get_document("juumin") is None
    assert await store.get_document("tosho") is None
    stored = await store.get_document("hoiku")
    assert stored is not None and stored.chunks == new_hoiku.chunks
    assert await store.count_chunks() == 3
    assert await top_doc(store, asked_by_its_own_text(openai_fake, new_hoiku)) == "hoiku"
    for gone in (JUUMIN, HOIKU, LIBRARY):
        hits = await store.search(asked_by_its_own_text(openai_fake, gone))
        assert hits and all(h.chunk.text != gone.chunks[0].text for h in hits)
    texts = [t for r in openai_fake.embedding_requests for t in r.body["input"]]
    assert embedding_input(LIBRARY.meta, LIBRARY.chunks[0]) not in texts
    if target.fake is not None:
        assert {str(p["doc_id"]) for p in target.objects().values()} == {"gomi", "hoiku"}
        assert all(p.get("vector_model") == MODEL for p in target.objects().values())
        assert target.calls("update") == 5  # two of them answered 404 and created nothing


async def test_without_an_embedder_nothing_is_embedded(
    target: Target, openai_fake: FakeOpenAIServer
) -> None:
    store = target.store()
    await store.upsert_many(CORPUS)
    assert await store.embed_missing() == 0
    assert openai_fake.embedding_requests == []
    if target.fake is not None:
        assert target.calls("update") == 0


async def test_a_migration_with_embeddings_leaves_every_chunk_with_a_vector(
    tmp_path: Path, target: Target, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    """What ``baibain index migrate --to weaviate`` does with ``BAIBAIN_EMBEDDING_*`` set:
    copy with the embedder, then embed what an earlier copy without embeddings left."""
    source = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await source.upsert_many(CORPUS[:2])
        first = await copy_index(source, target.store())  # before embeddings were configured
        await source.upsert_many(CORPUS[2:])
        store = target.store(embedder)
        again = await copy_index(source, store)
        assert (first.copied, again.copied, again.skipped) == (2, 2, 2)
        assert await top_doc(store, asked_by_its_own_text(openai_fake, HOIKU)) == "hoiku"
        assert await top_doc(store, asked_by_its_own_text(openai_fake, GOMI)) != "gomi"
        assert await store.embed_missing() == len(GOMI.chunks) + len(JUUMIN.chunks)
        assert await chunks_found_by_their_own_text(store, openai_fake) == CHUNKS
    finally:
        await source.close()
