"""Plain text, Markdown and JSON / JSON Lines."""

from __future__ import annotations

import json
import re
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token

from knowledge.documents import TABLE_CELL, Section
from knowledge.errors import BadDocument
from knowledge.parsing.base import (
    ParsedFile,
    SectionBuffer,
    article_sections,
    opening_title,
    require_sections,
    rule_title,
    stem,
    tidy_lines,
)
from knowledge.parsing.charset import decode_text

# Paragraphs are grouped up to about this many characters so that a section is a readable
# passage rather than a line, and usually fits one chunk.
GROUP_CHARS = 800


def parse_txt(name: str, data: bytes, label: str) -> ParsedFile:
    """Articles, when the text is a rule or ordinance (two or more lines start with 「第N条」):
    one section per article, cited by it (「第3条」, 「附則第1条」), under its chapter heading.
    Otherwise blank-line separated paragraphs, grouped into sections that carry their line
    range; files without blank lines are cut between lines instead, so that a section's line
    range stays a useful citation.
    """
    text = decode_text(data, label)
    lines = text.splitlines()
    sections = article_sections(lines) or _paragraph_sections(text)
    # A rule's or minutes' title line names it better than a file name such as 「reiki.txt」.
    title = rule_title(lines) or opening_title(lines) or stem(name)
    return ParsedFile(
        name=name, title=title, sections=require_sections(tuple(sections), label), kind="txt"
    )


def _paragraph_sections(text: str) -> list[Section]:
    paragraphs: list[tuple[int, int, str]] = []  # first line, last line, text
    current: list[str] = []
    first = 0
    for line_no, line in enumerate([*text.splitlines(), ""], start=1):
        if current and (not line.strip() or sum(map(len, current)) + len(line) > GROUP_CHARS):
            paragraphs.append((first, line_no - 1, tidy_lines("\n".join(current))))
            current = []
        if line.strip():
            if not current:
                first = line_no
            current.append(line)
    sections: list[Section] = []
    group: list[tuple[int, int, str]] = []
    for paragraph in paragraphs:
        if group and sum(len(p[2]) for p in group) + len(paragraph[2]) > GROUP_CHARS:
            sections.append(_text_section(group))
            group = []
        group.append(paragraph)
    if group:
        sections.append(_text_section(group))
    return sections


def _text_section(group: list[tuple[int, int, str]]) -> Section:
    first, last = group[0][0], group[-1][1]
    position = f"{first}行" if first == last else f"{first}〜{last}行"
    return Section(text="\n\n".join(p[2] for p in group), position=position)


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append("\n")
    return "".join(parts).strip()


def parse_markdown(name: str, data: bytes, label: str) -> ParsedFile:
    """One section per heading; the heading path (「第1章 > 1.1」) is heading and position."""
    source = decode_text(data, label)
    tokens = MarkdownIt("commonmark").enable("table").parse(source)
    buffer = SectionBuffer()
    title = ""
    row: list[str] | None = None
    prefix = ""
    skip: int | None = None
    for index, token in enumerate(tokens):
        if index == skip:
            continue
        if token.type == "heading_open":
            text = _inline_text(tokens[index + 1])
            skip = index + 1
            buffer.heading(int(token.tag[1:]), text)
            if token.tag == "h1" and not title:
                title = text
        elif token.type == "list_item_open":
            prefix = f"{token.info}{token.markup} " if token.info else "・"
        elif token.type == "tr_open":
            row = []
        elif token.type == "tr_close" and row is not None:
            buffer.add(TABLE_CELL.join(row))
            row = None
        elif token.type == "inline":
            text = _inline_text(token)
            if row is not None:
                row.append(text.replace("\n", " "))
            else:
                buffer.add(prefix + text)
                prefix = ""
        elif token.type in ("fence", "code_block"):
            buffer.add(token.content)
        elif token.type == "html_block":
            buffer.add(re.sub(r"<[^>]+>", " ", token.content))
    sections = require_sections(buffer.result(), label)
    return ParsedFile(name=name, title=title or stem(name), sections=sections, kind="markdown")


def _row_section(row: Any, where: str, label: str) -> Section | None:
    if not isinstance(row, dict) or not isinstance(row.get("text"), str):
        raise BadDocument(
            f'{label}の{where}に文字列の "text" 項目がありません。'
            '各行を {"title": "…", "text": "…"} の形式にしてください。',
            detail=f"row without text at {where}",
        )
    if not row["text"].strip():
        return None
    title = row.get("title")
    extra = {"id": str(row["id"])} if row.get("id") is not None else {}
    return Section(
        text=row["text"].strip(),
        heading=title.strip() if isinstance(title, str) else "",
        position=where,
        extra=extra,
    )


def parse_json(name: str, data: bytes, label: str) -> ParsedFile:
    """A JSON array of objects with ``text`` (and optional ``title``), or one such object."""
    source = decode_text(data, label)
    try:
        value = json.loads(source)
    except json.JSONDecodeError as exc:
        raise BadDocument(
            f"{label}の{exc.lineno}行目が JSON として正しくありません。内容を確認してください。",
            detail=f"json error line {exc.lineno}",
        ) from None
    rows = value if isinstance(value, list) else [value]
    sections = [_row_section(row, f"{n}件目", label) for n, row in enumerate(rows, start=1)]
    found = tuple(s for s in sections if s is not None)
    return ParsedFile(
        name=name, title=stem(name), sections=require_sections(found, label), kind="json"
    )


def parse_jsonl(name: str, data: bytes, label: str) -> ParsedFile:
    """JSON Lines: one object with ``text`` (and optional ``title``) per line."""
    source = decode_text(data, label)
    sections: list[Section] = []
    for line_no, line in enumerate(source.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise BadDocument(
                f"{label}の{line_no}行目が JSON として正しくありません。"
                "1行に1つの JSON オブジェクトを書いてください。",
                detail=f"jsonl error line {line_no}",
            ) from None
        section = _row_section(row, f"{line_no}行目", label)
        if section is not None:
            sections.append(section)
    return ParsedFile(
        name=name, title=stem(name), sections=require_sections(tuple(sections), label), kind="jsonl"
    )
