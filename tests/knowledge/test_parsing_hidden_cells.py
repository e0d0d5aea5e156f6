"""Hidden rows and columns of a visible Excel sheet are not read, as hidden sheets are not:
staff hide working columns (内部メモ, 計算用) and superseded rows from the table's readers."""

from __future__ import annotations

import re
import zipfile
from datetime import date
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from knowledge.analysis import Analyzer
from knowledge.corpus import CorpusDefaults
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import BadDocument
from knowledge.index import SearchFilter
from knowledge.ingest import documents_from_bytes
from knowledge.parsing import parse_file
from knowledge.retrieval import Retriever

HEADER = "施設 | 住所 | 電話"
TODAY = date(2026, 6, 1)
SHEET = "xl/worksheets/sheet1.xml"


def xlsx_bytes(workbook: Workbook) -> bytes:
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def new_sheet(workbook: Workbook, title: str) -> Worksheet:
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.title = title
    return sheet


def facility_list() -> bytes:
    """A published list of 30 facilities, with what staff keep beside it out of sight: a memo
    column (C), working columns in a collapsed outline group (E:F, one ``<col min max>``), a
    superseded row, and a collapsed group of closed facilities' rows; an expanded group of
    annexes' rows stays in sight."""
    workbook = Workbook()
    sheet = new_sheet(workbook, "施設一覧")
    sheet.append(["施設", "住所", "内部メモ", "電話", "計算用", "担当者携帯"])
    for number in range(1, 31):
        sheet.append(
            [
                f"第{number}集会所",
                f"中央町{number}丁目",
                f"鍵は{number}番の金庫",
                f"03-0000-{number:04d}",
                number * 3,
                f"090-1111-{number:04d}",
            ]
        )
    sheet["A5"] = "旧第4集会所（移転前）"
    sheet.row_dimensions[5].hidden = True  # superseded, kept for the record
    sheet.row_dimensions.group(10, 12, hidden=True)  # closed facilities, group collapsed
    sheet.row_dimensions.group(20, 21, hidden=False)  # annexes, group expanded
    sheet.column_dimensions["C"].hidden = True
    sheet.column_dimensions.group("E", "F", hidden=True)  # working columns, group collapsed
    return xlsx_bytes(workbook)


def facility(number: int) -> str:
    return f"第{number}集会所 | 中央町{number}丁目 | 03-0000-{number:04d}"


def test_the_list_is_read_without_its_hidden_rows_and_columns() -> None:
    data = facility_list()
    with zipfile.ZipFile(BytesIO(data)) as archive:
        # The columns E and F are hidden as one range, as Excel writes them.
        assert re.search(rb'<col hidden="1"[^>]* min="5" max="6"', archive.read(SHEET))
    [parsed] = parse_file("集会所.xlsx", data)
    kept = [n for n in range(1, 31) if n not in (4, 9, 10, 11)]  # rows 5 and 10-12
    first, second = parsed.sections
    assert first.text == "\n".join([HEADER, *(facility(n) for n in kept[:20])])
    assert second.text == "\n".join([HEADER, *(facility(n) for n in kept[20:])])
    # Rows keep the numbers Excel shows: the first 20 kept are of rows 2 to 25, hidden ones between.
    assert [s.position for s in parsed.sections] == ["施設一覧 2〜25行", "施設一覧 26〜31行"]
    text = "\n".join(s.text for s in parsed.sections)
    for hidden in ("内部メモ", "金庫", "計算用", "担当者携帯", "090-1111", "移転前", "第9集会所"):
        assert hidden not in text
    assert facility(20) in text and facility(19) in text  # the expanded group


async def test_hidden_cells_are_neither_found_nor_cited(tmp_path: Path) -> None:
    analyzer = Analyzer()
    store = EmbeddedIndexStore(tmp_path / "index.sqlite3", analyzer)
    defaults = CorpusDefaults(dataset="施設", category="計画")
    await store.upsert_many(list(documents_from_bytes("集会所.xlsx", facility_list(), defaults)))
    retriever = Retriever(store, analyzer)
    try:
        for question, hidden in [
            ("旧第4集会所は移転前どこでしたか", "移転前"),
            ("集会所の鍵はどの金庫ですか", "金庫"),
            ("担当者の携帯電話番号は", "090-1111"),
            ("第10集会所の住所は", "第10集会所"),
        ]:
            retrieved = await retriever.retrieve(question, SearchFilter(), 5, TODAY)
            assert all(hidden not in hit.chunk.text for hit in retrieved.hits)
        retrieved = await retriever.retrieve("第25集会所の電話番号", SearchFilter(), 5, TODAY)
        [best, *_] = retrieved.hits
        assert best.chunk.position == "施設一覧 26〜31行"
        assert facility(25) in best.chunk.text
    finally:
        await store.close()


def test_rows_a_filter_leaves_out_are_read() -> None:
    # A list saved with a filter on: Excel marks the rows it leaves out hidden too, but they
    # are rows of the table, shown again as soon as the filter is cleared.
    workbook = Workbook()
    sheet = new_sheet(workbook, "避難所")
    sheet.append(["避難所", "地区", "状態"])
    sheet.append(["中央小学校", "中央", "開設"])
    sheet.append(["北中学校", "北", "未開設"])
    sheet.append(["南公民館", "南", "開設"])
    sheet.auto_filter.ref = "A1:C4"
    sheet.auto_filter.add_filter_column(2, ["開設"])
    sheet.sheet_properties.filterMode = True
    sheet.row_dimensions[3].hidden = True
    sheet.column_dimensions["B"].hidden = True  # a filter hides no columns: this one stays hidden
    [parsed] = parse_file("避難所.xlsx", xlsx_bytes(workbook))
    assert [(s.position, s.text) for s in parsed.sections] == [
        ("避難所 2〜4行", "避難所 | 状態\n中央小学校 | 開設\n北中学校 | 未開設\n南公民館 | 開設")
    ]


def test_a_sheet_whose_text_is_all_hidden_is_refused_with_the_reason() -> None:
    workbook = Workbook()
    sheet = new_sheet(workbook, "作業用")
    sheet.append(["氏名", "自宅電話"])
    sheet.append(["山田太郎", "090-0000-0000"])
    sheet.row_dimensions.group(1, 2, hidden=True)
    with pytest.raises(BadDocument) as caught:
        parse_file("名簿.xlsx", xlsx_bytes(workbook))
    message = caught.value.user_message
    assert message.startswith("「名簿.xlsx」の表示されているシートから本文を読み取れませんでした")
    assert "非表示のシート・行・列は読み込みません" in message
