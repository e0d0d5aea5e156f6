"""Offline answers users read: quoted sentences with their sources, lists with what they list."""

from __future__ import annotations

from pathlib import Path

from knowledge.analysis import Analyzer
from knowledge.answer import answer_from, compose_extractive_answer
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


async def answer(tmp_path: Path, text: str, question: str, *others: str) -> str:
    """The offline answer to ``question`` from a document of ``text`` (and one of each of
    ``others``)."""
    documents = []
    for n, body in enumerate((text, *others)):
        meta = DocumentMeta(doc_id=f"doc{n}", title=f"案内{n}", dataset="テスト")
        chunks = chunk_sections(meta.doc_id, [Section(text=body)])
        documents.append(Document(meta, chunks, content_hash(body)))
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retrieved = await Retriever(store, ANALYZER).retrieve(question, SearchFilter(), k=5)
    finally:
        await store.close()
    return answer_from(retrieved, ANALYZER).text


AUDIT_REQUEST = (
    "普通地方公共団体の住民は、当該普通地方公共団体の職員について、違法な公金の支出があると"
    "認めるときは、監査委員に対し、監査を求めることができる。\n"
    "前項の規定による請求は、当該行為のあつた日から一年を経過したときは、これをすることが"
    "できない。\n"
    "第一項の規定による請求があつたときは、監査委員は、直ちに当該請求の要旨を議会及び長に"
    "通知しなければならない。"
)


async def test_an_article_named_alone_is_quoted_from_its_beginning(tmp_path: Path) -> None:
    act, order = "322AC0000000067", "322CO0000000016"
    documents = [
        law_article(act, "地方自治法", "第二百四十二条", AUDIT_REQUEST),
        law_article(
            order,
            "地方自治法施行令",
            "第百七十二条",
            "地方自治法第二百四十二条第一項の規定による請求は、文書をもつてこれをしなければ"
            "ならない。",
        ),
    ]
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retriever = Retriever(store, ANALYZER)
        for question in ("地方自治法第242条", "地方自治法第二百四十二条の条文を見せて"):
            named = answer_from(await retriever.retrieve(question, SearchFilter(), 5), ANALYZER)
            # The article's first paragraphs, in order, not the sentences that cite it.
            assert named.text.index("監査を求めることができる") < named.text.index("一年を経過")
            assert [h.meta.title for h in named.sources] == ["地方自治法"], question
        # A question about the article is answered from what it asks.
        asked = await retriever.retrieve("地方自治法第242条の請求は文書でしますか", SearchFilter())
        assert "文書をもつて" in answer_from(asked, ANALYZER).text
    finally:
        await store.close()


async def test_a_law_named_alone_is_answered_with_its_purpose(tmp_path: Path) -> None:
    act, order = "322AC0000000067", "322CO0000000016"
    documents = [
        law_article(
            order,
            "地方自治法施行令",
            "第一条",
            "地方自治法第二百五十二条の十九第一項の規定による指定都市の指定は、政令で行う。",
        ),
        law_article(act, "地方自治法", "第一条", "この法律は、地方自治の本旨に基いて定める。"),
        law_article(act, "地方自治法", "第二百四十二条", AUDIT_REQUEST),
    ]
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retriever = Retriever(store, ANALYZER)
        for question in ("地方自治法", "自治法とは", "地方自治法の目的"):
            named = answer_from(await retriever.retrieve(question, SearchFilter(), 5), ANALYZER)
            # Its 第一条, not the order's article that cites it.
            assert [h.meta.doc_id for h in named.sources] == [f"{act}#第一条"], question
            assert "地方自治の本旨" in named.text
        # Asked about something in it, the law is searched as any question is.
        asked = await retriever.retrieve("地方自治法の監査委員", SearchFilter(), 5)
        assert answer_from(asked, ANALYZER).sources[0].meta.doc_id == f"{act}#第二百四十二条"
    finally:
        await store.close()


PROCEDURE = "405AC0000000088"
PROCEDURE_ARTICLES = {
    "第五条": "行政庁は、審査基準を定めるものとする。",
    "第六条": "行政庁は、申請の処理に通常要すべき標準的な期間を定めるよう努める。",
    "第七条": "行政庁は、申請が到達したときは遅滞なく審査を開始しなければならない。",
    "第八条": "行政庁は、申請を拒否する処分をする場合は、その理由を示さなければならない。",
}


