"""The SQLite file of ``EmbeddedIndexStore``: its schema, its versions, the upgrade of older
files, and opening one ready for use (``open_index``).

Version 2 stores each chunk's terms as compact arrays of term ids and counts (one pair of blobs
per field) next to its text, and the term numbering in ``terms``, so opening an index reads
arrays instead of re-splitting token strings and re-deriving bigrams. Version 3 adds the
``refs`` field (citation keys) and the ``vectors`` table (chunk embeddings, when an embeddings
endpoint is configured); a version 2 file gets both, and its terms are rebuilt because the
terms version changed with it.

Two versions are kept in ``meta``. ``schema_version`` is the table layout: versions 1 (no
``meta`` table) and 2 are upgraded in place, in one transaction, the first time a newer Baibain
opens it; documents, chunks, chunk ids and insertion order are kept. ``terms_version`` is
``terms.TERMS_VERSION`` of the analysis that produced the stored terms: when the analysis
changes (and after the upgrade from version 1) every chunk is analyzed again from its stored
text, also in one transaction, and ``terms_generation`` is increased so that processes holding
the old numbering in memory reload.

``database`` in ``meta`` is the identity of the administrative database the index serves
(``bind_database``): documents name their owners by that database's organization numbers.
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from knowledge.documents import Chunk, Document
from knowledge.embedded_docs import meta_from_json
from knowledge.errors import BOUND_ELSEWHERE_REASON, IndexBoundElsewhere, IndexUnavailable
from knowledge.index import FIELDS
from knowledge.postings import Encoded, Vocabulary
from knowledge.terms import TERMS_VERSION, BatchTerms

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3

_CHUNKS = """
CREATE TABLE {name} (
    rowid INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    heading TEXT NOT NULL,
    position TEXT NOT NULL,
    article TEXT NOT NULL,
    words BLOB NOT NULL,
    words_tf BLOB NOT NULL,
    title BLOB NOT NULL,
    title_tf BLOB NOT NULL,
    grams BLOB NOT NULL,
    grams_tf BLOB NOT NULL,
    text TEXT NOT NULL,
    refs BLOB NOT NULL DEFAULT x'',
    refs_tf BLOB NOT NULL DEFAULT x''
)"""
_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS documents (
        doc_id TEXT PRIMARY KEY,
        meta TEXT NOT NULL,
        content_hash TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS terms (
        field TEXT NOT NULL,
        id INTEGER NOT NULL,
        term TEXT NOT NULL,
        PRIMARY KEY (field, id)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        doc_id TEXT NOT NULL
    )""",
    # Embeddings of chunks (little-endian float32), by the model that computed them.
    """CREATE TABLE IF NOT EXISTS vectors (
        chunk_rowid INTEGER PRIMARY KEY REFERENCES chunks(rowid) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL
    )""",
)
_CHUNKS_INDEX = "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal)"
# Columns of a chunk row after ``chunk_id, doc_id, ordinal, heading, position``.
# The (term ids, counts) columns of every field, in ``FIELDS`` order.
TERM_COLUMNS = ", ".join(f"{f}, {f}_tf" for f in FIELDS)
CHUNK_COLUMNS = f"chunk_id, doc_id, ordinal, heading, position, article, {TERM_COLUMNS}, text"
_TERM_ASSIGNMENTS = ", ".join(f"{f} = ?, {f}_tf = ?" for f in FIELDS)
_REANALYZE_BATCH = 5_000
_WAL_ATTEMPTS = 200  # 10 s, as the busy timeout
# SQLite's page cache per connection (its default is 2 MiB). Chunk and document ids arrive
# in no particular order, so every insert touches random pages of their indexes; keeping
# the indexes in memory made ingest of 300,000 chunks about a fifth faster (1.20 → 1.42 MB/s).
_PAGE_CACHE_KIB = 128 * 1024
Analyze = Callable[[Sequence[Document]], list[BatchTerms]]


def open_index(path: Path, database: str | None, analyze: Analyze) -> sqlite3.Connection:
    """Open the index file at ``path`` ready for use: created, or upgraded to this schema
    (``prepare``); bound to ``database`` unless that is ``None`` (``bind_database``); its terms
    analyzed again with ``analyze`` when the analysis changed (``reanalyze``).

    A file bound to another database is refused before anything is written to it
    (``IndexBoundElsewhere``); one that cannot be opened or read gives ``IndexUnavailable``.
    On any failure the connection is closed.
    """
    db: sqlite3.Connection | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA busy_timeout=10000")
        use_wal(db)
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute(f"PRAGMA cache_size=-{_PAGE_CACHE_KIB}")
        if database is not None:
            refuse_foreign(db, database, path)  # before any upgrade writes to it
        prepare(db, path)
        if database is not None:
            bind_database(db, database, path)
        if not terms_current(db):
            reanalyze(db, analyze)
        return db
    except BaseException as exc:  # refused, unreadable, interrupted: nothing left open
        if db is not None:
            db.close()
        if isinstance(exc, sqlite3.Error | OSError):
            raise IndexUnavailable(detail=f"cannot open index at {path}: {exc}") from exc
        raise


