"""Replies that move a conversation on (「他には？」, 「違います」, 「もっと詳しく」) are
answered from the earlier question's search, leaving out or quoting what was cited, instead of
being searched for their own words (the web page's route in a thread, the real index and sample
data)."""

from __future__ import annotations

import pytest
from support import llm_settings
from test_http import SAMPLE_QUESTION, asker_in, client_for

from bot.moves import NOTHING_ELSE_TEXT, OTHERS_NOTICE, conversation_move, told_of_move
from bot.turns import Answer, ConversationRef


@pytest.mark.parametrize(
    ("message", "move"),
    [
        ("他には？", "others"),
        ("ほかにありますか", "others"),
        ("それ以外の資料は？", "others"),
        ("もっと詳しく教えてください", "more"),
        ("詳細を教えて", "more"),
        ("違います", "dispute"),
        ("いや、それは違うと思います！", "dispute"),
        ("間違っていませんか？", "dispute"),
        ("他に必要な書類は？", None),
        ("詳しい手続きの流れは？", None),
        ("違法な支出を見つけたらどうすればいいですか", None),
        ("その他の手数料は？", None),
    ],
)
def test_a_reply_that_only_moves_the_conversation_on_is_told_apart(
    message: str, move: str | None
) -> None:
    assert conversation_move(message) == move


def titles(reply: dict) -> list[str]:
    return [c["title"] for c in reply["citations"]]


async def test_other_sources_and_more_of_the_same_in_a_thread(
    aiohttp_client, make_settings
) -> None:
    ask = asker_in(await client_for(aiohttp_client, make_settings()))

    first = await ask(SAMPLE_QUESTION, "t-1")
    others = await ask("他にはありますか？", "t-1")
    again = await ask("他には？", "t-1")

    assert "住民基本台帳法 第二十二条" in titles(first)
    assert others["answer"].startswith(OTHERS_NOTICE) and titles(others)
    assert not set(titles(others)) & set(titles(first))
    shown = set(titles(first)) | set(titles(others))
    assert again["answer"] == NOTHING_ELSE_TEXT or not set(titles(again)) & shown

    # More of the same: the last answer's sources quoted whole, what it left out (「（略）」)
    # included.
    before = await ask(SAMPLE_QUESTION, "t-2")
    more = await ask("もっと詳しく教えて", "t-2")
    assert titles(more)[0] == "住民基本台帳法 第二十二条", more["answer"]
    defined = "新たに市町村の区域内に住所を定めること"
    assert defined not in before["answer"] and defined in more["answer"]
    # A question in the thread after them is still on its subject.
    deadline = await ask("では転出の場合は？", "t-2")
    assert "住民基本台帳法 第二十四条" in titles(deadline), deadline["answer"]


async def test_a_disputed_answer_is_thanked_for_and_followed_by_the_other_sources(
    aiohttp_client, make_settings
) -> None:
    ask = asker_in(await client_for(aiohttp_client, make_settings()))
    first = await ask(SAMPLE_QUESTION, "t-1")

    disputed = await ask("違います", "t-1")

    assert disputed["answer"].startswith("ご指摘ありがとうございます。\n\n")  # no button here
    assert not set(titles(disputed)) & set(titles(first))


def test_where_answers_have_buttons_a_dispute_is_told_to_press_thumbs_down() -> None:
    answer = Answer(text="資料の該当箇所を抜粋しました。", outcome="answered")
    for platform, told in (("slack", True), ("teams", True), ("logo", False), ("web", False)):
        text = told_of_move(answer, "dispute", ConversationRef(platform)).text  # type: ignore[arg-type]
        assert ("「👎 役に立たなかった」を押してください" in text) is told, platform


async def test_the_model_answers_other_sources_with_the_turns_before(
    aiohttp_client, make_settings, openai_fake
) -> None:
    openai_fake.script(
        "転入をした日から十四日以内に届け出ます[1]。",
        "転出の届出もあります[1]。",
    )
    settings = make_settings(**llm_settings(openai_fake.url))
    ask = asker_in(await client_for(aiohttp_client, settings))

    first = await ask(SAMPLE_QUESTION, "t-1")
    others = await ask("他には？", "t-1")

    assert others["answer"].startswith(OTHERS_NOTICE) and "転出の届出" in others["answer"]
    # No rewrite call: the answer's call reads 「他には？」 after the turn it follows, from
    # sources the first answer did not cite.
    _, written = (r.messages for r in openai_fake.chat_requests)
    prompt = str(written[-1]["content"])
    assert "他には？" in prompt and SAMPLE_QUESTION in str(written)
    assert titles(first) == ["住民基本台帳法 第二十二条"]
    assert "住民基本台帳法 第二十二条" not in prompt
