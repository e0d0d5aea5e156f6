"""The bundled sample dataset (42 statutes and orders), loaded into an empty index at start
(and finished at the next start when that load was cut short)."""

from __future__ import annotations

import json
import logging
import os
from functools import cache
from importlib import resources
from pathlib import Path

from tqdm import tqdm

from knowledge.corpus import CorpusDefaults, read_corpus
from knowledge.index import IndexStore, batches

log = logging.getLogger(__name__)

SAMPLE_DATASET = "サンプル法令データ"
SAMPLE_DEFAULTS = CorpusDefaults(
    dataset=SAMPLE_DATASET,
    publisher="e-Gov法令検索（デジタル庁）",
    category="法令",
    license="著作権法第13条により著作権の対象外",
)
_BATCH = 200
# Enough of the sample's end to hold its last line (an article is a few kilobytes).
_TAIL_BYTES = 256 * 1024


def sample_path() -> Path:
    """Path of the bundled sample corpus."""
    return Path(str(resources.files("bot.sample_data").joinpath("laws.jsonl")))


@cache
def _first_and_last_ids() -> tuple[str, str]:
    """Ids of the sample's first and last documents (its load order), reading only its first
    and last lines, once per process (every start and every listing asks)."""
    with sample_path().open("rb") as handle:
        first = handle.readline()
        handle.seek(max(0, handle.seek(0, os.SEEK_END) - _TAIL_BYTES))
        last = [line for line in handle.read().splitlines() if line.strip()][-1]
    return str(json.loads(first)["id"]), str(json.loads(last)["id"])


@cache
def sample_documents() -> int:
    """How many documents (articles) the sample holds, counted once per process."""
    with sample_path().open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def sample_line() -> str:
    """The bundled statutes as a line of a dataset listing (they have no dataset id)."""
    return f"・{SAMPLE_DATASET}（{SAMPLE_DEFAULTS.publisher}の法令、同梱）"


async def sample_in_index(store: IndexStore) -> bool:
    """Whether the whole sample is in the index (its last document is: loads go in order)."""
    return await store.content_hash(_first_and_last_ids()[1]) is not None


async def load_sample_if_empty(store: IndexStore, *, show_progress: bool) -> int:
    """Load the sample into an empty index, or finish a load that was cut short (the index
    holds the sample's first document but not its last: batches are written in order);
    returns the number of documents loaded."""
    resume = False
    if await store.count_chunks() > 0:
        first, last = _first_and_last_ids()
        resume = await store.content_hash(first) is not None
        if not resume or await store.content_hash(last) is not None:
            return 0
    documents = list(read_corpus(sample_path(), SAMPLE_DEFAULTS))
    if resume:
        documents = [d for d in documents if await store.content_hash(d.doc_id) != d.content_hash]
    log.info("loading sample dataset: %d documents", len(documents))
    with tqdm(
        total=len(documents),
        desc="サンプルデータを読み込んでいます",
        unit="件",
        disable=not show_progress,
    ) as bar:

        async def written(done: int) -> None:
            bar.update(done - bar.n)

        await store.upsert_batches(batches(documents, _BATCH), written)
    return len(documents)
