"""``WeaviateIndexStore`` against the in-memory stand-in: same answers as the embedded store.

The stand-in scores with Weaviate's BM25 (see ``tests/fakes/weaviate_memory.py``), so these
tests check what the store builds on top of it: per-field queries, fusion, the threshold bound,
boosts, version replacement, failure handling and timeouts. The failure-handling tests run a
second time through the real weaviate-client against the same stand-in behind the wire
protocol (``tests/fakes/weaviate_wire.py``), with the failures injected on the server side.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest
from fakes.weaviate_memory import FakeWeaviate
from fakes.weaviate_wire import WeaviateWireServer

from bot.sample import SAMPLE_DEFAULTS, sample_path
from knowledge.analysis import Analyzer, char_bigrams
from knowledge.chunking import chunk_sections
from knowledge.corpus import read_corpus
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import IndexUnavailable
from knowledge.index import Boost, IndexQuery, SearchFilter, Signal
from knowledge.migration import MigrationReport, copy_index
from knowledge.retrieval import GRAM_FIELDS, WORD_FIELDS, Retriever
from knowledge.weaviate_schema import collection_config
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

ANALYZER = Analyzer()
CONFIG = WeaviateConfig(url="http://weaviate.invalid:8080", connect_timeout=0.5, query_timeout=0.5)
QUESTIONS = [
    "住民監査請求をすることができるのは誰ですか",
    "普通地方公共団体の議会の議員の任期は何年ですか",
    "地方自治法第二百四十二条の内容を教えてください",
    "職員の懲戒処分にはどのような種類がありますか",
    "行政手続法の審査基準とは",
    "個人情報取扱事業者が個人データを第三者に提供するときの制限",
    "地方公務員の政治的行為の制限",
    "申請に対する処分の標準処理期間",
    "条例の制定又は改廃の請求",
    "副知事及び副市町村長の選任",
    "公の施設の指定管理者",
    "行政指導の一般原則",
]
LAWS = {
    "地方自治法",
    "地方自治法施行令",
    "地方公務員法",
    "行政手続法",
    "個人情報の保護に関する法律",
}


def doc(doc_id: str, *texts: str, title: str = "", **meta: object) -> Document:
    sections = [Section(text=t, position=f"第{i + 1}条") for i, t in enumerate(texts)]
    return Document(
        DocumentMeta(doc_id=doc_id, title=title or f"文書{doc_id}", dataset="テスト", **meta),  # type: ignore[arg-type]
        chunk_sections(doc_id, sections),
        content_hash("".join(texts)),
    )


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, FakeWeaviate]:
    """The sample's laws that the questions are about, in both stores (loaded once per
    module, in the same order and batches; the fake's BM25 is slow on the whole sample)."""
    documents = [d for d in read_corpus(sample_path(), SAMPLE_DEFAULTS) if d.meta.law_title in LAWS]
    path = tmp_path_factory.mktemp("pair") / "index.sqlite3"
    server = FakeWeaviate()

    async def load() -> None:
        embedded = EmbeddedIndexStore(path, ANALYZER)
        weaviate = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
        for start in range(0, len(documents), 200):
            await embedded.upsert_many(documents[start : start + 200])
            await weaviate.upsert_many(documents[start : start + 200])
        await embedded.close()
        await weaviate.close()

    asyncio.run(load())
    return path, server


@pytest.fixture
async def pair(
    loaded: tuple[Path, FakeWeaviate],
) -> AsyncIterator[tuple[EmbeddedIndexStore, WeaviateIndexStore, FakeWeaviate]]:
    path, server = loaded
    embedded = EmbeddedIndexStore(path, ANALYZER)
    weaviate = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    yield embedded, weaviate, server
    await embedded.close()
    await weaviate.close()


@dataclass
class Backend:
    """The stand-in's state and stores on it: in process, or over the wire (real client)."""

    server: FakeWeaviate
    wire: WeaviateWireServer | None = None
    opened: list[WeaviateIndexStore] = field(default_factory=list)

    def store(self) -> WeaviateIndexStore:
        if self.wire is None:
            made = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=self.server.client)
        else:
            made = WeaviateIndexStore(self.wire.config(connect_timeout=0.5), ANALYZER)
        self.opened.append(made)
        return made


