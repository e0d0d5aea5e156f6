"""Japanese dates: 和暦 (明治–令和) and 西暦, and fiscal years (年度).

A small table-driven module rather than a dependency: the maintained library (japanera) parses
only with a format string given up front, returns every historical era that matches, and builds on
CPython's private ``_strptime`` internals; documents and questions mix many spellings
(「令和八年四月一日」, 「R8.4.1」, 「2026/4/1」) that one table and a few patterns cover.

Dates before 明治6年 (1873) are read as Gregorian dates; Japan used a lunisolar calendar until
then and those dates are not converted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone

from knowledge.errors import BadInput
from knowledge.numerals import kanji_to_int

# Japan Standard Time: months, days and the law in force are reckoned in it.
JST = timezone(timedelta(hours=9))


def today_in_japan() -> date:
    """Today's date in Japan."""
    return datetime.now(UTC).astimezone(JST).date()


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time (how times are stored); naive input, as SQLite returns
    stored times, counts as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def minute_in_japan(moment: datetime) -> str:
    """A stored time as Japan's date and minute, as replies show times: 「2026-12-07 12:00」."""
    return as_utc(moment).astimezone(JST).strftime("%Y-%m-%d %H:%M")


def midnight_in_japan(day: date) -> datetime:
    """The moment ``day`` begins in Japan (an aware time, 15:00 UTC of the day before)."""
    return datetime.combine(day, time.min, tzinfo=JST)


class InvalidDate(BadInput, ValueError):
    """A date or fiscal year that is malformed or does not exist (e.g. 平成31年5月1日).

    It is a ``ValueError`` for callers that validate values, and a ``BadInput`` whose
    ``user_message`` says in Japanese what was wrong.
    """


@dataclass(frozen=True)
class Era:
    """One era: names, first and last day (``last`` is ``None`` for the current era)."""

    kanji: str
    romaji: str
    letter: str
    first: date
    last: date | None

    @property
    def last_year(self) -> int | None:
        """The era's final year number (平成 → 31), or ``None`` for the current era."""
        return None if self.last is None else self.last.year - self.first.year + 1


# The change of era happened on the day the emperor died for 大正 and 昭和 (both eras share that
# day) and on the following day for 平成; 令和 began on 2019-05-01.
ERAS: tuple[Era, ...] = (
    Era("明治", "Meiji", "M", date(1868, 1, 25), date(1912, 7, 30)),
    Era("大正", "Taisho", "T", date(1912, 7, 30), date(1926, 12, 25)),
    Era("昭和", "Showa", "S", date(1926, 12, 25), date(1989, 1, 7)),
    Era("平成", "Heisei", "H", date(1989, 1, 8), date(2019, 4, 30)),
    Era("令和", "Reiwa", "R", date(2019, 5, 1), None),
)
_BY_NAME = {
    name.lower(): era for era in ERAS for name in (era.kanji, era.romaji, era.letter)
}  # fmt: skip
_BY_NAME.update({"taishou": ERAS[1], "shouwa": ERAS[2]})

# An era by its name or initial, and a year of it, as dates and fiscal years are written.
ERA_NAME = r"(?P<era>明治|大正|昭和|平成|令和|[MTSHRmtshr])"
_NUM = r"[0-9〇一二三四五六七八九十]+"
ERA_YEAR = rf"(?P<year>元|{_NUM})"
_WEEKDAY = r"(?:\s*[(（][月火水木金土日](?:曜日?)?[)）])?"
_ERA_DATE = re.compile(
    rf"{ERA_NAME}\s*{ERA_YEAR}\s*(?:年\s*(?P<m1>{_NUM})\s*月\s*(?P<d1>{_NUM})\s*日"
    rf"|[./\-]\s*(?P<m2>\d{{1,2}})\s*[./\-]\s*(?P<d2>\d{{1,2}})){_WEEKDAY}"
)
_WESTERN_DATE = re.compile(
    rf"(?P<year>\d{{4}}|[〇一二三四五六七八九]{{4}})\s*(?:年\s*(?P<m1>{_NUM})\s*月\s*(?P<d1>{_NUM})\s*日"
    rf"|(?P<sep>[./\-])\s*(?P<m2>\d{{1,2}})\s*(?P=sep)\s*(?P<d2>\d{{1,2}})){_WEEKDAY}"
)
_COMPACT_DATE = re.compile(r"(?P<year>\d{4})(?P<m>\d{2})(?P<d>\d{2})")
_FISCAL_YEAR = re.compile(rf"(?:{ERA_NAME}\s*{ERA_YEAR}|(?P<western>\d{{4}}))\s*年度")


def _clean(text: str) -> str:
    # NFKC folds full-width digits, letters and punctuation (「２０２６／４／１」).
    return unicodedata.normalize("NFKC", text).strip()


def era_by_name(name: str) -> Era:
    """The era named 「令和」, ``"Reiwa"`` or ``"R"`` (case-insensitive).

    Raises ``InvalidDate`` for any other name.
    """
    era = _BY_NAME.get(name.strip().lower())
    if era is None:
        supported = "・".join(e.kanji for e in ERAS)
        raise InvalidDate(
            f"「{name}」は対応している元号ではありません。{supported}のいずれかを指定してください。",
            detail="unknown era",
        )
    return era


