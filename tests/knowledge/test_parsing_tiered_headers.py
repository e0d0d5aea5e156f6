"""A worksheet's header in tiers of merged cells (「予算額」 over 「令和8年度」 and 「令和7年度」)
heads every group of rows as one row, so a figure is read under its year."""

from __future__ import annotations

from io import BytesIO

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from knowledge.parsing import parse_file

ROWS = [("総務費", 3210000, 3100500), ("民生費", 12450300, 12010200)]


def budget(*, merged_down: bool = True, hide: str = "") -> bytes:
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.title = "歳出"
    sheet["A1"] = "令和8年度 一般会計歳出予算（款別）"
    sheet.merge_cells("A1:D1")
    sheet["A3"], sheet["B3"], sheet["D3"] = "款", "予算額", "備考"
    sheet.merge_cells("B3:C3")
    sheet["B4"], sheet["C4"] = "令和8年度", "令和7年度"
    if merged_down:
        sheet.merge_cells("A3:A4")
        sheet.merge_cells("D3:D4")
    for row, (name, now, before) in enumerate(ROWS, start=5):
        sheet.cell(row, 1, name)
        sheet.cell(row, 2, now).number_format = "#,##0"
        sheet.cell(row, 3, before).number_format = "#,##0"
    if hide:
        sheet.column_dimensions[hide].hidden = True
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def lines(data: bytes) -> list[str]:
    [parsed] = parse_file("予算.xlsx", data)
    [section] = parsed.sections
    assert section.position == "歳出 5〜6行"  # the rows of figures, as Excel numbers them
    return section.text.splitlines()


def test_a_header_merged_in_tiers_is_one_row_over_the_figures() -> None:
    assert lines(budget()) == [
        "令和8年度 一般会計歳出予算（款別）",
        "款 | 予算額 令和8年度 | 予算額 令和7年度 | 備考",
        "総務費 | 3,210,000 | 3,100,500",
        "民生費 | 12,450,300 | 12,010,200",
    ]


def test_a_lower_tier_under_a_cell_merged_across_is_read_without_cells_merged_down() -> None:
    assert lines(budget(merged_down=False))[1] == "款 | 予算額 令和8年度 | 予算額 令和7年度 | 備考"


def test_a_hidden_column_of_a_tiered_header_stays_hidden() -> None:
    assert lines(budget(hide="C"))[1:] == [
        "款 | 予算額 令和8年度 | 備考",
        "総務費 | 3,210,000",
        "民生費 | 12,450,300",
    ]


def test_a_data_row_under_a_header_cell_merged_across_is_not_taken_into_it() -> None:
    book = Workbook()
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    sheet.append(["施設名", "連絡先", None])
    sheet.merge_cells("B1:C1")
    sheet.append(["中央公民館", "0123-45-6789", "生涯学習課"])
    sheet.append(["市民体育館", "0123-45-1111", "スポーツ課"])
    out = BytesIO()
    book.save(out)
    [parsed] = parse_file("施設.xlsx", out.getvalue())
    assert parsed.sections[0].text.splitlines() == [
        "施設名 | 連絡先",
        "中央公民館 | 0123-45-6789 | 生涯学習課",
        "市民体育館 | 0123-45-1111 | スポーツ課",
    ]
