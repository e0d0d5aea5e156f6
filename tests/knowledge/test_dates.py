"""和暦 and 西暦 dates, era boundaries and fiscal years."""

from __future__ import annotations

from datetime import date

import pytest

from knowledge.dates import (
    InvalidDate,
    era_date,
    fiscal_year_of,
    fiscal_year_range,
    format_wareki,
    parse_date,
    parse_fiscal_year,
    wareki_year_to_western,
)
from knowledge.errors import BadInput


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("令和8年4月1日", date(2026, 4, 1)),
        ("令和八年四月一日", date(2026, 4, 1)),
        ("令和元年5月1日", date(2019, 5, 1)),
        ("平成31年4月30日", date(2019, 4, 30)),
        ("R8.4.1", date(2026, 4, 1)),
        ("r8.4.1", date(2026, 4, 1)),
        ("H31/4/30", date(2019, 4, 30)),
        ("2026年4月1日", date(2026, 4, 1)),
        ("2026-04-01", date(2026, 4, 1)),
        ("2026/4/1", date(2026, 4, 1)),
        ("20260401", date(2026, 4, 1)),
        ("２０２６年４月１日", date(2026, 4, 1)),
        ("令和８年４月１日", date(2026, 4, 1)),
        ("Ｒ８．４．１", date(2026, 4, 1)),
        ("令和8年4月1日（水）", date(2026, 4, 1)),
        (" 令和 8年 12月 31日 ", date(2026, 12, 31)),
        ("令和七年十二月二十五日", date(2025, 12, 25)),
        ("二〇二六年四月一日", date(2026, 4, 1)),
        ("昭和64年1月7日", date(1989, 1, 7)),
        ("平成元年1月8日", date(1989, 1, 8)),
        ("大正15年12月25日", date(1926, 12, 25)),
        ("昭和元年12月25日", date(1926, 12, 25)),
        ("明治45年7月30日", date(1912, 7, 30)),
        ("大正元年7月30日", date(1912, 7, 30)),
    ],
)
def test_parse_date(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "in_message"),
    [
        ("平成31年5月1日", "令和元年5月1日"),  # 令和 began on 2019-05-01
        ("令和元年4月30日", "平成31年4月30日"),
        ("昭和64年1月8日", "昭和64年1月7日"),
        ("平成元年1月7日", "平成"),
        ("平成32年1月1日", "存在しない年"),
        ("令和0年1月1日", "存在しない年"),
        ("2026-02-30", "存在しない日付"),
        ("令和8年13月1日", "存在しない日付"),
        ("あした", "日付として読み取れませんでした"),
        ("2026/4-1", "日付として読み取れませんでした"),
        ("", "日付として読み取れませんでした"),
    ],
)
def test_parse_date_refuses_with_a_japanese_message(text: str, in_message: str) -> None:
    with pytest.raises(InvalidDate) as caught:
        parse_date(text)
    assert in_message in caught.value.user_message
    assert isinstance(caught.value, ValueError)
    assert isinstance(caught.value, BadInput)


def test_wareki_year_to_western() -> None:
    assert wareki_year_to_western("令和", 8) == 2026
    assert wareki_year_to_western("Reiwa", 1) == 2019
    assert wareki_year_to_western("H", 31) == 2019
    assert wareki_year_to_western("Showa", 30) == 1955
    assert wareki_year_to_western("明治", 1) == 1868
    with pytest.raises(InvalidDate):
        wareki_year_to_western("平成", 32)
    with pytest.raises(InvalidDate) as caught:
        wareki_year_to_western("天平", 1)
    assert "令和" in caught.value.user_message


def test_era_date_accepts_egov_romaji_eras() -> None:
    assert era_date("Heisei", 19, 3, 9) == date(2007, 3, 9)
    assert era_date("Showa", 30, 12, 19) == date(1955, 12, 19)


def test_fiscal_years() -> None:
    assert fiscal_year_range(2026) == (date(2026, 4, 1), date(2027, 3, 31))
    assert parse_fiscal_year("令和8年度") == 2026
    assert parse_fiscal_year("令和元年度") == 2019
    assert parse_fiscal_year("令和八年度") == 2026
    assert parse_fiscal_year("R8年度") == 2026
    assert parse_fiscal_year("２０２６年度") == 2026
    assert parse_fiscal_year("平成31年度") == 2019
    assert fiscal_year_of(date(2027, 3, 31)) == 2026
    assert fiscal_year_of(date(2026, 4, 1)) == 2026
    with pytest.raises(InvalidDate) as caught:
        parse_fiscal_year("令和8年")
    assert "年度" in caught.value.user_message


def test_format_wareki() -> None:
    assert format_wareki(date(2019, 5, 1)) == "令和元年5月1日"
    assert format_wareki(date(2019, 4, 30)) == "平成31年4月30日"
    assert format_wareki(date(2026, 4, 1)) == "令和8年4月1日"
    for text in ("令和8年4月1日", "平成元年1月8日", "昭和64年1月7日"):
        assert format_wareki(parse_date(text)) == text
