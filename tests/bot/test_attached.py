"""Whether a message sent with files asks for their summary or asks something about them."""

from __future__ import annotations

import pytest

from bot.attached import wants_summary


@pytest.mark.parametrize(
    "text",
    [
        "",
        "これを要約してください",
        "要点をまとめて",
        "どんな内容ですか？",
        "この資料の内容を教えてください",
        "内容は？",
        "何が書いてありますか",
        "ざっくり教えて",
    ],
)
def test_requests_for_the_gist_are_summaries(text: str) -> None:
    assert wants_summary(text)


@pytest.mark.parametrize(
    "text",
    [
        "窓口は何時から開いていますか",
        "第3条の内容を教えてください",
        "手数料はいくらですか",
        "この計画の概要版と本編で、目標年度が違うのはなぜですか。数値目標の根拠も知りたいです",
    ],
)
def test_questions_are_answered_from_the_files(text: str) -> None:
    assert not wants_summary(text)
