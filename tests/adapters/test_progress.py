"""A model's answer appears as it is written: on Slack and Teams the placeholder message shows
the text so far until the answer with its sources replaces it; LoGo, which cannot edit a reply,
gets the answer once. A long document's summary shows how many of its parts were read."""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from chat_harness import SAMPLE_QUESTION, Chat, MakeChat, eventually
from fakes.botframework import Failure as ConnectorFailure
from fakes.botframework import FakeBotFramework
from fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from fakes.slack_api import Failure, FakeSlack
from support import llm_settings
from test_logo import deliver, logo_chat
from test_slack import FORM, send, send_event, slack_chat
from test_teams import TENANT, post, teams_chat

from adapters.progress import PlaceholderProgress
from knowledge.summaries import MAP_CONCURRENCY

MARK = "（回答を作成しています…）"
ANSWER = "転入した日から**十四日以内**に、住所地の市町村長に届け出てください[1]。"
PARTS_READ = r"「備蓄計画」を要約しています（(\d+)/(\d+) の部分を読みました）"
MERGING = r"「備蓄計画」の要約をまとめています（(\d+) の部分をすべて読みました）"
MERGED = "各地区は避難所の備蓄品を定期的に点検します。"
# A budget that reads more parts than are summarized at once: the first part's stage is shown
# while the others are still read.
IN_PARTS = {"summary_token_budget": 60_000}


def written(fake: FakeOpenAIServer, text: str = ANSWER, chunk_chars: int = 4) -> None:
    """The model's next answer, streamed in pieces of ``chunk_chars`` characters."""
    fake.script(Reply(text, chunk_chars=chunk_chars))


def plan(sections: int = 1500) -> bytes:
    """備蓄計画: about 65,000 characters, summarized in more parts than the model is asked
    at once (with ``IN_PARTS``), then merged; with few ``sections``, in one call."""
    lines = [
        f"第{n}節 第{n}地区では、避難所の備蓄品を年{n % 4 + 1}回点検し、結果を市に報告する。"
        for n in range(1, sections)
    ]
    return "\n".join(["備蓄計画", *lines]).encode()


def summarizes_in_parts(fake: FakeOpenAIServer) -> None:
    """The model summarizes each part, then merges them into ``MERGED``."""

    def reply(request: RecordedRequest) -> Reply:
        merging = "部分ごとに要約したもの" in request.messages[-1]["content"]
        return Reply(MERGED if merging else "この部分では備蓄品の点検を定めています。")

    fake.default = reply


def stages(shown: list[str]) -> list[tuple[str, ...]]:
    """What each placeholder edit said of the parts: (done, total) or (total,) when merging;
    an edit that said anything else fails the test."""
    said = []
    for text in shown:
        matched = re.fullmatch(PARTS_READ, text) or re.fullmatch(MERGING, text)
        assert matched, text
        said.append(matched.groups())
    return said


async def on_slack(
    make_chat: MakeChat, slack: FakeSlack, model: FakeOpenAIServer, **settings: Any
) -> Chat:
    """The app on Slack with the model, in a workspace linked to an organization."""
    chat = await slack_chat(make_chat, slack, **llm_settings(model.url), **settings)
    chat.link("横浜市", "slack", slack.team_id)
    return chat


async def asked_on_slack(
    make_chat: MakeChat, slack: FakeSlack, model: FakeOpenAIServer, event: str = "mention"
) -> None:
    """The sample question asked on Slack (``event``: how), and its answer delivered."""
    chat = await on_slack(make_chat, slack, model)
    await send_event(chat, slack, getattr(slack, event)(SAMPLE_QUESTION))
    await chat.drain()


async def asked_on_teams(
    make_chat: MakeChat, teams: FakeBotFramework, model: FakeOpenAIServer
) -> None:
    """The sample question asked in a Teams channel, and its answer delivered."""
    chat = await teams_chat(make_chat, teams, **llm_settings(model.url))
    chat.link("横浜市", "teams", TENANT)
    await post(chat, teams.activity(SAMPLE_QUESTION), teams.token())
    await chat.drain()


@pytest.mark.parametrize("where", ["mention", "direct_message"])
async def test_slack_shows_the_answer_in_its_placeholder_as_it_is_written(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer, where: str
) -> None:
    written(openai_fake)
    await asked_on_slack(make_chat, slack_fake, openai_fake, where)
    [placeholder] = slack_fake.of("chat.postMessage")
    assert placeholder.body["text"] == "回答を作成しています…"
    *partial, final = slack_fake.of("chat.update")
    assert partial and len({u.body["ts"] for u in [*partial, final]}) == 1  # the placeholder
    shown = partial[0].block_text
    assert shown.startswith("転入した") and shown.endswith(MARK)
    assert "出典" not in shown and all(b["type"] == "section" for b in partial[0].blocks)
    answer = final.block_text
    assert "転入した日から十四日以内に、住所地の市町村長に届け出てください[1]。" in answer
    assert MARK not in answer and "出典" in answer and "住民基本台帳法" in answer
    assert [b for b in final.blocks if b["type"] == "actions"]  # 👍/👎


