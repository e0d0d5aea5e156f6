"""Slack: what people see when the bot arrives, through signed events into the real app: the
bot added to a channel (``member_joined_channel``), and a user opening its direct messages
(``app_home_opened``, which Slack sends at every opening)."""

from __future__ import annotations

import asyncio
import logging

import pytest
from chat_harness import SAMPLE_QUESTION
from fakes.slack_api import Failure
from test_slack import send_event, slack_chat


async def test_adding_the_bot_to_a_channel_explains_mentions_there(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    joined = slack_fake.member_joined(event_id="E1")
    for _ in range(2):  # the same event delivered again
        assert (await send_event(chat, slack_fake, joined)).status == 200
    colleague = slack_fake.member_joined(user="U0OTHER", event_id="E2")
    await send_event(chat, slack_fake, colleague)  # a colleague joining is not greeted
    await chat.drain()
    [welcome] = slack_fake.of("chat.postMessage")
    assert welcome.body["channel"] == "C0CHAN" and "thread_ts" not in welcome.body
    assert welcome.block_text.startswith("はじめまして。自治体版バイバインです。")
    assert "@バイバイン" in welcome.block_text and "スレッド" in welcome.block_text
    assert not [b for b in welcome.blocks if b["type"] == "actions"]  # nothing to rate


async def test_opening_the_direct_messages_greets_each_user_once(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    opened = [
        slack_fake.home_opened(event_id="E1"),
        slack_fake.home_opened(event_id="E2"),  # opened again later
        slack_fake.home_opened(tab="home", event_id="E3"),  # the Home tab is not the chat
        slack_fake.home_opened(user="U0OTHER", channel="D0OTHER", event_id="E4"),
    ]
    for event in opened:
        assert (await send_event(chat, slack_fake, event)).status == 200
        await chat.drain()
    first, other = slack_fake.of("chat.postMessage")
    assert (first.body["channel"], other.body["channel"]) == ("D0DM", "D0OTHER")
    assert first.block_text.startswith("はじめまして。自治体版バイバインです。")
    assert "そのまま" in first.block_text and "「/baibain help」" in first.block_text


async def test_a_user_told_to_register_is_welcomed_once_the_workspace_is_linked(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    for n in range(2):
        await send_event(chat, slack_fake, slack_fake.home_opened(event_id=f"E{n}"))
        await chat.drain()
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.home_opened(event_id="E3"))
    await chat.drain()
    notice, welcome = slack_fake.of("chat.postMessage")
    assert "利用登録がされていません" in notice.block_text
    assert welcome.block_text.startswith("はじめまして。")


async def test_a_welcome_slack_refuses_is_logged_without_its_text(
    make_chat, slack_fake, caplog: pytest.LogCaptureFixture
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    slack_fake.script("chat.postMessage", Failure(200, error="channel_not_found"))
    with caplog.at_level(logging.INFO):
        await send_event(chat, slack_fake, slack_fake.home_opened(event_id="E1"))
        await chat.drain()
    assert [c.method for c in slack_fake.calls] == ["auth.test", "chat.postMessage"]
    assert "slack welcome not delivered" in caplog.text and "はじめまして" not in caplog.text
    # The app goes on answering.
    await send_event(chat, slack_fake, slack_fake.direct_message(SAMPLE_QUESTION, event_id="E2"))
    await chat.drain()
    assert "十四日以内" in slack_fake.of("chat.update")[0].block_text


async def test_a_greeting_slack_did_not_take_is_given_at_the_next_opening(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    # Rate limited at every attempt: the outbox gives the greeting up.
    slack_fake.script("chat.postMessage", *[Failure(429, {"Retry-After": "0"})] * 5)
    await send_event(chat, slack_fake, slack_fake.home_opened(event_id="E1"))
    await chat.drain()
    assert slack_fake.of("chat.postMessage") == []
    for n in (2, 3):  # the next opening greets; the one after does not again
        await send_event(chat, slack_fake, slack_fake.home_opened(event_id=f"E{n}"))
        await chat.drain()
    [welcome] = slack_fake.of("chat.postMessage")
    assert welcome.block_text.startswith("はじめまして。自治体版バイバインです。")


async def test_openings_at_the_same_moment_greet_once(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    opened = (slack_fake.home_opened(event_id=f"E{n}") for n in range(4))
    await asyncio.gather(*(send_event(chat, slack_fake, event) for event in opened))
    await chat.drain()
    assert len(slack_fake.of("chat.postMessage")) == 1
