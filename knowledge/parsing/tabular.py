"""Spreadsheets (.xlsx) and CSV: rows in groups, each group repeating the header row.

A group is written as a small pipe table — the header row first, then one line per row
(「氏名 | 住所」 / 「山田 | 東京都」). Repeating the header makes every passage readable on its
own and gives BM25 the column names; the compact form keeps a group of rows in one chunk,
whereas 「列名: 値」 lines would multiply the text by the number of columns and get a group cut
away from its header.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, time
from io import BytesIO, StringIO
from itertools import chain
from typing import Any

from openpyxl import load_workbook
from openpyxl.cell.read_only import ReadOnlyCell

# Read directly, to get a cell's saved value and its formula in one pass (``_SavedValues``).
from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

from knowledge.chunking import MAX_CHUNK_CHARS
from knowledge.documents import TABLE_CELL, Section
from knowledge.errors import BadDocument
from knowledge.parsing.base import ParsedFile, opening_title, require_sections, stem
from knowledge.parsing.charset import decode_text
from knowledge.parsing.dated import stated_date
from knowledge.parsing.merged_header import TieredHeader, merged_spans
from knowledge.parsing.number_format import displayed, general

ROWS_PER_SECTION = 20
# A group also closes before it would outgrow one chunk, so the header is never split off.
_GROUP_CHARS = MAX_CHUNK_CHARS - 50


def cell_text(value: object, number_format: str | None = "General") -> str:
    """A cell as text: dates in ISO form, numbers as ``number_format`` shows them
    (「85.3%」, 「1,234,567円」; whole numbers without ``.0`` under 「General」), one line."""
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        shown = displayed(value, number_format or "General")
        return general(value) if shown is None else shown
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date | time):
        return value.isoformat()
    return " ".join(str(value).split())


def _line(cells: list[str]) -> str:
    # Rows end in empty cells wherever a sheet is formatted to the right of its table, in
    # thousands when a whole row is: they are skipped by index, not cut off one copy at a time.
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return TABLE_CELL.join(cells[:end])


def table_sections(rows: Iterable[tuple[int, list[str]]], where: str) -> list[Section]:
    """Sections for ``(row number, cells)`` pairs; the header is the first row of two or more
    cells (the first row when none has two).

    Rows of one cell above the header are the table's title (「令和8年度 補助金一覧」,
    「単位：円」): every group starts with it, then the header, so that none loses the column
    names to it; a long text there is a section of its own. Each section holds up to
    ``ROWS_PER_SECTION`` rows after the header line; ``where`` (a sheet name, or empty)
    starts the position, e.g. 「Sheet1 2〜21行」.
    """
    remaining = iter(rows)
    above: list[tuple[int, list[str]]] = []
    for number, cells in remaining:
        if sum(1 for cell in cells if cell) >= 2:
            table = chain([(number, cells)], remaining)
            break
        if any(cells):
            above.append((number, cells))
    else:
        return _grouped(above, where)  # no row of two cells: one column
    lines = [" ".join(filter(None, cells)) for _, cells in above]
    caption = " ".join(lines)
    if len(caption) <= _CAPTION_CHARS:
        return _grouped(table, where, caption)
    notes = Section(
        text="\n".join(lines), heading=where, position=_position(where, above[0][0], above[-1][0])
    )
    return [notes, *_grouped(table, where)]


# A table's title is a line, not a paragraph of notes.
_CAPTION_CHARS = 100


# What a workbook's cover sheet is named: its first line is the workbook's title.
_COVER_NAMES = frozenset({"表紙", "タイトル"})
# A note on the table's units (「単位：千円」, 「（単位：人）」) is no title.
_UNIT = re.compile(r"^[（(]?\s*単\s*位")


def noting_title(
    rows: Iterable[tuple[int, list[str]]], found: list[str], *, cover: bool = False
) -> Iterator[tuple[int, list[str]]]:
    """``rows`` as they are, noting in ``found`` the table's title: its first row when that
    is a row of one cell above the header (the first row of two cells or more, as
    ``table_sections`` takes it) that reads as a title (「令和7年度 ごみ収集日程表」, not
    「単位：円」 or 「作成日：令和7年4月1日」). A sheet of one column has no title row, but a
    ``cover`` sheet (「表紙」) opens with the title though no table follows."""
    candidate: str | None = None
    for number, cells in rows:
        filled = [cell for cell in cells if cell]
        if candidate is None and filled:
            candidate = filled[0] if len(filled) == 1 else ""
        elif candidate and len(filled) >= 2:
            _note_title(candidate, found)
            candidate = ""
        yield number, cells
    if cover and candidate:
        _note_title(candidate, found)


def _note_title(text: str, found: list[str]) -> None:
    if opening_title([text], apart=True) and not (_UNIT.match(text) or stated_date(text)):
        found.append(text)


def _position(where: str, first: int, last: int) -> str:
    """「Sheet1 2〜21行」, 「3行」."""
    span = f"{first}行" if first == last else f"{first}〜{last}行"
    return f"{where} {span}" if where else span


def _grouped(rows: Iterable[tuple[int, list[str]]], where: str, caption: str = "") -> list[Section]:
    """The rows in groups under the first non-empty one, the header, each group opening with
    ``caption`` when there is one (``table_sections``)."""
    header = ""
    header_no = 0
    group: list[tuple[int, str]] = []
    sections: list[Section] = []

    def close() -> None:
        lines = [*filter(None, [caption, header]), *(text for _, text in group)]
        first, last = (group[0][0], group[-1][0]) if group else (header_no, header_no)
        position = _position(where, first, last)
        sections.append(Section(text="\n".join(lines), heading=where, position=position))
        group.clear()

    for number, cells in rows:
        text = _line(cells)
        if not text:
            continue
        if not header:
            header, header_no = text, number
            continue
        size = len(caption) + len(header) + sum(len(t) + 1 for _, t in group) + len(text)
        if group and (len(group) >= ROWS_PER_SECTION or size > _GROUP_CHARS):
            close()
        group.append((number, text))
    if group or (header and not sections):
        close()
    return sections


def _unsaved(formula: object) -> str:
    """What a formula cell shows when its file holds no value for it (written by a program,
    not saved by Excel): the formula, so that a total does not silently go missing."""
    text = formula if isinstance(formula, str) else getattr(formula, "text", "")
    return (
        f"（計算式: {text}、値は保存されていません）"
        if text
        else "（計算式の値は保存されていません）"
    )


def _set(flag: str | None) -> bool:
    """Whether an XML boolean attribute (``hidden="1"``, ``filterMode="true"``) is set."""
    return flag in ("1", "true")


class _SavedValues(WorkSheetParser):
    """openpyxl's sheet reader, made with ``data_only=True``, that gives each cell the value
    its file holds and a formula it holds none for as ``_unsaved``: one pass over the sheet,
    where a workbook loads either the values or the formulas. A formula whose result is an
    empty string (「=IF(A2="","",…)」) holds an empty value of type ``str`` and shows
    nothing, as in Excel.

    It also notes the hidden columns, hidden by hand or in a collapsed outline group: a sheet
    lists them (``<col min="2" max="4" hidden="1"/>``, a range) before its rows."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.hidden_columns: set[int] = set()

    def parse_column_dimensions(self, col: Any) -> None:
        super().parse_column_dimensions(col)
        if _set(col.get("hidden")):
            first = int(col.get("min"))
            self.hidden_columns.update(range(first, int(col.get("max", first)) + 1))

    def filtered(self) -> bool:
        """Whether a filter hides rows of the sheet (``<sheetPr filterMode="1">``, which the
        sheet holds before its rows)."""
        properties = getattr(self, "sheet_properties", None)
        return bool(properties is not None and properties.filterMode)

    def parse_cell(self, element: Any) -> dict[str, Any]:
        cell: dict[str, Any] = super().parse_cell(element)
        formula = element.find(FORMULA_TAG)
        if formula is None:
            return cell
        if cell["value"] is None and cell["data_type"] != "str":
            cell["value"] = _unsaved(self.parse_formula(element))
        elif formula.get("t") == "shared" and formula.text:
            # The first cell of a shared formula holds its text; the cells below hold only a
            # reference to it, which a cell without a value needs to show its own formula.
            self.parse_formula(element)
        return cell