async def test_a_range_of_articles_is_quoted_article_by_article(tmp_path: Path) -> None:
    documents = [
        law_article(PROCEDURE, "行政手続法", position, text)
        for position, text in PROCEDURE_ARTICLES.items()
    ]
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(documents)
        retriever = Retriever(store, ANALYZER)
        for question in (
            "行政手続法第5条から第7条まで",
            "行政手続法の第五条乃至第七条を見せて",
            "行政手続法第5〜7条",
        ):
            named = answer_from(await retriever.retrieve(question, SearchFilter(), 5), ANALYZER)
            # Every article of the range, the one between its ends too, in order; not the next.
            shown = [h.meta.doc_id.partition("#")[2] for h in named.sources]
            assert shown == ["第五条", "第六条", "第七条"], question
        # Two articles named with 「と」 are those two.
        both = answer_from(
            await retriever.retrieve("行政手続法第5条と第7条", SearchFilter(), 5), ANALYZER
        )
        assert [h.meta.doc_id.partition("#")[2] for h in both.sources] == ["第五条", "第七条"]
    finally:
        await store.close()


def law_article(law_id: str, title: str, position: str, text: str) -> Document:
    meta = DocumentMeta(
        doc_id=f"{law_id}#{position}", title=title, dataset="テスト", law_id=law_id, law_title=title
    )
    sections = [Section(text=text, position=position)]
    return Document(meta, chunk_sections(meta.doc_id, sections), content_hash(text))


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


async def test_a_question_asking_how_many_days_quotes_the_sentence_stating_them(
    tmp_path: Path,
) -> None:
    text = (
        "開示請求をした者は、開示の決定の通知を受けるまで、開示請求を取り下げることができる。"
        "開示の決定は、開示請求をした者に書面で通知する。"
        "開示決定等は、請求の日から三十日以内にしなければならない。"
    )
    found = await answer(tmp_path, text, "開示請求の決定は何日でされますか")
    assert "・開示決定等は、請求の日から三十日以内にしなければならない。 [1]" in found


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


async def test_a_list_stays_open_across_the_sentence_that_goes_on_about_its_lead(
    tmp_path: Path,
) -> None:
    # 都市計画法第十一条: 「この場合において、…」 stands between the lead and its items.
    text = (
        "都市計画区域については、都市計画に、次に掲げる施設を定めることができる。\n"
        "この場合において、特に必要があるときは、当該都市計画区域外においても、"
        "これらの施設を定めることができる。\n"
        "道路、都市高速鉄道、駐車場その他の交通施設\n"
        "学校、図書館、研究施設その他の教育文化施設\n"
        "都市施設については、都市計画に、都市施設の種類、名称、位置及び区域を定めるものとする。"
    )
    found = await answer(tmp_path, text, "図書館は都市計画に定められますか")
    line = next(li for li in found.splitlines() if "図書館" in li)
    assert line.startswith("・都市計画区域については、都市計画に、次に掲げる施設を定めることが")
    assert "定めることができる：" in line


async def test_an_item_ending_in_a_parenthetical_is_still_an_item(tmp_path: Path) -> None:
    # 地方教育行政の組織及び運営に関する法律第二十三条
    text = (
        "地方公共団体の長が、次の各号に掲げる教育に関する事務を管理し、及び執行することとする"
        "ことができる。\n"
        "スポーツに関すること（学校における体育に関することを除く。）。\n"
        "文化財の保護に関すること。"
    )
    found = await answer(tmp_path, text, "スポーツに関する事務は市長が担当できますか")
    assert "執行することとすることができる：スポーツに関すること" in found


async def test_an_item_of_a_long_list_is_quoted_with_its_lead_from_the_passage_before(
    tmp_path: Path,
) -> None:
    # A long article is cut among its items: the passage holding the item asked about does
    # not hold the sentence introducing the list.
    lead = "普通地方公共団体の議会は、次に掲げる事件を議決しなければならない。"
    items = [f"第{n}号事業の契約の締結に関し、予算の範囲内で定めをすること。" for n in range(40)]
    text = "\n".join([lead, *items, "動物園の入園料の額を定めること。"])
    found = await answer(tmp_path, text, "動物園の入園料は誰が決めますか")
    line = next(li for li in found.splitlines() if "動物園" in li)
    assert line.startswith("・普通地方公共団体の議会は、次に掲げる事件を議決しなければならない：")


