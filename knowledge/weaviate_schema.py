"""The Weaviate collection behind ``WeaviateIndexStore``: its configuration, filters and queries.

Everything here is pure (no I/O) so that tests can pin the exact configuration objects and query
arguments that the store hands to weaviate-client.

One collection holds every chunk of every organization (a shared pool, not one tenant per
organization): shared datasets must be found by everyone in a single ranked query, which
tenants would turn into a fan-out with per-tenant BM25 statistics. Isolation comes from the
visibility filter that ``search_filter`` puts on every query.

The searchable properties hold the tokens that ``knowledge.terms`` computes for the
embedded store, space-joined and indexed with whitespace tokenization, so both stores run BM25
over identical terms; stop words are disabled and k1/b match the embedded index. Chunk vectors
are self-provided (the embedder of ``knowledge.embeddings``) and each object with a vector names
its model in ``vector_model``, so a question is compared only with vectors of its own model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from weaviate.classes.aggregate import GroupByAggregate
from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    StopwordsPreset,
    Tokenization,
    VectorDistances,
)
from weaviate.classes.query import Filter, MetadataQuery, Metrics, Sort
from weaviate.collections.classes.filters import _Filters

from knowledge.index import SearchFilter
from knowledge.lexical import K1, B

DEFAULT_COLLECTION = "BaibainChunk"
# Index field of the ``IndexStore`` protocol → searchable Weaviate property.
FIELD_PROPERTIES = {"words": "words", "title": "title_words", "grams": "grams", "refs": "refs"}
# The embedding model of an object's vector (objects without a vector have none).
VECTOR_MODEL = "vector_model"
# Query terms are repeated to carry their weight (Weaviate multiplies a term's idf by its
# number of occurrences in the query); the repetition is capped to keep queries small.
MAX_TERM_REPEAT = 16
# Returned with every lexical candidate: enough to fuse, boost and break ties.
CANDIDATE_PROPERTIES = ("seq", "law_id", "doc_id")
# Returned for the document head (first chunk), which carries the document's metadata.
META_PROPERTIES = (
    "doc_id",
    "doc_title",
    "dataset",
    "owner_org",
    "visibility",
    "publisher",
    "category",
    "license",
    "source_url",
    "published",
    "law_id",
    "law_title",
    "version",
)
CHUNK_PROPERTIES = ("doc_id", "chunk_id", "ordinal", "text", "heading", "position")
HEAD_PROPERTIES = (*META_PROPERTIES, "content_hash", "generation", "chunk_count", "seq")
PASSAGE_PROPERTIES = tuple(dict.fromkeys((*META_PROPERTIES, *CHUNK_PROPERTIES)))
# Search hits carry their indexed words too (the relevance check reads them).
HIT_PROPERTIES = (*PASSAGE_PROPERTIES, "words")


def _searchable(name: str, description: str) -> Property:
    # Filterable too: ``term_stats`` counts documents per term with a ``contains_any`` filter.
    return Property(
        name=name,
        data_type=DataType.TEXT,
        description=description,
        tokenization=Tokenization.WHITESPACE,
        index_searchable=True,
        index_filterable=True,
    )


def _keyword(name: str, *, filterable: bool = True) -> Property:
    # Exact-match metadata: the whole value is one token, never BM25-searched.
    return Property(
        name=name,
        data_type=DataType.TEXT,
        tokenization=Tokenization.FIELD,
        index_searchable=False,
        index_filterable=filterable,
    )


def _stored(name: str, data_type: DataType = DataType.TEXT) -> Property:
    # Returned with results, never searched or filtered.
    if data_type == DataType.TEXT:
        return Property(
            name=name,
            data_type=data_type,
            tokenization=Tokenization.FIELD,
            index_searchable=False,
            index_filterable=False,
        )
    return Property(name=name, data_type=data_type, index_filterable=False)


PROPERTIES: tuple[Property, ...] = (
    _searchable("words", "Sudachi terms of the chunk text"),
    _searchable("title_words", "Sudachi terms of the document title and chunk heading"),
    _searchable("grams", "character bigrams of the chunk text"),
    _searchable("refs", "citation keys of the articles the chunk cites"),
    _stored("text"),
    _stored("heading"),
    _stored("position"),
    _stored("doc_title"),
    _stored("publisher"),
    _stored("license"),
    _stored("source_url"),
    _stored("content_hash"),
    _keyword("doc_id"),
    _keyword("chunk_id"),
    _keyword("owner_org"),
    _keyword("visibility"),
    _keyword("dataset"),
    _keyword("category"),
    _keyword("law_id"),
    _keyword("law_title"),
    _keyword("article"),
    _keyword("version"),
    _keyword("generation"),
    _keyword(VECTOR_MODEL),
    Property(
        name="published", data_type=DataType.DATE, index_filterable=True, index_range_filters=True
    ),
    Property(
        name="ordinal", data_type=DataType.INT, index_filterable=True, index_range_filters=True
    ),
    Property(name="head", data_type=DataType.BOOL, index_filterable=True),
    _stored("seq", DataType.INT),
    _stored("chunk_count", DataType.INT),
)


def collection_config(
    name: str = DEFAULT_COLLECTION, *, replication_factor: int = 1, shards: int = 1
) -> dict[str, Any]:
    """Keyword arguments for ``client.collections.create``.

    Vectors are self-provided (no server-side vectorizer). BM25 statistics are per shard, so one
    shard (the default) keeps scores identical to the embedded store; replicas add capacity
    and availability without changing scores.
    """
    return {
        "name": name,
        "description": "Baibain chunks: pre-tokenized text, citation fields and filter metadata",
        "properties": list(PROPERTIES),
        "vector_config": Configure.Vectors.self_provided(
            vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE),
        ),
        "inverted_index_config": Configure.inverted_index(
            bm25_b=B, bm25_k1=K1, stopwords_preset=StopwordsPreset.NONE
        ),
        "replication_config": Configure.replication(factor=replication_factor),
        "sharding_config": Configure.sharding(desired_count=shards),
    }


# -- filters -------------------------------------------------------------------------------


def utc_day(value: date) -> datetime:
    """Midnight UTC of a date: how dates are stored and compared."""
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def visibility_filter(viewer_org: str | None) -> _Filters:
    """Shared documents, plus the organization documents of ``viewer_org``."""
    shared = Filter.by_property("visibility").equal("shared")
    if viewer_org is None:
        return shared
    return Filter.any_of([shared, Filter.by_property("owner_org").equal(viewer_org)])


def search_filter(flt: SearchFilter) -> _Filters:
    """The Weaviate filter for ``flt`` (same semantics as ``SearchFilter.allows``)."""
    parts = [visibility_filter(flt.viewer_org)]
    for prop, wanted in (
        ("category", flt.categories),
        ("dataset", flt.datasets),
        ("owner_org", flt.owner_orgs),
        ("law_id", flt.law_ids),
        ("doc_id", flt.doc_ids),
    ):
        if wanted:
            parts.append(Filter.by_property(prop).contains_any(list(wanted)))
    if flt.published_from:
        parts.append(Filter.by_property("published").greater_or_equal(utc_day(flt.published_from)))
    if flt.published_to:
        parts.append(Filter.by_property("published").less_or_equal(utc_day(flt.published_to)))
    return Filter.all_of(parts)


def article_filter(base: _Filters, law_id: str, articles: Sequence[str]) -> _Filters:
    """Chunks of the given articles of one law, within ``base``."""
    return Filter.all_of(
        [
            base,
            Filter.by_property("law_id").equal(law_id),
            Filter.by_property("article").contains_any(list(articles)),
        ]
    )


def only_ids(base: _Filters, uuids: Sequence[str]) -> _Filters:
    """``base`` restricted to the given objects."""
    return Filter.all_of([base, Filter.by_id().contains_any(list(uuids))])


def heads_filter(doc_ids: Sequence[str]) -> _Filters:
    """The head object (first chunk) of each stored version of the documents."""
    return Filter.all_of(
        [
            Filter.by_property("doc_id").contains_any(list(doc_ids)),
            Filter.by_property("head").equal(True),
        ]
    )


def version_filter(doc_id: str, generation: str) -> _Filters:
    """Every chunk of one stored version of a document."""
    return Filter.all_of(
        [
            Filter.by_property("doc_id").equal(doc_id),
            Filter.by_property("generation").equal(generation),
        ]
    )


def superseded_filter(current: Mapping[str, str]) -> _Filters:
    """Chunks of the given documents that belong to any version but the current one."""
    return Filter.any_of(
        [
            Filter.all_of(
                [
                    Filter.by_property("doc_id").equal(doc_id),
                    Filter.by_property("generation").not_equal(generation),
                ]
            )
            for doc_id, generation in current.items()
        ]
    )


# -- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueryCall:
    """One call of ``collection.query.<method>(**kwargs)`` that ranks objects: BM25 of one
    signal over one property, or the chunks nearest to the question's vector."""

    method: Literal["bm25", "near_vector"]
    kwargs: dict[str, Any]

    def score(self, metadata: Any) -> float:
        """An object's score in this list: BM25, or the cosine similarity (1 − distance)."""
        if self.method == "near_vector":
            return 1.0 - float(metadata.distance)
        return float(metadata.score or 0.0)


