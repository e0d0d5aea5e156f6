"""Ranking behaviour users notice: titles count, and one matching sentence beats scattered words."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section, content_hash
from knowledge.embedded import EmbeddedIndexStore
from knowledge.index import SearchFilter
from knowledge.retrieval import MIN_COVERAGE, Retrieved, Retriever

ANALYZER = Analyzer()


def doc(doc_id: str, title: str, text: str, law_id: str = "", position: str = "") -> Document:
    meta = DocumentMeta(
        doc_id=doc_id, title=title, dataset="テスト", law_id=law_id, law_title=law_id and title
    )
    sections = [Section(text=text, position=position)]
    return Document(meta, chunk_sections(doc_id, sections), content_hash(text))


async def retrieve(tmp_path: Path, documents: list[Document], question: str) -> Retrieved:
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        return await Retriever(store, ANALYZER).retrieve(question, SearchFilter(), k=5)
    finally:
        await store.close()


async def ranked(tmp_path: Path, documents: list[Document], question: str) -> list[str]:
    return [h.meta.doc_id for h in (await retrieve(tmp_path, documents, question)).hits]


async def test_a_passage_that_only_its_title_names_is_found(tmp_path: Path) -> None:
    documents = [
        doc("thai", "タイ", "首都はバンコクで、人口が最も多い都市です。"),
        doc("laos", "ラオス", "首都はヴィエンチャンで、メコン川に面しています。"),
    ]
    assert (await ranked(tmp_path, documents, "ラオスの首都はどこですか"))[0] == "laos"


async def test_words_of_the_question_in_one_sentence_beat_the_same_words_scattered(
    tmp_path: Path,
) -> None:
    # The same words in both passages; the first one indexed wins a tie.
    documents = [
        doc("scattered", "施設案内", "市役所は駅の北にあります。図書館は九時に開きます。"),
        doc("together", "施設案内", "図書館は駅の北にあります。市役所は九時に開きます。"),
    ]
    assert await ranked(tmp_path, documents, "図書館は駅の北にありますか") == [
        "together",
        "scattered",
    ]


async def test_the_first_line_of_a_multiple_choice_question_decides_the_topic(
    tmp_path: Path,
) -> None:
    documents = [
        doc("allowance", "児童手当", "児童手当は、毎年二月、六月及び十月に支給します。"),
        doc("fees", "保育料", "保育料の減免を受けている世帯は、申請により保育料が免除されます。"),
        doc("garbage", "ごみ", "燃えるごみは月曜日と木曜日に出してください。"),
        doc("library", "図書館", "図書館は九時に開きます。"),
    ]
    # Two of the three choices are about the fees; the question is about the allowance.
    question = (
        "児童手当の支給月として、正しいものを教えてください。\n"
        "保育料の減免を受けている世帯は四月\n"
        "保育料の減免を受けている世帯は八月\n"
        "六月と十月"
    )
    assert (await ranked(tmp_path, documents, question))[0] == "allowance"


async def test_a_named_act_counts_for_its_cabinet_order_too(tmp_path: Path) -> None:
    # The act delegates the details to its cabinet order, where the answer is; naming the act
    # must not push the order below the act's own article.
    documents = [
        doc(
            "act",
            "金融商品取引法",
            "外国会社が有価証券報告書を提出する期間の特例は、政令で定める。",
            law_id="323AC0000000025",
        ),
        doc(
            "order",
            "金融商品取引法施行令",
            "外国会社が有価証券報告書を提出する期間は、六月とする。",
            law_id="340CO0000000321",
        ),
        doc("other", "保険業法", "保険会社は、事業報告書を提出しなければならない。", "331AC"),
    ]
    question = "金融商品取引法で、外国会社が有価証券報告書を提出する期間はいつまでですか"
    assert (await ranked(tmp_path, documents, question))[0] == "order"


async def test_the_article_citing_the_asked_paragraph_comes_first(tmp_path: Path) -> None:
    # Two ordinance articles cite the same act article, with the same numbers in other places.
    documents = [
        doc(
            name,
            "金融商品取引法施行令",
            f"法第百七十三条{cited}に規定する政令で定める者は、親会社とする。",
            law_id="340CO0000000321",
        )
        for name, cited in (
            ("first-paragraph", "第一項第五号"),
            ("fifth-paragraph", "第五項第一号"),
        )
    ]
    documents.append(doc("act", "金融商品取引法", "違反者は、課徴金を納付する。", "323AC"))
    question = "金融商品取引法第173条第5項に規定する政令で定める者は誰ですか"
    assert (await ranked(tmp_path, documents, question))[0] == "fifth-paragraph"


async def test_articles_citing_the_asked_article_of_a_law_with_a_long_title_come_first(
    tmp_path: Path,
) -> None:
    # Most titles join their words with kana.
    cited = "個人情報の保護に関する法律"
    documents = [
        doc(
            f"cites-{number}",
            "行政手続における特定の個人を識別するための番号の利用等に関する法律",
            f"この法律において「本人」とは、{cited}{reference}に規定する本人をいう。",
            law_id="425AC0000000027",
            position=f"第{number}条",
        )
        # The same words, numbers included: only the citation tells them apart.
        for number, reference in (("1", "第一条第二項"), ("2", "第二条第一項"))
    ]
    documents.append(doc("act", cited, "個人情報取扱事業者は、利用目的を特定する。", "415AC"))
    question = f"{cited}第2条第1項を引用している規定"
    assert (await ranked(tmp_path, documents, question))[0] == "cites-2"


async def test_the_order_carrying_out_the_found_act_article_comes_next(tmp_path: Path) -> None:
    # The act leaves the period to a cabinet order whose wording shares little with the
    # question; other articles share more.
    documents = [
        doc("other-1", "金融商品取引法", "有価証券報告書の記載事項は、内閣府令で定める。", "323AC"),
        doc("other-2", "金融商品取引法", "有価証券報告書の写しを公衆の縦覧に供する。", "323AC"),
        doc("other-3", "金融商品取引法", "外国会社は、有価証券報告書を英語で記載できる。", "323AC"),
        doc(
            "order",
            "金融商品取引法施行令",
            "法第二十四条第一項に規定する政令で定める期間は、六月とする。",
            law_id="340CO0000000321",
        ),
    ]
    period = "事業年度経過後政令で定める期間内に、有価証券報告書を提出しなければならない。"
    documents.insert(0, doc("act", "金融商品取引法", period, "323AC", position="第二十四条"))
    question = "有価証券報告書は、事業年度経過後いつまでに提出しなければならないですか"
    assert (await ranked(tmp_path, documents, question))[:2] == ["act", "order"]


ORGANS = [
    doc(
        "162",
        "地方自治法",
        "副知事及び副市町村長は、普通地方公共団体の長が議会の同意を得てこれを選任する。",
    ),
    doc("195", "地方自治法", "普通地方公共団体に監査委員を置く。"),
    doc("138", "地方自治法", "都道府県の議会に事務局を置く。"),
    doc("149", "地方自治法", "市長は、予算を調製し、及びこれを執行する。"),
    doc("182", "地方自治法", "選挙管理委員は、選挙権を有する者のうちから議会においてこれを選ぶ。"),
    doc("241", "地方自治法", "市長は、財政の状況が良いときは、基金を設けることができる。"),
]


async def test_a_question_in_everyday_words_is_answered_from_the_statutory_words(
    tmp_path: Path,
) -> None:
    # 副市長 and 選ぶ are in no passage; the thesaurus gives 副市町村長 and 選任.
    retrieved = await retrieve(tmp_path, ORGANS, "副市長はどうやって選ばれますか")
    assert retrieved.hits[0].meta.doc_id == "162"
    assert retrieved.relevant


STAFF = [
    doc(
        "17",
        "地方公務員法",
        "職員の採用は、競争試験によるものとする。ただし、選考によることを妨げない。",
    ),
    doc(
        "15",
        "地方公務員法",
        "職員の任用は、この法律の定めるところにより、能力の実証に基づいて行わなければならない。",
    ),
    doc("24", "地方公務員法", "職員の給与は、条例で定める。"),
    doc(
        "35",
        "地方公務員法",
        "職員は、法律又は条例に特別の定がある場合を除く外、職務に専念しなければならない。",
    ),
    doc("8", "地方公務員法", "人事委員会は、人事委員会規則を制定する。"),
]


async def test_the_words_the_thesaurus_adds_do_not_make_a_match_look_partial(
    tmp_path: Path,
) -> None:
    # 採用 adds 任用, 競争試験, 選考 and 決まり adds 定め, 規定, 規則, 条例: the passage on 採用
    # answers the question though it has few of the added words.
    retrieved = await retrieve(tmp_path, STAFF, "職員の採用の決まりはありますか")
    assert retrieved.hits[0].meta.doc_id == "17"
    assert retrieved.relevant


async def test_a_question_the_passages_do_not_speak_to_finds_nothing(tmp_path: Path) -> None:
    retrieved = await retrieve(tmp_path, ORGANS, "今日の天気はどうすればいいですか")
    assert not retrieved.relevant


DISCLOSURE = [
    doc(
        "83",
        "個人情報の保護に関する法律",
        "開示決定等は、開示請求があった日から三十日以内にしなければならない。",
    ),
    doc("84", "個人情報の保護に関する法律", "開示請求は、書面を提出してしなければならない。"),
]


async def test_a_question_on_a_subject_the_index_lacks_finds_nothing(tmp_path: Path) -> None:
    # No passage speaks of 転入, 転出 or 転居 (what 引っ越し means in statutes): a passage
    # sharing only 「何日以内にしなければならない」 is no answer.
    retrieved = await retrieve(tmp_path, DISCLOSURE, "引っ越しは何日以内にしなければなりませんか")
    assert retrieved.hits  # something matched the other words …
    assert not retrieved.relevant  # … but the bot says it found nothing


async def test_a_question_about_things_no_passage_names_finds_nothing(tmp_path: Path) -> None:
    documents = [
        doc("41", "建築基準法", "建築物の高さは、次の方法により算定する。"),
        doc("42", "消防法", "検査の結果を市町村長に報告しなければならない。"),
        doc("43", "地方自治法", "監査の方法及び結果は、公表しなければならない。"),
        doc("44", "行政手続法", "審査の結果は、書面により通知する方法による。"),
        doc("45", "住民基本台帳法", "届出の方法は、総務省令で定める。"),
        doc("46", "統計法", "調査の結果は、速やかに公表する。"),
    ]
    # Passages share the question's most general noun (方法, 結果), not what it is about
    # (リスト, 野球 and 試合 are words no passage has).
    for question in ("リストを並べ替える方法は", "プロ野球の試合の結果は"):
        off_topic = await retrieve(tmp_path, documents, question)
        assert off_topic.hits and not off_topic.relevant, question
    # One word the passages lack among several they hold does not make a question off-topic.
    asked = await retrieve(tmp_path, documents, "木造の建築物の高さの算定方法は")
    assert asked.hits[0].meta.doc_id == "41" and asked.relevant


async def test_a_compound_subject_is_not_held_by_its_common_part(tmp_path: Path) -> None:
    documents = [
        doc("61", "行政手続法", "処分の根拠となる法令の条項を書面に記載しなければならない。"),
        doc("62", "戸籍法", "戸籍の登録は、本籍地の市町村長が行う。"),
        doc("63", "住民基本台帳法", "住民票の写しの交付の手数料は、条例で定める。"),
    ]
    # No passage has 印鑑: one on a 根拠, or on another 登録, says nothing of 印鑑登録.
    sealed = await retrieve(tmp_path, documents, "印鑑登録の根拠は")
    assert sealed.hits and not sealed.relevant
    # A compound all of whose parts the passages hold is theirs (住民票 and 手数料).
    asked = await retrieve(tmp_path, documents, "住民票の写しの交付手数料は")
    assert asked.hits[0].meta.doc_id == "63" and asked.relevant


async def test_a_question_about_a_system_no_passage_names_finds_nothing(tmp_path: Path) -> None:
    documents = [
        doc("51", "学校教育法", "言葉の使い方を正しく導くこと。"),
        doc(
            "52",
            "個人情報の保護に関する法律",
            "個人情報ファイルを保有しようとするときは、通知する。",
        ),
        doc("53", "情報通信技術活用法", "電子情報処理組織を電気通信回線で接続する方法による。"),
        doc("54", "事務処理規程", "LGWANに接続する端末は、情報システム課が管理する。"),
    ]
    # Excel, Python, Teams and エクセル name things no passage has: passages on 使い方,
    # ファイル or 接続 are about something else, however much of the rest they hold.
    questions = (
        "Excelの使い方",
        "Pythonでファイルを読むには",
        "Teamsで接続する方法",
        "エクセルの使い方",
    )
    for question in questions:
        off_topic = await retrieve(tmp_path, documents, question)
        assert off_topic.hits and not off_topic.relevant and not off_topic.related, question
    # A name the passages hold is asked about like any other word; one in parentheses glosses
    # the word before it (「ワクチン（HPV）」) and does not make the question off-topic.
    named = await retrieve(tmp_path, documents, "LGWANの接続方法は")
    assert named.hits[0].meta.doc_id == "54" and named.relevant
    # Of two names, one the passages hold makes the question about it (the other may be a
    # misspelling).
    both = await retrieve(tmp_path, documents, "LGWANにTeemsで接続する方法は")
    assert both.hits[0].meta.doc_id == "54" and both.relevant
    glossed = await retrieve(tmp_path, documents, "個人情報ファイル（PIF）の通知は")
    assert glossed.hits[0].meta.doc_id == "52" and glossed.relevant


async def test_a_question_about_a_person_no_passage_names_finds_nothing(tmp_path: Path) -> None:
    documents = [
        doc("61", "職員名簿", "総務課長 田中一郎 内線1234"),
        doc("62", "庁舎管理規則", "庁舎の電話番号は、掲示板に掲示する。"),
    ]
    # 佐藤 is no one the passages name: a passage on 電話番号 does not answer for them …
    off_topic = await retrieve(tmp_path, documents, "佐藤課長の電話番号は")
    assert off_topic.hits and not off_topic.relevant and not off_topic.related
    # … while a person the passages name is asked about like any other word.
    named = await retrieve(tmp_path, documents, "田中課長の内線は")
    assert named.hits[0].meta.doc_id == "61" and named.relevant
    # A person who passes the question on, or is told of it, is not what it asks about.
    for passed_on in (
        "佐藤課長から質問です。庁舎の電話番号はどこに掲示しますか",
        "@山田さん 庁舎の電話番号の掲示",
    ):
        answered = await retrieve(tmp_path, documents, passed_on)
        assert answered.relevant and answered.hits[0].meta.doc_id == "62", passed_on


NEGLECT = [
    doc("91", "地方自治法", "職員が職務を怠つたときは、懲戒処分をすることができる。"),
    doc("92", "地方自治法", "会計管理者は、現金の出納を行う。"),
]


async def test_a_passage_holding_none_of_the_questions_nouns_is_no_answer(
    tmp_path: Path,
) -> None:
    # The thesaurus adds 怠る for 忘れる, so the passage on 怠る holds the question's verb; but
    # it says nothing about a パスワード, which no passage has.
    forgot = await retrieve(tmp_path, NEGLECT, "パスワードを忘れました")
    assert forgot.hits and forgot.hits[0].meta.doc_id == "91"
    assert not forgot.relevant and not forgot.related
    # The same verb next to a noun the passage holds is an answer.
    duty = await retrieve(tmp_path, NEGLECT, "職務を忘れたらどうなりますか")
    assert duty.hits[0].meta.doc_id == "91" and duty.relevant


FISCAL_YEARS = [
    doc("93", "高齢者の医療の確保に関する法律", "令和七年度における支援金率は、百分の七とする。"),
    doc("94", "地方自治法", "会計管理者は、現金の出納を行う。"),
]


async def test_a_passage_holding_only_the_questions_year_is_no_answer(tmp_path: Path) -> None:
    # No passage speaks of a 予算: one that shares only the fiscal year says nothing of it.
    budget = await retrieve(tmp_path, FISCAL_YEARS, "令和7年度の予算")
    assert budget.hits and budget.hits[0].meta.doc_id == "93"
    assert not budget.relevant and not budget.related
    # The same year beside what the passage speaks of is an answer.
    rate = await retrieve(tmp_path, FISCAL_YEARS, "令和7年度の支援金率は")
    assert rate.hits[0].meta.doc_id == "93" and rate.relevant


# Everyday wording against statutory wording, and what a question asks for: (decoy, answer,
# question). The decoy is indexed first, so it wins a tie.
WORDING = {
    # Residents say 住民税; statutes say 市町村民税 and 道府県民税.
    "local tax": (
        "住民から税の申告を受けた職員は、その旨を市町村長に報告しなければならない。",
        "市町村民税の申告書は、三月十五日までに提出しなければならない。",
        "住民税の申告は",
    ),
    # Statutes never say 罰則 in an article; they set 拘禁刑 and 罰金.
    "penalties": (
        "委員が秘密を漏らしたときは、委員長は、その委員を罷免することができる。",
        "秘密を漏らした者は、二年以下の拘禁刑又は百万円以下の罰金に処する。",
        "秘密を漏らしたときの罰則は",
    ),
    # 受け付ける is 受理 in statutes.
    "everyday verb": (
        "市町村長は、届書の保存をしなければならない。",
        "市町村長は、届書の受理をしなければならない。",
        "市役所は届書を受け付けないといけませんか",
    ),
    # 受け付ける is not 受ける and 付ける, which statutes use everywhere.
    "compound verb": (
        "補助金を受ける者は、届書に領収書を付けなければならない。",
        "市町村長は、届書の受理をしなければならない。",
        "届書は受け付けてもらえますか",
    ),
    # いつから asks for a starting day, 何歳 for an age, which statutes also state in years.
    "from when": (
        "被保険者は、住所を有したときから、その資格を取得する。",
        "被保険者は、住所を有するに至つた日から、その資格を取得する。",
        "被保険者の資格はいつからですか",
    ),
    "how old": (
        "市町村長の被選挙権は、年齢が二十五以上であることを要する。",
        "市町村長の被選挙権は、年齢満二十五年以上であることを要する。",
        "市町村長の被選挙権は何歳ですか",
    ),
    # Staff say 立場を使って; statutes say 地位を利用して.
    "position": (
        "公務員は、その施設を利用して選挙運動をすることができない。",
        "公務員は、その地位を利用して選挙運動をすることができない。",
        "職員が立場を使って選挙運動をしてもいいですか",
    ),
}


@pytest.mark.parametrize("case", WORDING)
async def test_everyday_wording_finds_the_statutory_passage(tmp_path: Path, case: str) -> None:
    decoy, answer, question = WORDING[case]
    documents = [doc("a-decoy", "法", decoy), doc("b-answer", "法", answer)]
    assert (await ranked(tmp_path, documents, question))[0] == "b-answer"


ELECTION = [
    doc(
        "71",
        "地方自治法",
        "選挙管理委員会は、選挙に関する事務を管理する。",
        law_id="322AC0000000067",
        position="第百八十六条",
    ),
    doc("72", "選挙事務の手引", "ポスター掲示場は、公職選挙法の定めにより市が設置する。"),
]


async def test_a_question_on_a_law_the_index_lacks_is_not_answered_by_another_law(
    tmp_path: Path,
) -> None:
    # 公選法 is 公職選挙法, which the index does not hold: 地方自治法's article shares the
    # question's other words but does not speak of that law.
    other_law = await retrieve(tmp_path / "a", ELECTION[:1], "公選法の選挙に関する事務は")
    assert other_law.unindexed_laws == ("公職選挙法",)
    assert other_law.coverage >= MIN_COVERAGE and other_law.hits[0].meta.doc_id == "71"
    assert not other_law.relevant and not other_law.related
    # A manual that cites the law may answer; the name matches in any case (ＤＶ, dv).
    manual = await retrieve(tmp_path / "b", ELECTION, "公選法のポスター掲示場は誰が設置しますか")
    assert manual.hits[0].meta.doc_id == "72" and manual.relevant
    # When it does not answer, it is still shown as possibly related, and the other law is not.
    leaflet = doc("74", "啓発の手引", "公職選挙法の周知に努める。")
    partly = await retrieve(tmp_path / "b2", [ELECTION[0], leaflet], "公選法の選挙事務の管理者は")
    assert not partly.relevant and [h.meta.doc_id for h in partly.related] == ["74"]
    support = [doc("73", "相談の手引", "DV防止法の保護命令の申立ては、相談センターが支援する。")]
    typed = await retrieve(tmp_path / "c", support, "dv防止法の保護命令の申立て")
    assert typed.unindexed_laws == ("配偶者からの暴力の防止及び被害者の保護等に関する法律",)
    assert typed.relevant


async def test_another_organizations_private_law_does_not_count_as_indexed(
    tmp_path: Path,
) -> None:
    private = doc(
        "75",
        "公職選挙法",
        "選挙運動は、立候補の届出のあった日から行うことができる。",
        law_id="325AC1000000100",
    )
    private = replace(private, meta=replace(private.meta, visibility="organization", owner_org="1"))
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many([ELECTION[0], private])
        retriever = Retriever(store, ANALYZER)
        question = "公選法の選挙運動はいつからできますか"
        owner = await retriever.retrieve(question, SearchFilter(viewer_org="1"), k=5)
        other = await retriever.retrieve(question, SearchFilter(viewer_org="2"), k=5)
    finally:
        await store.close()
    assert owner.unindexed_laws == () and owner.hits[0].meta.doc_id == "75" and owner.relevant
    assert other.unindexed_laws == ("公職選挙法",) and not other.relevant


async def test_a_word_that_only_contains_a_laws_name_does_not_name_it(tmp_path: Path) -> None:
    # 医療法人 is a kind of corporation, 市民法律相談 a consultation: neither names a law.
    for n, question in enumerate(["医療法人の理事の任期は", "市民法律相談の日程"]):
        assert (await retrieve(tmp_path / str(n), ELECTION, question)).unindexed_laws == ()
    named = await retrieve(tmp_path / "named", ELECTION, "民法の時効は何年ですか")
    assert named.unindexed_laws == ("民法",)


async def test_a_question_on_the_subject_of_a_law_the_index_lacks_says_which_law(
    tmp_path: Path,
) -> None:
    finance = doc(
        "76",
        "地方財政法",
        "児童手当に要する経費は、国がその全部又は一部を負担する。",
        law_id="323AC0000000109",
        position="第十条",
    )
    handbook = doc("77", "子育て支援の手引", "児童手当の申請は、子育て支援課で受け付ける。")
    allowance = await retrieve(tmp_path / "a", [finance], "児童手当の経費は誰が負担しますか")
    assert allowance.unindexed_subjects == ("児童手当法",) and allowance.relevant
    # Part of a longer word (全国健康保険協会), or a law the question names, is no subject.
    for n, question in enumerate(["全国健康保険協会の経費は", "児童手当法の経費は"]):
        found = await retrieve(tmp_path / f"b{n}", [finance], question)
        assert found.unindexed_subjects == ()
    # Without any statute in the index, a subject is only a word.
    manual = await retrieve(tmp_path / "c", [handbook], "児童手当の申請はどこでしますか")
    assert manual.unindexed_subjects == () and manual.relevant


SCHOOL = [
    doc("12", "学校教育法", "生徒の健康診断は、毎年行わなければならない。"),
    doc(
        "11",
        "学校教育法",
        "教員は、生徒に懲戒を加えることができる。ただし、体罰を加えることはできない。",
    ),
]


async def test_an_everyday_word_typed_in_kana_finds_the_statutory_word(tmp_path: Path) -> None:
    # 「たたいて」 is 叩く in Sudachi's normalized form, the thesaurus word for 体罰.
    retrieved = await retrieve(tmp_path, SCHOOL, "生徒をたたいてもいいですか")
    assert retrieved.hits[0].meta.doc_id == "11"
    assert retrieved.relevant


DEADLINES = [
    doc(
        "3",
        "住民基本台帳法",
        "転入の届出は、転入をした者が転入地の市町村長にしなければならない。",
    ),
    doc("22", "住民基本台帳法", "転入の届出は、転入の日から十四日以内にしなければならない。"),
]


async def test_a_question_asking_how_many_days_prefers_the_passage_stating_days(
    tmp_path: Path,
) -> None:
    retrieved = await retrieve(tmp_path, DEADLINES, "転入の届出は何日ですか")
    assert retrieved.hits[0].meta.doc_id == "22"


async def test_a_question_asking_until_when_prefers_the_passage_stating_a_time_limit(
    tmp_path: Path,
) -> None:
    for question in ("転入の届出はいつまでにしますか", "転入の届出の期限は", "転入届の締め切りは"):
        retrieved = await retrieve(tmp_path, DEADLINES, question)
        assert retrieved.hits[0].meta.doc_id == "22", question


async def test_a_question_asking_how_long_a_period_is_prefers_the_passage_stating_it(
    tmp_path: Path,
) -> None:
    documents = [
        doc("4", "行政不服審査法", "審査請求は、審査請求をすべき行政庁に対してするものとする。"),
        doc("18", "行政不服審査法", "審査請求は、処分を知った日から三月を経過したときはできない。"),
    ]
    for question in ("審査請求の期間は", "審査請求ができる期間はどのくらいですか"):
        assert (await ranked(tmp_path / question, documents, question))[0] == "18", question


async def test_asking_how_many_people_does_not_find_the_statutes_anyone(tmp_path: Path) -> None:
    # 「何人も」 (anyone) is the statutes' word; 「何人ですか」 asks for a number.
    documents = [
        doc("3", "情報公開法", "何人も、行政文書の開示を請求することができる。"),
        doc("161", "地方自治法", "副市町村長の定数は、条例で定める。"),
        doc("162", "地方自治法", "副市町村長は、市町村長が議会の同意を得て選任する。"),
        doc("163", "地方自治法", "副市町村長の任期は、四年とする。"),
    ]
    assert (await ranked(tmp_path, documents, "副市長は何人ですか"))[0] == "161"


async def test_a_question_about_the_mayor_prefers_the_mayors_article_to_the_deputys(
    tmp_path: Path,
) -> None:
    documents = [
        doc("163", "地方自治法", "副市町村長の任期は、四年とする。"),
        doc(
            "140",
            "地方自治法",
            "市町村長の任期は、四年とする。前項の任期の起算については、公職選挙法の定めるところによる。",
        ),
    ]
    assert (await ranked(tmp_path, documents, "市町村長の任期は何年ですか"))[0] == "140"
    assert (await ranked(tmp_path, documents, "副市町村長の任期は何年ですか"))[0] == "163"


async def test_the_passage_whose_rule_is_about_the_questions_subject_comes_first(
    tmp_path: Path,
) -> None:
    documents = [
        doc("28", "道路法", "国土交通大臣は、市町村道の管理を市町村道の台帳に記載する。"),
        doc("16", "道路法", "市町村道の管理は、その路線の存する市町村が行う。"),
    ]
    assert (await ranked(tmp_path, documents, "市町村道を管理するのは誰ですか"))[0] == "16"


async def test_a_question_about_the_mayor_is_not_taken_for_one_about_something_long(
    tmp_path: Path,
) -> None:
    # 市長 adds the statutory phrases 普通地方公共団体の長 and 長; read alone, Sudachi takes
    # their 長 for the stem of 長い, which would raise a passage on 「いずれか長い期間」.
    documents = [
        doc("long", "法", "役員の任期は、四年又は中期目標の期間のいずれか長い期間とする。"),
        doc("term", "法", "委員の任期は、四年とする。"),
        doc("head", "法", "普通地方公共団体の長は、条例で定める。"),
    ]
    assert (await ranked(tmp_path, documents, "市長の任期は何年ですか"))[0] == "term"


async def test_a_year_typed_as_an_era_initial_finds_the_year_spelled_out(tmp_path: Path) -> None:
    documents = [
        doc("2023", "予算の概要", "2023年度の一般会計予算の総額は、八百億円です。"),
        doc("2024", "予算の概要", "2024年度の一般会計予算の総額は、九百億円です。"),
    ]
    assert (await ranked(tmp_path, documents, "R6年度の予算の総額は"))[0] == "2024"


async def test_an_era_year_in_a_question_weighs_what_its_western_year_does(
    tmp_path: Path,
) -> None:
    # The year only dates the question: the passage about submitting a budget answers it, not
    # one that merely names that year.
    documents = [
        doc("211", "地方自治法", "普通地方公共団体の長は、年度開始前に予算を議会に提出する。"),
        doc("71", "支援法", "令和八年度における加入者の総数で除して得た数に百分の八を乗じる。"),
    ]
    orders = [
        await ranked(tmp_path / str(n), documents, f"{year}の予算はいつまでに議会に出しますか")
        for n, year in enumerate(("令和8年度", "R8年度", "2026年度"))
    ]
    assert orders[0][0] == "211"
    assert orders[0] == orders[1] == orders[2]


NPO = [
    doc(
        "41", "特定非営利活動促進法", "特定非営利活動法人には、理事三人以上及び監事一人以上を置く。"
    ),
    doc("42", "特定非営利活動促進法", "特定非営利活動法人は、特定非営利活動法人の名称を用いる。"),
]


async def test_a_thesaurus_word_with_latin_letters_matches_as_typed(tmp_path: Path) -> None:
    # The thesaurus word 「NPO役員」 (→ 役員名簿, 理事, 監事) is two morphemes; questions are
    # matched lowercased, so it must match 「NPO役員」 typed in capitals.
    retrieved = await retrieve(tmp_path, NPO, "NPO役員は何人必要ですか")
    assert retrieved.hits[0].meta.doc_id == "41"
    assert retrieved.relevant


async def test_another_organizations_private_documents_do_not_change_how_a_question_is_read(
    tmp_path: Path,
) -> None:
    shared = doc("shared", "施設案内", "公共施設の予約は、利用日の三か月前から窓口で受け付ける。")
    private = doc("private", "内部資料", "駅前再開発計画の地権者交渉は非公開とする。")
    private = replace(private, meta=replace(private.meta, owner_org="1", visibility="organization"))
    question = "駅前再開発計画の地権者交渉の公共施設の予約は"
    results = []
    for name, documents in (("with", [shared, private]), ("without", [shared])):
        store = EmbeddedIndexStore(tmp_path / f"{name}.sqlite3", ANALYZER)
        try:
            await store.upsert_many(documents)
            retriever = Retriever(store, ANALYZER)
            results.append(await retriever.retrieve(question, SearchFilter(viewer_org="2"), k=5))
        finally:
            await store.close()
    seen_with, seen_without = results
    assert [h.meta.doc_id for h in seen_with.hits] == ["shared"]
    # Organization 2 cannot tell whether organization 1 holds 再開発計画 or 地権者交渉.
    assert seen_with.coverage == seen_without.coverage
    assert seen_with.relevant == seen_without.relevant


async def test_an_article_cut_in_pieces_is_shown_whole(tmp_path: Path) -> None:
    # Longer than one chunk: cut in two, the fourteen days in the first piece and the five
    # days in the second.
    checks = [f"保護の実施機関は、第{n}号の事項を調査することができる。" for n in range(1, 41)]
    article = "\n".join(
        [
            "保護の実施機関は、保護の開始の申請があつたときは、保護の要否を決定し、"
            "申請者に対して書面をもつて、これを通知しなければならない。",
            "前項の書面による通知は、申請のあつた日から十四日以内にしなければならない。",
            *checks,
            "町村長は、申請を受け取つたときは、五日以内に、その申請を保護の実施機関に"
            "送付しなければならない。",
        ]
    )
    documents = [doc("24", "生活保護法", article, law_id="325AC0000000144", position="第二十四条")]
    assert len(documents[0].chunks) == 2
    retrieved = await retrieve(tmp_path, documents, "生活保護の申請の決定は何日以内ですか")
    shown = retrieved.hits[0].chunk.text
    assert "十四日以内" in shown and "五日以内" in shown
    lines = shown.splitlines()
    assert len(lines) == len(set(lines)) == 43  # the sentence both pieces hold, once
