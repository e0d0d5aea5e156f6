"""Which chat platforms a web process enables, and what it tells the operator when a platform
is configured by half (one of its two secrets forgotten)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.chat import logo_config, slack_config
from bot.settings import Settings


@pytest.mark.parametrize(
    ("given", "expected", "config"),
    [
        (
            {"slack_bot_token": "xoxb-1"},
            "Slack disabled: BAIBAIN_SLACK_SIGNING_SECRET",
            slack_config,
        ),
        ({"slack_signing_secret": "s3"}, "Slack disabled: BAIBAIN_SLACK_BOT_TOKEN", slack_config),
        ({"logo_signing_secret": "s3"}, "LoGo disabled: BAIBAIN_LOGO_REPLY_TOKEN", logo_config),
        ({"logo_reply_token": "t3"}, "LoGo disabled: BAIBAIN_LOGO_SIGNING_SECRET", logo_config),
    ],
)
def test_a_platform_configured_by_half_is_disabled_with_the_missing_setting_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, given, expected, config
) -> None:
    settings = Settings(data_dir=tmp_path, **given)
    with caplog.at_level(logging.ERROR, logger="bot.chat"):
        assert config(settings) is None
    assert [r.getMessage() for r in caplog.records] == [f"{expected} is not set"]
    for secret in given.values():
        assert secret not in caplog.text


def test_a_platform_left_unconfigured_is_disabled_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(data_dir=tmp_path)
    with caplog.at_level(logging.ERROR, logger="bot.chat"):
        assert slack_config(settings) is None
        assert logo_config(settings) is None
    assert caplog.records == []
