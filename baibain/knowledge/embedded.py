"""``EmbeddedIndexStore``: the default index, one SQLite file plus an in-memory BM25 index.

SQLite (WAL mode) is the source of truth: every upsert or delete is one transaction that also
appends the document id to a change log. Each process keeps an in-memory ``LexicalIndex`` and
replays the change log before every search, so writes by another process (the worker, a CLI
ingest) become visible without restarts, and a process killed mid-ingest leaves the previous
committed state intact.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np
import numpy.typing as npt

from baibain.knowledge.analysis import Analyzer, char_bigrams
from baibain.knowledge.documents import Chunk, Document, DocumentMeta, Hit
from baibain.knowledge.errors import BadDocument, IndexUnavailable
from baibain.knowledge.index import FIELDS, Boost, IndexQuery, SearchFilter, TermStats
from baibain.knowledge.lexical import GrowableArray, LexicalIndex
from baibain.knowledge.numerals import normalize_article_ref

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    meta TEXT NOT NULL,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL,
    position TEXT NOT NULL,
    text TEXT NOT NULL,
    words TEXT NOT NULL,
    title_words TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL
);
"""
_LOAD_BATCH = 20_000


def _meta_to_json(meta: DocumentMeta) -> str:
    data = asdict(meta)
    data["published"] = meta.published.isoformat() if meta.published else None
    return json.dumps(data, ensure_ascii=False)


def _meta_from_json(raw: str) -> DocumentMeta:
    data = json.loads(raw)
    published = data.pop("published", None)
    return DocumentMeta(**data, published=date.fromisoformat(published) if published else None)


class _DocTable:
    """Per-document filter columns, vectorized so a filter costs microseconds per thousand."""

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        self.metas: list[DocumentMeta] = []
        self.docnos: list[list[int]] = []
        self.law_titles: dict[str, str] = {}
        self._law_docs: Counter[str] = Counter()
        self.alive = GrowableArray(np.bool_, fill=False)
        self.shared = GrowableArray(np.bool_, fill=False)
        self.published = GrowableArray(np.int32)
        self._codes: dict[str, dict[str, int]] = {
            a: {} for a in ("owner_org", "category", "dataset", "law_id")
        }
        self._columns = {a: GrowableArray(np.int32, fill=-1) for a in self._codes}

    def column(self, attribute: str) -> npt.NDArray[np.int32]:
        return self._columns[attribute].view

    def code(self, attribute: str, value: str | None) -> int:
        return self._codes[attribute].get(value or "", -2)

    def add(self, meta: DocumentMeta) -> int:
        key = len(self.metas)
        self.keys[meta.doc_id] = key
        self.metas.append(meta)
        self.docnos.append([])
        if meta.law_title and meta.law_id:
            self.law_titles[meta.law_title] = meta.law_id
            self._law_docs[meta.law_title] += 1
        self.alive.extend([True])
        self.shared.extend([meta.visibility == "shared"])
        self.published.extend([meta.published.toordinal() if meta.published else 0])
        for attribute, codes in self._codes.items():
            value = getattr(meta, attribute) or ""
            self._columns[attribute].extend([codes.setdefault(value, len(codes))])
        return key

    def remove(self, doc_id: str) -> list[int]:
        key = self.keys.pop(doc_id, None)
        if key is None:
            return []
        self.alive.view[key] = False
        title = self.metas[key].law_title
        if title and self._law_docs[title]:
            self._law_docs[title] -= 1
            if not self._law_docs[title]:
                self.law_titles.pop(title, None)
        docnos, self.docnos[key] = self.docnos[key], []
        return docnos

    def allowed(self, flt: SearchFilter) -> npt.NDArray[np.bool_]:
        owner = self._columns["owner_org"].view
        mask = self.alive.view & (
            self.shared.view | (owner == self.code("owner_org", flt.viewer_org))
        )
        for attribute, wanted in (
            ("category", flt.categories),
            ("dataset", flt.datasets),
            ("owner_org", flt.owner_orgs),
            ("law_id", flt.law_ids),
        ):
            if wanted:
                codes = [self.code(attribute, w) for w in wanted]
                mask &= np.isin(self._columns[attribute].view, codes)
        if flt.doc_ids:
            only = np.zeros_like(mask)
            only[[self.keys[d] for d in flt.doc_ids if d in self.keys]] = True
            mask &= only
        published = self.published.view
        if flt.published_from:
            mask &= published >= flt.published_from.toordinal()
        if flt.published_to:
            mask &= (published > 0) & (published <= flt.published_to.toordinal())
        return mask


