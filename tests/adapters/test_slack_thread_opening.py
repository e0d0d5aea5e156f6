"""A mention in a thread a colleague opened is read with the thread's opening message, as a
colleague would read it (Slack end to end: signed events into ``create_app(...)``, the opening
from the fake Web API's ``conversations.replies`` through the real ``slack_sdk`` client)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from chat_harness import SAMPLE_QUESTION, Chat, MakeChat
from fakes.slack_api import Failure, FakeSlack, SlackCall
from support import serving
from test_slack import send_event, slack_chat

from admin import orgs
from bot.app_keys import SERVICES

OPENING = "来月から住民票の写しの交付手数料が変わるそうです"
# As Slack writes it: a colleague named, a link under its label, an entity.
OPENING_MARKUP = (
    "<@U0KACHO> 来月から<https://www.city.example.lg.jp/tesuryo|住民票の写し>の"
    "交付手数料が変わるそうです &amp; 要確認"
)
OPENING_READ = "来月から住民票の写しの交付手数料が変わるそうです & 要確認"
THREAD = "1700000000.000100"
UNCLEAR = "が何を指しているのか分かりませんでした"


async def linked(make_chat: MakeChat, fake: FakeSlack, **settings: Any) -> Chat:
    """The app answering Slack, its workspace linked to 横浜市."""
    chat = await slack_chat(make_chat, fake, **settings)
    chat.link("横浜市", "slack", fake.team_id)
    return chat


def replies_calls(fake: FakeSlack) -> list[SlackCall]:
    return [c for c in fake.calls if c.method == "conversations.replies"]


def audited_turns(chat: Chat) -> list[dict[str, object]]:
    """The payloads of 横浜市's turns in the audit log, oldest first."""
    org = orgs.get_org(chat.engine, "横浜市")
    records = chat.client.app[SERVICES].auditor.log.export(org.id, None, None, actor="test")
    return [r["payload"] for r in records if r["kind"] == "turn"]


async def ask_in_thread(
    chat: Chat, fake: FakeSlack, text: str, n: int, thread: str = THREAD
) -> str:
    """What the bot shows for a mention of ``text`` replying in ``thread``."""
    mention = fake.mention(text, ts=f"170000020{n}.000100", thread_ts=thread, event_id=f"Ev{n}")
    await send_event(chat, fake, mention)
    await chat.drain()
    return fake.of("chat.update")[-1].block_text


async def test_a_question_pointing_at_a_colleagues_message_is_answered_from_it(
    make_chat, slack_fake, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    chat = await linked(make_chat, slack_fake)
    slack_fake.add_thread(OPENING_MARKUP)
    other = "1700000000.000900"
    slack_fake.add_thread(OPENING, ts=other)

    grounds = await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 1)
    deadline = await ask_in_thread(chat, slack_fake, "その届出の期限は？", 2, thread=other)

    for answer in (grounds, deadline):
        assert UNCLEAR not in answer and "住民基本台帳法" in answer
    assert "住民基本台帳法 第十二条" in grounds  # the article on issuing 住民票の写し
    first, second = replies_calls(slack_fake)
    assert first.authorized and first.body == {
        "channel": "C0CHAN",
        "ts": THREAD,
        "limit": "1",
        "inclusive": "1",
    }
    assert second.body["ts"] == other
    assert chat.turn_outcomes() == ["answered", "answered"]
    # The asker's words are theirs; the message they were read with stands beside them.
    turns = audited_turns(chat)
    assert [t["question"] for t in turns] == [
        "これの根拠となる条例や法律は？",
        "その届出の期限は？",
    ]
    assert [t["thread_opening"] for t in turns] == [OPENING_READ, OPENING]
    assert "住民票" not in caplog.text and "根拠" not in caplog.text