@pytest.fixture(params=["memory", "wire"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    server = FakeWeaviate()
    wire = WeaviateWireServer(server) if request.param == "wire" else None
    if wire is not None:
        await wire.start()
    made = Backend(server, wire)
    yield made
    for store in made.opened:
        await store.close()
    if wire is not None:
        await wire.stop()


def ranking(hits: list) -> list[tuple[float, str]]:
    """Scores and chunks, best first; equal scores in chunk id order.

    The embedded store numbers chunks by document id when it loads an index and by insertion
    afterwards, so the order within exact ties is not comparable between the two stores.
    """
    return sorted((-round(h.score, 4), h.chunk.chunk_id) for h in hits)


def scores(hits: list) -> dict[str, float]:
    """Each hit's chunk and score, for comparing whole retrievals: the two stores add a
    question's signals in different orders and precisions (agreeing to about 1e-7), so a
    rounded score can fall either side of a rounding boundary."""
    return {h.chunk.chunk_id: h.score for h in hits}


async def test_retrieval_gives_the_embedded_answers(pair) -> None:
    embedded, weaviate, _ = pair
    assert await weaviate.count_chunks() == await embedded.count_chunks()
    assert await weaviate.law_titles(None) == await embedded.law_titles(None)
    for question in QUESTIONS:
        mine = await Retriever(weaviate, ANALYZER).retrieve(question, SearchFilter(), k=10)
        reference = await Retriever(embedded, ANALYZER).retrieve(question, SearchFilter(), k=10)
        assert scores(mine.hits) == pytest.approx(scores(reference.hits), abs=1e-6), question
        assert mine.relevant == reference.relevant
        assert [h.meta for h in mine.hits] == [h.meta for h in reference.hits]


async def test_small_windows_grow_until_the_bound_proves_the_top_k(pair) -> None:
    embedded, _, server = pair
    server.calls.clear()
    narrow = WeaviateIndexStore(
        CONFIG, ANALYZER, client_factory=server.client, first_window=3, max_window=5000
    )
    for question in QUESTIONS[:6]:
        words = Counter(ANALYZER.words(question, drop_stop_words=True))
        grams = Counter(char_bigrams(question))
        query = IndexQuery(
            (
                Signal({t: float(c) for t, c in words.items()}, WORD_FIELDS, 1.0),
                Signal({t: float(c) for t, c in grams.items()}, GRAM_FIELDS, 0.6),
            ),
            k=8,
            boosts=(Boost("322AC0000000067", 0.3),),
        )
        assert ranking(await narrow.search(query)) == ranking(await embedded.search(query))
    limits = {c.kwargs["limit"] for c in server.calls if c.method == "bm25"}
    assert {8, 32} <= limits  # the windows grew until the bound held
    await narrow.close()


async def test_article_lookups_and_term_stats_match(pair) -> None:
    embedded, weaviate, _ = pair
    query = IndexQuery(
        (Signal({"監査": 1.0}, {"words": 1.0}),),
        k=5,
        boosts=(Boost("322AC0000000067", 1.0, ("242",)), Boost("322AC0000000067", 0.3)),
    )
    assert ranking(await weaviate.search(query)) == ranking(await embedded.search(query))
    lookup_only = IndexQuery((), k=3, boosts=(Boost("325AC0000000261", 1.0, ("29",)),))
    assert ranking(await weaviate.search(lookup_only)) == ranking(
        await embedded.search(lookup_only)
    )
    terms = ["住民", "監査", "請求", "存在しない語"]
    everyone = SearchFilter()
    assert await weaviate.term_stats("words", terms, everyone) == await embedded.term_stats(
        "words", terms, everyone
    )
    assert await weaviate.term_stats("grams", ["監査"], everyone) == await embedded.term_stats(
        "grams", ["監査"], everyone
    )


async def test_filters_and_visibility_match_the_reference(tmp_path: Path) -> None:
    documents = [
        doc("s1", "公共施設の予約方法。", category="法令", published=date(2020, 4, 1)),
        doc("o1", "公共施設の予約は窓口で。", owner_org="1", visibility="organization"),
        doc("o2", "公共施設の予約は電話で。", owner_org="2", visibility="organization"),
        doc("s2", "公共施設の予約の取消し。", category="計画", published=date(2024, 4, 1)),
    ]
    embedded = EmbeddedIndexStore(tmp_path / "i.sqlite3", ANALYZER)
    weaviate = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=FakeWeaviate().client)
    await embedded.upsert_many(documents)
    await weaviate.upsert_many(documents)
    signal = Signal({t: 1.0 for t in ANALYZER.words("公共施設の予約")}, {"words": 1.0})
    for flt in (
        SearchFilter(),
        SearchFilter(viewer_org="1"),
        SearchFilter(viewer_org="2", owner_orgs=("2",)),
        SearchFilter(viewer_org="1", categories=("計画", "法令")),
        SearchFilter(published_from=date(2021, 1, 1)),
        SearchFilter(published_to=date(2021, 1, 1)),
        SearchFilter(viewer_org="1", doc_ids=("o1", "o2")),
    ):
        query = IndexQuery((signal,), flt, k=10)
        assert ranking(await weaviate.search(query)) == ranking(await embedded.search(query)), flt
    await embedded.close()
    await weaviate.close()


async def test_a_failed_upload_keeps_the_previous_version_and_removes_the_partial_one(
    backend: Backend,
) -> None:
    server = backend.server
    store = backend.store()
    await store.upsert(doc("a", "旧版の避難所規定。", "旧版の火災規定。"))
    server.reject = lambda props: "disk full" if "火災" in props["text"] else None
    with pytest.raises(IndexUnavailable) as failed:
        await store.upsert(doc("a", "新版の避難所規定。", "新版の火災規定。"))
    assert "could not be stored" in failed.value.detail
    stored = await store.get_document("a")
    assert stored is not None
    assert [c.text for c in stored.chunks] == ["旧版の避難所規定。", "旧版の火災規定。"]
    assert await store.count_chunks() == 2  # the new head chunk was removed again
    server.reject = None
    await store.upsert(doc("a", "新版の避難所規定。"))
    assert await store.count_chunks() == 1


async def test_transient_rejections_are_retried(backend: Backend) -> None:
    server = backend.server
    failures = iter([True, False])
    server.reject = lambda props: "busy" if props["ordinal"] == 1 and next(failures) else None
    store = backend.store()
    await store.upsert(doc("a", "一つ目。", "二つ目。", "三つ目。"))
    stored = await store.get_document("a")
    assert stored is not None and len(stored.chunks) == 3


async def test_interrupted_replacement_serves_the_complete_version(backend: Backend) -> None:
    server = backend.server
    store = backend.store()
    old = doc("a", "旧版一。", "旧版二。")
    await store.upsert(old)
    new = doc("a", "新版一。", "新版二。", "新版三。")
    server.reject = lambda props: "gone" if props["ordinal"] == 2 else None
    server.delete_cap = 0  # and the clean-up of the partial upload fails too
    with pytest.raises(IndexUnavailable):
        await store.upsert(new)
    server.reject, server.delete_cap = None, 10_000
    # Two versions are stored: the complete one is served, and no hash is reported, so
    # writing the document again (even unchanged) is not skipped and cleans up.
    assert await store.content_hash("a") is None
    assert await store.stored_generations(["a"]) == {}
    stored = await store.get_document("a")
    assert stored is not None and [c.text for c in stored.chunks] == ["旧版一。", "旧版二。"]
    await store.upsert(new)
    assert await store.content_hash("a") == new.content_hash
    assert await store.count_chunks() == 3


async def test_a_replacement_whose_clean_up_fails_is_still_written(backend: Backend) -> None:
    server = backend.server
    store = backend.store()
    await store.upsert(doc("a", "旧版一。", "旧版二。"))
    new = doc("a", "新版一。")
    server.refuse_deletes = True  # removing the replaced version fails
    await store.upsert(new)  # the new version is stored whole: no error to report
    server.refuse_deletes = False
    stored = await store.get_document("a")
    assert stored is not None and [c.text for c in stored.chunks] == ["新版一。"]
    assert await store.content_hash("a") is None  # the old version lingers
    await store.upsert(new)
    assert await store.content_hash("a") == new.content_hash
    assert await store.count_chunks() == 1


async def test_long_documents_are_read_in_pages_and_deleted_past_the_server_cap(
    monkeypatch: pytest.MonkeyPatch, backend: Backend
) -> None:
    monkeypatch.setattr("knowledge.weaviate_store.PAGE", 4)
    backend.server.delete_cap = 3
    store = backend.store()
    texts = [f"第{i}の規定。" for i in range(11)]
    await store.upsert(doc("long", *texts))
    stored = await store.get_document("long")
    assert stored is not None and [c.text for c in stored.chunks] == texts
    await store.upsert(doc("long", "短くなった。"))
    assert await store.count_chunks() == 1
    assert await store.delete("long") is True
    assert await store.count_chunks() == 0


async def test_unreachable_or_hanging_server_fails_fast_with_index_unavailable() -> None:
    server = FakeWeaviate(down=True)
    store = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    with pytest.raises(IndexUnavailable) as down:
        await store.search(IndexQuery((Signal({"住民": 1.0}, {"words": 1.0}),)))
    assert "connect failed" in down.value.detail and "weaviate.invalid:8080" in down.value.detail
    assert "検索基盤に接続できませんでした" in down.value.user_message
    server.down, server.hang = False, True
    with pytest.raises(IndexUnavailable) as hung:
        async with asyncio.timeout(30):  # the server hangs for good: only the timeouts end it
            await store.ping()
    assert "timed out" in hung.value.detail
    server.hang = False
    await store.ping()  # reconnects once the server is back
    assert server.connects == 3
    await store.close()


async def test_law_titles_are_cached_briefly_and_refreshed_by_own_writes() -> None:
    server = FakeWeaviate()
    store = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    await store.upsert(doc("law", "第一条の本文。", law_id="L1", law_title="テスト法"))
    assert await store.law_titles(None) == {"テスト法": "L1"}
    calls = len(server.calls)
    assert await store.law_titles(None) == {"テスト法": "L1"}
    assert len(server.calls) == calls  # served from the cache
    await store.delete("law")
    assert await store.law_titles(None) == {}
    await store.close()


async def test_concurrent_first_calls_connect_once() -> None:
    server = FakeWeaviate()
    store = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    await asyncio.gather(*(store.count_chunks() for _ in range(5)))
    assert server.connects == 1
    await store.close()


async def test_migration_copies_everything_once_and_resumes(tmp_path: Path) -> None:
    source = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    documents = [doc(f"d{i}", f"第{i}の規定。", f"第{i}の補足。") for i in range(7)]
    await source.upsert_many(documents)
    server = FakeWeaviate()
    target = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    seen: list[tuple[int, int]] = []
    first = await copy_index(source, target, batch_size=3, progress=lambda *p: seen.append(p))
    assert first == MigrationReport(total=7, copied=7, skipped=0)
    assert seen == [(0, 7), (3, 7), (6, 7), (7, 7)]
    assert await target.count_chunks() == 14
    assert await target.get_document("d3") == await source.get_document("d3")
    await source.upsert(doc("d3", "改正後の規定。"))
    again = await copy_index(source, target, batch_size=3)
    assert again == MigrationReport(total=7, copied=1, skipped=6)
    assert await target.count_chunks() == 13
    await source.close()
    await target.close()


async def test_a_collection_of_an_older_release_gains_the_citation_property() -> None:
    server = FakeWeaviate()
    older = server.client()
    await older.connect()
    config = collection_config(CONFIG.collection, replication_factor=1, shards=1)
    config["properties"] = [p for p in config["properties"] if p.name != "refs"]
    await older.collections.create(**config)
    await older.close()
    store = WeaviateIndexStore(CONFIG, ANALYZER, client_factory=server.client)
    try:
        await store.upsert(doc("seirei", "法第一条の政令で定める事項は、次のとおりとする。"))
        citing = IndexQuery([Signal({"法:1": 1.0}, {"refs": 1.0})], SearchFilter(), k=5)
        assert [h.meta.doc_id for h in await store.search(citing)] == ["seirei"]
    finally:
        await store.close()
    added = [c for c in server.calls if c.method == "config.add_property"]
    assert [c.kwargs["prop"].name for c in added] == ["refs"]
    assert server.collections[CONFIG.collection].schema.tokenization["refs"] == "whitespace"


async def test_the_wire_server_receives_the_clients_rest_and_grpc_requests() -> None:
    wire = WeaviateWireServer()
    await wire.start()
    store = WeaviateIndexStore(wire.config(), ANALYZER)
    try:
        await store.upsert(doc("a", "避難所の開設。", law_id="L1", law_title="災害対策基本法"))
        words = dict.fromkeys(ANALYZER.words("避難所"), 1.0)
        found = await store.search(IndexQuery((Signal(words, {"words": 1.0}),)))
        assert [h.meta.doc_id for h in found] == ["a"]
        assert await store.law_titles(None) == {"災害対策基本法": "L1"}
        assert await store.delete("a") is True
    finally:
        await store.close()
        await wire.stop()
    assert wire.rest_calls()[:3] == [
        "GET /v1/meta",
        "GET /v1/schema/BaibainChunk",
        "POST /v1/schema",
    ]
    created = wire.received[2].body
    assert created["invertedIndexConfig"]["stopwords"]["preset"] == "none"
    assert set(wire.grpc_methods()) == {"Search", "BatchObjects", "Aggregate", "BatchDelete"}
    assert wire.state.collections["BaibainChunk"].objects == {}
