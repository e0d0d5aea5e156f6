"""The SQLite schema of ``EmbeddedIndexStore``, its version and the upgrade of older files.

Version 2 stores each chunk's terms as compact arrays of term ids and counts (one pair of blobs
per field) next to its text, and the term numbering in ``terms``, so opening an index reads
arrays instead of re-splitting token strings and re-deriving bigrams. Version 1 (no ``meta``
table) stored space-joined words; it is upgraded in place, in one transaction, the first time a
newer Baibain opens it: documents, chunks, chunk ids and insertion order are kept.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from baibain.knowledge.analysis import char_bigrams
from baibain.knowledge.errors import IndexUnavailable
from baibain.knowledge.index import FIELDS
from baibain.knowledge.lexical import Encoded, Vocabulary
from baibain.knowledge.terms import article_key

SCHEMA_VERSION = 2

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
    text TEXT NOT NULL
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
)
_CHUNKS_INDEX = "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal)"
# Columns of a chunk row after ``chunk_id, doc_id, ordinal, heading, position``.
CHUNK_COLUMNS = (
    "chunk_id, doc_id, ordinal, heading, position, article, "
    "words, words_tf, title, title_tf, grams, grams_tf, text"
)
_UPGRADE_BATCH = 5_000


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
        if version < SCHEMA_VERSION:
            db.execute(_CHUNKS_INDEX)
            db.execute(
                "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
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
        (*head, *words, *title, *grams, text)
        for head, words, title, grams, text in zip(meta_rows, *blobs, texts, strict=True)
    ]


def _upgrade_from_v1(db: sqlite3.Connection) -> None:
    """Version 1 kept words as space-joined text; encode them and keep rowids (the order)."""
    db.execute(_CHUNKS.format(name="chunks_v2"))
    vocabs = {f: Vocabulary() for f in FIELDS}
    cursor = db.execute(
        "SELECT rowid, chunk_id, doc_id, ordinal, heading, position, text, words, title_words "
        "FROM chunks ORDER BY rowid"
    )
    while rows := cursor.fetchmany(_UPGRADE_BATCH):
        encoded = {
            "words": vocabs["words"].encode([r[7].split() for r in rows]),
            "title": vocabs["title"].encode([r[8].split() for r in rows]),
            "grams": vocabs["grams"].encode([char_bigrams(r[6]) for r in rows]),
        }
        heads = [(*r[:6], article_key(r[5]) or "") for r in rows]
        db.executemany(
            f"INSERT INTO chunks_v2(rowid, {CHUNK_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            chunk_rows(heads, encoded, [r[6] for r in rows]),
        )
    for field, vocab in vocabs.items():
        insert_terms(db, field, vocab, 0)
    db.execute("DROP TABLE chunks")
    db.execute("ALTER TABLE chunks_v2 RENAME TO chunks")
