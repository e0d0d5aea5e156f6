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


def workbook(*above: list[str | None], title: str = "") -> bytes:
    """A workbook whose first sheet holds ``above`` (rows) over the collection schedule, and
    a second sheet of contacts."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [*above, *SCHEDULE]:
        sheet.append(row)
    contacts = book.create_sheet("問い合わせ")
    contacts.append(["担当", "電話"])
    contacts.append(["環境課", "0123-45-6789"])
    if title:
        book.properties.title = title
    out = BytesIO()
    book.save(out)
    return out.getvalue()


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
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in [["避難所名"], ["第一小学校"], ["中央公民館"]]:
        sheet.append(row)
    out = BytesIO()
    book.save(out)
    [parsed] = parse_file("避難所.xlsx", out.getvalue())
    assert parsed.title == "避難所"


def test_a_shift_jis_csv_with_a_title_row_is_titled_by_it() -> None:
    rows = ["令和7年度 ごみ収集日程表,,", *(",".join(row) for row in SCHEDULE)]
    [parsed] = parse_file("gomi.csv", "\r\n".join(rows).encode("cp932"))
    assert parsed.title == "令和7年度 ごみ収集日程表"
    assert "西町 | 火曜日 | 燃やすごみ" in parsed.sections[0].text
