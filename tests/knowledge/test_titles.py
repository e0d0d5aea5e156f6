"""Finding the document a user names: by title as typed, by file name, and the version of a
statute in force."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import SearchFilter
from knowledge.titles import documents_named

ANALYZER = Analyzer()


def doc(doc_id: str, title: str, text: str, version: str = "") -> Document:
    meta = DocumentMeta(doc_id=doc_id, title=title, dataset="テスト", version=version)
    return Document(meta, chunk_sections(doc_id, [Section(text=text)]), content_hash(doc_id))


DOCUMENTS = [
    doc("v2025", "公文書管理条例", "公文書は十年保存する。", "2025-04-01"),
    doc("v2026", "公文書管理条例", "公文書は三十年保存する。", "2026-04-01"),
    doc("v2027", "公文書管理条例", "公文書は永年保存する。", "2027-04-01"),
    doc("rule", "公文書管理条例施行規則", "保存期間の起算日は翌年度の四月一日とする。"),
    doc("ds1/事業計画書.pdf", "令和8年度 重点事業", "子育て支援の拠点を整備する。"),
]


async def named(tmp_path: Path, name: str, today: date = date(2026, 6, 1)) -> list[str]:
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(DOCUMENTS)
        found = await documents_named(store, ANALYZER, name, SearchFilter(), today)
        return [m.doc_id for m in found.best]
    finally:
        await store.close()


async def test_the_version_in_force_is_the_one_a_title_names(tmp_path: Path) -> None:
    assert await named(tmp_path, "公文書管理条例") == ["v2026"]
    assert await named(tmp_path, "公文書管理条例", date(2027, 4, 1)) == ["v2027"]
    # Before any version is in force, every one is offered.
    assert sorted(await named(tmp_path, "公文書管理条例", date(2024, 1, 1))) == [
        "v2025",
        "v2026",
        "v2027",
    ]
    assert await named(tmp_path, "「公文書管理条例 施行規則」") == ["rule"]


async def test_a_file_name_names_its_document_whatever_its_title(tmp_path: Path) -> None:
    assert await named(tmp_path, "事業計画書.pdf") == ["ds1/事業計画書.pdf"]
    assert await named(tmp_path, "存在しない計画") == []
