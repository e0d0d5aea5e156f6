"""Citations between statute articles: resolved to the law they point into, and searched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from knowledge.analysis import Analyzer
from knowledge.citations import chunk_citation_keys, delegation_keys, find_citations, parent_act
from knowledge.corpus import CorpusDefaults, read_corpus, row_to_document
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import SearchFilter
from knowledge.parsing import parse_file
from knowledge.retrieval import Retriever

ANALYZER = Analyzer()


def laws_of(text: str) -> list[tuple[str, str]]:
    return [(c.law, c.article) for c in find_citations(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("地方自治法第二百四十二条第一項の規定による請求", [("地方自治法", "242")]),
        ("法第百六十二条第一項第一号に規定する政令で定める場合", [("法", "162")]),
        ("令第九条の四の規定により公表を行う場合", [("令", "9-4")]),
        ("第十条、第十三条及び第十四条の規定に反する特約", [("", "10"), ("", "13"), ("", "14")]),
        # Members of a list belong to the law of the first one, parentheticals included.
        (
            "法第二十七条の三第一項、第二十七条の六第二項及び第二十七条の十三第一項の規定",
            [("法", "27-3"), ("法", "27-6"), ("法", "27-13")],
        ),
        (
            "法第五条第一項（法第二十七条において準用する場合を含む。）に規定する",
            [("法", "5"), ("法", "27")],
        ),
        ("地方税法第三条並びに民法第九十条", [("地方税法", "3"), ("民法", "90")]),
        ("金融商品取引法施行令第９条の３第１項", [("金融商品取引法施行令", "9-3")]),
        # Titles whose words kana join are read back to their first word, not to the verb,
        # conjunction or noun of the citing sentence before them.
        (
            "役員のうちに暴力団員による不当な行為の防止等に関する法律第二条第六号に規定する",
            [("暴力団員による不当な行為の防止等に関する法律", "2")],
        ),
        (
            "において準用する一般社団法人及び一般財団法人に関する法律（平成十八年法律第四十八号）"
            "第四条",
            [("一般社団法人及び一般財団法人に関する法律", "4")],
        ),
        (
            "労働金庫法第九十四条第一項及び協同組合による金融事業に関する法律第六条第一項",
            [("労働金庫法", "94"), ("協同組合による金融事業に関する法律", "6")],
        ),
        (
            "議決権（社債、株式等の振替に関する法律第百四十七条",
            [("社債、株式等の振替に関する法律", "147")],
        ),
        (
            "当該入所者が障害者の日常生活及び社会生活を総合的に支援するための法律第五条",
            [("障害者の日常生活及び社会生活を総合的に支援するための法律", "5")],
        ),
        (
            "改正前の金融商品取引業等に関する内閣府令第百二十三条",
            [("金融商品取引業等に関する内閣府令", "123")],
        ),
        (
            "金融商品取引法第二条に規定する定義に関する内閣府令第十条第一項",
            [
                ("金融商品取引法", "2"),
                ("金融商品取引法第二条に規定する定義に関する内閣府令", "10"),
            ],
        ),
        # A title that stands alone is not read further back.
        ("処分に係る行政手続法第十三条", [("行政手続法", "13")]),
    ],
)
def test_references_resolve_to_the_law_they_point_into(
    text: str, expected: list[tuple[str, str]]
) -> None:
    assert laws_of(text) == expected


def test_references_whose_law_cannot_be_told_are_left_out() -> None:
    assert laws_of("同法第三条の規定") == []
    assert laws_of("附則第三条の規定") == []
    # 「恩給法」 may be the law 「同法」 means; the parser does not guess.
    text = "国民年金法第三十条に規定する給付が、恩給法による増加恩給、同法第七十五条第一項の給付"
    assert laws_of(text) == [("国民年金法", "30")]


def test_the_said_law_is_the_law_named_before() -> None:
    text = (
        "地方自治法第二百九十一条の六第一項において準用する同法第八十条第四項前段において"
        "準用する同法第七十四条の二第一項"
    )
    assert laws_of(text) == [("地方自治法", a) for a in ("291-6", "80", "74-2")]
    text = "子ども・子育て支援法第二十九条第一項に規定する特定地域型保育（同法第三十条第一項"
    assert laws_of(text) == [("子ども・子育て支援法", "29"), ("子ども・子育て支援法", "30")]


def test_chunk_keys_name_the_own_law_and_skip_self_citations() -> None:
    text = "第十三条の規定は、第十六条の場合に準用する。地方自治法第二条の規定を適用する。"
    assert chunk_citation_keys(text, "借地借家法", "16") == ["借地借家法:13", "地方自治法:2"]
    # Without a law of its own (an ordinance parsed from a PDF), bare references are dropped.
    assert chunk_citation_keys(text, "", None) == ["地方自治法:2"]


async def test_delegated_provisions_of_a_real_act_are_found(
    shared_data: Path, tmp_path: Path
) -> None:
    """金融商品取引法第百六十二条 and the cabinet order article that fills in its 「政令で定める
    場合」, over every article of the act and the order: the question shares no word with the
    order article, which is found only because it cites the article the question names."""
    wanted = {"323AC0000000025", "340CO0000000321"}
    defaults = CorpusDefaults(dataset="法令")
    with (shared_data / "lawqa_egov" / "corpus.jsonl").open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines]
    documents = [row_to_document(r, defaults) for r in rows if r["law_id"] in wanted]
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retrieved = await Retriever(store, ANALYZER).retrieve(
            "金融商品取引法第162条第1項について教えてください",
            SearchFilter(),
            k=5,
        )
    finally:
        await store.close()
    ranked = [h.meta.doc_id for h in retrieved.hits]
    assert ranked[0] == "323AC0000000025#162"
    assert "340CO0000000321#26-2" in ranked


def test_a_cited_paragraph_gets_its_own_key_besides_the_article() -> None:
    text = "法第百七十三条第五項に規定する者は、第二条に掲げる者とする。"
    assert chunk_citation_keys(text, "金融商品取引法施行令", None) == [
        "法:173",
        "法:173/5",
        "金融商品取引法施行令:2",
    ]


def test_regulations_know_their_act_from_the_title() -> None:
    assert parent_act("金融商品取引法施行令") == "金融商品取引法"
    assert parent_act("金融商品取引法第二条に規定する定義に関する内閣府令") == "金融商品取引法"
    assert parent_act("地方自治法施行規則") == "地方自治法"
    assert parent_act("企業内容等の開示に関する内閣府令") is None
    assert parent_act("地方自治法") is None


def test_a_line_carrying_out_a_delegation_gets_the_delegation_key() -> None:
    order = (
        "法第二十四条第一項（法第二十七条において準用する場合を含む。）に規定する政令で定める"
        "期間は、六月とする。\nただし、法第五条の規定による届出は、この限りでない。"
    )
    assert delegation_keys(order, "金融商品取引法施行令") == ["委任>金融商品取引法:24"]
    named = "地方自治法第二百五十二条の十九第一項に規定する政令で定める市は、次のとおりとする。"
    assert delegation_keys(named, "地方自治法施行令") == ["委任>地方自治法:252-19"]
    # Citing is not carrying out; 「法」 of an ordinance whose act the title does not tell,
    # and an act's own articles, give no key.
    assert delegation_keys("法第五条の規定による届出をした者", "金融商品取引法施行令") == []
    assert delegation_keys(order, "企業内容等の開示に関する内閣府令") == []
    own = "第十条に規定する政令で定める者は、届け出なければならない。"
    assert delegation_keys(own, "金融商品取引法") == []
    # A regulation line defining what an act article leaves open carries it out too.
    defined = "法第十九条第二項の規定により届出をしなければならない事項は、次のとおりとする。"
    assert delegation_keys(defined, "薬機法施行規則") == ["委任>薬機法:19"]
    assert delegation_keys("第十条の規定により届け出る場合は、書面とする。", "地方自治法") == []


def test_the_articles_of_a_real_cabinet_order_carry_out_its_act() -> None:
    name = "346CO0000000264_20230607_505CO0000000202.xml"
    fixture = Path(__file__).resolve().parent.parent / "fixtures" / "egov" / name
    [order] = parse_file(name, fixture.read_bytes())
    act = "特定工場における公害防止組織の整備に関する法律"
    assert order.law_title == act + "施行令" and parent_act(order.law_title) == act
    keys = {s.position: delegation_keys(s.text, order.law_title) for s in order.sections}
    # 第一条 names the act (「…法律（以下「法」という。）第二条の政令で定める業種は」);
    # 第四条 says 「法第二条第三号の政令で定める施設は」.
    assert keys["第一条"] == keys["第四条"] == [f"委任>{act}:2"]


async def test_the_order_listing_when_the_act_allows_it_answers_when(tmp_path: Path) -> None:
    """地方自治法第二百三十四条 allows 随意契約 「政令で定める場合に該当するときに限り」; the
    bundled sample's 地方自治法施行令第百六十七条の二 lists those cases, opening with 「地方自治法
    第二百三十四条第二項の規定により随意契約によることができる場合は、次に掲げる場合とする。」"""
    sample = Path(__file__).resolve().parents[2] / "bot" / "sample_data" / "laws.jsonl"
    documents = list(read_corpus(sample, CorpusDefaults(dataset="法令")))
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retrieved = await Retriever(store, ANALYZER).retrieve(
            "随意契約によることができるのはどんな場合ですか", SearchFilter(), k=5
        )
    finally:
        await store.close()
    ranked = [h.meta.doc_id for h in retrieved.hits]
    assert ranked[0] == "322CO0000000016#167-2"
    assert "322AC0000000067#234" in ranked