async def test_a_row_of_a_spreadsheet_is_quoted_with_its_column_names(tmp_path: Path) -> None:
    # As knowledge.parsing.tabular writes a group of rows: the header row first.
    text = (
        "施設名 | 所在地 | 開館時間 | 休館日\n"
        "中央図書館 | 本町1-1 | 9:00-20:00 | 月曜日\n"
        "市民プール | 南町5-8 | 10:00-18:00 | 火曜日"
    )
    found = await answer(tmp_path, text, "市民プールの休館日は")
    assert (
        "・施設名: 市民プール、所在地: 南町5-8、開館時間: 10:00-18:00、休館日: 火曜日 [1]"
    ) in found.splitlines()
    assert "施設名 | 所在地" not in found  # the header is in the row, not quoted apart
    # Nor is the other row, though it shares the column names the question asks about.
    assert "中央図書館" not in found
    (tmp_path / "both").mkdir()
    both = await answer(tmp_path / "both", text, "中央図書館と市民プールの休館日は")
    assert "中央図書館" in both and "市民プール" in both


async def test_a_row_under_a_tables_title_is_quoted_with_its_column_names(
    tmp_path: Path,
) -> None:
    # A sheet opening with its title: every group of rows repeats it above the header.
    text = (
        "令和8年度 一般会計歳出予算（款別） 単位：千円\n"
        "款 | 予算額 令和8年度 | 予算額 令和7年度\n"
        "総務費 | 3,210,000 | 3,150,000\n"
        "民生費 | 12,450,300 | 12,100,000"
    )
    found = await answer(tmp_path, text, "民生費の令和8年度の予算額は")
    assert (
        "・款: 民生費、予算額 令和8年度: 12,450,300、予算額 令和7年度: 12,100,000 [1]"
    ) in found.splitlines()


async def test_a_question_on_the_total_quotes_the_tables_total_row(tmp_path: Path) -> None:
    # Staff ask for the 総額; a budget table's last row says 合計.
    text = (
        "令和8年度 一般会計歳出予算（款別） 単位：千円\n"
        "款 | 予算額 令和8年度 | 予算額 令和7年度\n"
        "総務費 | 3,210,000 | 3,150,000\n"
        "民生費 | 12,450,300 | 12,100,000\n"
        "合計 | 15,660,300 | 15,250,000"
    )
    found = await answer(tmp_path, text, "令和8年度の一般会計の予算総額は")
    assert "・款: 合計、予算額 令和8年度: 15,660,300、予算額 令和7年度: 15,250,000 [1]" in (
        found.splitlines()
    ), found


async def test_a_row_of_a_table_with_a_blank_corner_is_quoted_with_its_column_names(
    tmp_path: Path,
) -> None:
    # A statistics sheet leaves its top left cell empty: the header line starts with a cell
    # separator, which stripping the line cut to 「| 4月 | 5月」, and the rows were quoted as
    # bare lines (「| 4月 | 5月 | 6月」, 「資源ごみ | 40 | 42 | 41」).
    text = " | 4月 | 5月 | 6月\n燃やすごみ | 120 | 130 | 125\n資源ごみ | 40 | 42 | 41"
    found = await answer(tmp_path, text, "資源ごみの5月の収集量は")
    assert "・資源ごみ、4月: 40、5月: 42、6月: 41 [1]" in found.splitlines()
    assert "| 4月" not in found and "燃やすごみ" not in found


async def test_a_passage_sharing_only_a_common_word_of_the_question_is_not_quoted(
    tmp_path: Path,
) -> None:
    pools = "施設名 | 休館日\n市民プール | 火曜日\n市民体育館 | 水曜日"
    unrelated = (
        "この法律は、市民が行う自由な社会貢献活動の健全な発展を促進することを目的とする。",
        "市民の参画を促進するため、必要な措置を講ずるものとする。",
    )
    found = await answer(tmp_path, pools, "市民プールの休館日は", *unrelated)
    assert "施設名: 市民プール、休館日: 火曜日 [1]" in found
    assert "社会貢献" not in found and "参画" not in found and "[2]" not in found


# 住民基本台帳法第二十二条第一項, as e-Gov has it: the deadline sits between two long
# parentheticals.
ARRIVAL = (
    "転入（新たに市町村の区域内に住所を定めることをいい、出生による場合を除く。以下この条及び"
    "第三十条の四十六において同じ。）をした者は、転入をした日から十四日以内に、次に掲げる事項"
    "（いずれの市町村においても住民基本台帳に記録されたことがない者にあつては、第一号から第五号"
    "まで及び第七号に掲げる事項）を市町村長に届け出なければならない。\n"
    "氏名\n"
    "住所\n"
    "転入をした年月日"
)


async def test_a_long_statute_sentence_keeps_its_main_clause(tmp_path: Path) -> None:
    text = await answer(tmp_path, ARRIVAL, "引っ越しの届出は何日以内にしなければなりませんか")
    assert (
        "転入（略）をした者は、転入をした日から十四日以内に、次に掲げる事項（略）を"
        "市町村長に届け出なければならない：氏名／住所／転入をした年月日"
    ) in text


