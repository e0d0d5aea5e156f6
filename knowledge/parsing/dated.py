"""The date a document states for itself near its top: a cover's 「令和8年3月15日」, a page's
「更新日：令和8年4月1日」, a notice's 「令和8年5月1日 危機管理課」, a rule's
「令和7年3月28日規則第12号」. It becomes the document's published date, which citations show
and the published_from/published_to filters select on. A meeting's record is dated by the day
the meeting was held (「開催日：令和8年3月5日」), which its citations show as 「開催」: never by
the day its page was updated or put up (「更新日：」, 「掲載日：」).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from itertools import islice

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


# The day a meeting was held, labelled as such: 「開催日：令和8年3月5日（木）」,
# 「日時　令和8年3月5日（木）午後2時から」 (the date up to its day).
_MEETING_LABEL = re.compile(r"^(?:開催日時?|開催年月日|会議日時?|開会日時?|日時)\s*[:：]?\s*")
_UP_TO_DAY = re.compile(r"^.+?日")


def held_on(line: str) -> date | None:
    """The day a line labelled as a meeting's date (「開催日：」, 「日時」) names, else ``None``."""
    line = line.strip()
    labelled = _MEETING_LABEL.match(line)
    day = _UP_TO_DAY.match(line[labelled.end() :]) if labelled else None
    return dated_line(day[0]) if day else None


def opening_date(sections: Iterable[Section], *, meeting: bool = False) -> date | None:
    """The first date stated on a line of its own among a document's first lines; of a
    meeting's record, the day it was held: a line labelled so, else a date on a line of its
    own that no label makes the page's (「更新日：」)."""
    lines = (line for section in sections for line in section.text.splitlines() if line.strip())
    opening = list(islice(lines, OPENING_LINES))
    if meeting:
        held = (day for line in opening if (day := held_on(line)))
        unlabelled = (line for line in opening if not _labelled(line))
        return next(held, None) or next(filter(None, map(stated_date, unlabelled)), None)
    return next(filter(None, map(stated_date, opening)), None)


def _labelled(line: str) -> bool:
    """Whether a line dates something by a label: the page's update, its making, its issue."""
    line = line.strip()
    return _LABEL.match(line) is not None or _DONE.search(line) is not None
