"""The first answer in a channel's thread says how to ask on: a reply there without a mention
never reaches the bot. Answers in a thread already, in a chat with the bot alone, and
replies to commands say nothing of it."""

from __future__ import annotations

from chat_harness import SAMPLE_QUESTION
from test_logo import deliver, logo_chat
from test_slack import send_event, slack_chat
from test_teams import THREAD, linked_teams, post

from bot.command_replies import FOLLOW_UP_TIP
from bot.turns import EXTRACT_FOOTER


async def test_slack_says_it_under_the_first_answer_of_a_thread(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    top = "1700000555.000001"
    for event in (
        slack_fake.mention(SAMPLE_QUESTION, ts=top, event_id="E1"),
        slack_fake.mention("その期限は？", ts="1700000556.000001", thread_ts=top, event_id="E2"),
        slack_fake.mention("/datasets", ts="1700000557.000001", event_id="E3"),
        slack_fake.direct_message(SAMPLE_QUESTION, event_id="E4"),
    ):
        await send_event(chat, slack_fake, event)
        await chat.drain()
    first, follow_up, command, direct = slack_fake.of("chat.update")
    [context] = [b for b in first.blocks if b["type"] == "context"]
    assert context["elements"][0]["text"] == f"{EXTRACT_FOOTER}\n{FOLLOW_UP_TIP}"
    assert "「@バイバイン」をつけて送ってください" in FOLLOW_UP_TIP
    for later in (follow_up, command, direct):
        assert FOLLOW_UP_TIP not in later.block_text


async def test_teams_says_it_under_a_new_posts_answer(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await linked_teams(make_chat, fake)
    post_id = "1700000000777"
    new_post = fake.activity(
        SAMPLE_QUESTION, activity_id=post_id, conversation_id=THREAD.split(";")[0]
    )
    reply = fake.activity("その期限は？", activity_id="1700000000778")  # in a thread
    for activity in (new_post, reply):
        await post(chat, activity, fake.token())
        await chat.drain()
    first, follow_up = fake.of("PUT")
    subtle = [b["text"] for b in first.card["body"] if b.get("isSubtle")]
    assert subtle == [EXTRACT_FOOTER, FOLLOW_UP_TIP]  # each on a line of its own
    assert FOLLOW_UP_TIP not in follow_up.card_text


async def test_logo_says_it_under_a_mentions_answer_outside_threads(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    for event in (
        logo_fake.event(SAMPLE_QUESTION),
        logo_fake.event("その期限は？", thread_id="msg-1", message_id="msg-2"),
        logo_fake.event(SAMPLE_QUESTION, type="message"),
    ):
        await deliver(chat, logo_fake, event)
        await chat.drain()
    first, follow_up, one_to_one = (r.text for r in logo_fake.replies)
    assert first.endswith(f"{EXTRACT_FOOTER}\n{FOLLOW_UP_TIP}")
    assert FOLLOW_UP_TIP not in follow_up and FOLLOW_UP_TIP not in one_to_one