async def test_without_the_history_scope_the_question_is_asked_back_as_before(
    make_chat, slack_fake, caplog
) -> None:
    # The app installed before the scopes were added; then the bot left the channel.
    slack_fake.script(
        "conversations.replies",
        Failure(200, error="missing_scope"),
        Failure(200, error="not_in_channel"),
    )
    slack_fake.add_thread(OPENING)
    caplog.set_level(logging.DEBUG)
    chat = await linked(make_chat, slack_fake)

    asked = await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 1)
    again = await ask_in_thread(
        chat, slack_fake, "その届出の期限は？", 2, thread="1700000000.000900"
    )

    assert asked.startswith("「これ」" + UNCLEAR) and again.startswith("「その届出」" + UNCLEAR)
    assert len(slack_fake.of("chat.postMessage")) == 2  # one placeholder each, replaced
    assert chat.turn_outcomes() == ["unclear", "unclear"]
    assert all("thread_opening" not in t for t in audited_turns(chat))
    assert "slack thread opening not read" in caplog.text
    assert "住民票" not in caplog.text and "根拠" not in caplog.text


async def test_no_opening_is_read_outside_a_thread_nor_used_once_the_bot_answered_there(
    make_chat, slack_fake
) -> None:
    chat = await linked(make_chat, slack_fake)
    top = slack_fake.mention(SAMPLE_QUESTION, ts="1700000100.000100", event_id="E1")
    direct = slack_fake.direct_message(SAMPLE_QUESTION, event_id="E2")
    for event in (top, direct):
        await send_event(chat, slack_fake, event)
        await chat.drain()
    assert replies_calls(slack_fake) == []

    # A colleague's thread the bot has answered in: its own turn is what a follow-up continues.
    slack_fake.add_thread(OPENING)
    await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 3)
    follow_up = await ask_in_thread(chat, slack_fake, "その手数料はいくらですか", 4)
    assert UNCLEAR not in follow_up
    *_, used, ignored = audited_turns(chat)
    assert used["thread_opening"] == OPENING and "thread_opening" not in ignored


async def test_an_opening_the_bot_wrote_is_not_read_as_a_question(make_chat, slack_fake) -> None:
    # The thread of the bot's answer to a direct message (answered outside a thread, so staff
    # reply under the answer), and of a message it posted as an app (``bot_message``): its own
    # words are no colleague's earlier question.
    chat = await linked(make_chat, slack_fake)
    answer_ts, posted_ts = "1700000000.000300", "1700000000.000400"
    mine = {"bot_id": slack_fake.bot_id, "app_id": "A0TEST"}
    slack_fake.add_thread(
        OPENING, channel="D0DM", ts=answer_ts, user=slack_fake.bot_user_id, **mine
    )
    slack_fake.add_thread(OPENING, ts=posted_ts, user="", subtype="bot_message", **mine)

    question = "これの根拠となる条例や法律は？"
    reply = slack_fake.direct_message(question, ts="1700000201.000100", thread_ts=answer_ts)
    await send_event(chat, slack_fake, reply)
    await chat.drain()
    in_dm = slack_fake.of("chat.update")[-1].block_text
    in_channel = await ask_in_thread(chat, slack_fake, question, 2, thread=posted_ts)

    for answer in (in_dm, in_channel):
        assert answer.startswith("「これ」" + UNCLEAR)
    read = replies_calls(slack_fake)  # read, and left out
    assert [(c.body["channel"], c.body["ts"]) for c in read] == [
        ("D0DM", answer_ts),
        ("C0CHAN", posted_ts),
    ]
    assert chat.turn_outcomes() == ["unclear", "unclear"]


async def test_the_model_rewrites_the_question_with_the_opening_and_answers_that(
    make_chat, slack_fake, openai_fake
) -> None:
    standalone = "住民票の写しの交付手数料の根拠となる法令は何ですか"
    openai_fake.script(standalone, "住民票の写しの交付は住民基本台帳法に定めがあります[1]。")
    llm = {"llm_base_url": openai_fake.url, "llm_api_key": "sk-test", "llm_model": "gpt-test"}
    chat = await linked(make_chat, slack_fake, **llm, llm_query_variants=0)
    slack_fake.add_thread(OPENING)

    answer = await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 1)

    assert "住民基本台帳法に定めがあります" in answer and "住民基本台帳法 第" in answer
    rewrite, written = (r.messages for r in openai_fake.chat_requests)
    # The opening is the earlier question, which the bot did not answer.
    assert f"質問: {OPENING}\n回答: \n</turn>" in rewrite[-1]["content"]
    # The answer is written for the question made standalone, with no turn of the bot's.
    assert [m["role"] for m in written] == ["system", "user"]
    assert standalone in written[-1]["content"] and "これの根拠" not in written[-1]["content"]


