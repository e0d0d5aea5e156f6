"""Dense vectors in the Weaviate store: the in-memory stand-in, embeddings from the fake
endpoint over HTTP.

As in ``test_dense.py``, the fake endpoint answers every text with a unit vector derived from a
hash of the text, so a question whose embedding equals one chunk's must bring that chunk up
even with no word in common; and the fused ranking must be the embedded store's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fakes.openai_server import FakeOpenAIServer, Status
from fakes.weaviate_memory import FakeWeaviate

from knowledge.analysis import Analyzer, char_bigrams
from knowledge.chunking import chunk_sections
from knowledge.dense import embedding_input
from knowledge.documents import Document, DocumentMeta, Hit, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embeddings import OpenAIEmbedder
from knowledge.errors import UpstreamUnavailable
from knowledge.index import Boost, Dense, IndexQuery, SearchFilter, Signal
from knowledge.llm import LLMConfig
from knowledge.retrieval import GRAM_FIELDS, WORD_FIELDS
from knowledge.weaviate_schema import collection_config
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

ANALYZER = Analyzer()
MODEL = "test-embedding"
CONFIG = WeaviateConfig(url="http://weaviate.invalid:8080", connect_timeout=0.5, query_timeout=0.5)


def doc(doc_id: str, *texts: str, **meta: object) -> Document:
    sections = [Section(text=t, position=f"第{i + 1}条") for i, t in enumerate(texts)]
    return Document(
        DocumentMeta(doc_id=doc_id, title=f"文書{doc_id}", dataset="テスト", **meta),  # type: ignore[arg-type]
        chunk_sections(doc_id, sections),
        content_hash("".join(texts)),
    )


DOCUMENTS = [
    doc("gomi", "粗大ごみは申込みのうえ指定日に出してください。"),
    doc("juumin", "住民票の写しは窓口またはコンビニで交付します。"),
    doc("hoiku", "保育所の入所申込みは毎年十月に受け付けます。"),
]


def open_embedder(openai_fake: FakeOpenAIServer, model: str = MODEL) -> OpenAIEmbedder:
    config = LLMConfig(
        base_url=openai_fake.url, api_key="sk-test", model=model, max_retries=0, deadline_s=5
    )
    return OpenAIEmbedder(config)


@pytest_asyncio.fixture
async def embedder(openai_fake: FakeOpenAIServer) -> AsyncIterator[OpenAIEmbedder]:
    client = open_embedder(openai_fake)
    yield client
    await client.close()


@pytest.fixture
def server() -> FakeWeaviate:
    return FakeWeaviate()


@pytest_asyncio.fixture
async def store(
    server: FakeWeaviate, embedder: OpenAIEmbedder
) -> AsyncIterator[WeaviateIndexStore]:
    opened = WeaviateIndexStore(CONFIG, ANALYZER, embedder=embedder, client_factory=server.client)
    yield opened
    await opened.close()


def dense_of(openai_fake: FakeOpenAIServer, document: Document, model: str = MODEL) -> Dense:
    """The question vector that equals the embedding of the document's first chunk."""
    text = embedding_input(document.meta, document.chunks[0])
    return Dense(tuple(openai_fake.embedding(text)), model)


def nothing_lexical(dense: Dense, flt: SearchFilter | None = None) -> IndexQuery:
    return IndexQuery(
        [Signal({"該当なし語": 1.0}, {"words": 1.0})], flt or SearchFilter(), 3, (), dense
    )


def doc_ids(hits: list[Hit]) -> list[str]:
    return [h.meta.doc_id for h in hits]


def stored_objects(server: FakeWeaviate) -> dict[str, dict[str, object]]:
    return server.collections[CONFIG.collection].objects


async def test_a_dense_query_without_matching_words_finds_the_chunk_with_its_embedding(
    store: WeaviateIndexStore,
    server: FakeWeaviate,
    embedder: OpenAIEmbedder,
    openai_fake: FakeOpenAIServer,
) -> None:
    await store.upsert_many(DOCUMENTS)
    hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[1])))
    assert doc_ids(hits)[0] == "juumin"
    # Another process (a new client, nothing cached) finds the stored vectors too.
    other = WeaviateIndexStore(CONFIG, ANALYZER, embedder=embedder, client_factory=server.client)
    hits = await other.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[2])))
    await other.close()
    assert doc_ids(hits)[0] == "hoiku"
    assert hits[0].score == pytest.approx(1.0)  # the best of the nearest, no lexical share
    nearest = [c for c in server.calls if c.method == "near_vector"]
    assert [c.kwargs["limit"] for c in nearest] == [100, 100]


