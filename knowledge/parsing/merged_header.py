"""A worksheet's header written over two or more rows with merged cells, read as one row.

Budgets and statistics tables head their columns in tiers: 「予算額」 merged across two
columns above 「令和8年度」 and 「令和7年度」, and 「款」 merged down beside them. Read row by
row, the header is 「款 | 予算額 |  | 増減」 and the sub-header 「 | 令和8年度 | 令和7年度」
becomes the first row of data, so no group of rows tells which year a figure is for. Combined
column by column, the header reads 「款 | 予算額 令和8年度 | 予算額 令和7年度 | 増減」.
"""

from __future__ import annotations

import re
from typing import Any

from openpyxl.utils.cell import range_boundaries

# How many rows a header may take: a tier more is a table of tables, not a header.
_MAX_HEADER_ROWS = 4
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\s[^>]*?ref=\"([A-Z]+[0-9]+:[A-Z]+[0-9]+)\"")

Span = tuple[int, int, int, int]
"""A merged range: first column, first row, last column, last row (1-based)."""


def merged_spans(sheet: Any) -> list[Span]:
    """The merged ranges of a read-only worksheet, which the sheet's XML lists after its rows
    (so a reader going row by row learns of them too late)."""
    with sheet._get_source() as source:
        xml = source.read()
    spans = (range_boundaries(match[1].decode()) for match in _MERGE.finditer(xml))
    return [(c1, r1, c2, r2) for c1, r1, c2, r2 in spans if c1 and r1 and c2 and r2]


class TieredHeader:
    """Takes a sheet's rows in order (``add``) and gives them back, a header of several
    merged tiers as one row numbered as its first (``_combined``).

    The header is the first row of two or more cells (as ``table_sections`` takes it); the
    rows under it are tiers of it as far down as a cell of it is merged, and a row whose cells
    all stand under cells merged across columns above it (a data row has its label in a
    column of its own)."""

    def __init__(self, spans: list[Span]) -> None:
        self._spans = spans
        self._held: list[tuple[int, list[str]]] = []
        self._last = 0  # the last row a cell of the header is merged down to
        self._done = not spans

    def add(self, number: int, cells: list[str]) -> list[tuple[int, list[str]]]:
        """The rows to pass on after row ``number``: none while a header is being read."""
        if self._done:
            return [(number, cells)]
        if not self._held and sum(1 for cell in cells if cell) < 2:
            return [(number, cells)]  # a caption above the table
        if not self._held or (
            len(self._held) < _MAX_HEADER_ROWS
            and (number <= self._last or self._under_merged(number, cells))
        ):
            self._held.append((number, cells))
            down = [r2 for _, r1, _, r2 in self._spans if r1 == number]
            self._last = max([self._last, number, *down])
            return []
        return [*self.flush(), (number, cells)]

    def flush(self) -> list[tuple[int, list[str]]]:
        """The header held so far, combined (also at the end of a sheet)."""
        self._done = True
        rows, self._held = self._held, []
        if len(rows) < 2:
            return rows
        return [(rows[0][0], self._combined(rows))]

    def _under_merged(self, number: int, cells: list[str]) -> bool:
        """Whether row ``number``, right under the header, has all its cells under cells of
        the header merged across columns (and ending above it)."""
        above = self._held[-1][0]
        columns = {
            column
            for c1, r1, c2, r2 in self._spans
            if c2 > c1 and r1 <= above <= r2 < number
            for column in range(c1, c2 + 1)
        }
        filled = {column for column, cell in enumerate(cells, 1) if cell}
        return number == above + 1 and bool(filled) and filled <= columns

    def _combined(self, rows: list[tuple[int, list[str]]]) -> list[str]:
        """Each column's tiers joined top down (「予算額 令和8年度」), a merged cell's text
        standing over every column and row it spans, once per column."""
        width = max(len(cells) for _, cells in rows)
        grid = {number: cells + [""] * (width - len(cells)) for number, cells in rows}
        for c1, r1, c2, r2 in self._spans:
            top = grid.get(r1)
            if top is None or c1 > width or not top[c1 - 1]:
                continue
            for number in range(r1, r2 + 1):
                for column in range(c1, min(c2, width) + 1):
                    if number in grid:
                        grid[number][column - 1] = top[c1 - 1]
        combined: list[str] = []
        for column in range(width):
            tiers: list[str] = []
            for cells in grid.values():
                if cells[column] and (not tiers or tiers[-1] != cells[column]):
                    tiers.append(cells[column])
            combined.append(" ".join(tiers))
        return combined
