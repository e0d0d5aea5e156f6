"""The date a document states for itself near its top: a cover's 「令和8年3月15日」, a page's
「更新日：令和8年4月1日」, a notice's 「令和8年5月1日 危機管理課」, a rule's
「令和7年3月28日規則第12号」. It becomes the document's published date, which citations show
and the published_from/published_to filters select on.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from knowledge.documents import Section
from knowledge.parsing.base import dated_line

# A date stands in the opening lines: a cover, a page's header, a notice's number and date.
OPENING_LINES = 12
# 「更新日：」, 「最終更新日 」, 「作成日:」 before the date; 「更新」, 「作成」, 「公表」 after it.
_LABEL = re.compile(
    r"^(?:最終)?(?:更新|作成|公表|発行|掲載|公開|策定|改定|発出)(?:日|年月日)?\s*[:：]?\s*"
)
_DONE = re.compile(r"\s*(?:更新|作成|公表|発行|掲載|公開|策定|改定|発出)$")
# What may follow the date on its line: who issued it (「危機管理課」, 「みどり市長」) or the
# number it was issued under (「規則第12号」, 「みどり市告示第5号」).
_ISSUED_BY = re.compile(
    r"(?:[課室係部局署所庁省市町村区都道府県長]|センター|委員会|事務局)$"
    r"|第\s*[0-9０-９一二三四五六七八九十百千]+\s*号$"
)
# Where the date ends and the issuer or number begins: after 「日」, 「月」 or a weekday.
# A particle after it makes the line a sentence (「令和8年4月1日から開所」).
_DATE_END = re.compile(
    r"^(.+?(?:日|[(（][月火水木金土日]曜?日?[)）]))\s*(?!から|に|は|まで|より|の|を|も|で|と)(\S.*)$"
)


def stated_date(line: str) -> date | None:
    """The day ``line`` gives as the document's date when that is all it says besides a
    label (「更新日：」, 「…作成」) or who issued it under what number, else ``None``."""
    bare = _DONE.sub("", _LABEL.sub("", line.strip()))
    if day := dated_line(bare):
        return day
    split = _DATE_END.match(bare)
    if split and _ISSUED_BY.search(split[2]) and "。" not in split[2]:
        return dated_line(split[1])
    return None


def opening_date(sections: Iterable[Section]) -> date | None:
    """The first date stated on a line of its own among a document's first lines."""
    lines = (line for section in sections for line in section.text.splitlines() if line.strip())
    for number, line in enumerate(lines):
        if number >= OPENING_LINES:
            break
        if day := stated_date(line):
            return day
    return None
