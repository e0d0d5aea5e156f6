"""Which messages are only thanks or a greeting, and which only ask how to use the bot."""

from __future__ import annotations

import pytest

from bot.smalltalk import (
    ACK_REPLY,
    ALIVE_REPLY,
    DATASETS_ELSEWHERE_REPLY,
    FAREWELL_REPLY,
    GO_AHEAD_REPLY,
    HOW_TO_USE_REPLY,
    THANKS_REPLY,
    WHO_REPLY,
    asks_how_to_use,
    asks_what_data,
    command_elsewhere_reply,
    small_talk_reply,
)


@pytest.mark.parametrize(
    "message",
    ["ありがとうございました🙏", "了解です、ありがとうございます！", "助かりました。", "Thanks!"],
)
def test_thanks_in_any_punctuation(message: str) -> None:
    assert small_talk_reply(message) == THANKS_REPLY


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("了解です", ACK_REPLY),  # not thanked for anything: no 「どういたしまして」
        ("承知しました。", ACK_REPLY),
        ("👍", ACK_REPLY),
        ("？", HOW_TO_USE_REPLY),
        ("あ", HOW_TO_USE_REPLY),
        ("テスト", ALIVE_REPLY),
        ("test", ALIVE_REPLY),
        ("動いてる？", ALIVE_REPLY),
        ("すみません、ちょっと聞きたいんですが", GO_AHEAD_REPLY),
        ("質問があります！", GO_AHEAD_REPLY),
        ("あなたは誰？", WHO_REPLY),
        ("バイバインって何？", WHO_REPLY),
        ("ありがとうございました。失礼します", FAREWELL_REPLY),
    ],
)
def test_what_is_not_yet_a_question_gets_a_short_reply(message: str, reply: str) -> None:
    assert small_talk_reply(message) == reply


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
        "テスト市の粗大ごみ",
        "質問があります。住民票の写しは誰が請求できますか",
        "これは何？",  # in a thread, a follow-up on the answer
    ],
)
def test_anything_more_is_a_question(message: str) -> None:
    assert small_talk_reply(message) is None


HOW_TO_USE = ("使い方を教えてください。", "ＨＥＬＰ", "バイバインの使い方は？", "どうやって使うの")
SOMETHING_ELSE = (
    "公用車の使い方を教えて",
    "何ができますか、住民票で",
    "マイナンバーカードでは何ができますか",
)


def test_only_asking_how_to_use_the_bot_itself_counts() -> None:
    assert all(asks_how_to_use(m) for m in (*HOW_TO_USE, "このボットは何ができるの？"))
    assert not any(asks_how_to_use(m) for m in SOMETHING_ELSE)


WHAT_DATA = (
    "どんな資料がありますか",
    "データセットは何がある？",
    "検索できる資料は何ですか",
    "バイバインはどんなデータを使っていますか",
    "何の法令を参照していますか",
)
NOT_ABOUT_THE_DATA = (
    "どんな資料が必要ですか",  # what a procedure needs
    "どの法令が適用されますか",
    "転入届にはどんな書類がありますか",
    "資料の保存期間は何年ですか",
)


def test_asking_what_the_bot_answers_from_is_told_where_the_datasets_are_listed() -> None:
    assert all(asks_what_data(message) for message in WHAT_DATA)
    assert not any(asks_what_data(message) for message in NOT_ABOUT_THE_DATA)
    # Where chat commands do not run, the reply says where the listing is (in chat it is
    # the datasets command's).
    assert command_elsewhere_reply(WHAT_DATA[0], "web") == DATASETS_ELSEWHERE_REPLY
    assert command_elsewhere_reply(WHAT_DATA[0], "slack") is None