def _rows(sheet: Any, withheld: set[str]) -> Iterator[tuple[int, list[str]]]:
    """A worksheet's rows as ``(row number, cells as text)``: values as the file holds them,
    numbers as their format shows them (``cell_text``), read row by row, so that the sheet's
    cells are not all held at once.

    Hidden rows and columns are left out, as hidden sheets are: staff hide working columns
    (内部メモ, 計算用) and superseded rows from the table's readers, and a collapsed outline
    group hides its rows and columns the same way. Rows a filter leaves out are kept: Excel
    marks them hidden too, but they are the table's rows, and the filter only the view its
    last editor left. Rows keep their numbers, so a position still names the rows as Excel
    numbers them. The sheet's title is added to ``withheld`` when hidden cells held text.
    A header in tiers of merged cells is one row (``TieredHeader``)."""
    workbook = sheet.parent
    formats: dict[int, str] = {}  # by style: looking a format up costs more than a cell
    header = TieredHeader(merged_spans(sheet))
    with sheet._get_source() as source:
        parser = _SavedValues(
            source,
            sheet._shared_strings,
            data_only=True,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,
            timedelta_formats=workbook._timedelta_formats,
        )
        for number, cells in parser.parse():
            cells = [cell for cell in cells if cell["value"] not in (None, "")]
            # Popped, so that the attributes of rows already read are not all kept.
            row = parser.row_dimensions.pop(str(number), {})
            if _set(row.get("hidden")) and not parser.filtered():
                if cells:
                    withheld.add(sheet.title)
                continue
            hidden = parser.hidden_columns
            shown = [""] * max((cell["column"] for cell in cells), default=0)
            for cell in cells:
                value, style, column = cell["value"], cell["style_id"], cell["column"]
                if column in hidden:
                    withheld.add(sheet.title)
                    continue
                if style and style not in formats:
                    formats[style] = ReadOnlyCell(
                        sheet, number, 1, None, style_id=style
                    ).number_format
                shown[column - 1] = cell_text(value, formats.get(style, "General"))
            yield from _visible(header.add(number, shown), hidden)
        yield from _visible(header.flush(), parser.hidden_columns)