def use_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. Processes opening a new file together get "database is locked" from the
    switch while another one sets the file up (the busy timeout does not cover it): retried."""
    for attempt in range(_WAL_ATTEMPTS):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt + 1 == _WAL_ATTEMPTS:
                raise
            time.sleep(0.05)


def _table_exists(db: sqlite3.Connection, name: str) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return found.fetchone() is not None


def schema_version(db: sqlite3.Connection) -> int:
    """2 and up from ``meta``; 1 for a file written before versions existed; 0 when empty."""
    if _table_exists(db, "meta"):
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is not None:
            return int(row[0])
    return 1 if _table_exists(db, "chunks") else 0


def prepare(db: sqlite3.Connection, path: object) -> None:
    """Create the tables of a new index or upgrade an older one; refuse a newer one."""
    if schema_version(db) == SCHEMA_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(db)  # another process may have upgraded meanwhile
        if version > SCHEMA_VERSION:
            raise IndexUnavailable(
                detail=f"index {path} has schema version {version}; this Baibain reads up to "
                f"{SCHEMA_VERSION}. Upgrade Baibain or point BAIBAIN_DATA_DIR elsewhere."
            )
        for statement in _TABLES:
            db.execute(statement)
        if version == 0:
            db.execute(_CHUNKS.format(name="chunks"))
        elif version == 1:
            _upgrade_from_v1(db)
        elif version == 2:
            _upgrade_from_v2(db)
        if version == 0:
            _set_meta(db, "terms_version", TERMS_VERSION)
        if version < SCHEMA_VERSION:
            db.execute(_CHUNKS_INDEX)
            _set_meta(db, "schema_version", str(SCHEMA_VERSION))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def bound_database(db: sqlite3.Connection) -> str | None:
    """The identity of the database the index serves; ``None`` before it was first opened by
    a Baibain that binds indexes."""
    return _meta_value(db, "database") if _table_exists(db, "meta") else None


def _holds_owned_documents(db: sqlite3.Connection) -> bool:
    """Whether any document belongs to an organization (the bundled sample belongs to none)."""
    owned = db.execute(
        "SELECT 1 FROM documents WHERE json_extract(meta, '$.owner_org') IS NOT NULL LIMIT 1"
    )
    return owned.fetchone() is not None


def bound_elsewhere(path: object) -> IndexBoundElsewhere:
    """The error for an index that serves another database: what happened, what to do."""
    return IndexBoundElsewhere(
        f"検索インデックス {path} は、別のデータベースで文書を取り込んだものです。"
        f"{BOUND_ELSEWHERE_REASON}取り込んだときのデータベースを BAIBAIN_DATABASE_URL に"
        "指定するか、空のフォルダを BAIBAIN_DATA_DIR に指定して、文書を取り込み直してください。",
        detail=f"index {path} is bound to another database",
    )


def refuse_foreign(db: sqlite3.Connection, database: str, path: object) -> None:
    """``bound_elsewhere`` when the index serves another database and holds documents of its
    organizations; reads only."""
    if bound_database(db) not in (None, database) and _holds_owned_documents(db):
        raise bound_elsewhere(path)


def bind_database(db: sqlite3.Connection, database: str, path: object) -> None:
    """Record that the index serves ``database``, unless another database's organizations own
    documents in it (``refuse_foreign``). An index of none (new, from before bindings, or with
    the bundled sample only) is bound silently; processes binding it together agree."""
    if bound_database(db) == database:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        refuse_foreign(db, database, path)
        bound = bound_database(db)  # another process may have bound it meanwhile
        if bound is not None and bound != database:
            log.warning("index %s held no organization's documents; bound to this database", path)
        if bound != database:
            _set_meta(db, "database", database)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def insert_terms(db: sqlite3.Connection, field: str, vocab: Vocabulary, first: int) -> None:
    """Persist the terms of ``vocab`` numbered ``first`` and above."""
    db.executemany(
        "INSERT INTO terms(field, id, term) VALUES (?, ?, ?)",
        ((field, first + i, term) for i, term in enumerate(vocab.terms[first:])),
    )


def chunk_rows(
    meta_rows: Sequence[tuple[object, ...]], encoded: dict[str, Encoded], texts: Sequence[str]
) -> list[tuple[object, ...]]:
    """Rows for ``INSERT INTO chunks(... CHUNK_COLUMNS)``: leading columns, blobs, text.

    ``meta_rows`` are ``(chunk_id, doc_id, ordinal, heading, position, article)`` or with a
    leading rowid.
    """
    blobs = [encoded[f].to_blobs() for f in FIELDS]
    return [
        (*head, *(blob for pair in pairs for blob in pair), text)
        for head, *pairs, text in zip(meta_rows, *blobs, texts, strict=True)
    ]


def _upgrade_from_v1(db: sqlite3.Connection) -> None:
    """Version 1 kept words as space-joined text: move the content (same rowids, so the same
    order) into the new table; its terms are then rebuilt by ``reanalyze``."""
    db.execute(_CHUNKS.format(name="chunks_v2"))
    db.execute(
        f"INSERT INTO chunks_v2(rowid, {CHUNK_COLUMNS}) "
        "SELECT rowid, chunk_id, doc_id, ordinal, heading, position, '', "
        "x'', x'', x'', x'', x'', x'', x'', x'', text FROM chunks ORDER BY rowid"
    )
    db.execute("DROP TABLE chunks")
    db.execute("ALTER TABLE chunks_v2 RENAME TO chunks")


def _upgrade_from_v2(db: sqlite3.Connection) -> None:
    """Version 3 adds the ``refs`` field; its terms come with the re-analysis that the new
    terms version asks for."""
    for column in ("refs", "refs_tf"):
        db.execute(f"ALTER TABLE chunks ADD COLUMN {column} BLOB NOT NULL DEFAULT x''")


def _meta_value(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def terms_generation(db: sqlite3.Connection) -> int:
    """Increases whenever every chunk's terms were rebuilt (the term numbering changed)."""
    return int(_meta_value(db, "terms_generation") or 0)


