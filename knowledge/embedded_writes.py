"""What ``EmbeddedIndexStore`` writes to its SQLite file: documents, chunks, vectors, deletions.

Every change appends the ids of the documents it touched to the ``changes`` log, in the same
transaction, so that every process (this one included) reloads exactly those documents into its
in-memory index. The store holds its lock around each call and replays the log afterwards.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from knowledge.dense import Vector, vector_to_blob
from knowledge.documents import Document
from knowledge.embedded_docs import meta_to_json
from knowledge.embedded_schema import CHUNK_COLUMNS, articles_of, chunk_rows
from knowledge.postings import Encoded
from knowledge.terms import BatchTerms

_CHUNK_MARKS = ", ".join("?" * len(CHUNK_COLUMNS.split(",")))


def store_documents(
    db: sqlite3.Connection,
    model: str,
    documents: Sequence[Document],
    analyzed: Sequence[BatchTerms],
    encoded: dict[str, Encoded],
    vectors: Mapping[str, Vector],
) -> None:
    """Replace the stored versions of ``documents``: their chunks, with the terms ``encoded``
    by the current numbering, and the chunks' ``vectors`` by ``model``. Runs inside the
    caller's transaction, the one that stores the numbers of new terms."""
    ids = [(d.doc_id,) for d in documents]
    db.executemany("DELETE FROM chunks WHERE doc_id = ?", ids)
    db.executemany(
        "INSERT INTO documents(doc_id, meta, content_hash) VALUES (?, ?, ?) "
        "ON CONFLICT(doc_id) DO UPDATE SET meta=excluded.meta, "
        "content_hash=excluded.content_hash",
        [(d.doc_id, meta_to_json(d.meta), d.content_hash) for d in documents],
    )
    chunks = [c for d in documents for c in d.chunks]
    heads = [
        (c.chunk_id, c.doc_id, c.ordinal, c.heading, c.position, article or "")
        for c, article in zip(chunks, articles_of(analyzed), strict=True)
    ]
    db.executemany(
        f"INSERT INTO chunks({CHUNK_COLUMNS}) VALUES ({_CHUNK_MARKS})",
        chunk_rows(heads, encoded, [c.text for c in chunks]),
    )
    db.executemany(
        "INSERT INTO vectors(chunk_rowid, model, vector) "
        "SELECT rowid, ?, ? FROM chunks WHERE chunk_id = ?",
        [(model, vector_to_blob(v), c) for c, v in vectors.items()],
    )
    db.executemany("INSERT INTO changes(doc_id) VALUES (?)", ids)


def store_vectors(
    db: sqlite3.Connection, model: str, rows: Sequence[tuple[Any, ...]], vectors: Vector
) -> None:
    """Vectors by ``model`` of the chunks ``rows`` (as ``embedded_reads.missing_rows`` reads
    them), in one transaction. The chunks may have been replaced or deleted meanwhile: only
    chunks that still exist get one; their documents are reloaded by every process."""
    db.execute("BEGIN IMMEDIATE")
    try:
        db.executemany(
            "INSERT OR REPLACE INTO vectors(chunk_rowid, model, vector) "
            "SELECT rowid, ?, ? FROM chunks WHERE rowid = ? AND chunk_id = ?",
            [(model, vector_to_blob(v), r[0], r[2]) for r, v in zip(rows, vectors, strict=True)],
        )
        doc_ids = dict.fromkeys(str(r[3]) for r in rows)
        db.executemany("INSERT INTO changes(doc_id) VALUES (?)", [(d,) for d in doc_ids])
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def delete_document(
    db: sqlite3.Connection, doc_id: str, check: Callable[[], None] | None = None
) -> bool:
    """Delete a document with its chunks and their vectors, in one transaction; returns
    whether it existed. ``check`` runs first in the transaction (it may refuse by raising)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if check is not None:
            check()
        cursor = db.execute("DELETE FROM documents WHERE doc_id = ?", (doc_id,))
        existed = cursor.rowcount > 0
        if existed:
            db.execute("INSERT INTO changes(doc_id) VALUES (?)", (doc_id,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return existed
