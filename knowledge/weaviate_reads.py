"""What ``WeaviateIndexStore`` reads from the collection: search hits, documents and their
stored versions, term statistics and law titles.

Each function takes the store's ``WeaviateConnection`` (every call bounded, failures become
``IndexUnavailable``); the store keeps the tuning (page size, search windows) and the brief
cache of law titles. A document may have more than one stored version after an interrupted
write (see ``weaviate_store``): readers serve the newest complete one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from weaviate.collections.classes.filters import _Filters

from knowledge.documents import Chunk, Document, Hit
from knowledge.index import IndexQuery, SearchFilter, TermStats
from knowledge.weaviate_client import WeaviateConnection
from knowledge.weaviate_objects import chunk_from_properties, meta_from_properties
from knowledge.weaviate_schema import (
    CANDIDATE_PROPERTIES,
    FIELD_PROPERTIES,
    HEAD_PROPERTIES,
    HIT_PROPERTIES,
    QueryCall,
    chunk_page_args,
    heads_filter,
    law_titles_args,
    only_ids,
    search_filter,
    term_count_filter,
    version_filter,
)
from knowledge.weaviate_search import FusedSearch, Scored

log = logging.getLogger(__name__)

_TERM_STATS_CONCURRENCY = 8


async def search(
    conn: WeaviateConnection,
    query: IndexQuery,
    *,
    model: str,
    first_window: int,
    max_window: int,
) -> list[Hit]:
    """The hits of ``query`` (``weaviate_search`` fuses the per-field lists and the nearest
    chunks by ``model``), best first."""
    collection = await conn.collection()
    base = search_filter(query.filter)

    async def run(call: QueryCall) -> list[Scored]:
        method = getattr(collection.query, call.method)
        result = await conn.read(call.method, method(**call.kwargs))
        return [_scored(o, call.score(o.metadata)) for o in result.objects]

    async def fetch(filters: _Filters, limit: int) -> list[Scored]:
        result = await conn.read(
            "lookup",
            collection.query.fetch_objects(
                filters=filters, limit=limit, return_properties=list(CANDIDATE_PROPERTIES)
            ),
        )
        return [_scored(o, 0.0) for o in result.objects]

    fused = FusedSearch(
        query,
        base,
        run,
        fetch,
        model=model,
        first_window=first_window,
        max_window=max_window,
    )
    ranked = await fused.run()
    if not ranked:
        return []
    result = await conn.read(
        "hit fetch",
        collection.query.fetch_objects(
            filters=only_ids(base, [u for u, _ in ranked]),
            limit=len(ranked),
            return_properties=list(HIT_PROPERTIES),
        ),
    )
    by_id = {str(o.uuid): o.properties for o in result.objects}
    return [
        Hit(
            chunk=chunk_from_properties(p),
            meta=meta_from_properties(p),
            score=score,
            words=frozenset(str(p.get("words") or "").split()),
        )
        for uuid, score in ranked
        if (p := by_id.get(uuid)) is not None
    ]


def _scored(obj: Any, score: float) -> Scored:
    props = obj.properties
    return Scored(
        str(obj.uuid),
        score,
        int(props.get("seq") or 0),
        str(props.get("law_id") or ""),
        str(props.get("doc_id") or ""),
    )


async def read_heads(
    conn: WeaviateConnection, doc_ids: Sequence[str], *, page: int
) -> dict[str, list[dict[str, Any]]]:
    """Head objects (first chunks) of every stored version of the documents, ``page`` ids
    per request."""
    collection = await conn.collection()
    heads: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(doc_ids), page):
        group = list(doc_ids[start : start + page])
        result = await conn.read(
            "document lookup",
            collection.query.fetch_objects(
                filters=heads_filter(group),
                limit=4 * len(group) + 16,
                return_properties=list(HEAD_PROPERTIES),
            ),
        )
        for obj in result.objects:
            heads.setdefault(str(obj.properties["doc_id"]), []).append(dict(obj.properties))
    return heads


async def current_head(
    conn: WeaviateConnection, doc_id: str, *, page: int
) -> dict[str, Any] | None:
    """The head of the version to serve: the only one, or (after an interrupted write)
    the newest complete one."""
    heads = (await read_heads(conn, [doc_id], page=page)).get(doc_id)
    if not heads or len(heads) == 1:
        return heads[0] if heads else None
    log.warning("document %s has %d stored versions; upload it again", doc_id, len(heads))
    collection = await conn.collection()
    complete = []
    for head in heads:
        result = await conn.read(
            "version count",
            collection.aggregate.over_all(
                filters=version_filter(doc_id, str(head.get("generation"))), total_count=True
            ),
        )
        if result.total_count == int(head.get("chunk_count") or 0):
            complete.append(head)
    return max(complete or heads, key=lambda h: int(h.get("seq") or 0))


async def read_chunks(
    conn: WeaviateConnection, doc_id: str, first: int, last: int, *, page: int
) -> list[Chunk]:
    """The served version's chunks of a document with ordinals ``first`` to ``last``."""
    first = max(first, 0)
    head = await current_head(conn, doc_id, page=page)
    if head is None or last < first:
        return []
    collection = await conn.collection()
    # A version's ordinals run 0, 1, 2, …: those after first - 1, as many as the range holds.
    args = chunk_page_args(doc_id, str(head.get("generation")), first - 1, last - first + 1)
    result = await conn.read("chunk read", collection.query.fetch_objects(**args))
    return [chunk_from_properties(o.properties) for o in result.objects]


