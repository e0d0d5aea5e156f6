"""LoGo Chat replies cannot be edited: an answer not ready after a few seconds is preceded by
one notice in the same talk and thread that it is being written, and a quick one by none."""

from __future__ import annotations

import asyncio

from chat_harness import SAMPLE_QUESTION, eventually
from fakes.logo import Failure, FakeLogo
from fakes.openai_server import FakeOpenAIServer, Hang, Reply
from support import llm_settings
from test_logo import deliver, logo_chat

from adapters.progress import DelayedNotice
from bot.turns import Stage

ANSWER = "転入した日から十四日以内に、住所地の市町村長に届け出てください[1]。"
WAITING = "回答を作成しています。少々お待ちください。"


def answers_once_posted_to(model: FakeOpenAIServer, logo: FakeLogo) -> None:
    """The model's answer comes only after LoGo received a post (a model slower than the
    notice, whatever the machine's load)."""
    model.script(Reply(ANSWER, after=lambda: eventually(lambda: logo.received)))


async def test_a_slow_answer_is_preceded_by_one_notice_in_its_thread(
    make_chat, logo_fake, openai_fake: FakeOpenAIServer
) -> None:
    answers_once_posted_to(openai_fake, logo_fake)
    settings = llm_settings(openai_fake.url)
    chat = await logo_chat(make_chat, logo_fake, notice_after=0, **settings)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, thread_id="thread-9"))
    await chat.drain()
    notice, answer = logo_fake.replies
    assert notice.text == WAITING
    assert "十四日以内" in answer.text and "出典:" in answer.text
    places = {(r.body["talk_id"], r.body["thread_id"]) for r in (notice, answer)}
    assert places == {("talk-1", "thread-9")}


async def test_a_quick_answer_gets_no_notice(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)  # offline: quoted from the sources at once
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    await chat.drain()
    [answer] = logo_fake.received
    assert "住民基本台帳法" in answer.text and WAITING not in answer.text


async def test_a_notice_that_fails_does_not_keep_the_answer_from_arriving(
    make_chat, logo_fake, openai_fake: FakeOpenAIServer
) -> None:
    answers_once_posted_to(openai_fake, logo_fake)
    logo_fake.script(Failure(500))  # the notice
    settings = llm_settings(openai_fake.url)
    chat = await logo_chat(make_chat, logo_fake, notice_after=0, **settings)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    await chat.drain()
    refused, answer = logo_fake.received  # the notice is not retried: the answer is next
    assert refused.status == 500 and refused.text == WAITING
    assert answer.status == 200 and "十四日以内" in answer.text


async def test_a_shutdown_after_the_notice_leaves_an_apology_not_the_notice(
    make_chat, logo_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(Hang())  # the model never answers
    settings = llm_settings(openai_fake.url) | {"chat_shutdown_grace_s": 0.2}
    chat = await logo_chat(make_chat, logo_fake, notice_after=0, **settings)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, thread_id="thread-9"))
    await eventually(lambda: logo_fake.received)
    await chat.client.close()  # a deploy: the answer is cancelled after the grace period
    notice, apology = logo_fake.replies
    assert notice.text == WAITING
    assert "問題が発生しました" in apology.text and apology.body["thread_id"] == "thread-9"


async def test_a_summary_read_in_parts_is_noticed_with_its_stage() -> None:
    said: list[str] = []

    async def say(text: str) -> None:
        said.append(text)

    async with DelayedNotice(say, 0, "logo") as notice:
        await notice(Stage("「備蓄計画」を要約しています（3/8 の部分を読みました）"))
        await eventually(lambda: said, pause=0)
    assert said == ["「備蓄計画」を要約しています（3/8 の部分を読みました）。少々お待ちください。"]


async def test_an_answer_ready_in_time_or_cancelled_sends_no_notice() -> None:
    said: list[str] = []

    async def say(text: str) -> None:
        said.append(text)

    async with DelayedNotice(say, 3600, "logo"):
        pass  # answered
    cancelled = DelayedNotice(say, 0, "logo")
    await cancelled.__aenter__()
    await cancelled.abandon()  # shut down before the notice was due to start
    assert said == []
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "logo-notice"]  # none left


async def test_an_answer_ready_while_its_notice_is_sent_follows_the_notice() -> None:
    said: list[str] = []
    sent = asyncio.Event()

    async def say(text: str) -> None:
        said.append("notice sent")
        await sent.wait()  # LoGo takes its time
        said.append("notice delivered")

    async def answered() -> None:
        async with DelayedNotice(say, 0, "logo"):
            await eventually(lambda: said, pause=0)  # the answer is ready now
        said.append("answer")

    answering = asyncio.create_task(answered())
    for _ in range(100):  # turns of the event loop in which the answer could get ahead
        await asyncio.sleep(0)
    sent.set()
    await answering
    assert said == ["notice sent", "notice delivered", "answer"]


async def test_a_notice_on_its_way_when_the_answer_is_cancelled_counts_as_sent() -> None:
    on_its_way = asyncio.Event()

    async def say(text: str) -> None:
        on_its_way.set()
        await asyncio.Event().wait()  # LoGo has the request and has not answered yet

    notice = DelayedNotice(say, 0, "logo")
    await notice.__aenter__()
    await on_its_way.wait()
    await notice.abandon()  # shutdown
    assert notice.sent  # the talk may have it, so the apology follows
