"""Slack direct messages end to end: signed ``message.im`` events into ``create_app(...)``,
answers at the fake Slack Web API."""

from __future__ import annotations

from chat_harness import SAMPLE_QUESTION
from test_slack import send_event, slack_chat


async def test_a_reply_in_the_thread_of_an_answer_follows_up_on_that_answer(
    make_chat, slack_fake
) -> None:
    # In a DM the bot answers outside a thread; staff then reply in the answer's thread.
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.direct_message(SAMPLE_QUESTION, event_id="E1"))
    await chat.drain()
    [placeholder] = slack_fake.of("chat.postMessage")
    answer_ts = slack_fake.of("chat.update")[0].body["ts"]
    assert (
        "thread_ts" not in placeholder.body
        and "十四日以内" in slack_fake.of("chat.update")[0].block_text
    )

    reply = slack_fake.direct_message(
        "外国人の場合は？", event_id="E2", ts="1700000300.000100", thread_ts=answer_ts
    )
    await send_event(chat, slack_fake, reply)
    await chat.drain()
    follow_up = slack_fake.of("chat.postMessage")[-1]
    assert follow_up.body["thread_ts"] == answer_ts  # answered in that thread
    answer = slack_fake.of("chat.update")[-1].block_text
    # The move-in deadline for foreign residents, not a definition of 外国人住民.
    assert "住民基本台帳法 第三十条の四十六" in answer and "十四日以内" in answer


async def test_a_long_answer_continues_in_its_thread_where_follow_ups_go(
    make_chat, slack_fake, openai_fake
) -> None:
    paragraph = "転入した日から十四日以内に、市町村長に届け出なければなりません[1]。" * 40
    openai_fake.script("\n\n".join(f"{n}. {paragraph}" for n in range(1, 11)))
    llm = {"llm_base_url": openai_fake.url, "llm_api_key": "sk-test", "llm_model": "gpt-test"}
    chat = await slack_chat(make_chat, slack_fake, **llm, llm_query_variants=0)
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.direct_message(SAMPLE_QUESTION, event_id="E1"))
    await chat.drain()
    placeholder, *rest = slack_fake.of("chat.postMessage")
    first = slack_fake.of("chat.update")[-1]  # after the text shown while it was written
    answer_ts = first.body["ts"]  # the placeholder, replaced by the first part
    assert first.block_text.startswith("1. ") and "thread_ts" not in placeholder.body
    # The rest of the answer, its sources and 👍/👎 are in the thread of the first part.
    assert rest and all(p.body.get("thread_ts") == answer_ts for p in rest)
    assert "10. " in rest[-1].block_text and "出典" in rest[-1].block_text

    reply = slack_fake.direct_message(
        "外国人の場合は？", event_id="E2", ts="1700000300.000100", thread_ts=answer_ts
    )
    await send_event(chat, slack_fake, reply)
    await chat.drain()
    follow_up = openai_fake.chat_requests[-1].messages
    assert any(SAMPLE_QUESTION in m["content"] for m in follow_up)  # it continues the answer


async def test_asking_how_to_use_the_bot_shows_how_instead_of_searching(
    make_chat, slack_fake
) -> None:
    # 「/help」 cannot be sent in a Slack DM: Slack takes a message starting with / as its own
    # command. Staff ask in words instead.
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    asked = ("使い方を教えて", "ヘルプ", "help", "何ができますか？", "公用車の使い方を教えて")
    for n, text in enumerate(asked):
        await send_event(chat, slack_fake, slack_fake.direct_message(text, event_id=f"E{n}"))
        await chat.drain()
    *how, question = slack_fake.of("chat.update")
    for reply in how:
        assert reply.block_text.startswith("自治体版バイバインの使い方です。")
        assert "学校教育法" not in reply.block_text  # not a statute that says 使い方
        assert not [b for b in reply.blocks if b["type"] == "actions"]  # nothing to rate
    assert not question.block_text.startswith("自治体版バイバインの使い方です。")


async def test_thanks_with_an_emoji_is_thanks_not_a_search(make_chat, slack_fake) -> None:
    # Slack writes an emoji in a message's text as its shortcode (「:bow:」): read as such, a
    # 🙇 after the thanks made them a question that found nothing.
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    sent = ("ありがとうございます:bow::skin-tone-2:", ":pray:", ":+1: 助かりました")
    for n, text in enumerate(sent):
        await send_event(chat, slack_fake, slack_fake.direct_message(text, event_id=f"E{n}"))
        await chat.drain()
    thanks, ack, helped = (c.block_text for c in slack_fake.of("chat.update"))
    assert thanks.startswith("どういたしまして") and helped.startswith("どういたしまして")
    assert ack == "ほかにもご質問があれば、いつでもお尋ねください。"
    for call in slack_fake.of("chat.update"):
        assert not [b for b in call.blocks if b["type"] == "actions"]  # nothing to rate


async def test_the_bots_name_alone_in_a_dm_asks_for_the_question_as_it_is(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    alone = slack_fake.direct_message(f"<@{slack_fake.bot_user_id}>")
    await send_event(chat, slack_fake, alone)
    await chat.drain()
    [hint] = (c.block_text for c in slack_fake.of("chat.update"))
    assert hint.startswith("ご質問をそのまま入力してください") and "メンション" not in hint
