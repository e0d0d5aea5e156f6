"""Tables in a PDF page's text: each row on one line, its cells apart.

pypdf's default extraction gives a table's cells one per line in the order they were drawn
(「地区」, 「収集日」, 「東町」, 「月曜日・木曜日」, …), so no line tells which day belongs to
which district. Its layout mode places text where it stands on the page, on a grid of
characters: a table's columns then stand apart by gutters, columns of the grid blank in every
line of the table. Rows are read across those gutters (「東町 | 月曜日・木曜日 | 燃やすごみ」),
as every parser writes a table's row (``TABLE_CELL``), and a cell wrapped onto more lines is
joined back into its row.

Justified prose has gaps of two spaces too, but they do not line up from line to line, and a
gutter never leaves one inside a cell; text set in two columns of prose lines up like a table
of long cells, and is left to the default extraction, which reads it column by column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from knowledge.documents import TABLE_CELL, Section
from knowledge.parsing.pdf_layout import display_width
from knowledge.parsing.tabular import table_sections

# Cells stand apart by at least this many blank characters of the layout grid.
_GUTTER = 2
_GAP = re.compile(f" {{{_GUTTER},}}")
# A table has a header and two rows at least: fewer lines may line up by chance.
_MIN_ROWS = 3
# A list's marks (「・」, 「1.」, 「(1)」, 「①」) and a heading's number (「2.5」) line up like
# a column of cells before the items.
_MARK = re.compile(
    r"[・●○◯■□◆◇※•\-－‐*＊]|[(（]?[0-9０-９一二三四五六七八九十]+[)）.．、]|[①-⑳]"
    r"|[0-9０-９]+(?:[.．][0-9０-９]+)+[.．]?"
)
# A cell this much of its column's width is full: its text may wrap onto the next line.
_FULL_CELL = 0.8
# A line above a table this short, and no sentence, is its caption.
_CAPTION_CHARS = 40
# Columns whose cells are this wide (in half-width characters) are columns of prose.
_PROSE_CELL = 30


@dataclass
class _Block:
    """Lines of the layout that may be a table: which grid columns are blank in all of them,
    and which stand in a gap of two blanks or more in one of them."""

    start: int
    lines: list[str] = field(default_factory=list)
    blank: list[bool] = field(default_factory=list)
    gap: set[int] = field(default_factory=set)

    @property
    def left(self) -> int:
        return min(_indent(line) for line in self.lines if line.strip())

    def gutters(self, line: str = "") -> list[tuple[int, int]]:
        """Runs of grid columns blank in every line (and ``line``, when given) inside the
        text; a run of one is a gutter when a line has a gap there (a right-aligned number
        closes up to the next column)."""
        blank, gap = (self._with(line), self.gap | _gaps(line)) if line else (self.blank, self.gap)
        runs: list[tuple[int, int]] = []
        at = min(self.left, _indent(line)) if line.strip() else self.left
        while at < len(blank):
            if not blank[at]:
                at += 1
                continue
            end = at
            while end < len(blank) and blank[end]:
                end += 1
            if end < len(blank) and (end - at >= _GUTTER or at in gap):
                runs.append((at, end))
            at = end
        return runs

    def _with(self, line: str) -> list[bool]:
        width = max(len(self.blank), len(line))
        padded = self.blank + [True] * (width - len(self.blank))
        return [was and (i >= len(line) or line[i] == " ") for i, was in enumerate(padded)]

    def add(self, line: str) -> None:
        self.blank = self._with(line)
        self.gap |= _gaps(line)
        self.lines.append(line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _gaps(line: str) -> set[int]:
    """The grid columns of ``line``'s gaps of two blanks or more, between its words."""
    text = line.strip()
    indent = _indent(line)
    return {
        at
        for found in _GAP.finditer(text)
        for at in range(indent + found.start(), indent + found.end())
    }


def _cells(line: str, gutters: list[tuple[int, int]]) -> list[str]:
    bounds = [0, *(at for run in gutters for at in run), len(line)]
    return [line[bounds[i] : bounds[i + 1]].strip() for i in range(0, len(bounds), 2)]


def _joined(first: str, second: str) -> str:
    """A cell's text wrapped onto two lines, joined back (a space only between Latin words)."""
    if not first or not second:
        return first or second
    space = " " if first[-1].isascii() and second[0].isascii() else ""
    return first + space + second


