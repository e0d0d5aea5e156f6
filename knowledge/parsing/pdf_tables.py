"""Tables in a PDF page: each row on one line, its cells apart.

pypdf's text gives a table's cells one per line in the order they were drawn (「地区」,
「収集日」, 「東町」, 「月曜日・木曜日」, …), so no line tells which day belongs to which
district. pdfplumber finds a table by its ruling lines and reads it cell by cell: its rows are
written as every parser writes a table's row (「東町 | 月曜日・木曜日 | 燃やすごみ」,
``TABLE_CELL``), a cell wrapped onto more lines joined back, in place of the text pypdf read
inside the table. The page's other text is pypdf's, as on a page without a table. A table
without ruling lines is found by its columns (:mod:`knowledge.parsing.pdf_columns`) and
read the same way.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace

from pdfplumber.page import Page
from pypdf import PageObject

from knowledge.documents import TABLE_CELL, Section
from knowledge.parsing.base import tidy_lines
from knowledge.parsing.pdf_columns import column_tables
from knowledge.parsing.pdf_layout import joined
from knowledge.parsing.tabular import table_sections

logger = logging.getLogger(__name__)

_SPACES = re.compile(r"\s+")
# A line above a table this short, and no sentence, is its caption.
_CAPTION_CHARS = 40


@dataclass(frozen=True, eq=False)  # two tables of the same cells are two tables
class _Table:
    """A table's rows and where it stands, in the page's user space (as pypdf reads it)."""

    rows: list[str]
    box: tuple[float, float, float, float]  # left, bottom, right, top

    def holds(self, x: float, y: float) -> bool:
        left, bottom, right, top = self.box
        return left <= x <= right and bottom <= y <= top


def page_lines(page: PageObject, ruled: Page | None) -> list[str]:
    """A page's lines as pypdf reads them, each table pdfplumber finds on ``ruled`` (the
    same page) as its rows of cells (「東町 | 月曜日・木曜日 | 燃やすごみ」) in place of the
    lines read inside it. A page that draws no line has no ruled table to look for; a page
    with one is read by its rules alone. A page has no table set without rules to look for
    unless text stands apart (drawn apart, or with a space pypdf read between) on 3 lines or
    more: pdfplumber's reading of a page's words costs ten times pypdf's."""
    chunks: list[tuple[str, float, float]] = []
    drawn = False
    places: Counter[int] = Counter()  # per line (its baseline), where text stands apart on it

    def visit_operator(operator: bytes, *_: object) -> None:
        nonlocal drawn
        drawn = drawn or operator in (b"re", b"l")

    def visit_text(text: str, cm: Sequence[float], tm: Sequence[float], *_: object) -> None:
        # Where the text starts: the text matrix's origin, then the page's transformation.
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        chunks.append((text, x, y))
        # A line runs along user space's x axis, or along its y axis on a page turned by
        # its content.
        across = abs(tm[0] * cm[0] + tm[1] * cm[2]) >= abs(tm[0] * cm[1] + tm[1] * cm[3])
        if shown := text.strip():
            places[round(y if across else x)] += 1 + len(_SPACES.findall(shown))

    text = page.extract_text(visitor_operand_before=visit_operator, visitor_text=visit_text)
    tables: list[_Table] = []
    if ruled is not None:
        try:
            spread = sum(count >= 2 for count in places.values()) >= 3
            tables = (_tables(page, ruled) if drawn else []) or (
                _column_tables(page, ruled) if spread else []
            )
        except Exception as exc:  # pdfminer raises many types on a damaged page
            logger.info("pdf page tables unreadable: %s", type(exc).__name__)
        finally:
            ruled.close()  # pdfplumber keeps every page's objects until then
    if not tables:
        return tidy_lines(text or "").splitlines()
    parts: list[str | _Table] = []
    for chunk, x, y in chunks:
        table = next((table for table in tables if table.holds(x, y)), None)
        if table is None:
            parts.append(chunk)
        elif table not in parts:
            parts.append(table)
    parts += [table for table in tables if table not in parts]  # drawn without text pypdf read
    lines: list[str] = []
    text = ""
    for part in parts:
        if isinstance(part, str):
            text += part
            continue
        lines += [*tidy_lines(text).splitlines(), *part.rows]
        text = ""
    return lines + tidy_lines(text).splitlines()


