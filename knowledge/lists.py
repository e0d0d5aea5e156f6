"""Lists in text: the sentence that introduces a list and the lines that are its items.

Statutes list the cases, persons or matters a provision speaks of as items (号) under a sentence
such as 「次に掲げる者は、…することができない。」; guides do the same with bullets. An item read
alone does not say what it is an item of, so a passage cut off from that sentence is shown
after it (:mod:`knowledge.retrieval`) and offline answers quote an item after it
(:mod:`knowledge.answer`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from knowledge.analysis import SENTENCE_ENDINGS

# A sentence that introduces a list: 「次に掲げる者」, 「次の各号」, 「次のいずれか」,
# 「以下のとおり」, or one that ends in a colon.
_INTRODUCES_LIST = re.compile(r"次に掲げる|次の各号|次のいずれか|次のとおり|以下のとおり|[：:]$")
# A sentence that goes on about the one before (「この場合において、…」) keeps the list that one
# introduced open: the items come after both (都市計画法第十一条: 「次に掲げる施設を定めることが
# できる。」「この場合において、…これらの施設を定めることができる。」, then the facilities).
_CONTINUES = ("この場合において", "この場合には", "この場合に")
# A line that is an item: numbered (「一　」, 「イ　」, 「(1)」, 「①」, 「1.」), bulleted, not a
# whole sentence (no final full stop), or ending as the items of a statute do when their
# numbers were dropped (「…をするとき。」, 「…に関すること。」), possibly followed by a
# parenthetical (「…に関すること（…を除く。）。」).
_NUMBER = (
    r"(?:[一二三四五六七八九十百]+|[イロハニホヘトチリヌルヲワカヨタレソツネナラム])[ 　]"
    r"|[(（]?[0-9０-９]+[)）.．]|[①-⑳]"
)
_ITEM_MARK = re.compile(rf"^(?:{_NUMBER}|[・\-*•])")
# A line that starts with an item's number (「十　固定資産税」, 「（１）　…」), or with a
# paragraph's (「２　前項の…」), which is how a statute table's nested rows are numbered
# (「１　均等割」 under 「一　道府県民税」).
_NUMBERED = re.compile(rf"^(?:{_NUMBER}|[0-9０-９]+[ 　])")
_SENTENCE_FINAL = tuple(SENTENCE_ENDINGS)
_ITEM_ENDINGS = ("とき。", "場合。", "こと。", "もの。", "者。")
# An innermost parenthetical.
PARENTHETICAL = re.compile(r"[（(][^（()）]*[）)]")


def introduces_list(sentence: str) -> bool:
    """Whether ``sentence`` introduces a list (its items follow it)."""
    return bool(_INTRODUCES_LIST.search(sentence))


def keeps_list_open(sentence: str) -> bool:
    """Whether ``sentence``, following one that introduced a list before any item, leaves that
    list open (the items come after it)."""
    return sentence.startswith(_CONTINUES)


def without_parentheticals(text: str) -> str:
    """``text`` with every parenthetical, nested ones included, left out."""
    while (inner := PARENTHETICAL.sub("", text)) != text:
        text = inner
    return text


def is_item(line: str) -> bool:
    """Whether a line under a sentence introducing a list is one of its items."""
    return (
        bool(_ITEM_MARK.match(line))
        or not line.endswith(_SENTENCE_FINAL)
        or without_parentheticals(line).endswith(_ITEM_ENDINGS)
    )


def is_numbered(line: str) -> bool:
    """Whether ``line`` starts with an item's number (「十　」, 「イ　」, 「１　」, 「（１）」)."""
    return bool(_NUMBERED.match(line))


def is_label(line: str) -> bool:
    """Whether ``line`` is a numbered item that is no sentence (「十　固定資産税」): in a statute's
    table read out line by line, the lines after it up to the next numbered line are what it
    names, and they say nothing read without it."""
    return is_numbered(line) and not line.endswith(_SENTENCE_FINAL)


def open_lead(lines: Iterable[str]) -> str | None:
    """The sentence introducing the list still open after ``lines`` (the lines of a passage,
    one sentence or item each), or ``None``."""
    lead: str | None = None
    listed = False  # whether an item of the open list has been read
    for line in lines:
        if lead is not None and is_item(line):
            listed = True
        elif introduces_list(line):
            lead, listed = line, False
        elif listed or not keeps_list_open(line):
            lead = None
    return lead
