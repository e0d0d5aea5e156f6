"""Slack threads run no slash command, and a Teams channel's thread reaches the bot only with
a mention: replies read there name commands as a mention of the bot (「@バイバイン
/datasets」), which works, and the slash command where that works."""

from __future__ import annotations

import re

from chat_harness import Chat, MakeChat
from fakes.slack_api import FakeSlack
from test_slack import FORM, send, send_event, slack_chat
from test_teams import linked_teams, post

THREAD = "1700000000.000100"


async def thread_reply(chat: Chat, fake: FakeSlack, text: str, **options: object) -> str:
    """What the bot shows in place of its placeholder for a mention in ``THREAD``."""
    before = len(fake.of("chat.update"))
    event_id = f"Ev{before}-{len(fake.of('chat.postMessage'))}"
    mention = fake.mention(text, thread_ts=THREAD, event_id=event_id, **options)
    await send_event(chat, fake, mention)
    await chat.drain()
    [shown] = fake.of("chat.update")[before:]
    return shown.block_text


async def linked(make_chat: MakeChat, fake: FakeSlack) -> Chat:
    chat = await slack_chat(make_chat, fake)
    chat.link("横浜市", "slack", fake.team_id, admins=("U0ADMIN",))
    return chat


def slash_forms(text: str) -> list[str]:
    """The slash commands a reply tells its reader to type (「/baibain …」)."""
    return re.findall(r"「/baibain [^」]*」", text)


async def test_a_refusal_in_a_thread_names_the_command_as_a_mention(make_chat, slack_fake) -> None:
    chat = await linked(make_chat, slack_fake)
    refused = await thread_reply(chat, slack_fake, "/usage")
    assert "「@バイバイン /usage」は組織の管理者のみが実行できます" in refused
    assert slash_forms(refused) == []
    # The slash command's reply is read in the channel, where /baibain works.
    await send(chat, slack_fake, slack_fake.slash_command("usage"), FORM)
    await chat.drain()
    [response] = slack_fake.of("response")
    assert "「/baibain usage」は組織の管理者のみが実行できます" in response.block_text


async def test_help_in_a_thread_lists_what_works_in_the_thread(make_chat, slack_fake) -> None:
    chat = await linked(make_chat, slack_fake)
    help_ = await thread_reply(chat, slack_fake, "使い方")
    assert "このスレッドでは、コマンドは「@バイバイン /help」のようにメンションに続けて" in help_
    assert "（スレッドの外では「/baibain help」）" in help_
    assert "「@バイバイン データセット」のように日本語でも送れます" in help_
    assert "・@バイバイン /datasets [番号] — " in help_
    assert slash_forms(help_) == ["「/baibain help」"]  # only where it is said to be outside
    # What it says to type works in the thread: the name alone after the mention, too.
    assert "利用できるデータセット:" in await thread_reply(chat, slack_fake, "データセット")


async def test_a_hint_in_a_thread_can_be_followed_as_written(make_chat, slack_fake) -> None:
    chat = await linked(make_chat, slack_fake)
    typo = await thread_reply(chat, slack_fake, "/データ", user="U0ADMIN")
    assert "（もしかして: @バイバイン /データセット）" in typo
    assert "@バイバイン /help でコマンドの一覧を表示します" in typo
    listing = await thread_reply(chat, slack_fake, "/データセット", user="U0ADMIN")
    assert "利用できるデータセット:" in listing
    quota = await thread_reply(chat, slack_fake, "/quota set 横浜市 5", user="U0ADMIN")
    assert "「@バイバイン /quota set」は運用組織の管理者のみが実行できます" in quota


async def test_a_direct_message_names_slash_commands_outside_threads_only(
    make_chat, slack_fake
) -> None:
    chat = await linked(make_chat, slack_fake)
    await send_event(chat, slack_fake, slack_fake.direct_message("/usage", event_id="E1"))
    await chat.drain()
    top = slack_fake.of("chat.update")[-1].block_text
    assert "「/baibain usage」は組織の管理者のみが実行できます" in top
    # A reply in the DM's thread: slash commands do not run there, a mention does.
    mention = f"<@{slack_fake.bot_user_id}> /usage"
    in_thread = slack_fake.direct_message(mention, event_id="E2", thread_ts=THREAD)
    await send_event(chat, slack_fake, in_thread)
    await chat.drain()
    threaded = slack_fake.of("chat.update")[-1].block_text
    assert "「@バイバイン /usage」は組織の管理者のみが実行できます" in threaded


async def test_teams_names_commands_as_a_mention_in_a_channel_only(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await linked_teams(make_chat, fake)
    await post(chat, fake.activity("/usage"), fake.token())  # a channel's thread
    await chat.drain()
    assert "「@バイバイン /usage」は組織の管理者のみ" in fake.of("PUT")[-1].card_text
    await post(chat, fake.activity("使い方", activity_id="h-1"), fake.token())
    await chat.drain()
    help_ = fake.of("PUT")[-1].card_text
    assert "ここでは、コマンドは「@バイバイン /help」のようにメンションに続けて" in help_
    assert "（個人チャットでは「/help」）" in help_ and "・@バイバイン /usage — " in help_
    group = fake.activity(
        "/usage", activity_id="g-1", conversation_id="19:g@thread.v2", conversation_type="groupChat"
    )
    await post(chat, group, fake.token())  # only a mention reaches the bot there too
    await chat.drain()
    assert "「@バイバイン /usage」は組織の管理者のみ" in fake.of("PUT")[-1].card_text
    personal = fake.activity(
        "/usage", activity_id="p-1", conversation_id="a:personal-1", conversation_type="personal"
    )
    await post(chat, personal, fake.token())
    await chat.drain()
    assert "「/usage」は組織の管理者のみ" in fake.of("PUT")[-1].card_text