@pytest.mark.parametrize(
    "failure",
    [Failure(200, error="cant_update_message"), Failure(429, {"Retry-After": "1"})],
    ids=["refused", "rate_limited"],
)
async def test_a_failed_progress_update_on_slack_still_ends_with_the_answer(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer, failure: Failure
) -> None:
    written(openai_fake)
    slack_fake.script("chat.update", failure)
    await asked_on_slack(make_chat, slack_fake, openai_fake)
    progress, final = [c for c in slack_fake.calls if c.method == "chat.update"]
    assert progress.body["text"].endswith(MARK)  # the edit that failed, not tried again
    assert "十四日以内" in final.block_text and "出典" in final.block_text
    assert len(slack_fake.of("chat.postMessage")) == 1  # in place of the placeholder


async def test_slack_shows_a_long_answer_so_far_within_one_section(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    long = "転入した日から十四日以内に届け出てください[1]。" * 150  # 3,600 characters
    written(openai_fake, long, chunk_chars=len(long))
    await asked_on_slack(make_chat, slack_fake, openai_fake)
    partial, *final = slack_fake.of("chat.update")
    [section] = partial.blocks
    shown = section["text"]["text"]
    assert len(shown) <= 3000 and shown.endswith(f"…\n\n{MARK}")
    assert "[1]" not in shown  # its sources are numbered once the answer is checked
    assert "出典" in final[-1].block_text


async def test_a_shutdown_while_the_answer_is_written_leaves_the_apology_on_slack(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(Reply(ANSWER, chunk_chars=4, stall_after=2))  # the model stops midway
    chat = await on_slack(make_chat, slack_fake, openai_fake, chat_shutdown_grace_s=0.2)
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await eventually(lambda: slack_fake.of("chat.update"))
    assert slack_fake.of("chat.update")[0].body["text"].endswith(MARK)
    await chat.client.close()  # a deploy: the answer is cancelled after the grace period
    apology = slack_fake.of("chat.update")[-1]
    assert "問題が発生しました" in apology.body["text"] and MARK not in apology.body["text"]


async def test_a_slack_slash_command_is_answered_once(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    # Its placeholder is the command's ephemeral acknowledgement, which cannot be edited.
    written(openai_fake)
    chat = await on_slack(make_chat, slack_fake, openai_fake)
    await send(chat, slack_fake, slack_fake.slash_command(f"ask {SAMPLE_QUESTION}"), FORM)
    await chat.drain()
    assert slack_fake.of("chat.update") == [] and slack_fake.of("chat.postMessage") == []
    [response] = slack_fake.of("response")
    assert "十四日以内" in response.block_text and MARK not in response.block_text


async def test_teams_shows_the_answer_in_its_placeholder_as_it_is_written(
    make_chat, botframework_fake, openai_fake: FakeOpenAIServer
) -> None:
    fake = botframework_fake
    written(openai_fake)
    await asked_on_teams(make_chat, fake, openai_fake)
    [placeholder] = fake.of("POST")
    assert placeholder.body["text"] == "回答を作成しています…"
    *partial, final = fake.of("PUT")
    assert partial and {u.activity_id for u in [*partial, final]} == {"bot-activity-1"}
    assert partial[0].body["text"].startswith("転入した")
    assert partial[0].body["text"].endswith(MARK) and not partial[0].card
    assert "十四日以内" in final.card_text and "住民基本台帳法" in final.card_text
    assert MARK not in final.card_text and final.card["actions"]


async def test_a_failed_progress_update_on_teams_still_ends_with_the_answer(
    make_chat, botframework_fake, openai_fake: FakeOpenAIServer
) -> None:
    fake = botframework_fake
    written(openai_fake)
    fake.script(ConnectorFailure(404), method="PUT")
    await asked_on_teams(make_chat, fake, openai_fake)
    progress, final = [c for c in fake.calls if c.method == "PUT"]
    assert progress.status == 404 and progress.body["text"].endswith(MARK)
    assert final.status == 200 and "十四日以内" in final.card_text
    assert len(fake.of("POST")) == 1  # in place of the placeholder, not a second reply


async def test_logo_gets_the_answer_once(
    make_chat, logo_fake, openai_fake: FakeOpenAIServer
) -> None:
    written(openai_fake)
    chat = await logo_chat(make_chat, logo_fake, **llm_settings(openai_fake.url))
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    await chat.drain()
    [reply] = logo_fake.replies
    assert "十四日以内" in reply.text and "出典:" in reply.text and MARK not in reply.text


async def summarized_on_slack(
    make_chat: MakeChat, slack: FakeSlack, document: bytes, **settings: Any
) -> None:
    """備蓄計画.txt sent in a direct message with 「要約して」, and its summary delivered."""
    chat = await slack_chat(make_chat, slack, **settings)
    chat.link("横浜市", "slack", slack.team_id)
    url = slack.add_file("備蓄計画.txt", document)
    event = slack.direct_message("要約して")
    file = {"id": "F1", "name": "備蓄計画.txt", "size": len(document), "url_private": url}
    event["event"] |= {"subtype": "file_share", "files": [file]}
    await send_event(chat, slack, event)
    await chat.drain()


async def test_slack_shows_how_many_parts_of_a_long_document_its_summary_has_read(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    summarizes_in_parts(openai_fake)
    settings = llm_settings(openai_fake.url) | IN_PARTS
    await summarized_on_slack(make_chat, slack_fake, plan(), **settings)
    parts = len(openai_fake.chat_requests) - 1  # then the merge
    assert parts > MAP_CONCURRENCY
    *partial, final = slack_fake.of("chat.update")
    said = stages([u.block_text for u in partial])
    assert ("1", str(parts)) in said  # the first part read is shown at once
    assert all(b["type"] == "section" for u in partial for b in u.blocks)
    assert final.block_text.startswith("「備蓄計画」の要約です") and MERGED in final.block_text
    assert MARK not in final.block_text and "出典" in final.block_text


@pytest.mark.parametrize("model", [True, False], ids=["in_one_call", "offline"])
async def test_a_summary_not_written_in_parts_shows_no_stage(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer, model: bool
) -> None:
    openai_fake.script("各地区は避難所の備蓄品を点検します。")
    settings = llm_settings(openai_fake.url) if model else {}
    document = plan(sections=20) if model else plan()
    await summarized_on_slack(make_chat, slack_fake, document, **settings)
    [summary] = slack_fake.of("chat.update")  # the summary in place of the placeholder
    assert summary.block_text.startswith("「備蓄計画」の要約です")
    assert len(openai_fake.chat_requests) == int(model)  # offline: quoted, no model at all


async def test_teams_shows_how_many_parts_of_a_long_document_its_summary_has_read(
    make_chat, botframework_fake, openai_fake: FakeOpenAIServer
) -> None:
    fake = botframework_fake
    summarizes_in_parts(openai_fake)
    hosts = urlsplit(fake.root_url).netloc  # where the fake serves the file
    settings = llm_settings(openai_fake.url) | IN_PARTS
    chat = await teams_chat(make_chat, fake, teams_file_hosts=hosts, **settings)
    chat.link("横浜市", "teams", TENANT)
    activity = fake.activity(
        "/summarize",
        conversation_id="a:1personal",
        conversation_type="personal",
        mention=False,
    )
    activity["attachments"] = [fake.file_attachment("備蓄計画.txt", plan())]
    await post(chat, activity, fake.token())
    await chat.drain()
    parts = len(openai_fake.chat_requests) - 1
    *partial, final = fake.of("PUT")
    assert ("1", str(parts)) in stages([u.body["text"] for u in partial])
    assert not any(u.card for u in partial)
    assert final.card_text.startswith("「備蓄計画」の要約です") and MERGED in final.card_text


async def test_a_slow_edit_holds_nothing_up_and_the_next_shows_the_newest_text() -> None:
    shown: list[str] = []
    slow = asyncio.Event()

    async def show(text: str) -> None:
        shown.append(text)
        await slow.wait()  # a platform taking its time

    progress = PlaceholderProgress(show, "slack")
    for text in ("転入", "転入した日", "転入した日から十四日"):
        await progress(text)  # returns at once, the model goes on writing
        await asyncio.sleep(0)
    assert shown == ["転入"]
    slow.set()
    await eventually(lambda: len(shown) > 1, pause=0)
    assert shown == ["転入", "転入した日から十四日"]  # the newest; the one between was stale
    await progress.finish()  # the answer goes in next: nothing more is shown
    await progress("転入した日から十四日以内")
    await asyncio.sleep(0)
    assert shown == ["転入", "転入した日から十四日"]
