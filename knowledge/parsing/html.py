"""HTML pages: the main text, one section per h1–h4 heading."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, PageElement, Tag
from bs4.element import Comment, Declaration, Doctype, ProcessingInstruction

from knowledge.documents import TABLE_CELL
from knowledge.parsing.base import ParsedFile, SectionBuffer, require_sections, stem
from knowledge.parsing.charset import JAPANESE_CODECS, declared_encoding, decoded, sniffed_text

# Page furniture that is not part of the document's text.
_DROP = ("script", "style", "nav", "noscript", "template", "iframe", "svg")
# Site banners and footers go too, but an article's own <header> holds its heading.
_SITE_FURNITURE = ("header", "footer")
# Pages built before HTML5 mark the same furniture by id, class or role (「テスト市トップ」,
# 「文字サイズ 拡大」, パンくず, 「Copyright …」); a whole name must match.
_FURNITURE_NAMES = frozenset(
    {
        "gnavi", "gnav", "globalnavi", "globalnav", "global-nav", "breadcrumb",
        "breadcrumbs", "pankuzu", "topicpath", "topic-path", "skip", "skiplink", "pagetop",
        "page-top",
    }
)  # fmt: skip
# Municipal sites built on one common CMS name them after its template: 「tmp_footer」,
# 「tmp_gnavi」, 「tmp_pankuzu」.
_TEMPLATE_PREFIX = re.compile(r"^tmp[_-]")
# A "header" or "footer" by class may also be an article's own, holding its heading.
_BANNER_NAMES = frozenset({"header", "footer"})
_FURNITURE_ROLES = frozenset({"navigation", "banner", "contentinfo", "search"})
_HEADINGS = ("h1", "h2", "h3", "h4")
_BLOCKS = frozenset(
    {
        "p", "div", "section", "article", "main", "aside", "li", "ul", "ol", "dl", "dt", "dd",
        "table", "tr", "br", "pre", "blockquote", "h5", "h6", "figure", "figcaption", "caption",
        "form", "fieldset", "address", "hr",
    }
)  # fmt: skip
_NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)


def _markup(data: bytes) -> bytes | str:
    """The page as BeautifulSoup should read it: a page declared Shift_JIS or EUC-JP decoded
    here (a Windows character outside those sets, ① or 髙, made lxml drop the whole page);
    a page that names no character set (an old municipal page saved to a file) decoded as a
    plain text is, since BeautifulSoup's own guess reads a short EUC-JP page as Korean or
    Chinese; others as bytes."""
    declared = declared_encoding(data, html=True)
    if declared is None:
        text = sniffed_text(data)
        return data if text is None else text
    codec = JAPANESE_CODECS.get(declared)
    if codec in ("cp932", "euc_jp"):
        text = decoded(data, codec)
        return data.decode(codec, errors="replace") if text is None else text
    return data


def _marked_furniture(tag: Tag) -> bool:
    """Whether an element is site furniture by its id, class or role (not when it holds the
    page's article)."""
    names = {
        _TEMPLATE_PREFIX.sub("", str(name).lower())
        for name in [tag.get("id") or "", *(tag.get("class") or [])]
    }
    marked = bool(names & _FURNITURE_NAMES) or tag.get("role") in _FURNITURE_ROLES
    if names & _BANNER_NAMES:
        marked = marked or not any(h.get_text(strip=True) for h in tag.find_all(_HEADINGS))
    return marked and tag.find(("main", "article")) is None


def _holds_data(table: Tag) -> bool:
    """Whether a table holds data in rows, not a page laid out in cells (as pages built
    before CSS are, with tables and headings inside)."""
    return table.find(("table", *_HEADINGS)) is None


def _table_lines(table: Tag) -> list[str]:
    """A table's caption and its rows, each row one line whose cells keep their lines
    together (「月曜日<br>木曜日」 → 「月曜日 木曜日」) so that no row spills onto the next."""
    lines: list[str] = []
    if (caption := table.find("caption")) is not None:
        lines.append(caption.get_text(" ", strip=True))
    for row in table.find_all("tr"):
        cells = [
            " ".join(cell.get_text(" ", strip=True).split()) for cell in row.find_all(("td", "th"))
        ]
        lines.append(TABLE_CELL.join(cells))
    return lines


def parse_html(name: str, data: bytes, label: str) -> ParsedFile:
    """Text without scripts, styles and page navigation, sectioned by h1–h4.

    The title is the page's ``<title>`` or else its first ``<h1>``. The character set is the
    one the page names (BOM, ``<meta charset>``), else found as a plain text's is.
    """
    soup = BeautifulSoup(_markup(data), "lxml")
    for tag in soup.find_all(_DROP):
        tag.decompose()
    for tag in soup.find_all(_SITE_FURNITURE) + soup.find_all(_marked_furniture):
        if not tag.decomposed and tag.find_parent(("article", "main")) is None:
            tag.decompose()
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    if title_tag:
        title_tag.decompose()
    buffer = SectionBuffer()
    line: list[str] = []

    def end_line() -> None:
        buffer.add("".join(line))
        line.clear()

    # Iterative walk (pages can nest deeper than Python's recursion limit); ``None`` marks the
    # end of a block element so that text after it starts a new line.
    stack: list[PageElement | None] = list(reversed(list((soup.body or soup).children)))
    while stack:
        node = stack.pop()
        if node is None:
            end_line()
        elif isinstance(node, Tag):
            if node.name == "table" and _holds_data(node):
                end_line()
                for row in _table_lines(node):
                    buffer.add(row)
                continue
            if node.name in _HEADINGS:
                end_line()
                text = node.get_text(" ", strip=True)
                if text:
                    buffer.heading(int(node.name[1]), text)
                    title = title or (text if node.name == "h1" else "")
                continue
            if node.name in _BLOCKS:
                end_line()
                stack.append(None)
                if node.name == "li":
                    line.append("・")
            elif node.name in ("td", "th") and node.find_previous_sibling(("td", "th")):
                line.append(TABLE_CELL)
            stack.extend(reversed(list(node.children)))
        elif isinstance(node, NavigableString) and not isinstance(node, _NOT_TEXT):
            line.append(str(node))
    end_line()
    sections = require_sections(buffer.result(), label)
    return ParsedFile(name=name, title=title or stem(name), sections=sections, kind="html")