async def test_the_next_follow_up_in_the_thread_is_still_on_the_openings_subject(
    make_chat, slack_fake
) -> None:
    chat = await linked(make_chat, slack_fake)
    slack_fake.add_thread(OPENING)
    await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 1)
    # The bot's own answer is the thread's history now: its question was on 住民票の写し.
    later = await ask_in_thread(chat, slack_fake, "それは郵送でも請求できますか", 2)
    assert UNCLEAR not in later and "住民基本台帳法" in later
    assert [t.get("thread_opening") for t in audited_turns(chat)] == [OPENING, None]


async def test_a_threads_opening_is_read_once_for_all_its_mentions(make_chat, slack_fake) -> None:
    # Slack lets an app outside its Marketplace read a thread about once a minute: a busy
    # thread's mentions must not each spend that allowance on the same message.
    chat = await linked(make_chat, slack_fake)
    slack_fake.add_thread(OPENING)
    other = "1700000000.000900"
    slack_fake.add_thread(OPENING, ts=other)

    await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 1)
    await ask_in_thread(chat, slack_fake, "その手数料はいくらですか", 2)
    elsewhere = await ask_in_thread(chat, slack_fake, "その届出の期限は？", 3, thread=other)

    assert [c.body["ts"] for c in replies_calls(slack_fake)] == [THREAD, other]
    assert UNCLEAR not in elsewhere and "住民基本台帳法" in elsewhere
    assert chat.turn_outcomes() == ["answered", "answered", "answered"]


async def test_a_question_is_not_held_back_while_slack_asks_to_wait_before_the_next_read(
    make_chat, slack_fake, caplog
) -> None:
    # A 429 asking for a minute: the asker gets the answer their own words allow now, and
    # no read is tried in the workspace until the minute is over.
    slack_fake.script("conversations.replies", Failure(429, {"Retry-After": "60"}))
    slack_fake.add_thread(OPENING)
    slack_fake.add_thread(OPENING, ts="1700000000.000900")
    caplog.set_level(logging.DEBUG)
    chat = await linked(make_chat, slack_fake)

    asked = await ask_in_thread(chat, slack_fake, "これの根拠となる条例や法律は？", 1)
    again = await ask_in_thread(
        chat, slack_fake, "その届出の期限は？", 2, thread="1700000000.000900"
    )
    standalone = await ask_in_thread(chat, slack_fake, SAMPLE_QUESTION, 3, thread="1700000000.1")

    assert asked.startswith("「これ」" + UNCLEAR) and again.startswith("「その届出」" + UNCLEAR)
    assert UNCLEAR not in standalone
    assert [c.status for c in replies_calls(slack_fake)] == [429]  # neither retried nor tried
    assert chat.turn_outcomes() == ["unclear", "unclear", "answered"]
    assert "slack thread opening not read: status=429" in caplog.text
    assert "rate limited" in caplog.text and "住民票" not in caplog.text


GUIDE = "窓口案内\n令和8年度の窓口受付時間は午前8時30分から午後5時15分までとする。".encode()


def opened_with_a_file(fake: FakeSlack, ts: str = THREAD) -> None:
    """A colleague's thread opening with a file, as ``conversations.replies`` gives a shared
    file (name, type, size, private URLs)."""
    url = fake.add_file("F0GUIDE", GUIDE)
    shared = {
        "id": "F0GUIDE",
        "name": "窓口案内.txt",
        "mimetype": "text/plain",
        "size": len(GUIDE),
        "url_private": url,
        "url_private_download": url,
    }
    fake.add_thread("来年度の窓口案内です。ご確認ください。", ts=ts, files=[shared])


