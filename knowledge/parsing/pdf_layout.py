"""Page layout left in a PDF's text: running headers and footers, and lines wrapped at the
page's width.

A PDF holds positioned lines, not paragraphs: pypdf gives a sentence that wraps as two lines,
and every page repeats its header (「第3次総合計画（案）」) and page number (「- 3 -」).
Summaries and quotes then cut sentences in two and repeat the header as if it were text.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter

from knowledge.documents import TABLE_CELL

# How many lines at the top and bottom of a page may be a running header or footer.
_EDGE_LINES = 2
# A line is running when it is at the edge of at least this share of the pages (and 3).
_RUNNING_SHARE = 0.5
_MIN_RUNNING_PAGES = 3
# A line at least this share of the text's full width wrapped into the next one.
_FULL_WIDTH = 0.9
# Lines narrower than this are headings, table cells or short notes: not used for the width.
_MIN_MEASURED = 20
# A line that is a page number alone: 「- 3 -」, 「3 / 12」, 「P.3」, 「3ページ」.
_PAGE_NUMBER = re.compile(
    r"[-‐–—(\[]?\s*(?:p\.?\s*)?\d+\s*(?:/\s*\d+|ページ|頁)?\s*[-‐–—)\]]?", re.I
)
_SENTENCE_END = re.compile(r"[。．！？!?：:][」』）)]*$")
# A line that opens an entry of its own: a bullet, a numbered item or a chapter heading.
OPENS_ENTRY = re.compile(
    r"^(?:[・●○◯■□◆◇※\-－]|[(（]?[0-9０-９一二三四五六七八九十]+[)）.．、]|第[0-9０-９一二三四五六七八九十]+[章節条])"
)


def _edge(lines: list[str]) -> list[int]:
    """The indexes of a page's top and bottom lines."""
    count = min(_EDGE_LINES, len(lines))
    return sorted(set(range(count)) | set(range(len(lines) - count, len(lines))))


def _fold(line: str) -> str:
    return unicodedata.normalize("NFKC", line).strip()


def _shape(line: str) -> str:
    """A line with its page number folded: 「- 3 -」 and 「- 4 -」, 「計画（案） 3」 and
    「計画（案） 4」 are one running footer; 「第1章」 and 「第2章」 are not one line."""
    folded = _fold(line)
    if _PAGE_NUMBER.fullmatch(folded):
        return re.sub(r"\d+", "#", folded)
    return re.sub(r"\d+$", "#", folded)


def _running_shapes(pages: list[list[str]]) -> set[str]:
    """The shapes of the lines that recur at the edge of most pages (none under 3 pages)."""
    needed = max(_MIN_RUNNING_PAGES, math.ceil(len(pages) * _RUNNING_SHARE))
    if len(pages) < needed:
        return set()
    # A table's header row repeated at the top of its pages is no running header: its rows
    # need it.
    edges = (
        {_shape(lines[i]) for i in _edge(lines) if TABLE_CELL not in lines[i]} for lines in pages
    )
    seen = Counter(shape for shapes in edges for shape in shapes)
    return {shape for shape, count in seen.items() if count >= needed}


def without_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """The pages without the lines at their top or bottom that recur at the edge of most
    pages (headers, footers, page numbers; those only with 3 pages or more), and without any
    text when all a page has is its number (「- 1 -」 printed on a scanned page)."""
    running = _running_shapes(pages)
    kept: list[list[str]] = []
    for lines in pages:
        edge = _edge(lines)
        text = [
            line for i, line in enumerate(lines) if i not in edge or _shape(line) not in running
        ]
        numbered = all(_PAGE_NUMBER.fullmatch(_fold(line)) for line in text)
        kept.append([] if numbered else text)
    return kept


def running_header(pages: list[list[str]]) -> list[str]:
    """The running header at the top of the first page that has one (「みどり市 第3次総合計画
    （案）」), often the document's own title; lines carrying the page's number
    (「総合計画 3」) are left out. Empty when there are fewer than 3 pages."""
    running = _running_shapes(pages)
    for lines in pages:
        top = lines[: min(_EDGE_LINES, len(lines))]
        # A line whose shape folded a number carries the page's number: not a title.
        header = [line for line in top if _shape(line) in running and _shape(line) == _fold(line)]
        if header:
            return header
    return []


def _width(line: str) -> int:
    """How wide ``line`` shows, in half-width characters (a kanji counts two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def full_width(pages: list[list[str]]) -> int:
    """The width of a full line of the text (its 90th percentile), 0 when it has few lines."""
    widths = sorted(
        w
        for lines in pages
        for line in lines
        if (w := _width(line)) >= _MIN_MEASURED and TABLE_CELL not in line
    )
    return widths[int(len(widths) * 0.9)] if len(widths) >= 3 else 0


def joined(first: str, second: str) -> str:
    """A text wrapped onto two lines, joined back (a space only between Latin words)."""
    if not first or not second:
        return first or second
    space = " " if first[-1].isascii() and second[0].isascii() else ""
    return first + space + second


def unwrapped(lines: list[str], width: int) -> list[str]:
    """``lines`` with a line that fills ``width`` and ends mid-sentence joined to the next;
    a table's rows (``TABLE_CELL``) stand apart."""
    kept: list[str] = []
    wraps = False
    for line in lines:
        if wraps and not OPENS_ENTRY.match(line) and TABLE_CELL not in line:
            kept[-1] = joined(kept[-1], line)
        else:
            kept.append(line)
        last = kept[-1]
        wraps = (
            width > 0
            and _width(line) >= _FULL_WIDTH * width
            and TABLE_CELL not in last
            and not _SENTENCE_END.search(last)
        )
    return kept