async def test_objects_carry_their_vector_and_its_model(
    server: FakeWeaviate, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    lexical = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    await lexical.upsert(DOCUMENTS[0])  # written without an embedder: no vector, no model
    await lexical.close()
    store = WeaviateIndexStore(CONFIG, ANALYZER, embedder=embedder, client_factory=server.client)
    try:
        await store.upsert_many(DOCUMENTS[1:])
        models = {p["doc_id"]: p.get("vector_model") for p in stored_objects(server).values()}
        assert models == {"gomi": None, "juumin": MODEL, "hoiku": MODEL}
        vectors = server.collections[CONFIG.collection].vectors
        assert len(vectors) == 2 and all(
            len(v) == openai_fake.embedding_dimensions for v in vectors.values()
        )
        # The chunk without a vector gets nothing from the dense side, even for its own text.
        hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[0])))
        assert hits and "gomi" not in doc_ids(hits)
        # Uploading it again with the embedder gives it a vector.
        await store.upsert(DOCUMENTS[0])
        hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[0])))
        assert doc_ids(hits)[0] == "gomi"
    finally:
        await store.close()


async def test_a_query_of_another_model_gets_nothing_from_the_dense_side(
    store: WeaviateIndexStore, server: FakeWeaviate, openai_fake: FakeOpenAIServer
) -> None:
    await store.upsert_many(DOCUMENTS)
    foreign = dense_of(openai_fake, DOCUMENTS[1], model="another-model")
    assert await store.search(nothing_lexical(foreign)) == []
    # A store configured with that other model does not compare it with these vectors either.
    another = open_embedder(openai_fake, "another-model")
    switched = WeaviateIndexStore(CONFIG, ANALYZER, embedder=another, client_factory=server.client)
    try:
        assert await switched.search(nothing_lexical(foreign)) == []
    finally:
        await switched.close()
        await another.close()
    # Nor does a store without an embedder.
    lexical = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    server.calls.clear()
    assert await lexical.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[1]))) == []
    assert not [c for c in server.calls if c.method == "near_vector"]
    await lexical.close()


async def test_vectors_of_deleted_documents_and_hidden_chunks_are_not_returned(
    store: WeaviateIndexStore, server: FakeWeaviate, openai_fake: FakeOpenAIServer
) -> None:
    private = doc("naibu", "職員向けの内部手続です。", owner_org="7", visibility="organization")
    await store.upsert_many([*DOCUMENTS, private])
    asked = nothing_lexical(dense_of(openai_fake, private))
    assert "naibu" not in doc_ids(await store.search(asked))
    owner = nothing_lexical(dense_of(openai_fake, private), SearchFilter(viewer_org="7"))
    assert doc_ids(await store.search(owner))[0] == "naibu"
    assert await store.delete("juumin")
    hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[1])))
    assert hits and "juumin" not in doc_ids(hits)
    assert len(server.collections[CONFIG.collection].vectors) == 3  # deleted with it


async def test_embeddings_down_during_an_upload_leave_the_previous_version(
    store: WeaviateIndexStore, server: FakeWeaviate, openai_fake: FakeOpenAIServer
) -> None:
    await store.upsert(DOCUMENTS[0])
    before = dict(stored_objects(server))
    openai_fake.script_embeddings(Status(503))
    with pytest.raises(UpstreamUnavailable):
        await store.upsert(doc("gomi", "粗大ごみの収集は廃止しました。"))
    assert stored_objects(server) == before  # nothing was written
    stored = await store.get_document("gomi")
    assert stored is not None and stored.chunks[0].text == DOCUMENTS[0].chunks[0].text
    hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[0])))
    assert doc_ids(hits) == ["gomi"]


