"""A process killed while it writes to the embedded index leaves the index as its last
committed batch left it: reopened, every document is whole, in its old or in its new version,
and the batches written before the kill are kept."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import IndexQuery, SearchFilter, Signal, batches

ANALYZER = Analyzer()
DOCUMENTS = 600
BATCH = 20


def version(doc_id: int, label: str) -> Document:
    """Document ``doc_id`` in version ``label`` (旧版 or 新版): several chunks, so a half-written
    document would show as a mix of versions or a missing chunk."""
    sections = [
        Section(
            text="".join(
                f"{label}第{doc_id}号の避難所は、市町村長が第{n}条の基準により指定する。"
                for n in range(40)
            ),
            position=f"第{part + 1}条",
        )
        for part in range(3)
    ]
    meta = DocumentMeta(doc_id=f"doc{doc_id}", title=f"規則{doc_id}", dataset="テスト")
    return Document(meta, chunk_sections(meta.doc_id, sections), content_hash(label))


def child(path: str) -> None:
    """Replace every document with its new version, in batches; report each written batch."""

    async def run() -> None:
        store = EmbeddedIndexStore(Path(path), ANALYZER)

        async def written(done: int) -> None:
            print(done, flush=True)

        documents = [version(i, "新版") for i in range(DOCUMENTS)]
        await store.upsert_batches(batches(documents, BATCH), written)
        await store.close()

    asyncio.run(run())


@pytest.mark.parametrize("delay", [0.0, 0.15, 0.3])
async def test_a_writer_killed_mid_ingest_leaves_whole_documents(
    tmp_path: Path, delay: float
) -> None:
    path = tmp_path / "index.sqlite3"
    store = EmbeddedIndexStore(path, ANALYZER)
    await store.upsert_many([version(i, "旧版") for i in range(DOCUMENTS)])
    await store.close()

    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
    code += f"import {Path(__file__).stem} as t; t.child({str(path)!r})"
    writer = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert writer.stdout is not None
    first = int(writer.stdout.readline())  # one batch is committed; the next is under way
    time.sleep(delay)  # the kill lands at different points of analysis and writing
    os.killpg(writer.pid, signal.SIGKILL)  # the writer and its analysis helper
    writer.wait()
    assert writer.returncode == -signal.SIGKILL

    store = EmbeddedIndexStore(path, ANALYZER)
    try:
        new = 0
        for i in range(DOCUMENTS):
            stored = await store.get_document(f"doc{i}")
            assert stored is not None
            texts = [c.text for c in stored.chunks]
            if texts == [c.text for c in version(i, "新版").chunks]:
                new += 1
            else:
                assert texts == [c.text for c in version(i, "旧版").chunks]
        assert first <= new < DOCUMENTS and new % BATCH == 0
        # The in-memory index agrees with the rows: both versions are found, and only whole.
        words = {t: 1.0 for t in ANALYZER.words("新版の避難所", drop_stop_words=True)}
        hits = await store.search(
            IndexQuery([Signal(words, {"words": 1.0})], SearchFilter(), k=DOCUMENTS)
        )
        assert len({h.meta.doc_id for h in hits}) == DOCUMENTS
        assert sum("新版" in h.chunk.text for h in hits) == new
    finally:
        await store.close()