class EmbeddedIndexStore:
    """The default ``IndexStore`` (see ``baibain.knowledge.index`` for the contract)."""

    def __init__(self, path: Path, analyzer: Analyzer) -> None:
        self.path = path
        self._analyzer = analyzer
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise IndexUnavailable(detail=f"cannot open index at {path}: {exc}") from exc
        self._lexical = LexicalIndex(FIELDS)
        self._docs = _DocTable()
        self._chunk_doc = GrowableArray(np.int64)
        self._chunk_rowid = GrowableArray(np.int64)
        self._chunk_article = GrowableArray(np.int32, fill=-1)
        self._article_codes: dict[str, int] = {}
        self._seq = 0
        self._data_version = -1

    # -- writing -------------------------------------------------------------------------

    def _analyze(self, document: Document) -> list[tuple[Chunk, str, str]]:
        title = document.meta.title
        rows = []
        for chunk in document.chunks:
            words = " ".join(self._analyzer.words(chunk.text))
            title_words = " ".join(self._analyzer.words(f"{title} {chunk.heading}"))
            rows.append((chunk, words, title_words))
        return rows

    def _write(self, documents: Sequence[Document]) -> None:
        analyzed = [(d, self._analyze(d)) for d in documents]
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                for document, rows in analyzed:
                    self._db.execute("DELETE FROM chunks WHERE doc_id = ?", (document.doc_id,))
                    self._db.execute(
                        "INSERT INTO documents(doc_id, meta, content_hash) VALUES (?, ?, ?) "
                        "ON CONFLICT(doc_id) DO UPDATE SET meta=excluded.meta, "
                        "content_hash=excluded.content_hash",
                        (document.doc_id, _meta_to_json(document.meta), document.content_hash),
                    )
                    self._db.executemany(
                        "INSERT INTO chunks(chunk_id, doc_id, ordinal, heading, position, text,"
                        " words, title_words) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        [
                            (c.chunk_id, c.doc_id, c.ordinal, c.heading, c.position, c.text, w, t)
                            for c, w, t in rows
                        ],
                    )
                    self._db.execute("INSERT INTO changes(doc_id) VALUES (?)", (document.doc_id,))
                self._db.execute("COMMIT")
            except sqlite3.IntegrityError as exc:
                self._db.execute("ROLLBACK")
                raise BadDocument(
                    "文書を登録できませんでした（識別子が重複しています）。", detail=str(exc)
                ) from exc
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._sync(force=True)

    def _delete(self, doc_id: str) -> bool:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                cursor = self._db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
                existed = cursor.rowcount > 0
                if existed:
                    self._db.execute("INSERT INTO changes(doc_id) VALUES (?)", (doc_id,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._sync(force=True)
            return existed

    # -- replaying committed changes into memory -----------------------------------------

    def _sync(self, *, force: bool = False) -> None:
        """Apply every change committed since the last sync (ours or another process's).

        ``PRAGMA data_version`` changes only when another connection commits, so our own
        writes pass ``force``.
        """
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if version == self._data_version and not force:
            return
        self._db.execute("BEGIN")
        try:
            changed = self._db.execute(
                "SELECT seq, doc_id FROM changes WHERE seq > ? ORDER BY seq", (self._seq,)
            ).fetchall()
            if not changed:
                self._data_version = version
                return
            doc_ids = list(dict.fromkeys(d for _, d in changed))
            if self._seq == 0:
                self._load_all()
            else:
                self._reload(doc_ids)
            self._seq = changed[-1][0]
            self._data_version = version
        finally:
            self._db.execute("COMMIT")

    def _load_all(self) -> None:
        for doc_id, meta in self._db.execute("SELECT doc_id, meta FROM documents"):
            self._docs.add(_meta_from_json(meta))
            del doc_id
        cursor = self._db.execute(
            "SELECT rowid, doc_id, text, words, title_words, position FROM chunks "
            "ORDER BY doc_id, ordinal"
        )
        while rows := cursor.fetchmany(_LOAD_BATCH):
            self._add_rows(rows)

    def _reload(self, doc_ids: Sequence[str]) -> None:
        for doc_id in doc_ids:
            self._lexical.remove(self._docs.remove(doc_id))
        marks = ",".join("?" * len(doc_ids))
        for doc_id, meta in self._db.execute(
            f"SELECT doc_id, meta FROM documents WHERE doc_id IN ({marks})", doc_ids
        ):
            del doc_id
            self._docs.add(_meta_from_json(meta))
        rows = self._db.execute(
            "SELECT rowid, doc_id, text, words, title_words, position FROM chunks "
            f"WHERE doc_id IN ({marks}) ORDER BY doc_id, ordinal",
            doc_ids,
        ).fetchall()
        self._add_rows(rows)

    def _article_code(self, position: str) -> int:
        if not position or "附則" in position:
            return -1
        key = normalize_article_ref(position)
        if key is None:
            return -1
        return self._article_codes.setdefault(key, len(self._article_codes))

    def _add_rows(self, rows: Iterable[tuple[int, str, str, str, str, str]]) -> None:
        rows = list(rows)
        docnos = self._lexical.add(
            [
                {"words": w.split(), "title": t.split(), "grams": char_bigrams(text)}
                for _, _, text, w, t, _ in rows
            ]
        )
        self._chunk_article.extend([self._article_code(r[5]) for r in rows])
        keys = [self._docs.keys[r[1]] for r in rows]
        for docno, key in zip(docnos, keys, strict=True):
            self._docs.docnos[key].append(docno)
        self._chunk_doc.extend(keys)
        self._chunk_rowid.extend([r[0] for r in rows])

    # -- reading -------------------------------------------------------------------------

    def _search(self, query: IndexQuery) -> list[Hit]:
        with self._lock:
            self._sync()
            if self._lexical.size == 0:
                return []
            allowed = self._docs.allowed(query.filter)[self._chunk_doc.view] & self._lexical.alive
            total = np.zeros(self._lexical.size, dtype=np.float32)
            for signal in query.signals:
                scores = self._lexical.score(signal.terms, signal.fields, allowed)
                best = float(scores.max()) if len(scores) else 0.0
                if best > 0:
                    total += np.float32(signal.weight / best) * scores
            for boost in query.boosts:
                self._apply_boost(boost, total, allowed)
            k = min(query.k, int((total > 0).sum()))
            if k <= 0:
                return []
            top = np.argpartition(-total, k - 1)[:k]
            top = top[np.lexsort((top, -total[top]))]
            rowids = [int(r) for r in self._chunk_rowid.view[top]]
            metas = [self._docs.metas[int(d)] for d in self._chunk_doc.view[top]]
            scores_top = [float(total[t]) for t in top]
            chunks = self._chunks_by_rowid(rowids)
        return [
            Hit(chunk=chunks[r], meta=m, score=s)
            for r, m, s in zip(rowids, metas, scores_top, strict=True)
        ]

    def _apply_boost(
        self, boost: Boost, total: npt.NDArray[np.float32], allowed: npt.NDArray[np.bool_]
    ) -> None:
        law_code = self._docs.code("law_id", boost.law_id)
        target = allowed & (self._docs.column("law_id")[self._chunk_doc.view] == law_code)
        if boost.articles:
            codes = [self._article_codes.get(a, -2) for a in boost.articles]
            target &= np.isin(self._chunk_article.view, codes)
        else:
            target &= total > 0
        total[target] += np.float32(boost.add)

    def _law_titles(self) -> dict[str, str]:
        with self._lock:
            self._sync()
            return dict(self._docs.law_titles)

    def _chunks_by_rowid(self, rowids: Sequence[int]) -> dict[int, Chunk]:
        marks = ",".join("?" * len(rowids))
        rows = self._db.execute(
            "SELECT rowid, chunk_id, doc_id, ordinal, text, heading, position FROM chunks "
            f"WHERE rowid IN ({marks})",
            list(rowids),
        )
        return {r[0]: Chunk(*r[1:]) for r in rows}

    def _term_stats(self, field_name: str, terms: Sequence[str]) -> TermStats:
        with self._lock:
            self._sync()
            return TermStats(
                n_docs=self._lexical.n_alive,
                df={t: self._lexical.df(field_name, t) for t in terms},
            )

    def _get_document(self, doc_id: str) -> Document | None:
        with self._lock:
            row = self._db.execute(
                "SELECT meta, content_hash FROM documents WHERE doc_id = ?", (doc_id,)
            ).fetchone()
            if row is None:
                return None
            chunks = tuple(
                Chunk(*r)
                for r in self._db.execute(
                    "SELECT chunk_id, doc_id, ordinal, text, heading, position FROM chunks "
                    "WHERE doc_id = ? ORDER BY ordinal",
                    (doc_id,),
                )
            )
        return Document(meta=_meta_from_json(row[0]), chunks=chunks, content_hash=row[1])

    def _scalar(self, sql: str, params: Sequence[object] = ()) -> object:
        with self._lock:
            row = self._db.execute(sql, params).fetchone()
        return row[0] if row else None

    def _ping(self) -> None:
        try:
            self._scalar("SELECT count(*) FROM documents LIMIT 1")
        except sqlite3.Error as exc:
            raise IndexUnavailable(detail=f"embedded index unreadable: {exc}") from exc

    # -- the async IndexStore protocol ---------------------------------------------------

    async def upsert(self, document: Document) -> None:
        await asyncio.to_thread(self._write, [document])

    async def upsert_many(self, documents: Sequence[Document]) -> None:
        await asyncio.to_thread(self._write, documents)

    async def delete(self, doc_id: str) -> bool:
        return await asyncio.to_thread(self._delete, doc_id)

    async def search(self, query: IndexQuery) -> list[Hit]:
        return await asyncio.to_thread(self._search, query)

    async def term_stats(self, field_name: str, terms: Sequence[str]) -> TermStats:
        return await asyncio.to_thread(self._term_stats, field_name, terms)

    async def law_titles(self) -> dict[str, str]:
        return await asyncio.to_thread(self._law_titles)

    async def get_document(self, doc_id: str) -> Document | None:
        return await asyncio.to_thread(self._get_document, doc_id)

    async def content_hash(self, doc_id: str) -> str | None:
        value = await asyncio.to_thread(
            self._scalar, "SELECT content_hash FROM documents WHERE doc_id = ?", (doc_id,)
        )
        return str(value) if value is not None else None

    async def count_chunks(self) -> int:
        value = await asyncio.to_thread(self._scalar, "SELECT count(*) FROM chunks")
        return int(value or 0)  # type: ignore[call-overload]

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping)

    async def close(self) -> None:
        with self._lock:
            self._db.close()
