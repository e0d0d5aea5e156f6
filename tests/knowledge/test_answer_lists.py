"""Offline answers quoting a statute's table read out line by line, as the bundled sample
statutes hold them: each row's number stays its own label, never read as another line's."""

from __future__ import annotations

import json
from pathlib import Path

from knowledge.answer import answer_from
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import SearchFilter
from knowledge.retrieval import Retriever
from tests.knowledge.test_answer import ANALYZER, answer, law_article

SAMPLE = Path(__file__).resolve().parents[2] / "bot" / "sample_data" / "laws.jsonl"


def sample_article(doc_id: str) -> str:
    """The text of one article of the bundled sample statutes."""
    with SAMPLE.open(encoding="utf-8") as lines:
        return next(d["text"] for d in map(json.loads, lines) if d["id"] == doc_id)


async def test_a_row_of_a_statute_table_is_quoted_under_its_own_number(tmp_path: Path) -> None:
    # 地方交付税法第十四条第三項: the table's rows 「- 十　固定資産税」 and the line under it.
    text = sample_article("325AC0000000211#14")
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many([law_article("325AC0000000211", "地方交付税法", "第十四条", text)])
        retrieved = await Retriever(store, ANALYZER).retrieve("固定資産税の納期", SearchFilter())
    finally:
        await store.close()
    quoted = answer_from(retrieved, ANALYZER).text
    line = next(li for li in quoted.splitlines() if "十　固定資産税" in li)
    assert line.startswith("・十　固定資産税：当該道府県の区域内における地方税法第三百四十九条")
    # Not the cell of the row before as its lead, reading 「…の数値：十」.
    assert "数値：十" not in quoted


async def test_numbered_rows_under_a_cell_are_not_that_cell_s_items(tmp_path: Path) -> None:
    # A passage cut in the middle of that table starts with a cell, not with a sentence.
    rows = (
        "当該道府県の区域内に事務所又は事業所を有する法人に係る前年度分の事業税の課税標準等の数値\n"
        "- 三　地方消費税\n"
        "- 四　不動産取得税\n"
        "前年度及び前々年度における不動産取得税の課税標準等の額"
    )
    found = await answer(tmp_path, rows, "不動産取得税の算定の基礎")
    assert "・四　不動産取得税：前年度及び前々年度における不動産取得税の課税標準等の額 [1]" in found
    assert "数値：三" not in found


async def test_a_guide_s_bullets_under_a_heading_are_still_its_items(tmp_path: Path) -> None:
    text = "持ち物\n・印鑑\n・本人確認書類（運転免許証など）\n窓口は市役所1階です。"
    found = await answer(tmp_path, text, "本人確認書類は必要ですか")
    assert "持ち物：" in found
