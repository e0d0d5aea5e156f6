"""The ``IndexStore`` contract, run against every implementation."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path

import pytest
from fakes.weaviate_memory import FakeWeaviate
from fakes.weaviate_wire import WeaviateWireServer

from knowledge.analysis import Analyzer, char_bigrams
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import BadDocument
from knowledge.index import IndexQuery, IndexStore, SearchFilter, Signal, TermStats
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

ANALYZER = Analyzer()
StoreFactory = Callable[[], IndexStore]


def doc(
    doc_id: str,
    *texts: str,
    owner: str | None = None,
    visibility: str = "shared",
    category: str = "法令",
    published: date | None = None,
    law: tuple[str, str] | None = None,
) -> Document:
    law_id, law_title = law or ("", "")
    meta = DocumentMeta(
        doc_id=doc_id,
        title=f"文書{doc_id}",
        dataset="テスト",
        owner_org=owner,
        visibility=visibility,  # type: ignore[arg-type]
        category=category,
        published=published,
        law_id=law_id,
        law_title=law_title,
    )
    sections = [Section(text=t, position=f"第{i + 1}条") for i, t in enumerate(texts)]
    return Document(meta, chunk_sections(doc_id, sections), content_hash("".join(texts)))


def query(text: str, flt: SearchFilter | None = None, k: int = 10) -> IndexQuery:
    words = {t: 1.0 for t in ANALYZER.words(text, drop_stop_words=True)}
    grams = {g: 1.0 for g in char_bigrams(text)}
    return IndexQuery(
        signals=(
            Signal(words, {"words": 1.0, "title": 0.5}),
            Signal(grams, {"grams": 1.0}, 0.5),
        ),
        filter=flt or SearchFilter(),
        k=k,
    )


def embedded_factory(tmp_path: Path) -> StoreFactory:
    return lambda: EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)


async def weaviate_factory() -> AsyncIterator[StoreFactory]:
    """Stores on a fresh collection of the server at ``BAIBAIN_TEST_WEAVIATE_URL``."""
    url = os.environ.get("BAIBAIN_TEST_WEAVIATE_URL", "")
    if not url:
        pytest.skip("Weaviate contract tests need BAIBAIN_TEST_WEAVIATE_URL (no server here)")
    config = WeaviateConfig(
        url=url,
        api_key=os.environ.get("BAIBAIN_TEST_WEAVIATE_API_KEY") or None,
        grpc_port=int(os.environ.get("BAIBAIN_TEST_WEAVIATE_GRPC_PORT", "50051")),
        collection=f"BaibainTest{uuid.uuid4().hex[:12]}",
    )
    yield lambda: WeaviateIndexStore(config, ANALYZER)
    cleanup = WeaviateIndexStore(config, ANALYZER)
    await cleanup.drop_collection()


async def weaviate_memory_factory() -> AsyncIterator[StoreFactory]:
    """Stores on the in-memory stand-in for weaviate-client (orchestration, not the server)."""
    server = FakeWeaviate()
    config = WeaviateConfig(url="http://weaviate.invalid:8080")
    yield lambda: WeaviateIndexStore(config, ANALYZER, client_factory=server.client)


async def weaviate_wire_factory() -> AsyncIterator[StoreFactory]:
    """Stores using the real weaviate-client over HTTP and gRPC, against the in-process
    server of ``fakes.weaviate_wire`` (the memory fake's semantics behind the wire protocol)."""
    server = WeaviateWireServer()
    await server.start()
    try:
        yield lambda: WeaviateIndexStore(server.config(), ANALYZER)
    finally:
        await server.stop()


STORES = {
    "weaviate": weaviate_factory,
    "weaviate-memory": weaviate_memory_factory,
    "weaviate-wire": weaviate_wire_factory,
}


@pytest.fixture(params=["embedded", *STORES])
async def factory(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    if request.param == "embedded":
        yield embedded_factory(tmp_path)
        return
    stores = STORES[request.param]
    async for made in stores():
        yield made


@pytest.fixture
async def store(factory: StoreFactory) -> AsyncIterator[IndexStore]:
    opened = factory()
    yield opened
    await opened.close()


async def ids(store: IndexStore, q: IndexQuery) -> list[str]:
    return [h.meta.doc_id for h in await store.search(q)]


async def test_best_match_first_and_no_zero_scores(store: IndexStore) -> None:
    await store.upsert_many(
        [
            doc("a", "避難所の開設は市長が行う。"),
            doc("b", "火災を発見した者は消防署に通報しなければならない。"),
            doc("c", "図書館の開館時間は条例で定める。"),
        ]
    )
    assert await ids(store, query("火災を見つけたら通報")) == ["b"]


async def test_upsert_is_idempotent_and_replaces_shrunk_documents(store: IndexStore) -> None:
    await store.upsert(doc("a", "古い避難所の規定。", "古い火災の規定。"))
    await store.upsert(doc("a", "新しい避難所の規定。"))
    await store.upsert(doc("a", "新しい避難所の規定。"))
    stored = await store.get_document("a")
    assert stored is not None and [c.text for c in stored.chunks] == ["新しい避難所の規定。"]
    assert await store.count_chunks() == 1
    assert await ids(store, query("火災")) == []
    assert await store.content_hash("a") == content_hash("新しい避難所の規定。")


async def test_delete_removes_every_chunk(store: IndexStore) -> None:
    await store.upsert(doc("a", "避難所の規定。", "避難所の運営。"))
    assert await store.delete("a") is True
    assert await store.delete("a") is False
    assert await ids(store, query("避難所")) == []
    assert await store.get_document("a") is None


async def test_visibility_organization_documents_stay_with_their_owner(store: IndexStore) -> None:
    await store.upsert_many(
        [
            doc("shared", "公共施設の予約方法。"),
            doc("mine", "公共施設の予約は窓口で受け付ける。", owner="1", visibility="organization"),
        ]
    )
    assert set(await ids(store, query("公共施設の予約", SearchFilter(viewer_org="1")))) == {
        "shared",
        "mine",
    }
    assert await ids(store, query("公共施設の予約", SearchFilter(viewer_org="2"))) == ["shared"]
    assert await ids(store, query("公共施設の予約", SearchFilter())) == ["shared"]


async def test_law_titles_of_organization_documents_stay_with_their_owner(
    store: IndexStore,
) -> None:
    await store.upsert_many(
        [
            doc("act", "市町村に議会を置く。", law=("L1", "地方自治法")),
            doc(
                "rule",
                "窓口の受付時間。",
                owner="1",
                visibility="organization",
                law=("R1", "甲市規則"),
            ),
        ]
    )
    assert await store.law_titles("1") == {"地方自治法": "L1", "甲市規則": "R1"}
    assert await store.law_titles("2") == {"地方自治法": "L1"}
    assert await store.law_titles(None) == {"地方自治法": "L1"}
    await store.delete("rule")
    assert await store.law_titles("1") == {"地方自治法": "L1"}


async def test_term_statistics_count_only_what_the_asker_may_see(store: IndexStore) -> None:
    await store.upsert_many(
        [
            doc("shared", "公共施設の予約方法。"),
            doc("theirs", "極秘の再開発計画と公共施設。", owner="1", visibility="organization"),
        ]
    )
    terms = ["公共", "再開発"]
    owner = await store.term_stats("words", terms, SearchFilter(viewer_org="1"))
    other = await store.term_stats("words", terms, SearchFilter(viewer_org="2"))
    assert (owner.n_docs, owner.df) == (2, {"公共": 2, "再開発": 1})
    # Another organization's private chunks must not tell anyone that a word exists.
    assert (other.n_docs, other.df) == (1, {"公共": 1, "再開発": 0})
    assert await store.term_stats("words", terms, SearchFilter(categories=("条例",))) == (
        TermStats(n_docs=0, df={"公共": 0, "再開発": 0})
    )


async def test_filters_on_metadata(store: IndexStore) -> None:
    await store.upsert_many(
        [
            doc("law", "補助金の交付。", category="法令", published=date(2020, 4, 1)),
            doc("plan", "補助金の計画。", category="計画", published=date(2024, 4, 1)),
        ]
    )
    assert await ids(store, query("補助金", SearchFilter(categories=("計画",)))) == ["plan"]
    since_2023 = SearchFilter(published_from=date(2023, 1, 1))
    assert await ids(store, query("補助金", since_2023)) == ["plan"]
    assert await ids(store, query("補助金", SearchFilter(doc_ids=("law",)))) == ["law"]


async def test_a_document_with_many_matching_chunks_is_one_result(store: IndexStore) -> None:
    long_article = [f"住民票の写しの交付の請求は、第{i}号の様式による。" for i in range(1, 9)]
    await store.upsert_many([doc("long", *long_article), doc("short", "住民票の交付は窓口で。")])
    assert sorted(await ids(store, query("住民票の交付の請求", k=2))) == ["long", "short"]


async def test_hits_carry_the_words_of_their_text_and_title(store: IndexStore) -> None:
    await store.upsert(doc("a", "避難所の開設は市長が行う。"))
    [hit] = await store.search(query("避難所"))
    expected = ANALYZER.words("避難所の開設は市長が行う。") + ANALYZER.words("文書a")
    assert {"開設", "市長", "文書"} <= set(expected) and hit.words == set(expected)


async def test_k_limits_results(store: IndexStore) -> None:
    await store.upsert_many([doc(str(i), f"住民票の写しの交付{i}。") for i in range(20)])
    assert len(await store.search(query("住民票", k=5))) == 5


async def test_writes_of_another_instance_become_visible(factory: StoreFactory) -> None:
    reader, writer = factory(), factory()
    try:
        assert await ids(reader, query("避難所")) == []
        await writer.upsert(doc("a", "指定避難所の指定。"))
        assert await ids(reader, query("避難所")) == ["a"]
        await writer.delete("a")
        assert await ids(reader, query("避難所")) == []
    finally:
        await reader.close()
        await writer.close()


async def test_reopened_store_keeps_its_documents(factory: StoreFactory) -> None:
    first = factory()
    await first.upsert(doc("a", "指定避難所の指定。"))
    await first.close()
    second = factory()
    try:
        assert await ids(second, query("避難所")) == ["a"]
    finally:
        await second.close()


async def test_a_range_of_chunks_is_read_without_the_rest(store: IndexStore) -> None:
    await store.upsert(doc("a", *(f"第{n}項の規定。" for n in range(6))))
    await store.upsert(doc("b", "別の文書。"))
    middle, start, end, missing, other = await store.get_chunks(
        [("a", 2, 4), ("a", -2, 0), ("a", 5, 9), ("missing", 0, 3), ("b", 0, 0)]
    )
    assert [(c.ordinal, c.text) for c in middle] == [(n, f"第{n}項の規定。") for n in (2, 3, 4)]
    assert [c.ordinal for c in start] == [0] and [c.ordinal for c in end] == [5]
    assert missing == [] and [c.text for c in other] == ["別の文書。"]


async def test_failed_batch_leaves_previous_version(store: IndexStore) -> None:
    await store.upsert(doc("a", "旧版の避難所規定。"))
    good = doc("a", "新版の避難所規定。")
    # Two documents claiming the same chunk id make the batch fail inside the transaction.
    clash = Document(good.meta.__class__(**{**good.meta.__dict__, "doc_id": "b"}), good.chunks)
    with pytest.raises(BadDocument):
        await store.upsert_many([good, clash])
    stored = await store.get_document("a")
    assert stored is not None and stored.chunks[0].text == "旧版の避難所規定。"
    assert await ids(store, query("旧版")) == ["a"]
    assert await store.get_document("b") is None


async def test_a_failed_batch_of_several_keeps_the_batches_before_it(store: IndexStore) -> None:
    good = doc("a", "新版の避難所規定。")
    clash = Document(good.meta.__class__(**{**good.meta.__dict__, "doc_id": "b"}), good.chunks)
    first = [doc(f"first{i}", f"第{i}号の避難所の指定。") for i in range(3)]
    reported: list[int] = []

    async def written(done: int) -> None:
        reported.append(done)

    with pytest.raises(BadDocument):
        await store.upsert_batches([first, [good, clash], [doc("last", "避難所。")]], written)
    assert reported == [3]
    assert sorted(await ids(store, query("避難所"))) == ["first0", "first1", "first2"]
    # The store is usable afterwards, and batches after a good one are written in order.
    await store.upsert_batches([[doc("x", "指定避難所。")], [doc("y", "避難所の開設。")]])
    assert {"x", "y"} <= set(await ids(store, query("避難所")))
