"""Word documents (.docx): sections by heading styles, tables as pipe rows, Word's own
numbering (「1.」, 「第3条」) before the paragraphs it numbers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO

from docx import Document
from docx.document import Document as DocumentObject
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.types import ProvidesStoryPart

from knowledge.documents import TABLE_CELL, Section
from knowledge.errors import BadDocument
from knowledge.parsing.base import (
    ParsedFile,
    SectionBuffer,
    article_sections,
    opening_title,
    require_sections,
    stem,
)
from knowledge.parsing.numbering import Numbering

# Built-in styles read as "Heading 1" in python-docx; documents made with a Japanese UI
# sometimes carry custom styles named 「見出し 1」.
_HEADING_STYLE = re.compile(r"^(?:heading|見出し)\s*(\d)?", re.IGNORECASE)


# WordprocessingML elements, as lxml names them.
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# Not part of the text as it reads: deleted revisions, properties, the text box drawn in a
# paragraph (its paragraphs follow it as lines of their own), and the fallback copy of a
# drawing that Word writes for older readers besides the drawing itself.
_NOT_READ = frozenset(
    {_W + "del", _W + "moveFrom", _W + "pPr", _W + "rPr", _W + "txbxContent", _MC + "Fallback"}
)
_BREAKS = frozenset({_W + "br", _W + "cr"})


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "") if style is not None else ""


def _inline_text(element: BaseOxmlElement) -> str:
    """A paragraph's text as it reads with its tracked changes accepted: inserted text in,
    deleted text out, and the runs inside hyperlinks, fields, smart tags and content controls
    (which ``Paragraph.text`` leaves out) kept."""
    parts: list[str] = []
    for child in element:
        if child.tag in _NOT_READ:
            continue
        if child.tag == _W + "t":
            parts.append(child.text or "")
        elif child.tag == _W + "tab":
            parts.append(" ")
        elif child.tag in _BREAKS:
            parts.append("\n")
        else:
            parts.append(_inline_text(child))
    return "".join(parts)


def _text_boxes(paragraph: BaseOxmlElement) -> list[BaseOxmlElement]:
    """The text boxes drawn in a paragraph (their drawing's copy for older readers aside)."""
    return [
        box
        for box in paragraph.iter(_W + "txbxContent")
        if next(box.iterancestors(_MC + "Fallback"), None) is None
    ]


def _blocks(container: BaseOxmlElement) -> Iterator[BaseOxmlElement]:
    """Paragraphs and tables in reading order, also those inside content controls, custom XML
    and tracked insertions (which ``iter_inner_content`` leaves out)."""
    for child in container:
        if child.tag in (_W + "p", _W + "tbl"):
            yield child
        elif child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _blocks(content)
        elif child.tag in (_W + "customXml", _W + "ins", _W + "moveTo"):
            yield from _blocks(child)


def _box_lines(box: BaseOxmlElement, parent: ProvidesStoryPart, numbering: Numbering) -> list[str]:
    """The lines of a table cell or a text box: its paragraphs, tables and text boxes."""
    lines: list[str] = []
    for block in _blocks(box):
        if block.tag == _W + "tbl":
            lines += _table_lines(Table(block, parent), numbering)
            continue
        lines.append(_paragraph_text(block, numbering))
        for inner in _text_boxes(block):
            lines += _box_lines(inner, parent, numbering)
    return [line for line in lines if line]


def _paragraph_text(paragraph: BaseOxmlElement, numbering: Numbering) -> str:
    """A paragraph's text after the label Word numbers it with (「1.」, 「第3条」), if any."""
    text = _inline_text(paragraph).strip()
    return numbering.label(paragraph) + text if text else ""


def _table_lines(table: Table, numbering: Numbering) -> list[str]:
    lines: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            # A merged cell is returned once per grid column it spans.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(" ".join(_box_lines(cell._tc, table, numbering)).split()))
        while cells and not cells[-1]:
            cells.pop()
        if any(cells):
            lines.append(TABLE_CELL.join(cells))
    return lines


# Notes Word keeps apart from the body (``word/footnotes.xml``, ``word/endnotes.xml``), by the
# relationship that links them: their element and the heading they are cited under.
_NOTES = {RT.FOOTNOTES: ("footnote", "脚注"), RT.ENDNOTES: ("endnote", "文末脚注")}


def _notes(document: DocumentObject) -> list[Section]:
    """The footnotes and the endnotes, each kind a section cited as 「脚注」 or 「文末脚注」,
    one line a note numbered as Word shows it (「注1 …」); the separator lines Word keeps among
    them are no notes."""
    sections: list[Section] = []
    for rel in document.part.rels.values():
        if rel.is_external or rel.reltype not in _NOTES:
            continue
        tag, heading = _NOTES[rel.reltype]
        notes = [
            note
            for note in parse_xml(rel.target_part.blob).iterchildren(_W + tag)
            if note.get(_W + "type") in (None, "normal")
        ]
        lines = [
            f"注{number} {text}"
            for number, note in enumerate(notes, 1)
            if (text := " ".join(_inline_text(p).strip() for p in note.iter(_W + "p")).strip())
        ]
        if lines:
            sections.append(Section(text="\n".join(lines), heading=heading, position=heading))
    return sections


def parse_docx(name: str, data: bytes, label: str) -> ParsedFile:
    """Paragraphs, tables and text boxes in reading order (tracked changes accepted), one
    section per Heading/見出し paragraph, or, without headings, per article of a rule
    (「第1条 …」 paragraphs: ``article_sections``); footnotes and endnotes after them
    (``_notes``). Running headers and footers are not read.

    The title is the document property, else the first 「Title」 paragraph, else the opening
    paragraph before the first heading when it is clearly a title (``opening_title``: not a
    sentence, date or 「資料１」 label; a title typed bold and centred by hand, with no Title
    style), else the first heading, else the file name.
    """
    try:
        document = Document(BytesIO(data))
        blocks = list(_blocks(document.element.body))
        core_title = document.core_properties.title or ""
        numbering = Numbering(document)
        notes = _notes(document)
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
    opening: list[str] = []  # the paragraphs before the first table or heading, for the title
    tables = False
    for block in blocks:
        if block.tag == _W + "tbl":
            body = _table_lines(Table(block, document), numbering)
            tables = True
        else:
            text = _paragraph_text(block, numbering)
            style = _style_name(Paragraph(block, document)) if text else ""
            heading = _HEADING_STYLE.match(style)
            if style.lower() == "title":
                title, text = title or text, ""
            elif heading:
                buffer.heading(int(heading.group(1) or 1), text)
                first_heading, text = first_heading or text, ""
            body = [text] if text else []
            if not tables and not first_heading:
                opening += body
            for box in _text_boxes(block):
                body += _box_lines(box, document, numbering)
        for line in body:
            buffer.add(line)
            lines.append(line)
    # A rule typed with plain paragraphs (「第1条 …」) is cut by article, as its headings would.
    articles = [] if first_heading else article_sections(lines)
    sections = require_sections((*(articles or buffer.result()), *notes), label)
    # Without a title style, a title typed as the opening paragraph names it, also above the
    # first heading (「第1章 予算の規模」 is a part of the document, not its name).
    title = title or opening_title(opening, apart=True) or first_heading or stem(name)
    return ParsedFile(name=name, title=title, sections=sections, kind="docx")
