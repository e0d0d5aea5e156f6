"""``WeaviateIndexStore``: the scale-out ``IndexStore`` on a Weaviate cluster (weaviate-client v4).

The contract is the one in ``knowledge.index``. The collection, filters and query
arguments are in ``weaviate_schema``, the objects in ``weaviate_objects``, the fusion of
per-field BM25 lists and the nearest chunks in ``weaviate_search``, the reads (search hits,
documents, term statistics, law titles) in ``weaviate_reads`` and the bounded, lazily
connected client in ``weaviate_client``. This class writes and deletes.

With an embedder, every chunk is stored with its vector and the model's name, as in the
embedded store: an upload embeds all its chunks before it writes anything, so when the
embeddings endpoint fails (``UpstreamUnavailable``) the previous version stays as it was.
``embed_missing`` adds vectors later to the chunks written without one (or by another model).

Replacing a document is safe against failures: the new version's chunks get object ids derived
from the version's fingerprint, so they are written next to the previous version, which stays
searchable; only when every chunk is stored are the older versions deleted. When the upload
fails, the partial new version is removed again. If even that fails (the server went away),
reads serve the newest complete version and the next upsert or delete of the document cleans up.

``database`` is the identity of the administrative database the collection serves (see
``weaviate_binding``); ``None`` for a collection of no database (tests, temporary ones).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from weaviate.classes.query import Filter
from weaviate.collections.classes.filters import _Filters
from weaviate.exceptions import WeaviateInsertManyAllFailedError

from knowledge import weaviate_reads, weaviate_vectors
from knowledge.analysis import Analyzer
from knowledge.dense import EMBED_BATCH, embed_chunks
from knowledge.documents import Chunk, Document, Hit
from knowledge.errors import BadDocument, IndexUnavailable
from knowledge.index import ChunkRange, IndexQuery, SearchFilter, TermStats
from knowledge.terms import chunk_terms
from knowledge.weaviate_client import (
    ClientFactory,
    WeaviateConfig,
    WeaviateConnection,
    make_client,
)
from knowledge.weaviate_objects import chunk_object, document_generation
from knowledge.weaviate_schema import superseded_filter, version_filter
from knowledge.weaviate_search import FIRST_WINDOW, MAX_WINDOW

if TYPE_CHECKING:
    from knowledge.embeddings import Embedder

log = logging.getLogger(__name__)

INSERT_BATCH = 200
INSERT_ATTEMPTS = 3
PAGE = 500
LAW_TITLES_LIMIT = 100_000
LAW_TITLES_TTL = 30.0
_MAX_DELETE_ROUNDS = 1000
_DUPLICATE_IDS = "文書を登録できませんでした（識別子が重複しています）。"


class WeaviateIndexStore:
    """The Weaviate ``IndexStore`` (see ``knowledge.index`` for the contract)."""

    def __init__(
        self,
        config: WeaviateConfig,
        analyzer: Analyzer,
        *,
        embedder: Embedder | None = None,
        database: str | None = None,
        client_factory: ClientFactory = make_client,
        first_window: int = FIRST_WINDOW,
        max_window: int = MAX_WINDOW,
        embed_batch: int = EMBED_BATCH,
    ) -> None:
        self.config = config
        self._analyzer = analyzer
        self._embedder = embedder
        self._model = embedder.model if embedder is not None else ""
        self._conn = WeaviateConnection(config, client_factory, database)
        self._first_window = first_window
        self._max_window = max_window
        self._embed_batch = embed_batch
        self._law_titles: dict[str | None, tuple[float, dict[str, str]]] = {}
        self._last_seq = 0

    async def ping(self) -> None:
        await self._conn.ping()

    async def close(self) -> None:
        await self._conn.disconnect()

    async def drop_collection(self) -> None:
        """Delete the whole collection (tests and re-migrations)."""
        await self._conn.drop_collection()

    # -- writing -------------------------------------------------------------------------

    def _next_seq(self, count: int) -> int:
        # Insertion order for ties. Microseconds stay below 2**53, exact through any JSON path.
        start = max(time.time_ns() // 1000, self._last_seq + 1)
        self._last_seq = start + count
        return start

    async def upsert(self, document: Document) -> None:
        await self.upsert_many([document])

    async def upsert_batches(
        self,
        batches: Iterable[Sequence[Document]],
        written: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        done = 0
        for batch in batches:
            await self.upsert_many(batch)
            done += len(batch)
            if written is not None:
                await written(done)

    async def upsert_many(self, documents: Sequence[Document]) -> None:
        """With an embedder, the chunks are embedded first: when that fails, nothing is
        written (``UpstreamUnavailable``) and the previous versions stay as they were."""
        latest = list({d.doc_id: d for d in documents}.values())  # the last copy wins
        if not latest:
            return
        _check_unique_chunk_ids(latest)
        collection = await self._conn.collection()
        await self._check_foreign_chunk_ids(collection, latest)
        vectors = await embed_chunks(self._embedder, latest) if self._embedder is not None else {}
        analyzed = await asyncio.to_thread(
            lambda: [(d, chunk_terms(d, self._analyzer)) for d in latest]
        )
        before = await self._heads([d.doc_id for d in latest])
        current = {d.doc_id: document_generation(d) for d in latest}
        objects: list[Any] = []
        seq = self._next_seq(sum(len(d.chunks) for d in latest))
        for document, rows in analyzed:
            generation = current[document.doc_id]
            objects.extend(
                chunk_object(
                    document,
                    terms,
                    generation=generation,
                    seq=seq + i,
                    head=i == 0,
                    vector=vectors.get(terms.chunk.chunk_id),
                    model=self._model,
                )
                for i, terms in enumerate(rows)
            )
            seq += len(rows)
        try:
            await self._insert(collection, objects)
        except IndexUnavailable:
            stored = {d: {h.get("generation") for h in hs} for d, hs in before.items()}
            await self._discard(
                collection, {d: g for d, g in current.items() if g not in stored.get(d, set())}
            )
            raise
        self._law_titles = {}
        try:
            await self._delete_where(collection, superseded_filter(current), "replace")
        except IndexUnavailable as exc:
            # The new versions are stored whole and served (``current_head``); the old ones stay
            # until a document is written again, which ``content_hash`` asks for. Failing here
            # would tell the caller nothing was written when it was.
            log.warning("could not remove replaced versions: %s", exc.detail)

    async def _insert(self, collection: Any, objects: list[Any]) -> None:
        """Insert in batches; rejected objects are retried, then the upload fails."""
        pending, first_error = objects, ""
        for attempt in range(INSERT_ATTEMPTS):
            failed = []
            for start in range(0, len(pending), INSERT_BATCH):
                batch = pending[start : start + INSERT_BATCH]
                try:
                    result = await self._conn.write("insert", collection.data.insert_many(batch))
                except WeaviateInsertManyAllFailedError as exc:
                    failed.extend(batch)
                    first_error = first_error or str(exc)
                    continue
                for index, error in sorted(result.errors.items()):
                    failed.append(batch[index])
                    first_error = first_error or str(error.message)
            if not failed:
                return
            log.warning(
                "Weaviate rejected %d of %d objects (attempt %d): %s",
                len(failed),
                len(pending),
                attempt + 1,
                first_error[:120],
            )
            pending = failed
            if attempt + 1 < INSERT_ATTEMPTS:
                await asyncio.sleep(0.2 * 2**attempt)
        raise IndexUnavailable(
            detail=f"Weaviate {self.config.where}: {len(pending)} chunks could not be stored "
            f"({first_error[:120]})"
        )

    async def _discard(self, collection: Any, versions: dict[str, str]) -> None:
        """Remove partly written new versions; the previous versions stay untouched."""
        for doc_id, generation in versions.items():
            try:
                await self._delete_where(collection, version_filter(doc_id, generation), "discard")
            except IndexUnavailable as exc:
                log.warning("could not remove a partial upload of %s: %s", doc_id, exc.detail)

    async def _delete_where(self, collection: Any, where: _Filters, what: str) -> int:
        """Delete every matching object (the server caps one call); returns how many."""
        removed = 0
        for _ in range(_MAX_DELETE_ROUNDS):
            result = await self._conn.write(
                f"delete ({what})", collection.data.delete_many(where=where)
            )
            if result.failed:
                raise IndexUnavailable(
                    detail=f"Weaviate {self.config.where}: {result.failed} objects not deleted"
                )
            removed += result.successful
            if result.matches == 0 or result.successful == 0:
                break
        return removed

    async def embed_missing(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed every chunk without a vector of the configured model; returns how many (see
        ``weaviate_vectors.embed_missing``). Without an embedder: 0, as in the embedded store."""
        if self._embedder is None:
            return 0
        return await weaviate_vectors.embed_missing(
            self._conn, self._embedder, batch=self._embed_batch, progress=progress
        )

    async def delete(self, doc_id: str) -> bool:
        collection = await self._conn.collection()
        where = Filter.by_property("doc_id").equal(doc_id)
        removed = await self._delete_where(collection, where, "delete")
        self._law_titles = {}
        return removed > 0

    async def _check_foreign_chunk_ids(self, collection: Any, documents: list[Document]) -> None:
        """Chunk ids are unique across documents, as in the embedded store."""
        owners = {c.chunk_id: d.doc_id for d in documents for c in d.chunks}
        ids = list(owners)
        for start in range(0, len(ids), PAGE):
            group = ids[start : start + PAGE]
            result = await self._conn.read(
                "chunk id check",
                collection.query.fetch_objects(
                    filters=Filter.by_property("chunk_id").contains_any(group),
                    limit=2 * len(group),
                    return_properties=["chunk_id", "doc_id"],
                ),
            )
            for obj in result.objects:
                chunk_id = str(obj.properties.get("chunk_id"))
                if obj.properties.get("doc_id") != owners.get(chunk_id):
                    raise BadDocument(_DUPLICATE_IDS, detail=f"chunk id {chunk_id} is taken")

    # -- document versions ---------------------------------------------------------------

    async def _heads(self, doc_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        return await weaviate_reads.read_heads(self._conn, doc_ids, page=PAGE)

    async def stored_generations(self, doc_ids: Sequence[str]) -> dict[str, str]:
        """``document_generation`` of each cleanly stored document (one version only)."""
        heads = await self._heads(doc_ids)
        return {d: str(hs[0].get("generation")) for d, hs in heads.items() if len(hs) == 1}

    async def content_hash(self, doc_id: str) -> str | None:
        """The served version's hash; ``None`` while older versions linger (their removal
        failed), so writing the document again is not skipped and removes them."""
        heads = (await self._heads([doc_id])).get(doc_id)
        if not heads or len(heads) > 1:
            return None
        return str(heads[0].get("content_hash") or "")

    async def get_document(self, doc_id: str) -> Document | None:
        return await weaviate_reads.read_document(self._conn, doc_id, page=PAGE)

    async def get_chunks(self, ranges: Sequence[ChunkRange]) -> list[list[Chunk]]:
        return [
            await weaviate_reads.read_chunks(self._conn, *chunk_range, page=PAGE)
            for chunk_range in ranges
        ]

    # -- reading -------------------------------------------------------------------------

    async def search(self, query: IndexQuery) -> list[Hit]:
        return await weaviate_reads.search(
            self._conn,
            query,
            model=self._model,
            first_window=self._first_window,
            max_window=self._max_window,
        )

    async def count_chunks(self) -> int:
        collection = await self._conn.collection()
        result = await self._conn.read("count", collection.aggregate.over_all(total_count=True))
        return int(result.total_count or 0)

    async def term_stats(
        self, field_name: str, terms: Sequence[str], flt: SearchFilter | None = None
    ) -> TermStats:
        """Exact document frequencies over the chunks ``flt`` allows (all without one), as
        ``weaviate_reads.term_stats`` counts them."""
        return await weaviate_reads.term_stats(self._conn, field_name, terms, flt)

    async def law_titles(self, viewer_org: str | None) -> dict[str, str]:
        """Law title → law id of what ``viewer_org`` sees, cached briefly per organization
        (every question asks; own writes refresh it)."""
        cached = self._law_titles.get(viewer_org)
        if cached is not None and time.monotonic() - cached[0] < LAW_TITLES_TTL:
            return dict(cached[1])
        titles = await weaviate_reads.read_law_titles(
            self._conn, viewer_org, limit=LAW_TITLES_LIMIT
        )
        self._law_titles[viewer_org] = (time.monotonic(), titles)
        return dict(titles)


def _check_unique_chunk_ids(documents: Sequence[Document]) -> None:
    seen: set[str] = set()
    for chunk in (c for d in documents for c in d.chunks):
        if chunk.chunk_id in seen:
            raise BadDocument(_DUPLICATE_IDS, detail=f"chunk id {chunk.chunk_id} appears twice")
        seen.add(chunk.chunk_id)


__all__ = ["WeaviateConfig", "WeaviateIndexStore"]
