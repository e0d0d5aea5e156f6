"""Tables set without ruling lines in a PDF page: columns aligned by position alone.

Budget books, statistics and fee schedules often print a table as words placed in columns
(「民生費」, 「21,400,000」, 「20,950,000」 under 「款 本年度 前年度」) with nothing drawn
around them. Read as text, each row loses which number is which column. This finds such a
table from pdfplumber's word positions (``extract_words``), so that its rows are read as a
ruled table's are.

pdfplumber's own "text" table strategy is not used: it draws its imaginary column lines
from the top of the page's aligned words to the bottom and its row lines across the page's
whole width, so the prose above and below a table becomes rows of it, and every page whose
lines start at the same margin has a column. Finding a block of consecutive lines that
agree on their columns needs the guards below anyway; over the words themselves they are
few lines.

A table is at least 3 consecutive lines (its header row first) split by gaps of more than
a character and a half into cells that fall in the same 3 columns or more (a column is
where cells of different lines overlap; a line has one cell in each at most), the cells of
a column below the header aligned by their start, their end (numbers set to the right) or
their centre, the header filling every column but the first. It is conservative: ordinary
text must never be read as a table.

- A line of one run of text (a sentence, wrapped or not) breaks any block; so does a blank
  line's worth of space.
- Lines of two cells (「受付時間 午前9時から午後5時」) are no table: it needs 3 columns.
- Lines whose first cells open as entries (「第1条」, 「(1)」, 「・」) are a list or articles
  set with their numbers apart, not a table.
- Two columns of long runs of words are text set in columns (a newsletter), not a table.
- A cell out of line with its column (a ragged column) is no table's, but for a mark of
  nothing there (「−」), which tables centre in a column of amounts set to the right.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from dataclasses import dataclass

from pdfplumber.page import Page

from knowledge.parsing.pdf_layout import OPENS_ENTRY, joined

# Words this many of their heights apart (a character and a half) are in cells apart.
_CELL_GAP = 1.5
# How far the starts, ends or centres of a column's cells may stray, in points.
_ALIGNED = 3.0
# Lines farther apart than this many of their heights (a blank line) are no table's rows.
_ROW_GAP = 1.0
_MIN_ROWS = 3
_MIN_COLUMNS = 3
# A column whose cells hold this many letters (kanji, kana, Latin) or more, at the median,
# is a run of words.
_RUN_LETTERS = 10
# A cell that only marks nothing there (「−」, 「―」, 「…」), often set in the middle of a cell of
# a column of amounts set to the right: no measure of the column's alignment.
_PLACEHOLDER = re.compile(r"[-‐‑‒–—―−－ー…‥・*＊]{1,3}")


@dataclass(frozen=True)
class _Cell:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float


@dataclass(frozen=True)
class ColumnTable:
    """A table found by its columns: its rows of cells (an empty cell ``""``) and its box
    on pdfplumber's page (left, top, right, bottom)."""

    rows: list[list[str]]
    bbox: tuple[float, float, float, float]


def column_tables(page: Page) -> list[ColumnTable]:
    """The tables on ``page`` set without ruling lines, top to bottom."""
    tables: list[ColumnTable] = []
    block: list[list[_Cell]] = []
    for line in [*_lines(page), []]:  # an empty line closes the last block
        if block and (len(line) < 2 or not _follows(block[-1], line)):
            if table := _table(block):
                tables.append(table)
            block = []
        if len(line) < 2:
            continue
        if _columns([*block, line]) is not None:
            block.append(line)
        elif table := _table(block):
            tables.append(table)
            block = [line]
        else:  # rows above that are not the table's, a caption say, are let go
            block.append(line)
            while _columns(block) is None:
                block.pop(0)
    return tables


