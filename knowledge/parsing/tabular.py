"""Spreadsheets (.xlsx) and CSV: rows in groups, each group repeating the header row.

A group is written as a small pipe table — the header row first, then one line per row
(「氏名 | 住所」 / 「山田 | 東京都」). Repeating the header makes every passage readable on its
own and gives BM25 the column names; the compact form keeps a group of rows in one chunk,
whereas 「列名: 値」 lines would multiply the text by the number of columns and get a group cut
away from its header.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from io import BytesIO, StringIO

from openpyxl import load_workbook

from knowledge.chunking import MAX_CHUNK_CHARS
from knowledge.documents import Section
from knowledge.errors import BadDocument
from knowledge.parsing.base import ParsedFile, decode_text, require_sections, stem

ROWS_PER_SECTION = 20
# A group also closes before it would outgrow one chunk, so the header is never split off.
_GROUP_CHARS = MAX_CHUNK_CHARS - 50


def cell_text(value: object) -> str:
    """A cell as text: dates in ISO form, whole floats without ``.0``, one line."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _line(cells: list[str]) -> str:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return " | ".join(cells)


def table_sections(rows: Iterable[tuple[int, list[str]]], where: str) -> list[Section]:
    """Sections for ``(row number, cells)`` pairs; the first non-empty row is the header.

    Each section holds up to ``ROWS_PER_SECTION`` rows after the header line; ``where`` (a sheet
    name, or empty) starts the position, e.g. 「Sheet1 2〜21行」.
    """
    header = ""
    header_no = 0
    group: list[tuple[int, str]] = []
    sections: list[Section] = []

    def close() -> None:
        lines = [header, *(text for _, text in group)]
        first, last = (group[0][0], group[-1][0]) if group else (header_no, header_no)
        span = f"{first}行" if first == last else f"{first}〜{last}行"
        position = f"{where} {span}" if where else span
        sections.append(Section(text="\n".join(lines), heading=where, position=position))
        group.clear()

    for number, cells in rows:
        text = _line(cells)
        if not text:
            continue
        if not header:
            header, header_no = text, number
            continue
        size = len(header) + sum(len(t) + 1 for _, t in group) + len(text)
        if group and (len(group) >= ROWS_PER_SECTION or size > _GROUP_CHARS):
            close()
        group.append((number, text))
    if group or (header and not sections):
        close()
    return sections


def _sheet_rows(rows: Iterable[tuple[object, ...]]) -> Iterator[tuple[int, list[str]]]:
    for number, row in enumerate(rows, start=1):
        yield number, [cell_text(value) for value in row]


def parse_xlsx(name: str, data: bytes, label: str) -> ParsedFile:
    """Every worksheet, rows grouped with the header repeated; position 「Sheet1 2〜21行」."""
    sections: list[Section] = []
    try:
        workbook = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors on damaged files
        raise BadDocument(
            f"{label}は Excel（.xlsx）ファイルとして読み込めませんでした。"
            "ファイルが壊れていないか確認してください。",
            detail=f"xlsx unreadable: {type(exc).__name__}",
        ) from exc
    try:
        title = workbook.properties.title or ""
        for sheet in workbook.worksheets:
            sections += table_sections(_sheet_rows(sheet.iter_rows(values_only=True)), sheet.title)
    except Exception as exc:  # damaged sheet XML surfaces only while reading rows
        raise BadDocument(
            f"{label}のシートを読み込めませんでした。ファイルが壊れていないか確認してください。",
            detail=f"xlsx sheet unreadable: {type(exc).__name__}",
        ) from exc
    finally:
        workbook.close()
    return ParsedFile(
        name=name,
        title=title.strip() or stem(name),
        sections=require_sections(tuple(sections), label),
        kind="xlsx",
    )


def parse_csv(name: str, data: bytes, label: str) -> ParsedFile:
    """CSV (comma or tab separated; UTF-8 or Shift_JIS), grouped like a worksheet."""
    text = decode_text(data, label)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        # Rows are numbered as Excel shows them: a cell with line breaks stays in one row.
        for number, cells in enumerate(reader, start=1):
            rows.append((number, [" ".join(cell.split()) for cell in cells]))
    except csv.Error:
        raise BadDocument(
            f"{label}の{reader.line_num}行目を CSV として読み取れませんでした。"
            "内容を確認してください。",
            detail=f"csv error line {reader.line_num}",
        ) from None
    sections = require_sections(tuple(table_sections(rows, "")), label)
    return ParsedFile(name=name, title=stem(name), sections=sections, kind="csv")
