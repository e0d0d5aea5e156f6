"""Greetings and openers in chat (「お疲れ様です」, 「すみません、ちょっと聞きたいんですが」) are
told how to ask where they are read: in a channel a question sent as it is never reaches the
bot, so the reply asks for it after a mention; in a chat with the bot alone, as it is."""

from __future__ import annotations

from test_logo import deliver, logo_chat
from test_slack import send_event, slack_chat
from test_teams import linked_teams, post

AFTER_MENTION = "ご質問をメンションに続けて入力してください"
AS_IT_IS = "ご質問をそのまま入力してください"


async def test_slack_channel_and_dm_greetings_say_how_to_ask_there(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    thread = "1700000000.000100"
    for event in (
        slack_fake.mention("お疲れ様です", thread_ts=thread, event_id="E1"),
        slack_fake.mention("すみません、ちょっと聞きたいんですが", event_id="E2"),
        slack_fake.direct_message("お疲れ様です", event_id="E3"),
        slack_fake.direct_message("お疲れ様です", thread_ts=thread, event_id="E4"),
    ):
        await send_event(chat, slack_fake, event)
        await chat.drain()
    greeting, opener, direct, direct_thread = (c.block_text for c in slack_fake.of("chat.update"))
    assert greeting.startswith("お疲れさまです。")
    assert AFTER_MENTION in greeting and "「@バイバイン 使い方」と送ると" in greeting
    assert opener.startswith(f"はい、どうぞ。{AFTER_MENTION}")
    for reply in (direct, direct_thread):
        assert AS_IT_IS in reply and "「使い方」と送ると" in reply


async def test_teams_greetings_say_how_to_ask_there(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await linked_teams(make_chat, fake)
    personal = fake.activity(
        "お疲れ様です",
        activity_id="p-1",
        conversation_id="a:personal-1",
        conversation_type="personal",
        mention=False,
    )
    for activity in (fake.activity("お疲れ様です"), personal):
        await post(chat, activity, fake.token())
        await chat.drain()
    channel, direct = (c.card_text for c in fake.of("PUT"))
    assert AFTER_MENTION in channel and AS_IT_IS in direct


async def test_logo_greetings_say_how_to_ask_there(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    for kind in ("mention", "message"):  # a group talk's mention, a 1:1 talk's message
        await deliver(chat, logo_fake, logo_fake.event("お疲れ様です", type=kind))
        await chat.drain()
    talk, one_to_one = (r.text for r in logo_fake.replies)
    assert AFTER_MENTION in talk and AS_IT_IS in one_to_one