async def test_the_best_sentence_of_a_long_article_is_quoted_whole(tmp_path: Path) -> None:
    # 地方自治法第二百四十二条第一項 is one sentence of about 400 characters (with its
    # parentheticals left out): it is the answer, so it is shown, not cut.
    main_clause = (
        "普通地方公共団体の住民は、当該普通地方公共団体の長若しくは委員会若しくは委員又は当該普通地方公共団体の"
        "職員について、違法若しくは不当な公金の支出、財産の取得、管理若しくは処分、契約の締結若しくは履行若しくは"
        "債務その他の義務の負担がある（当該行為がなされることが相当の確実さをもつて予測される場合を含む。）と"
        "認めるとき、又は違法若しくは不当に公金の賦課若しくは徴収若しくは財産の管理を怠る事実（以下「怠る事実」"
        "という。）があると認めるときは、これらを証する書面を添え、監査委員に対し、監査を求め、当該行為を防止し、"
        "若しくは是正し、若しくは当該怠る事実を改め、又は当該行為若しくは怠る事実によつて当該普通地方公共団体の"
        "被つた損害を補塡するために必要な措置を講ずべきことを請求することができる。"
    )
    text = await answer(tmp_path, main_clause, "住民監査請求をすることができるのは誰ですか")
    assert "、監査委員に対し、監査を求め、" in text
    assert "怠る事実（略）があると認めるときは" in text
    assert text.rstrip().endswith("請求することができる。 [1]")


async def test_a_reading_substitution_is_not_quoted_as_an_article_s_answer(
    tmp_path: Path,
) -> None:
    # 「…中「A」とあるのは「B」と…読み替える」 shares the question's words through the text it
    # quotes; the article it sits in is quoted by its own sentence instead.
    articles = {
        "定数": "副知事及び副市町村長の定数は、条例で定める。\n"
        "副市町村長は、普通地方公共団体の長が議会の同意を得てこれを選任する。",
        "準用": "第百二十三条の規定は、総合区長について準用する。\n"
        "この場合において、同条第一項中「副知事又は副市町村長の定数」とあるのは「総合区長の定数」と、"
        "「条例で定める副市町村長」とあるのは「条例で定める総合区長」と読み替えるものとする。",
        "任期": "副市町村長の任期は、四年とする。",
    }
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", ANALYZER)
    try:
        await store.upsert_many(
            [
                Document(
                    DocumentMeta(doc_id=title, title=title, dataset="テスト"),
                    chunk_sections(title, [Section(text=body)]),
                    content_hash(body),
                )
                for title, body in articles.items()
            ]
        )
        retrieved = await Retriever(store, ANALYZER).retrieve(
            "副市町村長の定数は条例で定めますか", SearchFilter(), k=5
        )
    finally:
        await store.close()
    composed = compose_extractive_answer(retrieved.query, retrieved.hits, ANALYZER)
    number = next(n for n, hit in enumerate(composed.sources, 1) if hit.meta.doc_id == "準用")
    lines = [line for line in composed.text.splitlines() if line.endswith(f"[{number}]")]
    assert lines == [f"・第百二十三条の規定は、総合区長について準用する。 [{number}]"]
    assert "副知事及び副市町村長の定数は、条例で定める。" in composed.text


async def test_a_proviso_is_quoted_with_the_sentence_it_qualifies(tmp_path: Path) -> None:
    # 公職選挙法第四十条, one sentence per line as e-Gov text arrives flattened.
    text = (
        "投票所は、午前七時に開き、午後八時に閉じる。\n"
        "ただし、市町村の選挙管理委員会は、特別の事情のある場合に限り、投票所を開く時刻を"
        "二時間以内の範囲内において繰り上げ若しくは繰り下げることができる。\n"
        "市町村の選挙管理委員会は、前項ただし書の場合においては、直ちにその旨を告示する。"
    )
    found = await answer(tmp_path, text, "投票所を開く時刻は繰り上げられますか")
    assert "・投票所は、午前七時に開き、午後八時に閉じる。ただし、市町村の選挙管理委員会は" in found


async def test_markdown_list_markup_is_not_quoted(tmp_path: Path) -> None:
    text = (
        "期日前投票所の時刻は、次に掲げる場合の区分に応じ、当該各号に定める措置を講ずる。\n"
        "- 一　期日前投票所の数が一である場合　開く時刻を二時間以内で繰り上げること。\n"
        "- 二　期日前投票所の数が二以上である場合　閉じる時刻を繰り下げること。"
    )
    found = await answer(tmp_path, text, "期日前投票所の数が一である場合")
    assert "：一　期日前投票所の数が一である場合" in found and "- 一" not in found


