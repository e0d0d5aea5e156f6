"""The embedded index file across Baibain versions, and its term numbering across processes."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from knowledge.analysis import Analyzer, char_bigrams
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embedded_docs import meta_to_json
from knowledge.errors import BadDocument, IndexUnavailable
from knowledge.index import IndexQuery, SearchFilter, Signal

ANALYZER = Analyzer()

# The schema of the first release (no ``meta`` table, words stored as space-joined text).
V1_SCHEMA = """
CREATE TABLE documents (doc_id TEXT PRIMARY KEY, meta TEXT NOT NULL, content_hash TEXT NOT NULL);
CREATE TABLE chunks (
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
CREATE INDEX chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE changes (seq INTEGER PRIMARY KEY AUTOINCREMENT, doc_id TEXT NOT NULL);
"""

TEXTS = {
    "jichi": ("普通地方公共団体の長は、当該普通地方公共団体を統轄し、これを代表する。",),
    "hinan": ("市町村長は、指定避難所を指定しなければならない。", "避難所の開設は市長が行う。"),
    "kasai": ("火災を発見した者は、遅滞なく消防署に通報しなければならない。",),
}


def law(doc_id: str, *texts: str) -> Document:
    meta = DocumentMeta(doc_id=doc_id, title=f"法令{doc_id}", dataset="テスト", law_id=doc_id)
    sections = [
        Section(text=t, heading=f"第{i + 1}条", position=f"第{i + 1}条")
        for i, t in enumerate(texts)
    ]
    return Document(meta, chunk_sections(doc_id, sections), content_hash("".join(texts)))


def query(text: str) -> IndexQuery:
    words = {t: 1.0 for t in ANALYZER.words(text, drop_stop_words=True)}
    grams = {g: 1.0 for g in char_bigrams(text)}
    signals = (Signal(words, {"words": 1.0, "title": 0.6}), Signal(grams, {"grams": 1.0}, 0.6))
    return IndexQuery(signals=signals, filter=SearchFilter(), k=10)


def write_v1_index(path: Path, documents: list[Document]) -> None:
    """An index file exactly as the first release wrote it."""
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    for document in documents:
        db.execute(
            "INSERT INTO documents VALUES (?, ?, ?)",
            (document.doc_id, meta_to_json(document.meta), document.content_hash),
        )
        for c in document.chunks:
            words = " ".join(ANALYZER.words(c.text))
            title_words = " ".join(ANALYZER.words(f"{document.meta.title} {c.heading}"))
            db.execute(
                "INSERT INTO chunks(chunk_id, doc_id, ordinal, heading, position, text, words,"
                " title_words) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    c.chunk_id,
                    c.doc_id,
                    c.ordinal,
                    c.heading,
                    c.position,
                    c.text,
                    words,
                    title_words,
                ),
            )
        db.execute("INSERT INTO changes(doc_id) VALUES (?)", (document.doc_id,))
    db.commit()
    db.close()


async def ranking(store: EmbeddedIndexStore, text: str) -> list[tuple[str, str, float]]:
    return [
        (h.chunk.chunk_id, h.meta.doc_id, round(h.score, 5))
        for h in await store.search(query(text))
    ]


async def test_index_of_the_first_release_keeps_its_documents_and_answers_alike(
    tmp_path: Path,
) -> None:
    documents = [law(d, *t) for d, t in TEXTS.items()]
    write_v1_index(tmp_path / "old.sqlite3", documents)
    fresh = EmbeddedIndexStore(tmp_path / "fresh.sqlite3", ANALYZER)
    upgraded = EmbeddedIndexStore(tmp_path / "old.sqlite3", ANALYZER)
    try:
        await fresh.upsert_many(documents)
        assert await upgraded.count_chunks() == 4
        for document in documents:
            assert await upgraded.get_document(document.doc_id) == document
        for text in ("避難所を開設するのは誰か", "火事を見つけたら", "長は団体を代表する"):
            assert await ranking(upgraded, text) == await ranking(fresh, text)
        await upgraded.upsert(law("shinki", "図書館の開館時間は条例で定める。"))
        hits = await upgraded.search(query("図書館の開館時間"))
        assert hits[0].meta.doc_id == "shinki"
    finally:
        await fresh.close()
        await upgraded.close()
    reopened = EmbeddedIndexStore(tmp_path / "old.sqlite3", ANALYZER)
    try:
        assert await reopened.count_chunks() == 5
        hits = await reopened.search(query("指定避難所"))
        assert hits[0].meta.doc_id == "hinan"
    finally:
        await reopened.close()


async def test_index_of_schema_version_2_gains_citations_and_keeps_its_documents(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    cited = law("seirei", "法第一条の政令で定める事項は、次のとおりとする。")
    documents = [*(law(d, *t) for d, t in TEXTS.items()), cited]
    first = EmbeddedIndexStore(path, ANALYZER)
    await first.upsert_many(documents)
    await first.close()
    # What the previous release wrote: no citation columns, the previous analysis.
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE chunks DROP COLUMN refs")
    db.execute("ALTER TABLE chunks DROP COLUMN refs_tf")
    db.execute("DELETE FROM terms WHERE field = 'refs'")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'terms_version'")
    db.commit()
    db.close()
    fresh = EmbeddedIndexStore(tmp_path / "fresh.sqlite3", ANALYZER)
    upgraded = EmbeddedIndexStore(path, ANALYZER)
    try:
        await fresh.upsert_many(documents)
        for document in documents:
            assert await upgraded.get_document(document.doc_id) == document
        for text in ("避難所を開設するのは誰か", "火事を見つけたら", "長は団体を代表する"):
            assert await ranking(upgraded, text) == await ranking(fresh, text)
        citing = IndexQuery([Signal({"法:1": 1.0}, {"refs": 1.0})], SearchFilter(), k=5)
        assert [h.meta.doc_id for h in await upgraded.search(citing)] == ["seirei"]
    finally:
        await fresh.close()
        await upgraded.close()


async def test_index_of_a_newer_release_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    store = EmbeddedIndexStore(path, ANALYZER)
    await store.upsert(law("jichi", *TEXTS["jichi"]))
    await store.close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(IndexUnavailable) as raised:
        EmbeddedIndexStore(path, ANALYZER)
    assert "schema version 99" in str(raised.value.detail)
    # The refused store leaves the file closed (a server retrying would pile up handles).
    assert not [name for name in open_files() if name.startswith(str(path))]


def open_files() -> list[str]:
    """What this process's file descriptors point to (Linux)."""
    names = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            names.append(os.readlink(f"/proc/self/fd/{fd}"))
        except FileNotFoundError:  # the descriptor listdir itself used
            continue
    return names


async def test_new_words_after_a_failed_batch_are_found_by_every_process(tmp_path: Path) -> None:
    writer = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    reader = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await writer.upsert(law("jichi", *TEXTS["jichi"]))
        assert [h.meta.doc_id for h in await reader.search(query("代表"))] == ["jichi"]
        good = law("kasai", *TEXTS["kasai"])
        clash = Document(law("other", "議会の招集。").meta, good.chunks)  # same chunk ids
        with pytest.raises(BadDocument):
            await writer.upsert_many([good, clash])
        await reader.upsert(law("hinan", *TEXTS["hinan"]))
        await writer.upsert(law("kasai", *TEXTS["kasai"]))
        for store in (reader, writer):
            assert [h.meta.doc_id for h in await store.search(query("消防署に通報"))] == ["kasai"]
            assert {h.meta.doc_id for h in await store.search(query("指定避難所"))} == {"hinan"}
    finally:
        await writer.close()
        await reader.close()


async def test_terms_of_an_older_analysis_are_rebuilt_and_every_process_sees_them(
    tmp_path: Path,
) -> None:
    path = tmp_path / "index.sqlite3"
    documents = [law(d, *t) for d, t in TEXTS.items()]
    fresh = EmbeddedIndexStore(tmp_path / "fresh.sqlite3", ANALYZER)
    await fresh.upsert_many(documents)
    first = EmbeddedIndexStore(path, ANALYZER)
    await first.upsert_many(documents)
    await first.close()
    # What an index analyzed by an older release looks like: other terms, another version.
    db = sqlite3.connect(path)
    db.execute("UPDATE chunks SET words = x'', words_tf = x'', grams = x'', grams_tf = x''")
    db.execute("UPDATE meta SET value = 'older' WHERE key = 'terms_version'")
    db.commit()
    db.close()
    reader = EmbeddedIndexStore(path, ANALYZER)  # rebuilds at open
    try:
        for text in ("避難所を開設するのは誰か", "火事を見つけたら", "長は団体を代表する"):
            assert await ranking(reader, text) == await ranking(fresh, text)
        other = EmbeddedIndexStore(path, ANALYZER)
        await other.delete("jichi")  # so that the next rebuild numbers the terms differently
        await other.close()
        db = sqlite3.connect(path)
        db.execute("UPDATE meta SET value = 'older' WHERE key = 'terms_version'")
        db.commit()
        db.close()
        writer = EmbeddedIndexStore(path, ANALYZER)  # another process rebuilds again
        new = law("shinki", "図書館の開館時間は条例で定める。")
        await writer.upsert(new)  # written with the new numbering
        await writer.close()
        await fresh.delete("jichi")
        await fresh.upsert(new)
        for text in ("図書館の開館時間", "指定避難所", "火災の通報"):
            assert await ranking(reader, text) == await ranking(fresh, text)
    finally:
        await reader.close()
        await fresh.close()