def _rows(block: _Block) -> list[list[str]] | None:
    """The block's rows, lines that continue a row joined into it cell by cell; ``None`` when
    the block is no table. A line continues the row above when its first column is blank, or
    when it fills fewer columns than the line right above it and only columns that line fills
    to their width (a name wrapped in its cell, not a label row such as 「【歳入】」)."""
    gutters = block.gutters()
    if not gutters:
        return None
    starts = [block.left, *(end for _, end in gutters)]
    ends = [*(start for start, _ in gutters), max(len(line) for line in block.lines)]
    widths = [end - start for start, end in zip(starts, ends, strict=True)]
    rows: list[list[str]] = []
    above: list[str] = []  # the cells of the line right above, none after a blank line
    for line in block.lines:
        if not line.strip():
            above = []
            continue
        cells = _cells(line, gutters)
        if any(_GAP.search(cell) for cell in cells):
            return None  # a gap no gutter explains: justified prose
        filled = [column for column, cell in enumerate(cells) if cell]
        wrapped = len(filled) < sum(map(bool, above)) and all(
            len(above[c]) >= _FULL_CELL * widths[c] for c in filled
        )
        if rows and (not cells[0] or wrapped):
            rows[-1] = [_joined(a, b) for a, b in zip(rows[-1], cells, strict=True)]
        else:
            rows.append(cells)
        above = cells
    if sum(1 for cells in rows if sum(map(bool, cells)) >= 2) < _MIN_ROWS:
        return None
    if _MARK.fullmatch(rows[0][0]):
        return None  # a list (its marks, then its items), under a numbered heading or not
    return rows


def _prose_columns(rows: list[list[str]]) -> bool:
    """Whether every column holds long lines of text, as a page set in columns does."""
    for column in zip(*rows, strict=True):
        widths = sorted(display_width(cell) for cell in column if cell)
        if widths and widths[len(widths) // 2] < _PROSE_CELL:
            return False
    return True


def _kept(before: list[tuple[int, int]], after: list[tuple[int, int]]) -> bool:
    """Whether every gutter two blanks wide or more ``before`` still is one ``after``."""
    wide = [(c, d) for c, d in after if d - c >= _GUTTER]
    return all(any(a <= c and d <= b for c, d in wide) for a, b in before if b - a >= _GUTTER)


def _continues(block: _Block, line: str) -> bool:
    """Whether ``line`` may be a row of ``block``: it keeps every gutter of two blanks or
    more between the block's columns (the block's second line may still close gaps of its
    first that are no gutters; a narrow one may be a number right-aligned in a wider column,
    under its header's gap), and when it is one cell at the block's left edge, it fits in
    the first column (a name wrapped in its cell, not a paragraph after the table whose
    first word is short)."""
    gutters = block.gutters(line)
    rows = sum(1 for text in block.lines if text.strip())
    if not gutters or (rows > 1 and not _kept(block.gutters(), gutters)):
        return False
    one_cell = not _GAP.search(line.strip()) and _indent(line) <= block.left
    return not one_cell or len(line) <= gutters[0][0]


def _blocks(lines: list[str]) -> list[_Block]:
    """Runs of lines that keep gutters between them (``_continues``), each opening with a
    line of two cells."""
    blocks: list[_Block] = []
    block: _Block | None = None
    for number, line in enumerate(lines):
        if block is not None and not line.strip():
            block.lines.append(line)
            continue
        if block is not None and _continues(block, line):
            block.add(line)
            continue
        if block is not None:
            blocks.append(block)
            block = None
        if _GAP.search(line.strip()):
            block = _Block(number)
            block.add(line)
    if block is not None:
        blocks.append(block)
    return blocks


def table_lines(layout: str) -> list[str] | None:
    """The lines of a page extracted in layout mode, each table's rows as one line of cells
    (「東町 | 月曜日・木曜日 | 燃やすごみ」) and other lines as they read; ``None`` when the page
    holds no table, or text set in columns, which the default extraction reads better."""
    lines = [line.rstrip() for line in layout.splitlines()]
    tables: dict[int, tuple[_Block, list[list[str]]]] = {}
    for block in _blocks(lines):
        rows = _rows(block)
        if rows is None:
            continue
        if _prose_columns(rows):
            return None
        tables[block.start] = (block, rows)
    if not tables:
        return None
    out: list[str] = []
    number = 0
    while number < len(lines):
        if number in tables:
            block, rows = tables[number]
            out += [_row(cells) for cells in rows]
            number += len(block.lines)
            continue
        if text := " ".join(lines[number].split()):
            out.append(text)
        number += 1
    return out


def _row(cells: list[str]) -> str:
    while cells and not cells[-1]:
        cells = cells[:-1]
    return TABLE_CELL.join(cells)


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
