"""Tables set without ruling lines in PDFs: columns aligned by position alone, as budget
books and statistics print them, read row by row; text that is no table stays text."""

from __future__ import annotations

import pytest
from support import columns_pdf, japanese_document_pdf, newsletter_pdf

from knowledge.parsing import parse_file

BUDGET = [
    ["款", "本年度", "前年度", "比較"],
    ["議会費", "312,000", "305,500", "6,500"],
    ["総務費", "5,820,000", "6,010,000", "△190,000"],
    ["民生費", "21,400,000", "20,950,000", "450,000"],
    ["衛生費", "4,150,000", "4,080,000", "70,000"],
]


def budget_pdf() -> bytes:
    """A budget book's page: the amounts set to the right in their columns, no rules."""
    lines: list[str | list[str]] = ["令和7年度 一般会計歳出予算（款別）", "単位：千円", *BUDGET]
    lines.append("民生費は子育て支援の拡充により増額となりました。")
    return columns_pdf(lines, [72, 260, 380, 500], right_aligned={1, 2, 3})


def test_a_table_without_rules_is_read_by_rows_under_its_header() -> None:
    [parsed] = parse_file("予算書.pdf", budget_pdf())
    title, table, note = parsed.sections
    assert title.text == "令和7年度 一般会計歳出予算（款別）"
    assert table.text.splitlines() == [
        "単位：千円",  # the short line above the table, its caption
        "款 | 本年度 | 前年度 | 比較",
        "議会費 | 312,000 | 305,500 | 6,500",
        "総務費 | 5,820,000 | 6,010,000 | △190,000",
        "民生費 | 21,400,000 | 20,950,000 | 450,000",
        "衛生費 | 4,150,000 | 4,080,000 | 70,000",
    ]
    assert note.text == "民生費は子育て支援の拡充により増額となりました。"
    assert [s.position for s in parsed.sections] == ["1ページ", "1ページ 表1 1〜4行", "1ページ"]


def test_a_table_of_words_set_at_tab_stops_is_read_by_rows() -> None:
    schedule = [
        ["地区", "収集日", "品目"],
        ["東町", "月曜日・木曜日", "燃やすごみ"],
        ["西町", "火曜日・金曜日", "燃やすごみ"],
        ["南町", "水曜日", "資源ごみ（びん・缶）"],
    ]
    lines: list[str | list[str]] = ["ごみ収集日程", *schedule]
    [parsed] = parse_file("ごみ.pdf", columns_pdf(lines, [72, 160, 300]))
    [table] = parsed.sections
    assert table.text.splitlines() == ["ごみ収集日程", *(" | ".join(row) for row in schedule)]


def test_prose_stays_text() -> None:
    paragraphs = [
        "本市では、令和6年度から子育て支援の総合窓口を設置し、妊娠期から子育て期まで"
        "切れ目のない支援を行っています。 詳しくは Baibain City Hall の Web サイトをご覧ください。"
        * 3,
        "窓口　　市役所本庁舎1階　　子育て支援課　　電話 0123-45-6789",
        "受付は平日の午前8時30分から午後5時15分までです。",
    ]
    [parsed] = parse_file("案内.pdf", japanese_document_pdf(paragraphs))
    assert [s.position for s in parsed.sections] == ["1ページ"]
    assert "|" not in parsed.sections[0].text


@pytest.mark.parametrize(
    "rows",
    [
        [
            ["第1条", "（目的）", "この条例は、市民の健康の増進を図ることを目的とする。"],
            ["第2条", "（定義）", "この条例において「健康づくり」とは、次に掲げるものをいう。"],
            ["第3条", "（市の責務）", "市は、健康づくりに関する施策を総合的に推進する。"],
            ["第4条", "（市民の役割）", "市民は、自らの健康づくりに努めるものとする。"],
        ],
        [
            ["(1)", "申請書（様式第1号）", "1通"],
            ["(2)", "住民票の写し", "1通"],
            ["(3)", "所得証明書", "1通"],
            ["(4)", "本人確認書類", "提示のみ"],
        ],
    ],
    ids=["articles", "numbered-list"],
)
def test_articles_and_list_items_set_in_columns_stay_text(rows: list[list[str]]) -> None:
    lines: list[str | list[str]] = ["次のとおり定める。", *rows]
    [parsed] = parse_file("条例.pdf", columns_pdf(lines, [72, 120, 250]))
    [page] = parsed.sections
    assert "|" not in page.text
    assert all(cell in page.text for row in rows for cell in row)


@pytest.mark.parametrize("count", [2, 3])
def test_text_set_in_columns_like_a_newsletter_stays_text(count: int) -> None:
    texts = [
        "本市では、令和6年度から子育て支援の総合窓口を設置し、妊娠期から子育て期まで"
        "切れ目のない支援を行っています。" * 3,
        "高齢者の見守りについては、民生委員や地域の事業者と協定を結び、異変の早期発見に"
        "努めています。" * 3,
        "市民体育館は改修工事のため、令和7年10月から翌年3月まで休館します。"
        "ご理解をお願いします。" * 3,
    ][:count]
    [parsed] = parse_file("広報.pdf", newsletter_pdf(texts))
    [page] = parsed.sections
    assert "|" not in page.text
    assert page.text.replace("\n", "") == "".join(texts)


def test_key_value_lines_of_two_columns_stay_as_they_read() -> None:
    rows = [
        ["受付時間", "午前9時から午後5時"],
        ["休業日", "土曜日・日曜日・祝日"],
        ["場所", "市役所本庁舎1階 市民課"],
        ["電話", "0123-45-6789"],
    ]
    lines: list[str | list[str]] = ["窓口のご案内", *rows]
    [parsed] = parse_file("窓口.pdf", columns_pdf(lines, [72, 200]))
    [page] = parsed.sections
    assert page.text.splitlines() == ["窓口のご案内", *(cell for row in rows for cell in row)]


def test_a_dash_set_apart_in_a_column_of_amounts_keeps_the_table() -> None:
    # 「−」 (nothing this year) is centred in its cell, not set to the right as amounts are.
    rows = [*BUDGET[:2], ["災害復旧費", "−", "120,000", "△120,000"], *BUDGET[2:]]
    lines: list[str | list[str]] = ["単位：千円", *rows]
    pdf = columns_pdf(lines, [72, 260, 380, 500], right_aligned={1, 2, 3}, centred={(3, 1): 225})
    [parsed] = parse_file("予算書.pdf", pdf)
    [table] = parsed.sections
    assert "災害復旧費 | − | 120,000 | △120,000" in table.text.splitlines()
    assert "民生費 | 21,400,000 | 20,950,000 | 450,000" in table.text.splitlines()
