"""The bundled sample: loaded into an empty index, finished when a load was cut short, never
added to an index of an organization's own data."""

from __future__ import annotations

from pathlib import Path

from bot.sample import SAMPLE_DEFAULTS, load_sample_if_empty, sample_path
from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.corpus import read_corpus
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore

ANALYZER = Analyzer()


async def test_a_sample_load_cut_short_is_finished_at_the_next_start(tmp_path: Path) -> None:
    documents = list(read_corpus(sample_path(), SAMPLE_DEFAULTS))
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents[:400])  # two batches were written, then it stopped
        assert await load_sample_if_empty(store, show_progress=False) == len(documents) - 400
        last = documents[-1]
        assert await store.content_hash(last.doc_id) == last.content_hash
        assert await load_sample_if_empty(store, show_progress=False) == 0
    finally:
        await store.close()


async def test_an_index_of_own_data_gets_no_sample(tmp_path: Path) -> None:
    text = "粗大ごみは毎月第二水曜日に収集する。"
    meta = DocumentMeta(doc_id="ds1/rule.txt", title="ごみ出し規則", dataset="例規")
    own = Document(meta, chunk_sections("ds1/rule.txt", [Section(text=text)]), content_hash(text))
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert(own)
        assert await load_sample_if_empty(store, show_progress=False) == 0
        assert await store.count_chunks() == 1
    finally:
        await store.close()
