"""Microsoft Teams: what people see when they start, through signed activities into the real
app: the app installed (``conversationUpdate`` in a personal chat, a team, a group chat), and
asking how to use it."""

from __future__ import annotations

from urllib.parse import unquote

from chat_harness import Chat, MakeChat
from fakes.botframework import FakeBotFramework
from test_teams import TENANT, post, teams_chat


async def linked(make_chat: MakeChat, fake: FakeBotFramework) -> Chat:
    """The app, with the fake's tenant linked to an organization."""
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    return chat


async def installed(make_chat: MakeChat, fake: FakeBotFramework, **update: str) -> Chat:
    """The app for a linked tenant, after Teams told it that it was installed (``update``:
    where, see ``FakeBotFramework.members_added``)."""
    chat = await linked(make_chat, fake)
    response = await post(chat, fake.members_added(**update), fake.token())
    assert response.status == 200
    await chat.drain()
    return chat


async def test_installing_the_app_in_personal_chat_greets_the_user_once(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await installed(make_chat, fake)
    await post(chat, fake.members_added(), fake.token())  # the same activity delivered again
    await chat.drain()
    [welcome] = fake.of("POST")
    assert unquote(welcome.conversation_id) == "a:1personal"
    assert welcome.activity_id == ""  # a new message in the chat, not a reply to the event
    text = welcome.card_text
    assert text.startswith("はじめまして。自治体版バイバインです。")
    assert "そのまま" in text and "/help" in text  # how to ask here, where to find more
    assert "「/help」で表示します" in text  # no mention needed in a personal chat
    assert "actions" not in welcome.card  # nothing to rate

    joined = fake.members_added(bot=False, activity_id="f:join-2", user="aad-user-2")
    assert (await post(chat, joined, fake.token())).status == 200
    await chat.drain()
    assert len(fake.calls) == 1  # a colleague joining is not greeted again


async def test_adding_the_app_to_a_team_explains_mentions_in_the_channel(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    team = {"conversation_id": "19:general@thread.tacv2", "conversation_type": "channel"}
    await installed(make_chat, fake, **team)
    [welcome] = fake.of("POST")
    assert unquote(welcome.conversation_id) == "19:general@thread.tacv2"
    assert "@バイバイン" in welcome.card_text and "スレッド" in welcome.card_text


async def test_installing_in_an_unregistered_tenant_says_it_must_be_registered(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    await installed(make_chat, fake, tenant_id="tenant-other")
    [notice] = fake.of("POST")
    assert "利用登録がされていません" in notice.card_text
    assert "はじめまして" not in notice.card_text


async def test_a_mention_asking_how_to_use_the_bot_gets_the_help(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await linked(make_chat, fake)
    await post(chat, fake.activity("使い方を教えてください"), fake.token())
    await chat.drain()
    [reply] = fake.of("PUT")
    assert reply.card_text.startswith("自治体版バイバインの使い方です。")
    assert "actions" not in reply.card
