"""``EmbeddedIndexStore``: the default index, one SQLite file plus an in-memory BM25 index.

SQLite (WAL mode) is the source of truth: every upsert or delete is one transaction that also
appends the document id to a change log. Chunks are stored with their terms already encoded as
arrays of term ids (see ``embedded_schema``). Each process keeps an in-memory index
(``embedded_memory.MemoryIndex``) and replays the change log before every search, so writes by
another process (the worker, a CLI ingest) become visible without restarts, and a process
killed mid-ingest leaves the previous committed state intact.

Given the identity of the administrative database it serves (``database``), the store refuses
an index built with another one before it writes anything (``embedded_schema.open_index``),
and stops serving when another process binds the file to another database meanwhile (possible
only while it holds no organization's documents): writes check in their transaction, reads
whenever another process has committed.

Opening the file (creating, upgrading, binding it) is in ``embedded_schema``, the statements
that write it in ``embedded_writes``, those that read it (into the in-memory index, or for hits
and documents) in ``embedded_reads``; this class holds the lock, the transactions and how far
the in-memory index has replayed the change log.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from knowledge.analysis import Analyzer
from knowledge.dense import EMBED_BATCH, Vector, embed_chunks, embedding_input
from knowledge.documents import Chunk, Document, Hit
from knowledge.embedded_docs import meta_from_json
from knowledge.embedded_memory import MemoryIndex
from knowledge.embedded_reads import (
    chunks_by_rowid,
    load_all,
    missing_count,
    missing_rows,
    read_chunks,
    read_document,
    read_new_terms,
    reload,
)
from knowledge.embedded_schema import (
    bound_database,
    bound_elsewhere,
    encode_terms,
    insert_terms,
    open_index,
    terms_generation,
)
from knowledge.embedded_writes import delete_document, store_documents, store_vectors
from knowledge.errors import BadDocument, IndexUnavailable
from knowledge.index import FIELDS, ChunkRange, IndexQuery, SearchFilter, TermStats
from knowledge.postings import release_freed_arrays
from knowledge.term_workers import Pending, TermAnalysis
from knowledge.terms import BatchTerms

if TYPE_CHECKING:
    from knowledge.embeddings import Embedder

log = logging.getLogger(__name__)

# Up to this many chunks a search takes a few milliseconds and runs on the caller's event loop
# (see ``_read``); a larger index is searched in a worker thread, so other requests go on.
_INLINE_CHUNKS = 200_000
_T = TypeVar("_T")


class EmbeddedIndexStore:
    """The default ``IndexStore`` (see ``knowledge.index`` for the contract)."""

    def __init__(
        self,
        path: Path,
        analyzer: Analyzer,
        embedder: Embedder | None = None,
        *,
        database: str | None = None,
    ) -> None:
        """``database``: the identity of the administrative database the index serves, or
        ``None`` for an index of no database (a temporary one)."""
        self.path = path
        self._database = database
        self._analyzer = analyzer
        self._embedder = embedder
        self._model = embedder.model if embedder else ""
        self._terms = TermAnalysis(analyzer)
        release_freed_arrays()
        self._lock = threading.RLock()
        try:
            self._db = open_index(path, database, self._terms.analyze)
        except BaseException:  # refused, unreadable, interrupted: no helper process left running
            self._terms.close()
            raise
        self._data_version = -1
        self._bound_version = -1
        self._forget()

    def _forget(self) -> None:
        """Drop the in-memory index; the next sync loads everything."""
        self._memory = MemoryIndex(self._model)
        self._seq = 0
        self._generation = -1

    # -- writing -------------------------------------------------------------------------

    def _write_started(
        self, pending: Pending, following: Sequence[Document] | None, vectors: Mapping[str, Vector]
    ) -> Pending | None:
        """Finish the analysis of one batch, start the next one's (``following``) in the helper,
        write this one; returns the next batch's pending analysis."""
        analyzed = self._terms.finish(pending)
        after = self._terms.start(following, ahead=True) if following is not None else None
        started = time.perf_counter()
        self._write(pending.documents, analyzed, vectors)
        if after is not None:
            chunks = sum(len(d.chunks) for d in pending.documents)
            self._terms.note_writing(time.perf_counter() - started, chunks)
        return after

    def _write(
        self,
        latest: Sequence[Document],
        analyzed: Sequence[BatchTerms],
        vectors: Mapping[str, Vector],
    ) -> None:
        with self._lock:
            marks: dict[str, int] | None = None
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._still_bound()
                if terms_generation(self._db) != self._generation:
                    self._load_everything()  # the numbering changed (or was never read)
                read_new_terms(self._db, self._memory)
                vocabs = {f: self._memory.vocab(f) for f in FIELDS}
                marks = {f: len(v) for f, v in vocabs.items()}
                encoded = encode_terms(vocabs, analyzed)
                for field, first in marks.items():
                    insert_terms(self._db, field, vocabs[field], first)
                store_documents(self._db, self._model, latest, analyzed, encoded, vectors)
                self._db.execute("COMMIT")
            except BaseException as exc:
                self._db.execute("ROLLBACK")
                if marks is None:
                    self._forget()  # failed while reading: start afresh at the next sync
                for field, size in (marks or {}).items():
                    self._memory.vocab(field).truncate(size)
                if isinstance(exc, sqlite3.IntegrityError):
                    raise BadDocument(
                        "文書を登録できませんでした（識別子が重複しています）。", detail=str(exc)
                    ) from exc
                raise
            self._sync(force=True)

    def _missing_count(self) -> int:
        with self._lock:
            return missing_count(self._db, self._model)

    def _missing_rows(self, limit: int) -> list[tuple[Any, ...]]:
        with self._lock:
            return missing_rows(self._db, self._model, limit)

    def _store_vectors(self, rows: Sequence[tuple[Any, ...]], vectors: Vector) -> None:
        with self._lock:
            store_vectors(self._db, self._model, rows, vectors)
            self._sync(force=True)

    def _delete(self, doc_id: str) -> bool:
        with self._lock:
            # Checked in the transaction: another process may have bound the file meanwhile.
            existed = delete_document(self._db, doc_id, self._still_bound)
            self._sync(force=True)
            return existed

    # -- replaying committed changes into memory -----------------------------------------

    def _sync(self, *, force: bool = False) -> None:
        """Apply every change committed since the last sync (ours or another process's).

        ``PRAGMA data_version`` changes only when another connection commits, so our own
        writes pass ``force``.
        """
        self._still_bound()
        version = self._committed_version()
        if version == self._data_version and not force:
            return
        self._db.execute("BEGIN")
        try:
            if terms_generation(self._db) != self._generation:
                self._load_everything()
            else:
                changed = self._db.execute(
                    "SELECT seq, doc_id FROM changes WHERE seq > ? ORDER BY seq", (self._seq,)
                ).fetchall()
                if changed:
                    read_new_terms(self._db, self._memory)
                    doc_ids = list(dict.fromkeys(d for _, d in changed))
                    reload(self._db, self._memory, self._model, doc_ids)
                    self._seq = changed[-1][0]
            self._data_version = version
        finally:
            self._db.execute("COMMIT")

    def _still_bound(self) -> None:
        """``IndexBoundElsewhere`` once another process bound the file to another database
        (read again only after another connection committed)."""
        if self._database is None:
            return
        version = self._committed_version()
        if version == self._bound_version:
            return
        if bound_database(self._db) != self._database:
            raise bound_elsewhere(self.path)
        self._bound_version = version

    def _committed_version(self) -> int:
        """``PRAGMA data_version``: changes when another connection commits."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    def _load_everything(self) -> None:
        """Replace the in-memory index by the committed state (inside a transaction)."""
        self._forget()
        self._generation = terms_generation(self._db)
        self._seq = self._db.execute("SELECT coalesce(max(seq), 0) FROM changes").fetchone()[0]
        read_new_terms(self._db, self._memory)
        load_all(self._db, self._memory, self._model)

    # -- reading -------------------------------------------------------------------------

    def _search(self, query: IndexQuery) -> list[Hit]:
        with self._lock:
            self._sync()
            ranked = self._memory.rank(query)
            rowids = [r for r, _ in ranked]
            found = chunks_by_rowid(self._db, self._memory, rowids) if ranked else {}
        # A chunk that another process deleted since the last sync is left out.
        return [
            Hit(chunk=found[r][0], meta=found[r][1], score=score, words=found[r][2])
            for r, score in ranked
            if r in found
        ]

    def _law_titles(self, viewer_org: str | None) -> dict[str, str]:
        with self._lock:
            self._sync()
            return self._memory.law_titles(viewer_org)

    def _term_stats(
        self, field_name: str, terms: Sequence[str], flt: SearchFilter | None
    ) -> TermStats:
        with self._lock:
            self._sync()
            return self._memory.term_stats(field_name, terms, flt)

    def _get_document(self, doc_id: str) -> Document | None:
        with self._lock:
            self._still_bound()
            return read_document(self._db, doc_id)

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> object:
        with self._lock:
            self._still_bound()
            row = self._db.execute(sql, params).fetchone()
        return row[0] if row else None

    def _ping(self) -> None:
        try:
            self._scalar("SELECT count(*) FROM documents LIMIT 1")
        except sqlite3.Error as exc:
            raise IndexUnavailable(detail=f"embedded index unreadable: {exc}") from exc

    # -- the async IndexStore protocol ---------------------------------------------------

    async def upsert(self, document: Document) -> None:
        await self.upsert_many([document])

    async def upsert_many(self, documents: Sequence[Document]) -> None:
        """With an embedder, the chunks are embedded first: when that fails, nothing is
        written (``UpstreamUnavailable``) and the previous versions stay as they were."""
        await self.upsert_batches([documents])

    async def upsert_batches(
        self,
        batches: Iterable[Sequence[Document]],
        written: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """While one batch is written, the helper process analyzes the next (see
        ``term_workers``): a bulk load keeps both cores busy."""
        # Upserting one id twice in a batch means the last version wins, as with two upserts.
        todo = ((len(b), list({d.doc_id: d for d in b}.values())) for b in batches)
        current = next(todo, None)
        if current is None:
            return
        pending: Pending | None = await asyncio.to_thread(self._terms.start, current[1])
        done = 0
        while current is not None and pending is not None:
            size, batch = current
            vectors = await embed_chunks(self._embedder, batch) if self._embedder else {}
            current = next(todo, None)
            following = current[1] if current is not None else None
            pending = await asyncio.to_thread(self._write_started, pending, following, vectors)
            done += size
            if written is not None:
                await written(done)

    async def embed_missing(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed every chunk that has no vector by the configured model (chunks indexed
        before embeddings were configured, or by another model); returns how many.

        Each batch is committed on its own, so an interrupted run keeps what it did and a
        rerun continues where it stopped.
        """
        if self._embedder is None:
            return 0
        done = 0
        total = await asyncio.to_thread(self._missing_count)
        while rows := await asyncio.to_thread(self._missing_rows, EMBED_BATCH):
            texts = [embedding_input(meta_from_json(m), Chunk(*c)) for _, m, *c in rows]
            embedded = await self._embedder.embed(texts)
            await asyncio.to_thread(self._store_vectors, rows, embedded)
            done += len(rows)
            if progress:
                progress(done, total)
        return done

    async def delete(self, doc_id: str) -> bool:
        return await asyncio.to_thread(self._delete, doc_id)

    async def search(self, query: IndexQuery) -> list[Hit]:
        return await self._read(self._search, query, quick=self._memory.size <= _INLINE_CHUNKS)

    async def term_stats(
        self, field_name: str, terms: Sequence[str], flt: SearchFilter | None = None
    ) -> TermStats:
        return await self._read(self._term_stats, field_name, terms, flt)

    async def law_titles(self, viewer_org: str | None) -> dict[str, str]:
        return await self._read(self._law_titles, viewer_org)

    async def _read(self, read: Callable[..., _T], *args: Any, quick: bool = True) -> _T:
        """Run a read of the in-memory index on the event loop when it takes milliseconds:
        ``quick``, the store is not busy writing, and nothing was committed since the last
        sync (replaying another process's batch can take seconds). Otherwise, and for the
        first read (which loads the index), it runs in a worker thread. A thread hop costs
        0.2–2 ms here, as much as a search of the law corpus, and a question makes five."""
        if quick and self._lock.acquire(blocking=False):
            try:
                if self._committed_version() == self._data_version:
                    return read(*args)
            finally:
                self._lock.release()
        return await asyncio.to_thread(read, *args)

    async def get_document(self, doc_id: str) -> Document | None:
        return await asyncio.to_thread(self._get_document, doc_id)

    async def get_chunks(self, ranges: Sequence[ChunkRange]) -> list[list[Chunk]]:
        def read() -> list[list[Chunk]]:
            with self._lock:
                self._still_bound()
                return [read_chunks(self._db, *chunk_range) for chunk_range in ranges]

        return await asyncio.to_thread(read)

    async def content_hash(self, doc_id: str) -> str | None:
        value = await asyncio.to_thread(
            self._scalar, "SELECT content_hash FROM documents WHERE doc_id = ?", (doc_id,)
        )
        return str(value) if value is not None else None

    async def count_chunks(self) -> int:
        value = await asyncio.to_thread(self._scalar, "SELECT count(*) FROM chunks")
        return int(value or 0)  # type: ignore[call-overload]

    async def doc_ids(self) -> list[str]:
        """Ids of every stored document, sorted (used to copy this index to another store)."""

        def read() -> list[str]:
            with self._lock:
                rows = self._db.execute("SELECT doc_id FROM documents ORDER BY doc_id")
                return [str(r[0]) for r in rows]

        return await asyncio.to_thread(read)

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping)

    async def close(self) -> None:
        await asyncio.to_thread(self._terms.close)
        with self._lock:
            self._db.close()
