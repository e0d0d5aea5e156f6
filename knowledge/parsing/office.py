"""Word documents (.docx): sections by heading styles, tables as pipe rows."""

from __future__ import annotations

import re
from io import BytesIO

from docx import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from knowledge.errors import BadDocument
from knowledge.parsing.base import (
    ParsedFile,
    SectionBuffer,
    article_sections,
    require_sections,
    stem,
)

# Built-in styles read as "Heading 1" in python-docx; documents made with a Japanese UI
# sometimes carry custom styles named 「見出し 1」.
_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)?", re.IGNORECASE)


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "") if style is not None else ""


def _table_lines(table: Table) -> list[str]:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(cell.text.split()))
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def parse_docx(name: str, data: bytes, label: str) -> ParsedFile:
    """Paragraphs and tables in reading order, one section per Heading/見出し paragraph, or,
    without headings, per article of a rule (「第1条 …」 paragraphs: ``article_sections``).

    The title is the document property, else the first 「Title」 paragraph, else the first
    heading, else the file name.
    """
    try:
        document = Document(BytesIO(data))
        blocks = list(document.iter_inner_content())
        core_title = document.core_properties.title or ""
    except Exception as exc:  # python-docx raises zip, XML and key errors on damaged files
        raise BadDocument(
            f"{label}は Word（.docx）ファイルとして読み込めませんでした。"
            "ファイルが壊れていないか確認してください。",
            detail=f"docx unreadable: {type(exc).__name__}",
        ) from exc
    buffer = SectionBuffer()
    title = core_title.strip()
    first_heading = ""
    lines: list[str] = []  # the body, for a rule written without heading styles
    for block in blocks:
        if isinstance(block, Table):
            for line in _table_lines(block):
                buffer.add(line)
                lines.append(line)
            continue
        text = block.text.strip()
        if not text:
            continue
        style = _style_name(block)
        heading = _HEADING_STYLE.match(style)
        if style.lower() == "title":
            title = title or text
        elif heading:
            buffer.heading(int(heading.group(1) or 1), text)
            first_heading = first_heading or text
        else:
            buffer.add(text)
            lines.append(text)
    # A rule typed with plain paragraphs (「第1条 …」) is cut by article, as its headings would.
    articles = [] if first_heading else article_sections(lines)
    sections = require_sections(tuple(articles) or buffer.result(), label)
    return ParsedFile(
        name=name, title=title or first_heading or stem(name), sections=sections, kind="docx"
    )
