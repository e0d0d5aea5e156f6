"""Which messages are only thanks or a greeting."""

from __future__ import annotations

import pytest

from bot.smalltalk import THANKS_REPLY, small_talk_reply


@pytest.mark.parametrize(
    "message",
    ["ありがとうございました🙏", "了解です、ありがとうございます！", "助かりました。", "Thanks!"],
)
def test_thanks_in_any_punctuation(message: str) -> None:
    assert small_talk_reply(message) == THANKS_REPLY


def test_a_greeting_is_answered_in_kind() -> None:
    reply = small_talk_reply("こんにちは！よろしくお願いします")
    assert reply is not None and reply.startswith("こんにちは。")
    evening = small_talk_reply("こんばんわー")
    assert evening is not None and evening.startswith("こんばんは。")


@pytest.mark.parametrize(
    "message",
    [
        "ありがとうございます。住民票の写しは誰が請求できますか",
        "お疲れ様です。副市長は何人まで置けますか",
        "了解の意味",
        "どうも調子が悪い",
        "",
        "？？",
    ],
)
def test_anything_more_is_a_question(message: str) -> None:
    assert small_talk_reply(message) is None