def downloads(fake: FakeSlack) -> list[bool]:
    """Whether each download of a private file carried the bot token."""
    return [c.authorized for c in fake.calls if c.method == "file"]


async def test_the_file_a_colleague_opened_the_thread_with_is_what_a_mention_asks_about(
    make_chat, slack_fake
) -> None:
    chat = await linked(make_chat, slack_fake)
    opened_with_a_file(slack_fake)

    summary = await ask_in_thread(chat, slack_fake, "要約してください", 1)
    answered = await ask_in_thread(chat, slack_fake, "この資料では窓口は何時からですか", 2)
    on_its_own = await ask_in_thread(chat, slack_fake, SAMPLE_QUESTION, 3)

    assert summary.startswith("「窓口案内」の要約です") and "午前8時30分" in summary
    assert "午前8時30分" in answered and "住民基本台帳法" not in answered  # from the file
    assert "住民基本台帳法" in on_its_own  # a question of its own is answered from the index
    assert downloads(slack_fake) == [True, True]  # fetched for the two that asked about it
    assert len(replies_calls(slack_fake)) == 1


async def test_after_an_answer_from_the_index_this_article_is_the_one_it_cited(
    make_chat, slack_fake
) -> None:
    chat = await linked(make_chat, slack_fake)
    opened_with_a_file(slack_fake)

    await ask_in_thread(chat, slack_fake, "地方自治法第242条", 1)
    summary = await ask_in_thread(chat, slack_fake, "この条文を要約して", 2)
    named = await ask_in_thread(chat, slack_fake, "地方自治法第242条を要約して", 3)

    for reply in (summary, named):
        assert reply.startswith("「地方自治法 第二百四十二条」の要約です")
    assert downloads(slack_fake) == []


NOTICE_PAGE = """<html><head><title>窓口延長のお知らせ</title></head><body>
<h1>窓口延長のお知らせ</h1>
<p>年度末の繁忙期は、市民課の窓口を平日午後7時まで延長します。</p>
<p>延長時間中は転入・転出の届出のみ受け付けます。</p>
</body></html>"""


async def test_the_document_a_colleague_linked_to_is_what_a_mention_asks_about(
    make_chat, slack_fake
) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=NOTICE_PAGE, content_type="text/html")

    async with serving({"/entyo": page}) as server:
        chat = await linked(make_chat, slack_fake, fetch_allowed_networks="127.0.0.0/8")
        address = str(server.make_url("/entyo"))
        slack_fake.add_thread(f"窓口延長のお知らせが出ました <{address}|お知らせ>")

        summary = await ask_in_thread(chat, slack_fake, "これを要約してください", 1)
        answered = await ask_in_thread(chat, slack_fake, "この延長時間中は何を受け付けますか", 2)

    assert summary.startswith("「窓口延長のお知らせ」の要約です") and "午後7時" in summary
    assert "転入・転出の届出のみ" in answered and address in answered  # cited with its address
    # The asker's words are recorded as sent, the link they were about beside them.
    assert [t["question"] for t in audited_turns(chat)][:1] == ["これを要約してください"]


async def test_a_notice_pasted_as_the_threads_opening_is_what_a_summary_asks_for(
    make_chat, slack_fake
) -> None:
    chat = await linked(make_chat, slack_fake)
    slack_fake.add_thread(
        "窓口延長について\n年度末の繁忙期は、市民課の窓口を平日午後7時まで延長します。"
        "延長時間中は転入・転出の届出のみ受け付けます。"
    )

    summary = await ask_in_thread(chat, slack_fake, "3行で要約してください", 1)

    assert summary.startswith("「窓口延長について」の要約です") and "午後7時" in summary
    # Once the bot has answered in the thread, 「要約して」 is about what its answer cited.
    await ask_in_thread(chat, slack_fake, "地方自治法第242条", 2)
    cited = await ask_in_thread(chat, slack_fake, "要約して", 3)
    assert cited.startswith("「地方自治法 第二百四十二条」の要約です")
