"""Offline answers users read: quoted sentences with their sources, lists with what they list."""

from __future__ import annotations

from pathlib import Path

from knowledge.analysis import Analyzer
from knowledge.answer import compose_extractive_answer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import SearchFilter
from knowledge.retrieval import Retriever

ANALYZER = Analyzer()

COUNCIL = (
    "指定都市都道府県調整会議は、次に掲げる者をもつて構成する。\n"
    "一　指定都市の市長\n"
    "二　包括都道府県の知事\n"
    "指定都市の市長は、必要と認めるときは、調整会議に、次に掲げる者を構成員として加えることができる。\n"
    "一　指定都市の議会が当該指定都市の議会の議員のうちから選挙により選出した者\n"
    "二　学識経験を有する者\n"
    "前各項に定めるもののほか、調整会議に関し必要な事項は、調整会議が定める。"
)
MOVING = (
    "転入届の手続には、以下のとおり書類が必要です。\n"
    "・本人確認書類（運転免許証など）\n"
    "・前住所地で交付された転出証明書\n"
    "届出は、引っ越した日から十四日以内に市民課窓口で行ってください。"
)


async def answer(tmp_path: Path, text: str, question: str) -> str:
    meta = DocumentMeta(doc_id="doc", title="案内", dataset="テスト")
    document = Document(meta, chunk_sections("doc", [Section(text=text)]), content_hash(text))
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many([document])
        retrieved = await Retriever(store, ANALYZER).retrieve(question, SearchFilter(), k=5)
    finally:
        await store.close()
    return compose_extractive_answer(retrieved.query, retrieved.hits, ANALYZER).text


async def test_a_quoted_list_item_comes_after_the_sentence_that_introduces_it(
    tmp_path: Path,
) -> None:
    text = await answer(tmp_path, COUNCIL, "学識経験を有する者は構成員になれますか")
    assert "構成員として加えることができる：" in text
    assert "二　学識経験を有する者" in text


async def test_a_quoted_sentence_introducing_a_list_shows_the_items(tmp_path: Path) -> None:
    text = await answer(tmp_path, COUNCIL, "指定都市都道府県調整会議は誰で構成されますか")
    assert "次に掲げる者をもつて構成する：一　指定都市の市長／二　包括都道府県の知事" in text


async def test_bulleted_items_of_a_guide_are_quoted_with_their_lead(tmp_path: Path) -> None:
    text = await answer(tmp_path, MOVING, "転出証明書は必要ですか")
    assert "書類が必要です：" in text
    assert "・前住所地で交付された転出証明書" in text


async def test_sentences_outside_a_list_are_quoted_alone(tmp_path: Path) -> None:
    text = await answer(tmp_path, MOVING, "転入届は何日以内に出しますか")
    line = next(li for li in text.splitlines() if "十四日以内" in li)
    assert line == "・届出は、引っ越した日から十四日以内に市民課窓口で行ってください。 [1]"


async def test_statute_items_without_their_numbers_are_still_items(tmp_path: Path) -> None:
    # As e-Gov text often arrives flattened: one item per line, no 「一　」.
    text = (
        "随意契約によることができる場合は、次に掲げる場合とする。\n"
        "緊急の必要により競争入札に付することができないとき。\n"
        "競争入札に付することが不利と認められるとき。\n"
        "前項の規定により随意契約による場合は、契約保証金の全部又は一部を納めさせないことができる。"
    )
    found = await answer(tmp_path, text, "緊急の必要があるときは随意契約できますか")
    assert "次に掲げる場合とする：緊急の必要により競争入札に付することができないとき。" in found
