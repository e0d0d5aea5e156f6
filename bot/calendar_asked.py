"""Messages that only ask the calendar: which Western year a Japanese-era year is (「令和8年は
西暦何年ですか」), which era year a Western year is (「2019年は和暦で何年？」), a date in the
other calendar and its weekday (「令和8年4月1日は西暦で」, 「4月1日は何曜日」), when a fiscal
year runs (「令和8年度はいつからいつまで？」), how old someone born in a year is this year
(「昭和50年生まれは何歳？」), or today's date (「今日は何日？」).

Staff convert 和暦 and 西暦 all day, and no document says 「令和8年は2026年」: searched, such a
message found statutes that mention the year or 日 (「今日は何日」 quoted 公職選挙法's 期日), or
nothing. The reply is computed from the eras' first days (``knowledge.dates``), in Japan's
time, and says so; a year an era never had (「平成32年」) is told the era's span. Only a
message that asks nothing else is read: 「令和8年度の予算は」 is a question for the documents.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from knowledge.dates import (
    ERA_NAME,
    ERA_YEAR,
    ERAS,
    Era,
    InvalidDate,
    era_by_name,
    fiscal_year_of,
    fiscal_year_range,
    parse_date,
    today_in_japan,
    wareki_year_to_western,
)
from knowledge.numerals import kanji_to_int

_WESTERN = r"(?P<western>[0-9]{4})"
_TOPIC = r"(?:は|って|を)?"
_HOW_MANY = r"(?:何|なん)年度?"
# 「西暦で」, 「和暦にすると」, 「西暦だと」 …
_IN = r"(?:で|だと|に(?:すると|直すと|換算すると))?(?:は)?"
# How a question ends: politely, or not at all (punctuation and spaces are removed first).
_ENDING = r"(?:ですか|でしょうか|になりますか|になる|ですかね|か|かな)?"
_TO_WESTERN = re.compile(
    rf"{ERA_NAME}{ERA_YEAR}年?(?P<fiscal>度)?{_TOPIC}"
    rf"(?:西暦{_IN}(?:{_HOW_MANY})?|{_HOW_MANY})"
    rf"{_ENDING}"
)
_TO_ERA = re.compile(
    rf"{_WESTERN}年(?P<fiscal>度)?{_TOPIC}"
    rf"(?:(?:和暦|元号){_IN}(?:(?:令和|平成|昭和)?{_HOW_MANY})?"
    rf"|(?:令和|平成|昭和|大正|明治){_HOW_MANY})"
    rf"{_ENDING}"
)
_SPAN = re.compile(
    rf"(?:{ERA_NAME}{ERA_YEAR}|{_WESTERN}|(?P<relative>今|本|来|翌|昨|前))年度{_TOPIC}"
    rf"(?:いつからいつまで|いつから|いつまで|の期間(?:は)?(?:いつ)?)"
    rf"{_ENDING}"
)
_TODAY = re.compile(
    rf"(?:今日|本日|きょう){_TOPIC}(?:何日|何月何日|何年何月何日|何曜日?|の日付(?:は)?)"
    rf"{_ENDING}"
)
_THIS_YEAR = re.compile(
    rf"(?P<which>今年|本年|今年度|本年度){_TOPIC}(?:西暦|和暦|令和)?(?:で)?{_HOW_MANY}{_ENDING}"
)
# A date and what is asked of it: its other calendar or its weekday (「令和8年4月1日は西暦で」,
# 「2026/4/1は何曜日」).
_DAY = re.compile(
    rf"(?P<day>{ERA_NAME}?[0-9〇一二三四五六七八九十元./\-年月日]+?){_TOPIC}"
    rf"(?:(?P<other>西暦|和暦|元号){_IN})?"
    rf"(?P<weekday>何曜日?)?(?:何年何月何日)?{_ENDING}"
)
# Age by the year of birth (「昭和50年生まれは何歳？」).
_AGE = re.compile(
    rf"(?:{ERA_NAME}{ERA_YEAR}|{_WESTERN})年生(?:まれ)?(?:の人|の方)?{_TOPIC}"
    rf"(?:今年|今|現在)?(?:で|は)?(?:何|なん)歳{_ENDING}"
)
_MONTH_DAY = re.compile(r"[0-9]{1,2}月[0-9]{1,2}日")
_NOISE = re.compile(r"[\s、。,!！?？]")
_FISCAL_ASKED = ("年度", "年度ですか", "年度でしょうか", "年度になりますか", "年度か")
_RELATIVE = {"今": 0, "本": 0, "来": 1, "翌": 1, "昨": -1, "前": -1}
_WEEKDAYS = "月火水木金土日"


def calendar_reply(message: str, today: date | None = None) -> str | None:
    """The reply to a message that only asks the calendar, else ``None``."""
    text = _NOISE.sub("", unicodedata.normalize("NFKC", message)).rstrip(".")
    day = today or today_in_japan()
    try:
        if found := _AGE.fullmatch(text):
            return _age(found, day)
        if found := _TO_WESTERN.fullmatch(text):
            return _to_western(found)
        if found := _TO_ERA.fullmatch(text):
            return _to_era(int(found["western"]), fiscal=bool(found["fiscal"]))
        if found := _SPAN.fullmatch(text):
            return _span(found, day)
        if _TODAY.fullmatch(text):
            return f"今日は{_date(day)}（{_weekday(day)}）、{_in_wareki(day)}です（日本時間）。"
        if found := _THIS_YEAR.fullmatch(text):
            if found["which"].endswith("年度"):
                return "今年度は" + _fiscal_named(fiscal_year_of(day))
            return f"今年は{day.year}年、{_era_year(day)}です。"
        if (found := _DAY.fullmatch(text)) and (found["other"] or found["weekday"]):
            return _day(found["day"], day.year)
    except InvalidDate as exc:
        return exc.user_message
    return None


def _day(written: str, this_year: int) -> str | None:
    """A date in the other calendar, with its weekday (a month and day alone are this
    year's); ``None`` when ``written`` is no date."""
    if _MONTH_DAY.fullmatch(written):
        written = f"{this_year}年{written}"
    try:
        day = parse_date(written)
    except InvalidDate as exc:
        if exc.detail == "malformed date":
            return None
        raise
    if re.match(ERA_NAME, written):
        return f"{_in_wareki(day)}は、西暦{_date(day)}（{_weekday(day)}）です。"
    return f"{_date(day)}は、{_in_wareki(day)}（{_weekday(day)}）です。"


def _age(found: re.Match[str], today: date) -> str:
    """How old someone born in a year is this year: 「昭和50年（1975年）生まれの方は…」."""
    if found["western"]:
        born = int(found["western"])
        named = f"{born}年"
        if born >= ERAS[0].first.year:
            named += f"（{_era_year(date(born, 12, 31))}）"
    else:
        era, year = era_by_name(found["era"]), _year_of(found)
        born = wareki_year_to_western(era.kanji, year)
        named = f"{era.kanji}{_numbered(year)}年（{born}年）"
    age = today.year - born
    if age < 1:
        return f"{born}年生まれの方は、今年（{today.year}年）の誕生日ではまだ1歳になりません。"
    return (
        f"{named}生まれの方は、今年（{today.year}年）の誕生日で{age}歳になります"
        f"（誕生日の前は{age - 1}歳です）。"
    )


def _weekday(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}曜日"


def _in_wareki(day: date) -> str:
    """「令和8年4月1日」."""
    return f"{_era_year(day)}{day.month}月{day.day}日"


def _year_of(found: re.Match[str]) -> int:
    """The era year a match names (元 is 1)."""
    year = found["year"]
    return 1 if year == "元" else kanji_to_int(year)


def _to_western(found: re.Match[str]) -> str:
    era, year = era_by_name(found["era"]), _year_of(found)
    western = wareki_year_to_western(era.kanji, year)
    named = f"{era.kanji}{_numbered(year)}年"
    if found["fiscal"] or found.group().endswith(_FISCAL_ASKED):
        first, last = fiscal_year_range(western)
        return f"{named}度は{western}年度（{_dates(first, last)}）です。"
    return f"{named}は西暦{western}年です{_boundary(era, year)}。"


def _to_era(western: int, *, fiscal: bool) -> str:
    if western < ERAS[0].first.year:
        return f"{western}年は明治より前の年のため、元号に換算できません。"
    if fiscal:
        return f"{western}年度は" + _fiscal_named(western)
    began = next(e for e in reversed(ERAS) if e.first.year <= western)
    ended = ERAS[ERAS.index(began) - 1] if began.first.year == western else None
    if ended is None or ended.last is None or began is ERAS[0]:
        return f"{western}年は{_in_era(began, western)}です。"
    return (
        f"{western}年は、{ended.last.month}月{ended.last.day}日までが"
        f"{_in_era(ended, western)}、{began.first.month}月{began.first.day}日からが"
        f"{_in_era(began, western)}です。"
    )


def _span(found: re.Match[str], day: date) -> str:
    if found["relative"]:
        western = fiscal_year_of(day) + _RELATIVE[found["relative"]]
        return f"{found['relative']}年度は" + _fiscal_named(western)
    if found["western"]:
        return f"{found['western']}年度は" + _fiscal_named(int(found["western"]))
    era, year = era_by_name(found["era"]), _year_of(found)
    western = wareki_year_to_western(era.kanji, year)
    return f"{era.kanji}{_numbered(year)}年度は" + _fiscal_span(western)


def _fiscal_named(western: int) -> str:
    """「令和8年度（2026年4月1日〜2027年3月31日）です。」 A fiscal year in which an era
    began after April is named in the new era (2019 is 令和元年度), as the government names it
    since."""
    first, last = fiscal_year_range(western)
    era = next(e for e in reversed(ERAS) if last >= e.first)
    if era.first.year > western:  # 1988: the year began in 昭和 and 平成 began in 1989
        era = next(e for e in reversed(ERAS) if first >= e.first)
    return f"{_in_era(era, western)}度（{_dates(first, last)}）です。"


def _fiscal_span(western: int) -> str:
    """「2026年4月1日から2027年3月31日までです。」"""
    first, last = fiscal_year_range(western)
    return f"{_date(first)}から{_date(last)}までです。"


def _dates(first: date, last: date) -> str:
    return f"{_date(first)}〜{_date(last)}"


def _date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _era_year(day: date) -> str:
    """The era year of a day: 「令和8年」, 「令和元年」."""
    era = next(e for e in reversed(ERAS) if day >= e.first)
    return f"{era.kanji}{_numbered(day.year - era.first.year + 1)}年"


def _in_era(era: Era, western: int) -> str:
    return f"{era.kanji}{_numbered(western - era.first.year + 1)}年"


def _numbered(year: int) -> str:
    return "元" if year == 1 else str(year)


def _boundary(era: Era, year: int) -> str:
    """What a year shared by two eras is called on either side of the change."""
    if year == 1 and era is not ERAS[0]:
        before = ERAS[ERAS.index(era) - 1]
        return (
            f"（{era.first.month}月{era.first.day}日から。それより前は"
            f"{before.kanji}{before.last_year}年です）"
        )
    if era.last is not None and year == era.last_year:
        after = ERAS[ERAS.index(era) + 1]
        return (
            f"（{era.last.month}月{era.last.day}日まで。"
            f"{after.first.month}月{after.first.day}日からは{after.kanji}元年です）"
        )
    return ""