def _lines(page: Page) -> list[list[_Cell]]:
    """The page's lines top to bottom, each its cells left to right: words closer than
    ``_CELL_GAP`` joined."""
    words = [
        _Cell(str(w["text"]), *(float(w[edge]) for edge in ("x0", "x1", "top", "bottom")))
        for w in page.extract_words()
    ]
    words.sort(key=lambda word: (word.top, word.x0))
    rows: list[list[_Cell]] = []
    for word in words:
        if rows and abs(word.top - rows[-1][0].top) <= (word.bottom - word.top) / 2:
            rows[-1].append(word)
        else:
            rows.append([word])
    lines: list[list[_Cell]] = []
    for row in rows:
        cells: list[_Cell] = []
        for word in sorted(row, key=lambda word: word.x0):
            last = cells[-1] if cells else None
            if last and word.x0 - last.x1 < _CELL_GAP * (word.bottom - word.top):
                cells[-1] = _Cell(
                    joined(last.text, word.text),
                    last.x0,
                    word.x1,
                    min(last.top, word.top),
                    max(last.bottom, word.bottom),
                )
            else:
                cells.append(word)
        lines.append(cells)
    return lines


def _follows(above: list[_Cell], line: list[_Cell]) -> bool:
    """Whether ``line`` comes right under ``above``, with no blank line between them."""
    bottom = max(cell.bottom for cell in above)
    height = max(cell.bottom - cell.top for cell in line)
    return min(cell.top for cell in line) - bottom <= _ROW_GAP * height


def _columns(block: list[list[_Cell]]) -> list[tuple[float, float]] | None:
    """Where the columns of ``block`` stand, left to right, when its lines agree on them:
    each line has one cell in a column at most, and the cells of a column below the first
    line are aligned. ``None`` when they do not agree."""
    spans: list[tuple[float, float]] = []
    for x0, x1 in sorted((cell.x0, cell.x1) for line in block for cell in line):
        if spans and x0 <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], x1))
        else:
            spans.append((x0, x1))
    for line in block:
        placed = [_column(spans, cell) for cell in line]
        if len(set(placed)) < len(placed):
            return None
    for column in range(len(spans)):
        cells = [
            cell
            for line in block[1:]
            for cell in line
            if _column(spans, cell) == column and not _PLACEHOLDER.fullmatch(cell.text)
        ]
        edges = ([c.x0 for c in cells], [c.x1 for c in cells], [(c.x0 + c.x1) / 2 for c in cells])
        if cells and not any(max(xs) - min(xs) <= _ALIGNED for xs in edges):
            return None
    return spans


def _column(spans: list[tuple[float, float]], cell: _Cell) -> int:
    return next(i for i, (x0, x1) in enumerate(spans) if x0 <= cell.x0 <= x1)


def _table(block: list[list[_Cell]]) -> ColumnTable | None:
    """``block`` as a table when it is one, from its first line that can be its header."""
    for start in range(len(block) - _MIN_ROWS + 1):
        lines = block[start:]
        spans = _columns(lines)
        if spans is None or len(spans) < _MIN_COLUMNS:
            continue
        grid = [[""] * len(spans) for _ in lines]
        for row, line in zip(grid, lines, strict=True):
            for cell in line:
                row[_column(spans, cell)] = cell.text
        if not all(grid[0][1:]):
            continue  # no header row: a caption or a note above the table
        if _listed(grid) or _running_text(grid):
            return None
        cells = [cell for line in lines for cell in line]
        box = (
            min(c.x0 for c in cells),
            min(c.top for c in cells),
            max(c.x1 for c in cells),
            max(c.bottom for c in cells),
        )
        return ColumnTable(grid, box)
    return None


def _listed(grid: list[list[str]]) -> bool:
    """Whether every row below the header opens as an entry of a list (「(1)」, 「第2条」)."""
    return all(OPENS_ENTRY.match(row[0]) for row in grid[1:])


def _running_text(grid: list[list[str]]) -> bool:
    """Whether two columns or more hold long runs of words: text set in columns."""
    runs = 0
    for column in zip(*grid[1:], strict=True):
        letters = [_letters(cell) for cell in column if cell]
        runs += bool(letters) and statistics.median(letters) >= _RUN_LETTERS
    return runs >= 2


def _letters(text: str) -> int:
    return sum(unicodedata.category(c).startswith("L") for c in text)
