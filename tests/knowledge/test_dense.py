"""Dense vectors in the embedded index, from the embeddings endpoint (the fake, over HTTP).

The fake answers every text with a unit vector derived from a hash of the text: identical
texts get identical vectors, different texts nearly orthogonal ones. So a question whose
embedding equals one chunk's embedding must bring that chunk up even with no word in common.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from fakes.openai_server import FakeOpenAIServer, Status

from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.dense import embedding_input
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embeddings import OpenAIEmbedder
from knowledge.errors import UpstreamUnavailable
from knowledge.index import Dense, IndexQuery, SearchFilter, Signal
from knowledge.llm import LLMConfig
from knowledge.retrieval import Retriever

ANALYZER = Analyzer()
MODEL = "test-embedding"


def doc(doc_id: str, text: str, title: str = "") -> Document:
    meta = DocumentMeta(doc_id=doc_id, title=title or f"文書{doc_id}", dataset="テスト")
    return Document(meta, chunk_sections(doc_id, [Section(text=text)]), content_hash(text))


DOCUMENTS = [
    doc("gomi", "粗大ごみは申込みのうえ指定日に出してください。"),
    doc("juumin", "住民票の写しは窓口またはコンビニで交付します。"),
    doc("hoiku", "保育所の入所申込みは毎年十月に受け付けます。"),
]


@pytest_asyncio.fixture
async def embedder(openai_fake: FakeOpenAIServer) -> AsyncIterator[OpenAIEmbedder]:
    config = LLMConfig(
        base_url=openai_fake.url, api_key="sk-test", model=MODEL, max_retries=0, deadline_s=5
    )
    client = OpenAIEmbedder(config)
    yield client
    await client.close()


def dense_of(openai_fake: FakeOpenAIServer, document: Document) -> Dense:
    text = embedding_input(document.meta, document.chunks[0])
    return Dense(tuple(openai_fake.embedding(text)), MODEL)


def nothing_lexical(dense: Dense) -> IndexQuery:
    return IndexQuery([Signal({"該当なし語": 1.0}, {"words": 1.0})], SearchFilter(), 3, (), dense)


async def test_uploaded_chunks_get_vectors_and_dense_queries_find_them(
    tmp_path: Path, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER, embedder)
    try:
        await store.upsert_many(DOCUMENTS)
        hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[1])))
        assert hits[0].meta.doc_id == "juumin"
        # Another process (no cache of ours) loads the same vectors from the file.
        other = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER, embedder)
        hits = await other.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[2])))
        await other.close()
        assert hits[0].meta.doc_id == "hoiku"
        # A query embedded by another model is not compared with these vectors.
        foreign = Dense(dense_of(openai_fake, DOCUMENTS[1]).vector, "another-model")
        assert await store.search(nothing_lexical(foreign)) == []
        await store.delete("juumin")
        hits = await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[1])))
        assert "juumin" not in [h.meta.doc_id for h in hits]
    finally:
        await store.close()
    db = sqlite3.connect(tmp_path / "index.sqlite3")
    assert db.execute("SELECT count(*) FROM vectors").fetchone()[0] == 2  # deleted with it
    db.close()


async def test_embeddings_down_during_an_upload_leave_the_previous_version(
    tmp_path: Path, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER, embedder)
    try:
        await store.upsert(DOCUMENTS[0])
        openai_fake.script_embeddings(Status(503))
        with pytest.raises(UpstreamUnavailable):
            await store.upsert(doc("gomi", "粗大ごみの収集は廃止しました。"))
        stored = await store.get_document("gomi")
        assert stored is not None and stored.chunks[0].text == DOCUMENTS[0].chunks[0].text
    finally:
        await store.close()


async def test_an_index_built_without_embeddings_is_embedded_later_and_resumes(
    tmp_path: Path, embedder: OpenAIEmbedder, openai_fake: FakeOpenAIServer
) -> None:
    path = tmp_path / "index.sqlite3"
    lexical = EmbeddedIndexStore(path, ANALYZER)
    await lexical.upsert_many(DOCUMENTS)
    await lexical.close()
    store = EmbeddedIndexStore(path, ANALYZER, embedder)
    reader = EmbeddedIndexStore(path, ANALYZER, embedder)  # another process, already open
    try:
        assert await store.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[0]))) == []
        openai_fake.script_embeddings(Status(500))
        with pytest.raises(UpstreamUnavailable):
            await store.embed_missing()
        seen: list[tuple[int, int]] = []
        assert await store.embed_missing(lambda done, total: seen.append((done, total))) == 3
        assert seen[-1] == (3, 3)
        assert await store.embed_missing() == 0  # nothing left
        hits = await reader.search(nothing_lexical(dense_of(openai_fake, DOCUMENTS[0])))
        assert hits[0].meta.doc_id == "gomi"
    finally:
        await store.close()
        await reader.close()


@pytest_asyncio.fixture
async def retriever(tmp_path: Path, embedder: OpenAIEmbedder) -> AsyncIterator[Retriever]:
    """A retriever with embeddings over ``DOCUMENTS``."""
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER, embedder)
    await store.upsert_many(DOCUMENTS)
    yield Retriever(store, ANALYZER, embedder)
    await store.close()


async def test_questions_are_answered_lexically_when_the_embeddings_endpoint_fails(
    retriever: Retriever, openai_fake: FakeOpenAIServer
) -> None:
    exact = embedding_input(DOCUMENTS[2].meta, DOCUMENTS[2].chunks[0])
    assert (await retriever.retrieve(exact, SearchFilter())).hits[0].meta.doc_id == "hoiku"
    asked = len(openai_fake.embedding_requests)
    openai_fake.script_embeddings(Status(503))
    retrieved = await retriever.retrieve("住民票の写しはどこで交付されますか", SearchFilter())
    assert len(openai_fake.embedding_requests) == asked + 1
    assert retrieved.hits[0].meta.doc_id == "juumin" and retrieved.relevant


async def test_a_question_with_lines_under_it_is_searched_by_its_words_only(
    retriever: Retriever, openai_fake: FakeOpenAIServer
) -> None:
    asked = len(openai_fake.embedding_requests)
    choices = "次のうち正しいものはどれですか\n粗大ごみは申込みが要る\n保育所は十月に受け付ける"
    retrieved = await retriever.retrieve(choices, SearchFilter())
    assert len(openai_fake.embedding_requests) == asked  # no embedding asked for
    assert {h.meta.doc_id for h in retrieved.hits} == {"gomi", "hoiku"}
    await retriever.retrieve("住民票の写しはどこで交付されますか", SearchFilter())
    assert len(openai_fake.embedding_requests) == asked + 1