def _visible(
    rows: list[tuple[int, list[str]]], hidden: set[int]
) -> Iterator[tuple[int, list[str]]]:
    """The rows without their hidden columns."""
    for number, shown in rows:
        if hidden:
            shown = [text for column, text in enumerate(shown, 1) if column not in hidden]
        yield number, shown


def parse_xlsx(name: str, data: bytes, label: str) -> ParsedFile:
    """Every visible worksheet, rows grouped with the header repeated; position
    「Sheet1 2〜21行」. Titled by the workbook's title property, else by the title row above
    the first table's header (``noting_title``), else by the file name. Hidden sheets (lookup
    tables, working figures, personal data kept out of the readers' sight) are not read, nor
    hidden rows and columns of a visible one (``_rows``)."""
    sections: list[Section] = []
    withheld: set[str] = set()
    titles: list[str] = []
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
        visible = [sheet for sheet in workbook.worksheets if sheet.sheet_state == "visible"]
        for sheet in visible:
            cover = sheet.title.strip() in _COVER_NAMES
            rows = noting_title(_rows(sheet, withheld), titles, cover=cover)
            sections += table_sections(rows, sheet.title)
    except Exception as exc:  # damaged sheet XML surfaces only while reading rows
        raise BadDocument(
            f"{label}のシートを読み込めませんでした。ファイルが壊れていないか確認してください。",
            detail=f"xlsx sheet unreadable: {type(exc).__name__}",
        ) from exc
    finally:
        workbook.close()
    if not sections and (withheld or len(visible) < len(workbook.worksheets)):
        raise BadDocument(
            f"{label}の表示されているシートから本文を読み取れませんでした。"
            "非表示のシート・行・列は読み込みません。読み込ませたい内容は再表示してから"
            "アップロードしてください。",
            detail="no text in visible cells",
        )
    return ParsedFile(
        name=name,
        title=title.strip() or next(iter(titles), "") or stem(name),
        sections=require_sections(tuple(sections), label),
        kind="xlsx",
    )


def parse_csv(name: str, data: bytes, label: str) -> ParsedFile:
    """CSV (comma or tab separated; UTF-8, Shift_JIS or EUC-JP), grouped like a worksheet; a .tsv
    file is tab separated. Titled by a title row above the header, else by the file name."""
    text = decode_text(data, label)
    first_line = text.split("\n", 1)[0]
    tabs = name.lower().endswith(".tsv") or first_line.count("\t") > first_line.count(",")
    delimiter = "\t" if tabs else ","
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
    titles: list[str] = []
    sections = require_sections(tuple(table_sections(noting_title(rows, titles), "")), label)
    title = next(iter(titles), "") or stem(name)
    return ParsedFile(name=name, title=title, sections=sections, kind="csv")
