"""Numbers in Excel sheets read as the sheet shows them under each cell's number format."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from openpyxl import Workbook

from knowledge.parsing import parse_file

# (value, number format, what Excel shows)
SHOWN = [
    (0.853, "0.0%", "85.3%"),
    (0.5, "0%", "50%"),
    (0.125, "0.00%", "12.50%"),
    (1234567, "#,##0", "1,234,567"),
    (1234567.891, "#,##0", "1,234,568"),
    (1234567.891, "#,##0.0", "1,234,567.9"),
    (1234567.891, "General", "1234567.891"),
    (0.1 + 0.2, "General", "0.3"),
    (2.675, "0.00", "2.68"),
    (3, "0.00", "3.00"),
    (1.5, "0.0#", "1.5"),
    (1234567, '"¥"#,##0', "¥1,234,567"),
    (1234567, "¥#,##0", "¥1,234,567"),
    (1234567, "[$¥-411]#,##0", "¥1,234,567"),
    (1234567, '#,##0"円"', "1,234,567円"),
    (1234567, "#,##0,", "1,235"),  # in thousands, under a 「単位：千円」 header
    (42, '0"人"', "42人"),
    (1200, '#,##0"件"', "1,200件"),
    (-1234, "#,##0", "-1,234"),
    (-1234, '"¥"#,##0', "-¥1,234"),
    (-1234, "#,##0;[赤]-#,##0", "-1,234"),
    (-1234, "#,##0;[Red]\\-#,##0", "-1,234"),
    (-1234, "#,##0;△#,##0", "△1,234"),
    (-1234, "#,##0;▲#,##0", "▲1,234"),
    (-1234.5, "#,##0_ ;[Red]\\-#,##0\\ ", "-1,235"),
    (-1234, "#,##0;(#,##0)", "(1,234)"),
    (0, '#,##0;△#,##0;"-"', "-"),
    (0, '_ * #,##0_ ;_ * \\-#,##0_ ;_ * "-"_ ;_ @_ ', "-"),
    # Beyond what is rendered: shown plainly, as before.
    (1000001, "000-0000", "1000001"),
    (0.25, "# ?/?", "0.25"),
    (5, "[>=100]0;0", "5"),
]


def sheet_of(cells: list[tuple[float, str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["番号", "値"])
    for number, (value, number_format) in enumerate(cells, start=1):
        sheet.append([number, value])
        sheet.cell(number + 1, 2).number_format = number_format
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_numbers_read_as_the_sheet_shows_them() -> None:
    [parsed] = parse_file("統計.xlsx", sheet_of([(value, fmt) for value, fmt, _ in SHOWN]))
    lines = [line for s in parsed.sections for line in s.text.split("\n")[1:]]
    assert lines == [f"{n} | {shown}" for n, (_, _, shown) in enumerate(SHOWN, start=1)]


@pytest.mark.parametrize("number_format", ["#,##0;;", "#,##0;-#,##0;"])
def test_an_empty_section_hides_the_number_as_excel_does(number_format: str) -> None:
    value = -5 if number_format.endswith(";;") else 0
    [parsed] = parse_file("表.xlsx", sheet_of([(value, number_format), (7, number_format)]))
    assert parsed.sections[0].text == "番号 | 値\n1\n2 | 7"


def test_a_formulas_saved_value_is_shown_in_the_formulas_cell_format() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["区分", "執行率"])
    sheet.append(["合計", "=B3/B4"])
    sheet["B2"].number_format = "0.0%"
    out = BytesIO()
    workbook.save(out)
    saved = BytesIO()
    with zipfile.ZipFile(out) as written, zipfile.ZipFile(saved, "w") as copy:
        for item in written.infolist():
            part = written.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                part = part.replace(b"<v></v>", b"<v>0.8527</v>")
            copy.writestr(item, part)
    [parsed] = parse_file("執行状況.xlsx", saved.getvalue())
    assert parsed.sections[0].text == "区分 | 執行率\n合計 | 85.3%"
