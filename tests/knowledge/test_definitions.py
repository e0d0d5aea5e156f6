"""Definitions: the passage that defines a term rises for a question asking what it means."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.analysis import Analyzer, normalize
from knowledge.chunking import chunk_sections
from knowledge.definitions import asked_terms, definition_key, definition_keys
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import SearchFilter
from knowledge.retrieval import Retriever

ANALYZER = Analyzer()


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("この法律において「要配慮個人情報」とは、本人の人種、信条…をいう。", "要配慮個人情報"),
        ("処分をした行政庁（以下「処分庁」という。）又は不作為庁", "処分庁"),
        ("その利用に供するための施設（これを公の施設という。）を設ける", "公の施設"),
        ("楕円では、軌道長半径とは長軸方向の半径である。", "軌道長半径"),
    ],
)
def test_the_forms_of_a_definition_key_the_term(text: str, term: str) -> None:
    assert definition_key(term) in definition_keys(normalize(text), "", first=False)


def test_an_article_opening_with_its_subject_and_reading_defines_its_title() -> None:
    text = normalize("落語家（らくごか）は、落語を演じることを職業とする人。")
    assert definition_keys(text, "落語家", first=True) == [definition_key("落語家")]
    assert definition_keys(text, "落語家", first=False) == []
    assert definition_keys(normalize("落語家は、寄席に出る。"), "落語家", first=True) == []


def test_a_question_asks_for_the_term_before_toha_whatever_precedes_it() -> None:
    asked = asked_terms("地方自治法でいう公の施設とはなんですか")
    assert definition_key("公の施設") in asked and definition_key("施設") in asked
    assert definition_key("処分庁") in asked_terms("処分庁って何ですか")
    assert asked_terms("処分庁は誰が決めますか") == []
    assert asked_terms("正しいものはどれですか\n処分庁とは、処分をした行政庁をいう") == []


def doc(doc_id: str, text: str) -> Document:
    meta = DocumentMeta(
        doc_id=doc_id,
        title="行政不服審査法",
        dataset="テスト",
        law_id="426AC",
        law_title="行政不服審査法",
    )
    return Document(meta, chunk_sections(doc_id, [Section(text=text)]), content_hash(text))


async def test_the_article_defining_the_asked_term_comes_first(tmp_path: Path) -> None:
    # Both articles use the term; only one defines it, and says it less often.
    documents = [
        doc("uses", "処分庁は、審査請求書の写しを送付する。処分庁は、弁明書を提出する。"),
        doc(
            "defines", "審査請求は、処分をした行政庁（以下「処分庁」という。）の上級行政庁にする。"
        ),
    ]
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retriever = Retriever(store, ANALYZER)
        asked = await retriever.retrieve("処分庁とは何ですか", SearchFilter(), k=2)
        other = await retriever.retrieve("処分庁は何を提出しますか", SearchFilter(), k=2)
    finally:
        await store.close()
    assert [h.meta.doc_id for h in asked.hits] == ["defines", "uses"]
    assert other.hits[0].meta.doc_id == "uses"
