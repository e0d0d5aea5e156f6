"""Characters nobody sees in a chat message (a NUL, a backspace, an escape) are dropped when
the message is read: it is answered and recorded like the same message without them, on
SQLite and on PostgreSQL (which refuses a NUL in any text column)."""

from __future__ import annotations

from chat_harness import SAMPLE_QUESTION, Chat, MakeChat
from fakes.botframework import FakeBotFramework
from fakes.logo import FakeLogo
from fakes.slack_api import FakeSlack
from sqlalchemy.engine import Engine
from test_logo import deliver, logo_chat
from test_slack import send_event
from test_teams import TENANT, post, teams_chat

from admin import orgs
from bot.app_keys import SERVICES

# The sample question as a paste from another program may carry it: a NUL, a backspace, an
# escape and a DEL, besides the tab and line break that are kept (and stripped at the end).
GARBLED = "\x00引っ越したら\x08何日以内に\x1b届け出ますか\x7f\t\n"
SUMMARY = "「地方自治法 第二百四十二条」の要約です"


def audited_questions(chat: Chat) -> list[object]:
    """The questions of 横浜市's turns in the audit log, oldest first."""
    org = orgs.get_org(chat.engine, "横浜市")
    records = chat.client.app[SERVICES].auditor.log.export(org.id, None, None, actor="test")
    return [r["payload"]["question"] for r in records if r["kind"] == "turn"]


async def linked_logo(
    make_chat: MakeChat, logo_fake: FakeLogo, database_url: str, engine: Engine
) -> Chat:
    """LoGo on the parametrized database, its workspace linked to 横浜市."""
    app = await logo_chat(make_chat, logo_fake, database_url=database_url)
    chat = Chat(client=app.client, engine=engine)
    chat.link("横浜市", "logo", logo_fake.org_id)
    return chat


async def test_logo_messages_with_control_characters_are_answered_and_audited(
    make_chat: MakeChat, logo_fake: FakeLogo, app_database_url: str, app_engine: Engine
) -> None:
    chat = await linked_logo(make_chat, logo_fake, app_database_url, app_engine)
    for text in (GARBLED, "/summarize 地方自治法\x00第242条"):
        assert (await deliver(chat, logo_fake, logo_fake.event(text))).status == 200
        await chat.drain()
    answer, summary = (reply.text for reply in logo_fake.replies)
    assert "住民基本台帳法 第二十三条" in answer
    assert SUMMARY in summary  # the document named with a NUL in it is found
    assert chat.turn_outcomes() == ["answered", "answered"]
    assert audited_questions(chat) == [SAMPLE_QUESTION, "summarize 地方自治法第242条"]


async def test_slack_and_teams_messages_with_control_characters_are_answered_and_audited(
    make_chat: MakeChat,
    slack_fake: FakeSlack,
    botframework_fake: FakeBotFramework,
    app_database_url: str,
    app_engine: Engine,
) -> None:
    teams = botframework_fake
    app = await teams_chat(
        make_chat,
        teams,
        database_url=app_database_url,
        slack_bot_token=slack_fake.bot_token,
        slack_signing_secret=slack_fake.signing_secret,
        slack_api_url=slack_fake.api_url,
    )
    chat = Chat(client=app.client, engine=app_engine)
    chat.link("横浜市", "slack", slack_fake.team_id)
    chat.link("川崎市", "teams", TENANT)
    assert (await send_event(chat, slack_fake, slack_fake.mention(GARBLED))).status == 200
    asked = teams.activity("地方自治法\x00第242条を要約して")
    assert (await post(chat, asked, teams.token())).status == 200
    await chat.drain()
    assert "住民基本台帳法 第二十三条" in slack_fake.of("chat.update")[0].block_text
    assert SUMMARY in teams.of("PUT")[0].card_text
    assert chat.turn_outcomes() == ["answered", "answered"]
    assert audited_questions(chat) == [SAMPLE_QUESTION]


async def test_a_logo_delivery_with_a_control_character_in_an_id_is_refused_by_name(
    make_chat: MakeChat, logo_fake: FakeLogo, app_database_url: str, app_engine: Engine
) -> None:
    chat = await linked_logo(make_chat, logo_fake, app_database_url, app_engine)
    # On PostgreSQL a NUL in the event or organization id was a server error (500, which
    # the platform retries); another id was taken as it came, a NUL and all.
    valid = logo_fake.event(SAMPLE_QUESTION)
    for field, body in (
        ("event_id", {**valid, "event_id": "ev\x00-1"}),
        ("org_id", {**valid, "org_id": f"{logo_fake.org_id}\x00"}),
        ("talk_id", {**valid, "talk_id": "talk\x1b-1"}),
        ("thread_id", {**valid, "thread_id": "th\x00"}),
        ("user.id", {**valid, "user": {"id": "user\x00-1"}}),
        ("message.id", {**valid, "message": {**valid["message"], "id": "m\x00"}}),
    ):
        response = await deliver(chat, logo_fake, body)
        assert response.status == 400, field
        error = (await response.json())["error"]
        assert error["code"] == "bad_input" and f"（{field}）" in error["message"]
    await chat.drain()
    assert logo_fake.received == []
    assert (await deliver(chat, logo_fake, valid)).status == 200  # its id was not taken
    await chat.drain()
    assert "住民基本台帳法" in logo_fake.replies[0].text
