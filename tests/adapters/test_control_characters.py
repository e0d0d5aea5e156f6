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


async def test_logo_messages_with_control_characters_are_answered_and_audited(
    make_chat: MakeChat, logo_fake: FakeLogo, app_database_url: str, app_engine: Engine
) -> None:
    app = await logo_chat(make_chat, logo_fake, database_url=app_database_url)
    chat = Chat(client=app.client, engine=app_engine)
    chat.link("横浜市", "logo", logo_fake.org_id)
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