def query_text(terms: Mapping[str, float]) -> str:
    """The query string that gives each term its weight.

    Weaviate multiplies a query term's idf by the number of times it occurs in the query, so a
    term repeats in proportion to its weight relative to the smallest one. Relative-score
    fusion divides each signal by its best score, so this common scale cancels out: weights
    that are multiples of the smallest (the question's term counts) are reproduced exactly,
    others are rounded. Terms containing whitespace can never match a whitespace-tokenized
    index and are left out.
    """
    positive = {t: w for t, w in terms.items() if w > 0 and t and not any(c.isspace() for c in t)}
    if not positive:
        return ""
    smallest = min(positive.values())
    words: list[str] = []
    for term, weight in positive.items():
        words.extend([term] * max(1, min(MAX_TERM_REPEAT, round(weight / smallest))))
    return " ".join(words)


def field_query(
    text: str,
    prop: str,
    filters: _Filters,
    limit: int,
    *,
    return_properties: Sequence[str] = CANDIDATE_PROPERTIES,
) -> QueryCall:
    """BM25 of ``text`` over one property.

    One property per query keeps BM25 per field, as the embedded store scores it: Weaviate's
    multi-property BM25 is BM25F (term frequencies and lengths pooled across properties),
    which would rank differently. Field boosts are applied client-side.
    """
    return QueryCall(
        "bm25",
        {
            "query": text,
            "query_properties": [prop],
            "filters": filters,
            "limit": limit,
            "return_metadata": MetadataQuery(score=True),
            "return_properties": list(return_properties),
        },
    )