async def read_document(conn: WeaviateConnection, doc_id: str, *, page: int) -> Document | None:
    """The served version of a document with its chunks in order, ``None`` when there is none;
    read ``page`` chunks per request."""
    head = await current_head(conn, doc_id, page=page)
    if head is None:
        return None
    collection = await conn.collection()
    generation = str(head.get("generation"))
    chunks: list[Chunk] = []
    after = -1
    while True:  # keyset pages by ordinal: no offset limit on long documents
        result = await conn.read(
            "document read",
            collection.query.fetch_objects(**chunk_page_args(doc_id, generation, after, page)),
        )
        chunks.extend(chunk_from_properties(o.properties) for o in result.objects)
        if len(result.objects) < page:
            break
        after = chunks[-1].ordinal
    return Document(
        meta=meta_from_properties(head),
        chunks=tuple(chunks),
        content_hash=str(head.get("content_hash") or ""),
    )


async def term_stats(
    conn: WeaviateConnection, field_name: str, terms: Sequence[str], flt: SearchFilter | None
) -> TermStats:
    """Exact document frequencies over the chunks ``flt`` allows (all without one): one
    filtered count per term, a few at a time."""
    prop = FIELD_PROPERTIES[field_name]
    collection = await conn.collection()
    gate = asyncio.Semaphore(_TERM_STATS_CONCURRENCY)

    allowed = search_filter(flt) if flt is not None else None

    async def count(where: _Filters | None) -> int:
        async with gate:
            result = await conn.read(
                "term statistics",
                collection.aggregate.over_all(filters=where, total_count=True),
            )
        return int(result.total_count or 0)

    unique = [t for t in dict.fromkeys(terms) if t and not any(c.isspace() for c in t)]
    n_docs, *dfs = await asyncio.gather(
        count(allowed),
        *(count(_both(allowed, term_count_filter(prop, t))) for t in unique),
    )
    df = dict(zip(unique, dfs, strict=True))
    return TermStats(n_docs=n_docs, df={t: df.get(t, 0) for t in terms})


def _both(first: _Filters | None, second: _Filters) -> _Filters:
    return second if first is None else first & second


async def read_law_titles(
    conn: WeaviateConnection, viewer_org: str | None, *, limit: int
) -> dict[str, str]:
    """Law title → law id of what ``viewer_org`` sees, over at most ``limit`` titles."""
    collection = await conn.collection()
    result = await conn.read(
        "law titles",
        collection.aggregate.over_all(**law_titles_args(limit, viewer_org)),
    )
    titles: dict[str, str] = {}
    for group in result.groups:
        title = group.grouped_by.value
        top = getattr(group.properties.get("law_id"), "top_occurrences", None) or []
        if isinstance(title, str) and title and top and top[0].value:
            titles[title] = str(top[0].value)
    return titles
