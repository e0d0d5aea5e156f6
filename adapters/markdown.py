"""Markdown as models write it, rewritten for chat (pure functions).

OpenAI-compatible models answer in Markdown (``### 見出し``, ``**強調**``, ``- 項目``,
``[名前](https://…)``), which chat platforms show as typed: Slack's mrkdwn has no headings and
marks bold with a single ``*`` only where a word ends (never between Japanese characters),
Adaptive Cards have no headings, and notification previews show plain text. ``restyle`` reads
the Markdown once and writes it in a platform's way: headings and lines that are bold
throughout as bold lines (the platform's mark around them, or none), bold inside a sentence
plain, list items with a bullet, a table's rows as lines of their cells, links as the
platform writes them. Code (```` ``` ````
blocks, `` `…` ``) is kept as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s|>]+)\)")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_BOLD_LINE = re.compile(r"^([ \t]*)\*\*([^*\n]+)\*\*[ \t]*$", re.MULTILINE)
_BOLD = re.compile(r"\*\*([^*\n]+?)\*\*")
# A table row (「| 転入 | 14日 |」) and the line under a table's header (「|---|:---:|」).
_TABLE_ROW = re.compile(r"^[ \t]*\|(.+)\|[ \t]*$", re.MULTILINE)
_TABLE_RULE = re.compile(
    r"^[ \t]*\|?(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*:?-*:?[ \t]*\n?", re.MULTILINE
)


def bold_headings(text: str, mark: str) -> str:
    """Markdown headings (「### 届出の期限」) as lines in bold: ``mark`` around the words (``*``
    in Slack's mrkdwn, ``**`` in Adaptive Cards, nothing in plain text)."""
    return _HEADING.sub(lambda m: f"{mark}{m.group(1).replace('**', '')}{mark}", text)


def flat_tables(text: str) -> str:
    """Markdown tables as lines of their cells (「| 転入 | 14日 |」 → 「転入／14日」): no chat
    platform draws them, Adaptive Cards included."""
    text = _TABLE_RULE.sub("", text)
    return _TABLE_ROW.sub(lambda m: "／".join(c.strip() for c in m[1].split("|")), text)


def _same(text: str) -> str:
    return text


def _prose(
    text: str, mark: str, link: Callable[[str, str], str], escape: Callable[[str], str]
) -> str:
    text = flat_tables(text)
    text = _BULLET.sub(r"\1• ", text)
    text = bold_headings(text, mark)
    text = _BOLD_LINE.sub(lambda m: f"{m[1]}{mark}{m[2]}{mark}", text)
    text = _BOLD.sub(r"\1", text)
    parts, at = [], 0
    for found in _LINK.finditer(text):
        parts += [escape(text[at : found.start()]), link(found[1], found[2])]
        at = found.end()
    return "".join([*parts, escape(text[at:])])


def restyle(
    text: str,
    *,
    mark: str,
    link: Callable[[str, str], str],
    escape: Callable[[str], str] = _same,
) -> str:
    """``text`` with Markdown's marks rewritten: bold lines and headings between ``mark``s,
    ``link(name, url)`` for each link, ``escape`` applied to everything else (code too)."""
    parts, at = [], 0
    for code in _CODE.finditer(text):
        parts += [_prose(text[at : code.start()], mark, link, escape), escape(code[0])]
        at = code.end()
    return "".join([*parts, _prose(text[at:], mark, link, escape)])


def plain_text(text: str) -> str:
    """``text`` without Markdown's marks, as a notification preview shows it: headings and
    bold as their words, list items with a bullet, links as their name."""
    return restyle(text, mark="", link=lambda name, _url: name)
