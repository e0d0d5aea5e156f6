"""👍/👎 end to end: signed clicks into the real app, and what the one who clicked is told at
the fake platform. Thanks only for a rating that was stored; otherwise why not."""

from __future__ import annotations

from chat_harness import SAMPLE_QUESTION, Chat
from fakes.botframework import FakeBotFramework
from fakes.slack_api import FakeSlack
from support import refusing_inserts
from test_slack import FORM, send, send_event, slack_chat
from test_teams import TENANT, post, teams_chat

from adapters.slack.translate import ACTION_DOWN, ACTION_UP
from admin.links import feedback_for, unlink_workspace

THANKS = "ご評価ありがとうございました。今後の改善に役立てます。"


async def slack_answer(chat: Chat, fake: FakeSlack) -> str:
    """The turn id on the 👍 button of an answer to a mention."""
    await send_event(chat, fake, fake.mention(SAMPLE_QUESTION))
    await chat.drain()
    blocks = fake.of("chat.update")[-1].blocks
    return str(next(b for b in blocks if b["type"] == "actions")["elements"][0]["value"])


async def slack_click(chat: Chat, fake: FakeSlack, action: str, turn_id: str) -> str:
    """Click a button; the ephemeral reply only the one who clicked sees."""
    response = await send(chat, fake, fake.button_click(action, turn_id), FORM)
    assert response.status == 200
    await chat.drain()
    reply = fake.of("response")[-1].body
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    return str(reply["text"])


async def test_a_second_click_of_the_same_rating_is_thanked_again(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    turn_id = await slack_answer(chat, slack_fake)
    for _ in range(2):
        assert await slack_click(chat, slack_fake, ACTION_DOWN, turn_id) == THANKS
    assert [f.rating for f in feedback_for(chat.engine, turn_id)] == ["down"]


async def test_a_click_on_an_answer_with_no_record_is_not_thanked(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    for turn_id in ("0" * 32, "../etc"):  # an answer never recorded here, a garbled value
        reply = await slack_click(chat, slack_fake, ACTION_UP, turn_id)
        assert (
            reply
            == "申し訳ありません。この回答の記録が見つからないため、評価を記録できませんでした。"
        )
        assert feedback_for(chat.engine, turn_id) == []


async def test_a_click_in_a_workspace_no_longer_registered_says_so(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    turn_id = await slack_answer(chat, slack_fake)
    unlink_workspace(chat.engine, "横浜市", "slack", slack_fake.team_id)
    reply = await slack_click(chat, slack_fake, ACTION_UP, turn_id)
    assert "このワークスペースは自治体版バイバインの利用登録がされていないため" in reply
    assert "ありがとう" not in reply and feedback_for(chat.engine, turn_id) == []


async def test_a_click_the_database_cannot_store_asks_to_try_later(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    turn_id = await slack_answer(chat, slack_fake)
    with refusing_inserts(chat.engine, "answer_feedback"):
        reply = await slack_click(chat, slack_fake, ACTION_UP, turn_id)
    assert (
        reply
        == "申し訳ありません。評価を記録できませんでした。時間をおいてもう一度お試しください。"
    )


async def test_teams_tells_the_one_who_clicked_an_unknown_answer_why(
    make_chat, botframework_fake: FakeBotFramework
) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    action = {
        "type": "Action.Execute",
        "verb": "baibain.feedback",
        "data": {"kind": "baibain.feedback", "turn_id": "0" * 32, "rating": "up"},
    }
    click = fake.card_action(action, card_id="bot-activity-1")
    response = await post(chat, click, fake.token())
    assert response.status == 200
    body = await response.json()
    assert body["type"] == "application/vnd.microsoft.activity.message"
    assert "記録が見つからない" in body["value"] and "ありがとう" not in body["value"]
    assert feedback_for(chat.engine, "0" * 32) == []


async def test_a_click_is_acknowledged_before_it_is_stored(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    turn_id = await slack_answer(chat, slack_fake)
    busy = chat.engine.raw_connection()  # another writer holds the database
    try:
        busy.cursor().execute("BEGIN IMMEDIATE")
        click = slack_fake.button_click(ACTION_UP, turn_id)
        response = await send(chat, slack_fake, click, FORM)
        assert response.status == 200  # acknowledged while the rating waits for the database
        assert slack_fake.of("response") == []
    finally:
        busy.rollback()
        busy.close()
    await chat.drain()
    assert slack_fake.of("response")[-1].body["text"] == THANKS
    assert [f.rating for f in feedback_for(chat.engine, turn_id)] == ["up"]