def _tables(page: PageObject, ruled: Page) -> list[_Table]:
    """The tables drawn with ruling lines on ``ruled``, each row of cells a line."""
    tables: list[_Table] = []
    for found in ruled.find_tables():
        rows = (TABLE_CELL.join(_cell(cell) for cell in row) for row in found.extract())
        if lines := tidy_lines("\n".join(rows)).splitlines():
            tables.append(_Table(lines, _user_box(page, ruled, found.bbox)))
    return tables


def _column_tables(page: PageObject, ruled: Page) -> list[_Table]:
    """The tables set without ruling lines on ``ruled``, each row of cells a line."""
    tables: list[_Table] = []
    for found in column_tables(ruled):
        rows = "\n".join(TABLE_CELL.join(row) for row in found.rows)
        tables.append(_Table(tidy_lines(rows).splitlines(), _user_box(page, ruled, found.bbox)))
    return tables


def _cell(text: str | None) -> str:
    """A cell's text with the lines it wraps onto joined (none for a cell merged into the
    one before it)."""
    cell = ""
    for line in (text or "").splitlines():
        cell = joined(cell, line.strip())
    return cell


def _user_box(
    page: PageObject, ruled: Page, bbox: tuple[float, float, float, float]
) -> tuple[float, float, float, float]:
    """``bbox`` on pdfplumber's page (from the top left corner of the page as shown, turned
    by its rotation) in the page's user space, where pypdf places text."""
    x0, y0, x1, y1 = (float(v) for v in page.mediabox)
    points = []
    for x, top in ((bbox[0], bbox[1]), (bbox[2], bbox[3])):
        # pdfminer's device space (pdfplumber measures from the media box's corner) …
        dx = x - float(ruled.mediabox[0])
        dy = float(ruled.height) + float(ruled.mediabox[1]) - top
        # … turned back by the page's rotation (pdfminer turns it clockwise).
        points.append(
            {
                90: (x1 - dy, dx + y0),
                180: (x1 - dx, y1 - dy),
                270: (dy + x0, y1 - dx),
            }.get(page.rotation % 360, (dx + x0, dy + y0))
        )
    (ax, ay), (bx, by) = points
    return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)


def with_headers_carried(pages: list[list[str]]) -> list[list[str]]:
    """The pages' lines with a table that runs on from the page before given that table's
    header row again, when the page opens with rows of as many cells or fewer and not with
    the header itself (a table whose header row is not set to repeat on every page)."""
    carried: list[list[str]] = []
    header = ""  # the header of the table the page before ended with
    for lines in pages:
        opens_with_rows = bool(lines) and TABLE_CELL in lines[0]
        if header and opens_with_rows and lines[0] != header and _fits(lines[0], header):
            lines = [header, *lines]
        carried.append(lines)
        table = len(lines)
        while table and TABLE_CELL in lines[table - 1]:
            table -= 1
        header = lines[table] if table < len(lines) else ""
    return carried


def _fits(row: str, header: str) -> bool:
    return len(row.split(TABLE_CELL)) <= len(header.split(TABLE_CELL))


def _is_caption(line: str) -> bool:
    return len(line) <= _CAPTION_CHARS and "。" not in line


def page_sections(lines: list[str], page: str) -> list[Section]:
    """A page's lines as sections: its text at ``page`` (「3ページ」), and each table of two
    rows or more apart from it, its rows grouped under its header row as a worksheet's are
    (``table_sections``), so that every passage of a table names its columns. A group is
    cited by the table and its rows after the header (「3ページ 表1 1〜20行」): passages of one
    position are read as pieces of one section."""
    sections: list[Section] = []
    text: list[str] = []
    table: list[str] = []
    tables = 0

    def close_table() -> None:
        nonlocal tables
        if len(table) < 2:  # one line of cells is no table of its own
            text.extend(table)
        else:
            # A short line right above the table is its caption (「表1 ごみ収集日程」): every
            # group of rows repeats it, as a worksheet's title.
            caption = [text.pop()] if text and _is_caption(text[-1]) else []
            close_text()
            tables += 1
            lines = enumerate(caption + table, -len(caption))  # the header is row 0
            grouped = table_sections([(n, line.split(TABLE_CELL)) for n, line in lines], "")
            where = f"{page} 表{tables}"
            for section in grouped:
                position = f"{where} {section.position}"
                sections.append(replace(section, heading="", position=position))
        table.clear()

    def close_text() -> None:
        if text:
            sections.append(Section(text="\n".join(text), position=page))
        text.clear()

    for line in lines:
        if TABLE_CELL in line:
            table.append(line)
            continue
        close_table()
        text.append(line)
    close_table()
    close_text()
    return sections
