"""What ``EmbeddedIndexStore`` reads from its SQLite file.

The committed rows that fill a ``MemoryIndex`` (all of them when a process opens the index or the
term numbering changed, else the documents named in the change log), the chunks behind search
hits, whole documents, and the chunks still waiting for a vector. The store holds its lock
around each call; the loading functions run inside its read transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from knowledge.documents import Chunk, Document, DocumentMeta
from knowledge.embedded_docs import DOC_ROWS, DocRow, meta_from_json
from knowledge.embedded_memory import MemoryIndex, TermRow
from knowledge.embedded_schema import TERM_COLUMNS
from knowledge.index import FIELDS

_LOAD_BATCH = 50_000
# SQLite limits the number of ``?`` in one statement.
_IDS_PER_QUERY = 500
_TERM_ROWS = (
    f"SELECT c.rowid, c.doc_id, c.article, {TERM_COLUMNS}, v.vector FROM chunks c "
    "LEFT JOIN vectors v ON v.chunk_rowid = c.rowid AND v.model = ?"
)
_MISSING = (
    "FROM chunks c JOIN documents d USING (doc_id) LEFT JOIN vectors v "
    "ON v.chunk_rowid = c.rowid AND v.model = ? WHERE v.chunk_rowid IS NULL"
)


def read_new_terms(db: sqlite3.Connection, memory: MemoryIndex) -> None:
    """Extend each field's vocabulary with the terms other processes have numbered."""
    for field in FIELDS:
        vocab = memory.vocab(field)
        vocab.extend(
            r[0]
            for r in db.execute(
                "SELECT term FROM terms WHERE field = ? AND id >= ? ORDER BY id",
                (field, len(vocab)),
            )
        )


def load_all(db: sqlite3.Connection, memory: MemoryIndex, model: str) -> None:
    """Add every stored document and chunk (with its vector by ``model``) to an empty index."""
    cursor = db.execute(DOC_ROWS)
    while documents := cursor.fetchmany(_LOAD_BATCH):
        memory.add_documents(documents)
    cursor = db.execute(f"{_TERM_ROWS} ORDER BY c.rowid", (model,))
    while rows := cursor.fetchmany(_LOAD_BATCH):
        memory.add_chunks(rows, merge=False)
    memory.merge_all()


def reload(db: sqlite3.Connection, memory: MemoryIndex, model: str, doc_ids: Sequence[str]) -> None:
    """Replace the documents ``doc_ids`` in the index by their stored versions (none for a
    deleted one)."""
    for doc_id in doc_ids:
        memory.remove_document(doc_id)
    documents: list[DocRow] = []
    rows: list[TermRow] = []
    for start in range(0, len(doc_ids), _IDS_PER_QUERY):
        group = doc_ids[start : start + _IDS_PER_QUERY]
        marks = ",".join("?" * len(group))
        documents += db.execute(f"{DOC_ROWS} WHERE doc_id IN ({marks})", group)
        rows += db.execute(f"{_TERM_ROWS} WHERE c.doc_id IN ({marks})", (model, *group)).fetchall()
    memory.add_documents(documents)
    if rows:
        memory.add_chunks(sorted(rows))


def chunks_by_rowid(
    db: sqlite3.Connection, memory: MemoryIndex, rowids: Sequence[int]
) -> dict[int, tuple[Chunk, DocumentMeta, frozenset[str]]]:
    """Chunks with their document's metadata and their indexed words (decoded from the
    stored term ids, so a hit never has to be analyzed again)."""
    marks = ",".join("?" * len(rowids))
    rows = db.execute(
        "SELECT c.rowid, c.chunk_id, c.doc_id, c.ordinal, c.text, c.heading, c.position, "
        "d.meta, c.words FROM chunks c JOIN documents d USING (doc_id) "
        f"WHERE c.rowid IN ({marks})",
        list(rowids),
    )
    return {r[0]: (Chunk(*r[1:7]), meta_from_json(r[7]), memory.words(r[8])) for r in rows}


def read_document(db: sqlite3.Connection, doc_id: str) -> Document | None:
    """A stored document with its chunks in order, ``None`` when there is none."""
    row = db.execute(
        "SELECT meta, content_hash FROM documents WHERE doc_id = ?", (doc_id,)
    ).fetchone()
    if row is None:
        return None
    chunks = tuple(
        Chunk(*r)
        for r in db.execute(
            "SELECT chunk_id, doc_id, ordinal, text, heading, position FROM chunks "
            "WHERE doc_id = ? ORDER BY ordinal",
            (doc_id,),
        )
    )
    return Document(meta=meta_from_json(row[0]), chunks=chunks, content_hash=row[1])


def read_chunks(db: sqlite3.Connection, doc_id: str, first: int, last: int) -> list[Chunk]:
    """The chunks of a document with ordinals ``first`` to ``last``, in order."""
    return [
        Chunk(*r)
        for r in db.execute(
            "SELECT chunk_id, doc_id, ordinal, text, heading, position FROM chunks "
            "WHERE doc_id = ? AND ordinal BETWEEN ? AND ? ORDER BY ordinal",
            (doc_id, first, last),
        )
    ]


def missing_count(db: sqlite3.Connection, model: str) -> int:
    """How many chunks have no vector by ``model``."""
    return int(db.execute(f"SELECT count(*) {_MISSING}", (model,)).fetchone()[0])


def missing_rows(db: sqlite3.Connection, model: str, limit: int) -> list[tuple[Any, ...]]:
    """The first ``limit`` chunks without a vector by ``model``, as ``(rowid, meta JSON,
    chunk_id, doc_id, ordinal, text, heading, position)``."""
    return db.execute(
        "SELECT c.rowid, d.meta, c.chunk_id, c.doc_id, c.ordinal, c.text, c.heading, "
        f"c.position {_MISSING} ORDER BY c.rowid LIMIT ?",
        (model, limit),
    ).fetchall()
