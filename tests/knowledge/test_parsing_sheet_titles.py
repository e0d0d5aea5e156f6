"""Workbooks and CSV files titled by the title row above their table's header, as staff
title a sheet (A1 「令和7年度 ごみ収集日程表」, then the header), not by the file's name."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import Workbook

from knowledge.parsing import parse_file

SCHEDULE = [
    ["地区", "収集日", "品目"],
    ["東町", "月曜日", "燃やすごみ"],
    ["西町", "火曜日", "燃やすごみ"],
]


def sheets(**named: list[list[object]]) -> Workbook:
    """A workbook of the sheets named, in order, with their rows."""
    book = Workbook()
    book.remove(book.worksheets[0])
    for title, rows in named.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    return book


def saved(book: Workbook) -> bytes:
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def workbook(*above: list[str | None], title: str = "") -> bytes:
    """A workbook whose first sheet holds ``above`` (rows) over the collection schedule, and
    a second sheet of contacts."""
    contacts: list[list[object]] = [["担当", "電話"], ["環境課", "0123-45-6789"]]
    book = sheets(日程=[*above, *SCHEDULE], 問い合わせ=contacts)
    if title:
        book.properties.title = title
    return saved(book)


def test_a_title_row_above_the_header_titles_the_workbook() -> None:
    data = workbook(["令和7年度 ごみ収集日程表"], [None], ["単位：なし"])
    [parsed] = parse_file("R7_gomi_schedule.xlsx", data)
    assert parsed.title == "令和7年度 ごみ収集日程表"
    # The rows still open with it, as before.
    assert parsed.sections[0].text.splitlines()[:2] == [
        "令和7年度 ごみ収集日程表 単位：なし",
        "地区 | 収集日 | 品目",
    ]


@pytest.mark.parametrize(
    "above",
    [
        [],  # the header comes first
        [["単位：円"]],  # a note on units, not a title
        [["（単位：千円）"]],
        [["作成日：令和7年4月1日"]],  # a date the sheet states
        [["令和7年4月1日現在"]],
        [["本表は、令和7年度の収集日程を地区ごとにまとめたものです。"]],  # a sentence
    ],
)
def test_a_sheet_without_a_title_row_is_titled_by_its_file_name(above: list[list[str]]) -> None:
    [parsed] = parse_file("R7_gomi_schedule.xlsx", workbook(*above))
    assert parsed.title == "R7_gomi_schedule"


def test_the_workbooks_title_property_comes_before_its_title_row() -> None:
    data = workbook(["令和7年度 ごみ収集日程表"], title="ごみ収集カレンダー")
    [parsed] = parse_file("gomi.xlsx", data)
    assert parsed.title == "ごみ収集カレンダー"


def test_a_sheet_of_one_column_has_no_title_row() -> None:
    book = sheets(避難所=[["避難所名"], ["第一小学校"], ["中央公民館"]])
    [parsed] = parse_file("避難所.xlsx", saved(book))
    assert parsed.title == "避難所"


def test_a_shift_jis_csv_with_a_title_row_is_titled_by_it() -> None:
    rows = ["令和7年度 ごみ収集日程表,,", *(",".join(row) for row in SCHEDULE)]
    [parsed] = parse_file("gomi.csv", "\r\n".join(rows).encode("cp932"))
    assert parsed.title == "令和7年度 ごみ収集日程表"
    assert "西町 | 火曜日 | 燃やすごみ" in parsed.sections[0].text


def test_a_cover_sheet_titles_the_workbook() -> None:
    cover = [[None], ["令和7年度 みどり市統計書"], [None], ["みどり市 総務課"]]
    population = [["人口の推移"], ["年度", "人口"], ["令和5年度", 120345], ["令和6年度", 119800]]
    book = sheets(表紙=cover, 人口=population)
    [parsed] = parse_file("toukeisho_r7.xlsx", saved(book))
    assert parsed.title == "令和7年度 みどり市統計書"  # not the title of the first table in it