async def test_a_collection_of_an_older_release_gains_the_model_property(
    server: FakeWeaviate, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    older = server.client()
    await older.connect()
    config = collection_config(CONFIG.collection)
    config["properties"] = [p for p in config["properties"] if p.name != "vector_model"]
    await older.collections.create(**config)
    await older.close()
    store = WeaviateIndexStore(CONFIG, ANALYZER, embedder=embedder, client_factory=server.client)
    try:
        await store.upsert_many(DOCUMENTS)
        hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[2])))
        assert doc_ids(hits)[0] == "hoiku"
    finally:
        await store.close()
    added = [c.kwargs["prop"].name for c in server.calls if c.method == "config.add_property"]
    assert added == ["vector_model"]
    assert server.collections[CONFIG.collection].schema.tokenization["vector_model"] == "field"


# -- the same ranking as the embedded store -------------------------------------------------

TOPICS = ["ごみ", "住民票", "保育所", "国民健康保険", "児童手当", "図書館", "水道", "防災"]
ACTIONS = ["申請", "届出", "手数料", "窓口", "受付時間", "必要書類", "郵送", "電子申請"]
# 8 × 8 × 2 = 128 chunks: more than the 100 dense candidates.
CORPUS = [
    doc(
        f"{t}-{a}",
        f"{t}の{a}について説明します。{a}は市役所の担当課で扱います。",
        f"{t}に関する{a}の注意事項です。詳しくは{t}の案内をご覧ください。",
        category="計画" if i % 3 else "法令",
        law_id="" if i % 3 else "L1",
    )
    for i, (t, a) in enumerate((t, a) for t in TOPICS for a in ACTIONS)
]
QUESTIONS = [
    "ごみの申請の必要書類",
    "住民票を郵送で請求したい",
    "保育所の受付時間は",
    "図書館",
    "児童手当の電子申請について説明します。",
]


def ranking(hits: list[Hit]) -> list[tuple[float, str]]:
    """Scores and chunks, best first; equal scores in chunk id order (see test_weaviate_store)."""
    return sorted((-round(h.score, 4), h.chunk.chunk_id) for h in hits)


async def fused_query(embedder: OpenAIEmbedder, question: str, flt: SearchFilter) -> IndexQuery:
    words = {t: 1.0 for t in ANALYZER.words(question, drop_stop_words=True)}
    grams = {g: 1.0 for g in char_bigrams(question)}
    vector = (await embedder.embed([question]))[0]
    return IndexQuery(
        (Signal(words, WORD_FIELDS), Signal(grams, GRAM_FIELDS, 0.6)),
        flt,
        k=10,
        boosts=(Boost("L1", 0.3),),
        dense=Dense(tuple(vector.tolist()), embedder.model, 0.8),
    )


async def test_lexical_and_dense_signals_rank_like_the_embedded_store(
    tmp_path: Path, server: FakeWeaviate, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    embedded = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER, embedder)
    weaviate = WeaviateIndexStore(CONFIG, ANALYZER, embedder=embedder, client_factory=server.client)
    # Small windows: dense candidates beyond the BM25 lists need their exact BM25 scores.
    narrow = WeaviateIndexStore(
        CONFIG,
        ANALYZER,
        embedder=embedder,
        client_factory=server.client,
        first_window=3,
        max_window=5000,
    )
    try:
        await embedded.upsert_many(CORPUS)
        await weaviate.upsert_many(CORPUS)
        exact = embedding_input(CORPUS[42].meta, CORPUS[42].chunks[1])
        for question in [*QUESTIONS, exact]:
            for flt in (SearchFilter(), SearchFilter(categories=("法令",))):
                query = await fused_query(embedder, question, flt)
                reference = await embedded.search(query)
                assert ranking(await weaviate.search(query)) == ranking(reference), question
                assert ranking(await narrow.search(query)) == ranking(reference), question
                lexical_only = IndexQuery(query.signals, flt, k=10, boosts=query.boosts)
                assert ranking(reference) != ranking(await embedded.search(lexical_only))
        top = await weaviate.search(await fused_query(embedder, exact, SearchFilter()))
        assert top[0].chunk.chunk_id == CORPUS[42].chunks[1].chunk_id
    finally:
        await embedded.close()
        await weaviate.close()
        await narrow.close()