def dense_query(vector: Sequence[float], model: str, filters: _Filters, limit: int) -> QueryCall:
    """The ``limit`` chunks within ``filters`` nearest to ``vector``, among those embedded by
    ``model`` (vectors of another model are not comparable)."""
    return QueryCall(
        "near_vector",
        {
            "near_vector": list(vector),
            "filters": Filter.all_of([filters, Filter.by_property(VECTOR_MODEL).equal(model)]),
            "limit": limit,
            "return_metadata": MetadataQuery(distance=True),
            "return_properties": list(CANDIDATE_PROPERTIES),
        },
    )


def missing_vector_filter(model: str) -> _Filters:
    """Objects without a vector of ``model``: another model's, or none (no ``vector_model``).

    Since Weaviate 1.24 ``NotEqual`` is every object minus the ``Equal`` matches, so it takes in
    the objects that lack the property. ``is_none`` would need ``indexNullState``, which the
    collection does not set and cannot gain after creation.
    """
    return Filter.by_property(VECTOR_MODEL).not_equal(model)


def chunk_page_args(doc_id: str, generation: str, after: int, limit: int) -> dict[str, Any]:
    """``fetch_objects`` arguments for the chunks of one version after ordinal ``after``."""
    return {
        "filters": Filter.all_of(
            [version_filter(doc_id, generation), Filter.by_property("ordinal").greater_than(after)]
        ),
        "sort": Sort.by_property("ordinal", ascending=True),
        "limit": limit,
        "return_properties": list(CHUNK_PROPERTIES),
    }


def term_count_filter(prop: str, term: str) -> _Filters:
    """Chunks whose ``prop`` contains the token ``term`` (its document frequency)."""
    return Filter.by_property(prop).contains_any([term])


def law_titles_args(limit: int, viewer_org: str | None) -> dict[str, Any]:
    """``aggregate.over_all`` arguments grouping by law title the document heads that
    ``viewer_org`` may see.

    The metric asks for the count of top occurrences too: weaviate-client's gRPC request
    carries only ``top_occurences = top_occurrences_count``, so asking for the values alone
    gets no top occurrences back from the server.
    """
    return {
        "filters": Filter.all_of(
            [Filter.by_property("head").equal(True), visibility_filter(viewer_org)]
        ),
        "group_by": GroupByAggregate(prop="law_title", limit=limit),
        "total_count": False,
        "return_metrics": Metrics("law_id").text(
            top_occurrences_count=True, top_occurrences_value=True, limit=1
        ),
    }
