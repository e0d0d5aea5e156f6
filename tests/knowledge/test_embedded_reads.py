"""Reads of the embedded index while it is being written: the bot stays responsive and sees
either the previous or the new state, never half of a batch."""

from __future__ import annotations

import asyncio
from pathlib import Path

from knowledge.embedded import EmbeddedIndexStore
from tests.knowledge.test_store_contract import ANALYZER, doc, query

SHELTER = "市町村長は、指定避難所を指定しなければならない。"


async def test_questions_are_answered_while_a_large_batch_is_written(tmp_path: Path) -> None:
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many([doc("old", SHELTER)])
        batch = [doc(f"new{i}", SHELTER, f"第{i}号の避難訓練を行う。") for i in range(400)]
        writing = asyncio.create_task(store.upsert_many(batch))
        ticks, seen = 0, set()
        while not writing.done():
            hits = await store.search(query("指定避難所", k=1_000))
            seen.add(len({h.meta.doc_id for h in hits}))
            await asyncio.sleep(0.001)
            ticks += 1
        await writing
        assert ticks > 1  # the event loop went on while the batch was analyzed and written
        assert seen <= {1, 401}  # the old state or the whole batch, nothing in between
        hits = await store.search(query("指定避難所", k=1_000))
        assert len({h.meta.doc_id for h in hits}) == 401
    finally:
        await store.close()