def wareki_year_to_western(era: str, year: int) -> int:
    """The western year of year ``year`` of ``era`` (「令和」/"Reiwa"/"R"): (令和, 8) → 2026.

    Raises ``InvalidDate`` for an unknown era or a year outside it (平成32年).
    """
    found = era_by_name(era)
    if year < 1 or (found.last_year is not None and year > found.last_year):
        raise InvalidDate(
            f"{found.kanji}{year}年は存在しない年です。{_era_span(found)}",
            detail=f"year {year} outside era {found.romaji}",
        )
    return found.first.year + year - 1


def _era_span(era: Era) -> str:
    first = f"{era.kanji}は{era.first.year}年{era.first.month}月{era.first.day}日から"
    if era.last is None:
        return f"{first}です。"
    return f"{first}{era.kanji}{era.last_year}年{era.last.month}月{era.last.day}日までです。"


def era_date(era: str, year: int, month: int, day: int) -> date:
    """The date of 和暦 ``era`` ``year``年``month``月``day``日, checked against the era's span.

    ``era`` may be kanji, romaji (as in e-Gov XML ``Era="Heisei"``) or the initial letter.
    Raises ``InvalidDate`` when the day does not exist or is outside the era.
    """
    found = era_by_name(era)
    label = f"{found.kanji}{'元' if year == 1 else year}年{month}月{day}日"
    western_year = wareki_year_to_western(found.kanji, year)
    try:
        result = date(western_year, month, day)
    except ValueError:
        raise InvalidDate(
            f"「{label}」は存在しない日付です。", detail=f"no such day {label}"
        ) from None
    if result < found.first or (found.last is not None and result > found.last):
        raise InvalidDate(
            f"「{label}」は{found.kanji}の期間外の日付です。{_era_span(found)}"
            f"この日付は「{format_wareki(result)}」です。",
            detail=f"{result.isoformat()} outside era {found.romaji}",
        )
    return result


def _number(text: str, original: str) -> int:
    if text == "元":
        return 1
    try:
        return kanji_to_int(text)
    except ValueError:
        raise _malformed(original) from None


def _malformed(original: str) -> InvalidDate:
    return InvalidDate(
        f"「{original}」を日付として読み取れませんでした。"
        "「令和8年4月1日」や「2026-04-01」の形式で指定してください。",
        detail="malformed date",
    )


def parse_date(text: str) -> date:
    """A date written in 和暦 or 西暦.

    Accepts 「令和8年4月1日」, 「令和八年四月一日」, 「令和元年5月1日」, 「R8.4.1」, 「H31/4/30」,
    「2026年4月1日」, 「2026-04-01」, 「2026/4/1」, 「20260401」, full-width digits and a trailing
    weekday 「（水）」. Raises ``InvalidDate`` (a ``ValueError`` and ``BadInput``) with a Japanese
    message when the text is not a date or the day does not exist, including days outside an
    era (「平成31年5月1日」: 令和 began on 2019-05-01).
    """
    cleaned = _clean(text)
    if match := _ERA_DATE.fullmatch(cleaned):
        year = _number(match["year"], text)
        month = _number(match["m1"] or match["m2"], text)
        day = _number(match["d1"] or match["d2"], text)
        return era_date(match["era"], year, month, day)
    match = _WESTERN_DATE.fullmatch(cleaned) or _COMPACT_DATE.fullmatch(cleaned)
    if match is None:
        raise _malformed(text)
    groups = match.groupdict()
    year = _number(groups["year"], text)
    month = _number(groups.get("m1") or groups.get("m2") or groups["m"], text)
    day = _number(groups.get("d1") or groups.get("d2") or groups["d"], text)
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidDate(f"「{text}」は存在しない日付です。", detail="no such day") from None


def format_wareki(day: date) -> str:
    """The date in 和暦 as used in official documents: 2019-05-01 → 「令和元年5月1日」."""
    for era in reversed(ERAS):
        if day >= era.first:
            year = day.year - era.first.year + 1
            return f"{era.kanji}{'元' if year == 1 else year}年{day.month}月{day.day}日"
    return f"{day.year}年{day.month}月{day.day}日"


def fiscal_year_range(year: int) -> tuple[date, date]:
    """First and last day of fiscal year (年度) ``year``: April 1 to March 31 of the next year."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def fiscal_year_of(day: date) -> int:
    """The fiscal year (年度) a day belongs to: 2027-03-31 → 2026."""
    return day.year if day.month >= 4 else day.year - 1


def parse_fiscal_year(text: str) -> int:
    """The western fiscal year of 「令和8年度」 (2026), 「令和元年度」, 「R8年度」 or 「2026年度」.

    Raises ``InvalidDate`` when the text is not a fiscal year or the year is outside its era.
    """
    match = _FISCAL_YEAR.fullmatch(_clean(text))
    if match is None:
        raise InvalidDate(
            f"「{text}」を年度として読み取れませんでした。"
            "「令和8年度」や「2026年度」の形式で指定してください。",
            detail="malformed fiscal year",
        )
    if match["western"]:
        return int(match["western"])
    return wareki_year_to_western(match["era"], _number(match["year"], text))