def terms_current(db: sqlite3.Connection) -> bool:
    """Whether the stored terms come from this version of the analysis."""
    return _meta_value(db, "terms_version") == TERMS_VERSION


def encode_terms(
    vocabs: Mapping[str, Vocabulary], parts: Sequence[BatchTerms]
) -> dict[str, Encoded]:
    """Term ids and counts of each analyzed chunk, per field (new terms get new ids)."""
    return {f: Encoded.concat([vocabs[f].adopt(p.fields[f]) for p in parts]) for f in FIELDS}


def articles_of(parts: Sequence[BatchTerms]) -> list[str | None]:
    """The article key of each analyzed chunk."""
    return [a for p in parts for a in p.articles]


def _documents(rows: Sequence[tuple[Any, ...]]) -> list[Document]:
    """Rows ``(rowid, chunk_id, doc_id, ordinal, text, heading, position, meta)`` in rowid
    order as documents (a document cut by the batch boundary comes as two parts)."""
    documents = []
    for _, group in itertools.groupby(rows, key=lambda r: r[2]):
        chunks = list(group)
        meta = meta_from_json(chunks[0][7])
        documents.append(Document(meta, tuple(Chunk(*r[1:7]) for r in chunks)))
    return documents


def reanalyze(db: sqlite3.Connection, analyze: Analyze) -> None:
    """Analyze every stored chunk again and renumber all terms, in one transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if terms_current(db):  # another process did it meanwhile
            db.execute("COMMIT")
            return
        total = db.execute("SELECT count(*) FROM chunks").fetchone()[0]
        log.info("re-analyzing %d chunks for terms version %s", total, TERMS_VERSION)
        db.execute("DELETE FROM terms")
        vocabs = {f: Vocabulary() for f in FIELDS}
        last = done = 0
        while rows := db.execute(
            "SELECT c.rowid, c.chunk_id, c.doc_id, c.ordinal, c.text, c.heading, c.position, "
            "d.meta FROM chunks c JOIN documents d USING (doc_id) WHERE c.rowid > ? "
            "ORDER BY c.rowid LIMIT ?",
            (last, _REANALYZE_BATCH),
        ).fetchall():
            analyzed = analyze(_documents(rows))
            encoded = encode_terms(vocabs, analyzed)
            blobs = [encoded[f].to_blobs() for f in FIELDS]
            db.executemany(
                f"UPDATE chunks SET article = ?, {_TERM_ASSIGNMENTS} WHERE rowid = ?",
                [
                    (article or "", *(blob for pair in pairs for blob in pair), r[0])
                    for article, *pairs, r in zip(articles_of(analyzed), *blobs, rows, strict=True)
                ],
            )
            last, done = rows[-1][0], done + len(rows)
            log.info("re-analyzed %d of %d chunks", done, total)
        for field, vocab in vocabs.items():
            insert_terms(db, field, vocab, 0)
        _set_meta(db, "terms_version", TERMS_VERSION)
        _set_meta(db, "terms_generation", str(terms_generation(db) + 1))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
