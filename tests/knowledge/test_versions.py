"""Versions of one statute by enforcement date, as e-Gov names its downloads: an answer is
taken from the version in force, in the embedded index and in Weaviate alike."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import pytest
from fakes.weaviate_memory import FakeWeaviate

from knowledge.analysis import Analyzer
from knowledge.corpus import CorpusDefaults
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import IndexStore, SearchFilter
from knowledge.ingest import documents_from_file
from knowledge.retrieval import Retriever
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

ANALYZER = Analyzer()
EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"
# 原子力基本法 in force from 2015-08-01, 2023-06-07 and 2025-06-06, and two other statutes.
STATUTE = "国の法令/330AC1000000186_"
V2015 = STATUTE + "20150801_000000000000000.xml"
V2023 = STATUTE + "20230607_505AC0000000044.xml"
V2025 = STATUTE + "20250606_505AC0000000044.xml"
PURPOSE = "この法律の目的は何ですか"


@pytest.fixture(params=["embedded", "weaviate"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IndexStore]:
    made: IndexStore
    if request.param == "embedded":
        made = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    else:
        config = WeaviateConfig(url="http://weaviate.invalid:8080")
        made = WeaviateIndexStore(config, ANALYZER, client_factory=FakeWeaviate().client)
    defaults = CorpusDefaults(dataset="国の法令", category="法令")
    files = sorted(EGOV.glob("*.xml"))
    await made.upsert_many([d for f in files for d in documents_from_file(f, f.name, defaults)])
    yield made
    await made.close()


async def found(store: IndexStore, today: date, k: int = 3) -> list[str]:
    retrieved = await Retriever(store, ANALYZER).retrieve(PURPOSE, SearchFilter(), k, today)
    return [hit.meta.doc_id for hit in retrieved.hits]


async def test_the_version_in_force_answers_and_the_others_leave_room(store) -> None:
    retrieved = await Retriever(store, ANALYZER).retrieve(
        PURPOSE, SearchFilter(), k=3, today=date(2026, 6, 1)
    )
    best = retrieved.hits[0]
    assert (best.meta.doc_id, best.chunk.position) == (V2025, "第一条")
    # The purpose as amended (地球温暖化の防止 was added in 2023), not the 2015 wording.
    assert "地球温暖化の防止" in best.chunk.text
    ids = [hit.meta.doc_id for hit in retrieved.hits]
    # The other versions' 第一条 take no places: the two other statutes have them.
    assert [i for i in ids if i.startswith(STATUTE)] == [V2025] and len(ids) == 3


async def test_a_version_coming_into_force_later_is_not_preferred(store) -> None:
    # On 2024-01-01 the 2025 version is promulgated but not in force yet.
    assert [i for i in await found(store, date(2024, 1, 1)) if i.startswith(STATUTE)] == [V2023]
    assert (await found(store, date(2025, 6, 6)))[0] == V2025
    # Before any is in force, the first to come into force.
    assert [i for i in await found(store, date(2010, 1, 1)) if i.startswith(STATUTE)] == [V2015]


async def test_a_version_chosen_by_its_document_still_answers(store) -> None:
    only = SearchFilter(doc_ids=(V2015,))
    retrieved = await Retriever(store, ANALYZER).retrieve(PURPOSE, only, 3, date(2026, 6, 1))
    assert [hit.meta.doc_id for hit in retrieved.hits] == [V2015]
