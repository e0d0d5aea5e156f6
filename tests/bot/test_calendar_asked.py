"""A message that only asks the calendar (和暦 ⇄ 西暦, a fiscal year's span, today's date) is
answered by computing it; a question that mentions a year is still a question."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.calendar_asked import calendar_reply
from bot.cli import app

TODAY = date(2026, 12, 8)  # a Tuesday, in 令和8年度


@pytest.mark.parametrize(
    ("asked", "reply"),
    [
        ("令和8年は西暦何年ですか？", "令和8年は西暦2026年です。"),
        ("R8は西暦何年", "令和8年は西暦2026年です。"),
        ("令和二年を西暦に直すと", "令和2年は西暦2020年です。"),
        ("昭和５０年は何年", "昭和50年は西暦1975年です。"),
        (
            "令和元年は西暦何年？",
            "令和元年は西暦2019年です（5月1日から。それより前は平成31年です）。",
        ),
        (
            "平成31年は西暦で何年",
            "平成31年は西暦2019年です（4月30日まで。5月1日からは令和元年です）。",
        ),
        ("2026年は令和何年", "2026年は令和8年です。"),
        (
            "2019年は和暦で何年？",
            "2019年は、4月30日までが平成31年、5月1日からが令和元年です。",
        ),
        (
            "令和8年度は西暦何年度？",
            "令和8年度は2026年度（2026年4月1日〜2027年3月31日）です。",
        ),
        # The fiscal year in which 令和 began is named in it.
        ("2019年度は和暦で何年度", "2019年度は令和元年度（2019年4月1日〜2020年3月31日）です。"),
        ("1988年度は和暦で何年度", "1988年度は昭和63年度（1988年4月1日〜1989年3月31日）です。"),
        ("令和8年度はいつからいつまで？", "令和8年度は2026年4月1日から2027年3月31日までです。"),
        ("来年度はいつから", "来年度は令和9年度（2027年4月1日〜2028年3月31日）です。"),
        ("今年度は何年度ですか", "今年度は令和8年度（2026年4月1日〜2027年3月31日）です。"),
        ("今日は何日？", "今日は2026年12月8日（火曜日）、令和8年12月8日です（日本時間）。"),
        ("本日の日付は", "今日は2026年12月8日（火曜日）、令和8年12月8日です（日本時間）。"),
        ("今年は令和何年", "今年は2026年、令和8年です。"),
        ("令和8年4月1日は西暦で", "令和8年4月1日は、西暦2026年4月1日（水曜日）です。"),
        ("2026/4/1は何曜日？", "2026年4月1日は、令和8年4月1日（水曜日）です。"),
        ("4月1日は何曜日", "2026年4月1日は、令和8年4月1日（水曜日）です。"),
        (
            "昭和50年生まれは何歳？",
            "昭和50年（1975年）生まれの方は、今年（2026年）の誕生日で51歳になります"
            "（誕生日の前は50歳です）。",
        ),
        (
            "1975年生まれは今年何歳",
            "1975年（昭和50年）生まれの方は、今年（2026年）の誕生日で51歳になります"
            "（誕生日の前は50歳です）。",
        ),
        ("2026年2月30日は何曜日", "「2026年2月30日」は存在しない日付です。"),
        # A year the era never had is told the era's span.
        (
            "平成32年は西暦何年",
            "平成32年は存在しない年です。平成は1989年1月8日から平成31年4月30日までです。",
        ),
        ("1800年は和暦で何年", "1800年は明治より前の年のため、元号に換算できません。"),
    ],
)
def test_the_calendar_is_computed(asked: str, reply: str) -> None:
    assert calendar_reply(asked, TODAY) == reply


@pytest.mark.parametrize(
    "asked",
    [
        "令和8年度の予算は",
        "令和7年度から何が変わりますか",
        "今日は何日以内に届け出ますか",
        "何年",
        "令和8年4月1日から施行される法律は",
        "昭和50年生まれの年金は",
    ],
)
def test_a_question_that_mentions_a_year_is_no_calendar_question(asked: str) -> None:
    assert calendar_reply(asked, TODAY) is None


def test_the_calendar_is_answered_on_every_route_without_a_search(tmp_path: Path) -> None:
    env = {"BAIBAIN_DATA_DIR": str(tmp_path / "new")}
    result = CliRunner().invoke(app, ["ask", "令和8年は西暦何年ですか", "--json"], env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    # No statute mentioning 令和八年 is quoted, and nothing says it was written by AI.
    assert body["answer"] == "令和8年は西暦2026年です。"
    assert body["citations"] == [] and body["footer"] == "" and body["outcome"] == "answered"
