"""The Weaviate collection and queries, pinned through weaviate-client's own objects.

No Weaviate server runs here, so these tests fix what the store sends: the collection
configuration as the client serializes it for ``POST /v1/schema``, the filters as the client
converts them to gRPC, and the arguments of every query.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fakes.weaviate_memory import FakeWeaviate
from weaviate.classes.query import Filter, MetadataQuery
from weaviate.collections.classes.config import _CollectionConfigCreate
from weaviate.collections.filters import _FilterToGRPC

from bot.services import open_index
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.index import Boost, IndexQuery, SearchFilter, Signal
from knowledge.terms import chunk_terms
from knowledge.weaviate_client import WeaviateConfig, make_client
from knowledge.weaviate_objects import (
    chunk_properties,
    document_generation,
    meta_from_properties,
    object_uuid,
)
from knowledge.weaviate_schema import (
    collection_config,
    dense_query,
    field_query,
    law_titles_args,
    query_text,
    search_filter,
    term_count_filter,
    visibility_filter,
)
from knowledge.weaviate_store import WeaviateIndexStore

ANALYZER = Analyzer()


def grpc(flt: Any) -> Any:
    """The filter as the client sends it (protobuf messages compare by value)."""
    return _FilterToGRPC.convert(flt)


# -- the collection -----------------------------------------------------------------------


def test_collection_configuration_is_pinned() -> None:
    sent = _CollectionConfigCreate(
        **collection_config("BaibainChunk", replication_factor=3, shards=2)
    )._to_dict()
    properties = sent.pop("properties")
    assert sent == {
        "class": "BaibainChunk",
        "description": "Baibain chunks: pre-tokenized text, citation fields and filter metadata",
        "invertedIndexConfig": {
            "bm25": {"b": 0.75, "k1": 0.9},
            "stopwords": {"preset": "none"},
        },
        "replicationConfig": {"factor": 3},
        "shardingConfig": {
            "desiredCount": 2,
            "key": "_id",
            "strategy": "hash",
            "function": "murmur3",
        },
        "vectorConfig": {
            "default": {
                "vectorizer": {"none": {}},
                "vectorIndexType": "hnsw",
                "vectorIndexConfig": {"distance": "cosine"},
            }
        },
    }
    # name: (data type, tokenization, searchable, filterable, range filters)
    table = {
        p["name"]: (
            p["dataType"][0],
            p.get("tokenization"),
            p.get("indexSearchable"),
            p.get("indexFilterable"),
            p.get("indexRangeFilters"),
        )
        for p in properties
    }
    searchable = ("text", "whitespace", True, True, None)
    keyword = ("text", "field", False, True, None)
    stored = ("text", "field", False, False, None)
    assert table == {
        "words": searchable,
        "title_words": searchable,
        "grams": searchable,
        "refs": searchable,
        "text": stored,
        "heading": stored,
        "position": stored,
        "doc_title": stored,
        "publisher": stored,
        "license": stored,
        "source_url": stored,
        "content_hash": stored,
        "doc_id": keyword,
        "chunk_id": keyword,
        "owner_org": keyword,
        "visibility": keyword,
        "dataset": keyword,
        "category": keyword,
        "law_id": keyword,
        "law_title": keyword,
        "article": keyword,
        "version": keyword,
        "generation": keyword,
        "vector_model": keyword,
        "published": ("date", None, None, True, True),
        "ordinal": ("int", None, None, True, True),
        "head": ("boolean", None, None, True, None),
        "seq": ("int", None, None, False, None),
        "chunk_count": ("int", None, None, False, None),
    }
    assert not any("moduleConfig" in p for p in properties)  # no server-side vectorizer


def test_settings_reach_the_client_and_the_collection() -> None:
    settings = Settings(
        index="weaviate",
        weaviate_url="https://weaviate.example.lg.jp:8443",
        weaviate_api_key="wv-secret",  # type: ignore[arg-type]
        weaviate_grpc_port=50052,
        weaviate_collection="Chunks",
        weaviate_replication_factor=3,
        weaviate_shards=2,
        weaviate_connect_timeout_s=2,
        weaviate_timeout_s=7,
        weaviate_insert_timeout_s=40,
    )
    store = open_index(settings, ANALYZER, database="database-a")
    assert isinstance(store, WeaviateIndexStore)
    assert store.config == WeaviateConfig(
        url="https://weaviate.example.lg.jp:8443",
        api_key="wv-secret",
        grpc_port=50052,
        collection="Chunks",
        replication_factor=3,
        shards=2,
        connect_timeout=2,
        query_timeout=7,
        insert_timeout=40,
    )
    assert "wv-secret" not in repr(store.config)
    connection = make_client(store.config)._connection
    assert (connection._connection_params.http.host, connection._connection_params.http.port) == (
        "weaviate.example.lg.jp",
        8443,
    )
    assert connection._connection_params.http.secure and connection._connection_params.grpc.secure
    assert connection._connection_params.grpc.port == 50052
    assert (connection.timeout_config.init, connection.timeout_config.query) == (2, 7)
    assert connection.timeout_config.insert == 40
    assert connection._skip_init_checks is True  # starting never waits for the server
    assert connection._headers["authorization"] == "Bearer wv-secret"


async def test_the_collection_is_created_once_with_the_configured_replication() -> None:
    server = FakeWeaviate()
    config = WeaviateConfig(url="http://w:8080", replication_factor=3)
    first = WeaviateIndexStore(config, ANALYZER, client_factory=server.client)
    second = WeaviateIndexStore(config, ANALYZER, client_factory=server.client)
    assert await first.count_chunks() == 0 and await second.count_chunks() == 0
    created = [c for c in server.calls if c.method == "create"]
    assert len(created) == 1
    assert created[0].kwargs == collection_config("BaibainChunk", replication_factor=3, shards=1)
    await first.close()
    await second.close()


# -- filters ------------------------------------------------------------------------------


def test_visibility_filter_is_shared_or_own_organization() -> None:
    shared = Filter.by_property("visibility").equal("shared")
    assert grpc(visibility_filter(None)) == grpc(shared)
    assert grpc(visibility_filter("42")) == grpc(
        Filter.any_of([shared, Filter.by_property("owner_org").equal("42")])
    )


def test_search_filter_is_pinned() -> None:
    flt = SearchFilter(
        viewer_org="42",
        categories=("法令", "計画"),
        datasets=("例規集",),
        owner_orgs=("42",),
        law_ids=("322AC0000000067",),
        doc_ids=("d1", "d2"),
        published_from=date(2020, 4, 1),
        published_to=date(2024, 3, 31),
    )
    expected = Filter.all_of(
        [
            Filter.any_of(
                [
                    Filter.by_property("visibility").equal("shared"),
                    Filter.by_property("owner_org").equal("42"),
                ]
            ),
            Filter.by_property("category").contains_any(["法令", "計画"]),
            Filter.by_property("dataset").contains_any(["例規集"]),
            Filter.by_property("owner_org").contains_any(["42"]),
            Filter.by_property("law_id").contains_any(["322AC0000000067"]),
            Filter.by_property("doc_id").contains_any(["d1", "d2"]),
            Filter.by_property("published").greater_or_equal(datetime(2020, 4, 1, tzinfo=UTC)),
            Filter.by_property("published").less_or_equal(datetime(2024, 3, 31, tzinfo=UTC)),
        ]
    )
    assert grpc(search_filter(flt)) == grpc(expected)


def _meta(
    visibility: str, owner: str | None, category: str, published: date | None
) -> DocumentMeta:
    return DocumentMeta(
        doc_id=f"{visibility}-{owner}-{category}-{published}",
        title="t",
        dataset="ds",
        owner_org=owner,
        visibility=visibility,  # type: ignore[arg-type]
        category=category,
        published=published,
        law_id="L1" if category == "法令" else "",
    )


async def test_search_filter_agrees_with_the_reference_semantics() -> None:
    """For every combination, the Weaviate filter admits exactly what ``allows`` admits."""
    server = FakeWeaviate()
    store = WeaviateIndexStore(
        WeaviateConfig(url="http://w:8080"), ANALYZER, client_factory=server.client
    )
    await store.count_chunks()  # creates the collection
    collection = server.client().collections.use("BaibainChunk")
    metas = [
        _meta(v, o, c, p)
        for v, o, c, p in itertools.product(
            ("shared", "organization"),
            (None, "1", "2"),
            ("法令", "計画"),
            (None, date(2019, 1, 1), date(2023, 6, 1)),
        )
    ]
    filters = [
        SearchFilter(viewer_org=viewer, **extra)
        for viewer in (None, "1", "2")
        for extra in (
            {},
            {"categories": ("計画",)},
            {"owner_orgs": ("1",)},
            {"law_ids": ("L1",)},
            {"datasets": ("ds", "other")},
            {"published_from": date(2020, 1, 1)},
            {"published_to": date(2020, 1, 1)},
            {"published_from": date(2019, 1, 1), "published_to": date(2023, 6, 1)},
        )
    ]
    for meta in metas:
        document = Document(meta, chunk_sections(meta.doc_id, [Section("本文。")]), "h")
        props = chunk_properties(
            document, chunk_terms(document, ANALYZER)[0], generation="g", seq=1, head=True
        )
        assert meta_from_properties(props) == meta
        for flt in filters:
            admitted = collection.matches(
                search_filter(flt), "00000000-0000-0000-0000-000000000000", props
            )
            assert admitted == flt.allows(meta), (meta, flt)
    await store.close()


# -- queries ------------------------------------------------------------------------------


def test_query_text_repeats_terms_by_weight() -> None:
    assert query_text({"監査": 1.0, "請求": 2.0}) == "監査 請求 請求"
    # Thesaurus words at half weight: everything is scaled by the smallest weight.
    assert query_text({"監査": 1.0, "住民": 0.5}) == "監査 監査 住民"
    assert query_text({"監査": 1.0, "空白 入り": 3.0, "": 1.0, "零": 0.0}) == "監査"
    assert query_text({"a": 1.0, "b": 100.0}) == "a " + " ".join(["b"] * 16)
    assert query_text({}) == ""


def test_bm25_and_near_vector_arguments_are_pinned() -> None:
    where = visibility_filter("42")
    bm25 = field_query("監査 請求", "title_words", where, 160)
    assert bm25.method == "bm25"
    assert bm25.kwargs == {
        "query": "監査 請求",
        "query_properties": ["title_words"],
        "filters": where,
        "limit": 160,
        "return_metadata": MetadataQuery(score=True),
        "return_properties": ["seq", "law_id", "doc_id"],
    }
    nearest = dense_query((0.6, 0.8), "text-embedding-3-small", where, 100)
    assert nearest.method == "near_vector"
    sent = dict(nearest.kwargs)
    assert grpc(sent.pop("filters")) == grpc(
        Filter.all_of([where, Filter.by_property("vector_model").equal("text-embedding-3-small")])
    )
    assert sent == {
        "near_vector": [0.6, 0.8],
        "limit": 100,
        "return_metadata": MetadataQuery(distance=True),
        "return_properties": ["seq", "law_id", "doc_id"],
    }


def test_term_statistics_and_law_title_queries_are_pinned() -> None:
    assert grpc(term_count_filter("words", "監査")) == grpc(
        Filter.by_property("words").contains_any(["監査"])
    )
    args = law_titles_args(1000, "org-1")
    assert grpc(args.pop("filters")) == grpc(
        Filter.all_of([Filter.by_property("head").equal(True), visibility_filter("org-1")])
    )
    assert args["group_by"].prop == "law_title" and args["group_by"].limit == 1000
    assert args["return_metrics"].property_name == "law_id"
    assert args["return_metrics"].top_occurrences_value and args["return_metrics"].limit == 1
    assert args["return_metrics"].to_grpc().text.top_occurences  # else none come back
    assert args["total_count"] is False


def _document(doc_id: str = "d1", **meta: Any) -> Document:
    sections = [
        Section("第二百四十二条の二第一項の規定による住民監査請求。", position="第二百四十二条"),
        Section("附則の規定。", position="附則第一条"),
    ]
    return Document(
        DocumentMeta(
            doc_id=doc_id,
            title="地方自治法",
            dataset="法令",
            law_id="L1",
            law_title="地方自治法",
            **meta,
        ),
        chunk_sections(doc_id, sections),
        content_hash("x"),
    )


def test_objects_carry_the_embedded_tokens_and_deterministic_ids() -> None:
    document = _document()
    terms = chunk_terms(document, ANALYZER)
    generation = document_generation(document)
    props = chunk_properties(document, terms[0], generation=generation, seq=7, head=True)
    text_words = ANALYZER.words("第二百四十二条の二第一項の規定による住民監査請求。")
    title_words = ANALYZER.words("地方自治法 ")
    # The title line counts (twice) as part of the passage, and also has a field of its own.
    assert terms[0].words == text_words + title_words * 2
    assert props["words"] == " ".join(terms[0].words)
    assert props["title_words"] == " ".join(title_words)
    assert props["grams"].endswith("監査 査請 請求 地方 方自 自治 治法")
    assert props["refs"] == "地方自治法:242-2 地方自治法:242-2/1"
    assert props["article"] == "242"
    assert "article" not in chunk_properties(
        document, terms[1], generation=generation, seq=8, head=False
    )
    assert "owner_org" not in props and "published" not in props  # nulls are left out
    # The same version gets the same ids; any change of text or metadata gets new ones.
    assert document_generation(_document()) == generation
    assert document_generation(_document(visibility="organization")) != generation
    first = object_uuid("d1", document.chunks[0].chunk_id, generation)
    assert first == object_uuid("d1", document.chunks[0].chunk_id, generation)
    assert first != object_uuid("d1", document.chunks[0].chunk_id, "other")


async def test_every_search_query_carries_the_visibility_filter() -> None:
    server = FakeWeaviate()
    store = WeaviateIndexStore(
        WeaviateConfig(url="http://w:8080"), ANALYZER, client_factory=server.client
    )
    await store.upsert_many(
        [_document("d1"), _document("d2", owner_org="9", visibility="organization")]
    )
    server.calls.clear()
    query = IndexQuery(
        (
            Signal({"監査": 1.0, "請求": 1.0}, {"words": 1.0, "title": 0.6}),
            Signal({"監査": 1.0}, {"grams": 1.0}, 0.6),
        ),
        SearchFilter(viewer_org="42"),
        k=5,
        boosts=(Boost("L1", 1.0, ("242",)), Boost("L1", 0.3)),
    )
    hits = await store.search(query)
    assert [h.meta.doc_id for h in hits] == ["d1"]
    visibility = grpc(visibility_filter("42"))
    assert server.calls, "the search made no calls"
    for call in server.calls:
        sent = grpc(call.kwargs["filters"])
        conjuncts = list(sent.filters) if sent.operator == sent.OPERATOR_AND else [sent]
        assert visibility in conjuncts, call
    lists = [c for c in server.calls if c.method == "bm25" and c.kwargs["limit"] == 100]
    assert [c.kwargs["query_properties"] for c in lists] == [["words"], ["title_words"], ["grams"]]
    assert [c.kwargs["query"] for c in lists] == ["監査 請求", "監査 請求", "監査"]
    await store.close()


@pytest.mark.parametrize("field", ["words", "title", "grams"])
async def test_term_stats_count_per_field(field: str) -> None:
    server = FakeWeaviate()
    store = WeaviateIndexStore(
        WeaviateConfig(url="http://w:8080"), ANALYZER, client_factory=server.client
    )
    await store.upsert(_document())
    server.calls.clear()
    stats = await store.term_stats(field, ["監査"], SearchFilter(viewer_org="7"))
    assert stats.n_docs == 2
    prop = {"words": "words", "title": "title_words", "grams": "grams"}[field]
    counted = [grpc(c.kwargs["filters"]) for c in server.calls if c.kwargs.get("filters")]
    visible = search_filter(SearchFilter(viewer_org="7"))
    term = Filter.by_property(prop).contains_any(["監査"])
    # Only what the asker may see counts, the chunks and the term's document frequency alike.
    assert counted == [grpc(visible), grpc(visible & term)]
    await store.close()


def test_an_object_without_a_visibility_is_read_as_no_one_elses() -> None:
    # Every object Baibain writes is marked; one that is not (written by hand, a half-applied
    # migration) is not shown to other organizations, as the embedded store refuses it too.
    props = {"doc_id": "d", "doc_title": "内部資料", "dataset": "ds", "owner_org": "1"}
    meta = meta_from_properties(props)
    assert meta.visibility == "organization"
    assert not SearchFilter(viewer_org="2").allows(meta)
    assert SearchFilter(viewer_org="1").allows(meta)
