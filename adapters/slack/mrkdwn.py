"""Answer text → Slack mrkdwn (pure): escaping, and Markdown as models write it.

OpenAI-compatible models answer in Markdown (``### 見出し``, ``**強調**``, ``- 項目``,
``[名前](https://…)``). Slack's mrkdwn has no headings, marks bold with a single ``*`` only
where a word ends (never between Japanese characters, 「から*十四日以内*に」 shows its
asterisks) and shows the rest as typed. So headings and lines that are bold throughout become
bold lines, bold inside a sentence is shown plain, list items get a bullet and links become
Slack links. Code (```` ``` ```` blocks, `` `…` ``) is kept as written.
"""

from __future__ import annotations

import re

from adapters.common import bold_headings

_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.DOTALL)
_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s|>]+)\)")
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+", re.MULTILINE)
_BOLD_LINE = re.compile(r"^([ \t]*)\*\*([^*\n]+)\*\*[ \t]*$", re.MULTILINE)
_BOLD = re.compile(r"\*\*([^*\n]+?)\*\*")


def escape(text: str) -> str:
    """Text safe inside mrkdwn (``&``, ``<``, ``>`` escaped)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link_label(text: str) -> str:
    """The label of a ``<url|label>`` link (a ``|`` would end it)."""
    return escape(text).replace("|", "｜")


def _prose(text: str) -> str:
    text = _BULLET.sub(r"\1• ", text)
    text = bold_headings(text, "*")
    text = _BOLD_LINE.sub(r"\1*\2*", text)
    text = _BOLD.sub(r"\1", text)
    parts, at = [], 0
    for link in _LINK.finditer(text):
        parts += [escape(text[at : link.start()]), f"<{link[2]}|{link_label(link[1])}>"]
        at = link.end()
    return "".join([*parts, escape(text[at:])])


def to_mrkdwn(text: str) -> str:
    """``text`` as mrkdwn: escaped, with Markdown's headings, bold, lists and links turned
    into what Slack shows as such."""
    parts, at = [], 0
    for code in _CODE.finditer(text):
        parts += [_prose(text[at : code.start()]), escape(code[0])]
        at = code.end()
    return "".join([*parts, _prose(text[at:])])