async def test_sentences_that_follow_one_another_are_quoted_as_one(tmp_path: Path) -> None:
    # 地方公務員法第三十四条第一項: the second sentence means nothing alone.
    text = (
        "職員は、職務上知り得た秘密を漏らしてはならない。その職を退いた後も、また、同様とする。\n"
        "法令による証人、鑑定人等となり、職務上の秘密に属する事項を発表する場合においては、"
        "任命権者の許可を受けなければならない。"
    )
    found = await answer(tmp_path, text, "職員は職を退いた後も秘密を漏らしてはいけませんか")
    whole = "職員は、職務上知り得た秘密を漏らしてはならない。その職を退いた後も、また、同様とする。"
    assert f"・{whole} [1]" in found


async def test_a_heading_or_the_next_article_is_not_joined_to_a_sentence(tmp_path: Path) -> None:
    text = "第2章 避難所\n指定避難所は市内の小学校とする。\n第3条 避難所の開設は市長が決定する。"
    found = await answer(tmp_path, text, "指定避難所の開設は誰が決定しますか")
    assert "避難所指定避難所" not in found
    assert "小学校とする。第3条" not in found


async def test_bulleted_steps_belong_to_the_sentence_above_them(tmp_path: Path) -> None:
    text = (
        "粗大ごみは、次の手順に従って出してください。\n"
        "・手数料納付券をコンビニで購入する。\n"
        "・納付券を貼って収集日の朝に出す。\n"
        "冷蔵庫とエアコンは家電リサイクル法の対象です。"
    )
    found = await answer(tmp_path, text, "粗大ごみの出し方の手順を教えて")
    assert "次の手順に従って出してください：・手数料納付券をコンビニで購入する。" in found
    assert "・・" not in found


APPEAL_PERIOD = (
    "処分についての審査請求は、処分があったことを知った日の翌日から起算して三月（当該処分に"
    "ついて再調査の請求をしたときは、当該再調査の請求についての決定があったことを知った日の"
    "翌日から起算して一月）を経過したときは、することができない。\n"
    "ただし、正当な理由があるときは、この限りでない。\n"
    "処分についての審査請求は、処分（当該処分について再調査の請求をしたときは、当該再調査の"
    "請求についての決定）があった日の翌日から起算して一年を経過したときは、することができない。\n"
    "ただし、正当な理由があるときは、この限りでない。\n"
    "次条に規定する審査請求書を郵便で提出した場合における前二項に規定する期間（以下「審査請求"
    "期間」という。）の計算については、送付に要した日数は、算入しない。"
)


async def test_a_time_limit_with_a_parenthesis_before_it_is_quoted_first(tmp_path: Path) -> None:
    # 「三月（…一月）を経過」 is a time limit as much as 「一年を経過」, and the one asked first.
    text = await answer(tmp_path, APPEAL_PERIOD, "審査請求はいつまでにできますか")
    first = text.split("\n・")[1]
    assert first.startswith("処分についての審査請求は、処分があったことを知った日の翌日から")
    assert "起算して三月" in first


async def test_the_label_line_of_an_article_is_not_quoted_as_a_sentence(tmp_path: Path) -> None:
    rule = (
        "第2条（住民票の写しの交付手数料）\n"
        "住民票の写しの交付手数料は、1通につき300円とする。\n"
        "（減免）\n"
        "2 市長が特に必要と認めるときは、手数料を減額することができる。"
    )
    text = await answer(tmp_path, rule, "住民票の写しの手数料はいくらですか")
    quoted = [line for line in text.splitlines() if line.startswith("・")]
    assert quoted[0] == "・住民票の写しの交付手数料は、1通につき300円とする。 [1]"
    assert not [line for line in quoted if "第2条" in line or "（減免）" in line]


async def test_a_question_on_a_trend_quotes_the_tables_rows_in_order(tmp_path: Path) -> None:
    years = {"令和3年": 124512, "令和4年": 123980, "令和5年": 123301, "令和6年": 122745}
    text = "\n".join(["年 | 総人口", *(f"{year} | {people:,}" for year, people in years.items())])
    found = await answer(tmp_path, text, "人口の推移を教えてください")
    shown = [line.split("、")[0] for line in found.splitlines() if line.startswith("・年: ")]
    assert shown == [f"・年: {year}" for year in years], found
    # One year asked about is still its row alone.
    (tmp_path / "one").mkdir()
    one = await answer(tmp_path / "one", text, "令和5年の人口は")
    assert "令和5年" in one and "令和4年" not in one
