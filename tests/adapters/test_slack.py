"""Slack end to end: signed Events API, slash command and interactivity requests into
``create_app(...)`` (slack-bolt inside), answers at the fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from chat_harness import SAMPLE_QUESTION, Chat, MakeChat, eventually
from fakes.openai_server import Hang
from fakes.slack_api import Failure, FakeSlack, SlackCall

from adapters.slack.translate import ACTION_DOWN, ACTION_UP
from admin.links import feedback_for, hash_user
from bot.app_keys import SERVICES
from bot.chat import CHAT
from bot.turns import Answer, Attachment
from bot.uploads import UploadFile

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


async def slack_chat(make_chat: MakeChat, fake: FakeSlack, **settings: Any) -> Chat:
    chat = await make_chat(
        slack_bot_token=fake.bot_token,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        **settings,
    )
    return chat


async def send(chat: Chat, fake: FakeSlack, body: str, content: dict[str, str], **sign: Any):  # type: ignore[no-untyped-def]
    headers = {**content, **fake.signed_headers(body, **sign)}
    return await chat.client.post("/slack/events", data=body.encode(), headers=headers)


async def send_event(chat: Chat, fake: FakeSlack, payload: dict[str, Any], **sign: Any):  # type: ignore[no-untyped-def]
    return await send(chat, fake, json.dumps(payload, ensure_ascii=False), JSON, **sign)


async def answers_to_mentions(chat: Chat, fake: FakeSlack, count: int) -> list[SlackCall]:
    """The answers to ``count`` mentions of ``SAMPLE_QUESTION``, each in a thread of its own,
    as shown in place of their placeholders."""
    shown = []
    for n in range(1, count + 1):
        mention = fake.mention(SAMPLE_QUESTION, ts=f"170000010{n}.000100", event_id=f"Ev{n}")
        await send_event(chat, fake, mention)
        await chat.drain()
        shown.append(fake.of("chat.update")[-1])
    return shown


async def test_mention_in_a_thread_gets_one_threaded_cited_answer(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    event = slack_fake.mention(
        SAMPLE_QUESTION, ts="1700000100.000300", thread_ts="1700000000.000100"
    )
    response = await send_event(chat, slack_fake, event)
    assert response.status == 200
    await chat.drain()
    [placeholder] = slack_fake.of("chat.postMessage")
    [update] = slack_fake.of("chat.update")
    assert placeholder.authorized and update.authorized
    assert placeholder.body["thread_ts"] == "1700000000.000100"  # the parent's thread
    assert placeholder.body["text"] == "回答を作成しています…"
    assert update.body["ts"] == "1700000000.000001" and update.body["channel"] == "C0CHAN"
    text = update.block_text
    assert "<https://laws.e-gov.go.jp/law/" in text and "|住民基本台帳法 第二十三条>" in text
    assert "第二十三条・" not in text  # the article is in the title, not repeated after it
    assert "[1]" in text and "原文を確認" in text
    buttons = next(b for b in update.blocks if b["type"] == "actions")["elements"]
    assert [b["action_id"] for b in buttons] == [ACTION_UP, ACTION_DOWN]
    assert len(buttons[0]["value"]) == 32

    retry = await send(
        chat,
        slack_fake,
        json.dumps(event, ensure_ascii=False),
        {**JSON, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    assert retry.status == 200
    await chat.drain()
    assert len(slack_fake.of("chat.postMessage")) == 1 and len(slack_fake.of("chat.update")) == 1


async def test_a_top_level_mention_is_answered_in_its_own_thread(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION, ts="1700000555.000001"))
    await chat.drain()
    assert slack_fake.of("chat.postMessage")[0].body["thread_ts"] == "1700000555.000001"


async def test_direct_message_is_answered(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.direct_message(SAMPLE_QUESTION))
    await chat.drain()
    [placeholder] = slack_fake.of("chat.postMessage")
    assert placeholder.body["channel"] == "D0DM" and "thread_ts" not in placeholder.body
    assert "住民基本台帳法" in slack_fake.of("chat.update")[0].block_text


async def test_own_messages_edits_and_channel_chatter_are_ignored(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    own = slack_fake.direct_message("私はボットです", user=slack_fake.bot_user_id, event_id="E1")
    edited = slack_fake.direct_message(SAMPLE_QUESTION, event_id="E2")
    edited["event"] |= {"subtype": "message_changed"}
    bot = slack_fake.direct_message(SAMPLE_QUESTION, event_id="E3")
    bot["event"]["bot_id"] = "B0OTHER"
    channel = slack_fake.direct_message(SAMPLE_QUESTION, event_id="E4")
    channel["event"]["channel_type"] = "channel"
    for payload in (own, edited, bot, channel):
        response = await send_event(chat, slack_fake, payload)
        assert response.status == 200
    await chat.drain()
    assert slack_fake.of("chat.postMessage") == []


async def test_members_of_another_workspace_in_a_shared_channel_are_not_answered(
    make_chat, slack_fake
) -> None:
    # A Slack Connect channel: the sender belongs to another organization's workspace.
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    external = slack_fake.mention(SAMPLE_QUESTION, user="U0GUEST", event_id="E1")
    external["event"] |= {"user_team": "T0OTHER", "source_team": "T0OTHER"}
    internal = slack_fake.mention(SAMPLE_QUESTION, event_id="E2", ts="1700000100.000300")
    internal["event"] |= {"user_team": slack_fake.team_id}
    for payload in (external, internal):
        assert (await send_event(chat, slack_fake, payload)).status == 200
    await chat.drain()
    [placeholder] = slack_fake.of("chat.postMessage")
    assert placeholder.body["thread_ts"] == "1700000100.000300"  # the member's question only


async def test_bad_and_expired_signatures_get_401(make_chat, slack_fake, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    event = slack_fake.mention(SAMPLE_QUESTION)
    for sign in ({"secret": "wrong"}, {"timestamp": int(time.time()) - 301}):
        response = await send_event(chat, slack_fake, event, **sign)
        assert response.status == 401, sign
    body = json.dumps(event, ensure_ascii=False)
    for timestamp in ("", "soon", "1" * 5000):  # no time at all: refused, not a server error
        headers = {**JSON, **slack_fake.signed_headers(body)}
        headers["X-Slack-Request-Timestamp"] = timestamp
        response = await chat.client.post("/slack/events", data=body.encode(), headers=headers)
        assert response.status == 401, timestamp[:10]
        assert (await response.json())["error"]["code"] == "unauthorized"
    # Not ASCII: hmac.compare_digest refuses to compare such a string (a server error).
    headers = {**JSON, **slack_fake.signed_headers(body), "X-Slack-Signature": "v0=署名"}
    response = await chat.client.post("/slack/events", data=body.encode(), headers=headers)
    assert response.status == 401
    unsigned = await chat.client.post("/slack/events", json=event)
    assert unsigned.status == 401
    garbage = await chat.client.post("/slack/events", data=b"{not json", headers=JSON)
    assert garbage.status == 401
    await chat.drain()
    assert [c.method for c in slack_fake.calls if c.method != "auth.test"] == []
    assert chat.security_events() == [("slack", None)]
    # A refused request's message text is not written to the log either.
    assert "引っ越し" not in caplog.text


async def test_signed_but_malformed_body_gets_400(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    response = await send(chat, slack_fake, "{not json", JSON)
    assert response.status == 400
    assert (await response.json())["error"]["code"] == "bad_input"
    # JSON that is no object, and a form whose payload is none: bolt fails on them with a
    # server error, so they are refused before it sees them.
    for body, content in (
        ("null", JSON),
        ("[]", JSON),
        ("7", JSON),
        ('{"a": ' + "[" * 5000 + "]" * 5000 + "}", JSON),
        ("payload=%5B%5D", FORM),
    ):
        response = await send(chat, slack_fake, body, content)
        assert response.status == 400, body[:20]
        assert (await response.json())["error"]["code"] == "bad_input"


async def test_a_body_that_is_not_utf8_is_unsigned_not_a_server_error(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    headers = {**JSON, **slack_fake.signed_headers("{}")}  # a signature of another body
    response = await chat.client.post("/slack/events", data=b'{"a": "\xff"}', headers=headers)
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"


async def test_url_verification_is_answered(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    payload = {"token": "t", "challenge": "chal-123", "type": "url_verification"}
    response = await send_event(chat, slack_fake, payload)
    assert response.status == 200
    assert "chal-123" in await response.text()


async def test_slash_command_help_is_acknowledged_then_answered(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    response = await send(chat, slack_fake, slack_fake.slash_command("help"), FORM)
    assert response.status == 200
    assert (await response.json())["text"] == "回答を作成しています…"
    await chat.drain()
    [answer] = slack_fake.of("response")
    assert answer.body["response_type"] == "ephemeral"
    summarize = "/baibain summarize &lt;文書名|文書ID|URL|添付&gt; — 文書を要約します"
    assert summarize in answer.block_text


async def test_slash_command_question_is_answered(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send(chat, slack_fake, slack_fake.slash_command(SAMPLE_QUESTION), FORM)
    await chat.drain()
    [answer] = slack_fake.of("response")
    assert "住民基本台帳法 第二十三条" in answer.block_text


async def test_slash_commands_of_two_members_of_a_channel_are_two_conversations(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ALICE",))
    said = (
        ("ask 生活保護の申請はどうすればよいですか", "U0ALICE"),
        ("summarize", "U0BOB"),  # Bob never saw Alice's answer: it was hers alone
        ("summarize", "U0ALICE"),
        ("datasets abc", "U0ALICE"),
    )
    for text, user in said:
        await send(chat, slack_fake, slack_fake.slash_command(text, user=user), FORM)
        await chat.drain()
    answer, bobs, alices, hint = (c.block_text for c in slack_fake.of("response"))
    assert "生活保護法" in answer
    assert "要約する文書の名前・文書ID・URL" in bobs and "生活保護" not in bobs
    assert "生活保護法" in alices
    # A command named in a reply is written as Slack takes it, after /baibain.
    assert "（/baibain datasets で確認できます）" in hint


async def test_a_slash_command_sent_again_is_carried_out_once(make_chat, slack_fake) -> None:
    # Slack never retries a slash command; the same signed request again, within the 300 s
    # its signature is good for, is someone replaying it (a proxy's log, a captured request).
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    body = slack_fake.slash_command("usage", user="U0ADMIN")
    headers = {**FORM, **slack_fake.signed_headers(body)}
    for _ in range(2):
        response = await chat.client.post("/slack/events", data=body.encode(), headers=headers)
        assert response.status == 200
    await chat.drain()
    [answer] = slack_fake.of("response")
    assert "横浜市の利用状況（" in answer.block_text


async def test_non_admin_quota_set_is_refused_and_recorded(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    org_id = chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await send(chat, slack_fake, slack_fake.slash_command("quota set 横浜市 100"), FORM)
    await chat.drain()
    await send(chat, slack_fake, slack_fake.slash_command("usage", user="U0ADMIN"), FORM)
    await chat.drain()
    refused, allowed = (c.block_text for c in slack_fake.of("response"))
    assert "運用組織の管理者のみが実行できます" in refused
    assert "横浜市の利用状況（" in allowed
    assert chat.security_events() == [("slack", org_id)]


async def test_feedback_click_is_stored_and_thanked(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    org_id = chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await chat.drain()
    update = slack_fake.of("chat.update")[0]
    turn_id = next(b for b in update.blocks if b["type"] == "actions")["elements"][0]["value"]
    for action in (ACTION_UP, ACTION_DOWN):  # the second click replaces the first
        response = await send(chat, slack_fake, slack_fake.button_click(action, turn_id), FORM)
        assert response.status == 200
    await chat.drain()
    [stored] = feedback_for(chat.engine, turn_id)
    assert stored.rating == "down" and stored.org_id == org_id
    assert stored.user_hash == hash_user("slack", "U0USER")
    assert "ご評価ありがとうございました" in slack_fake.of("response")[0].body["text"]


async def test_unknown_workspace_is_refused_politely(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION, team_id="T0OTHER"))
    await chat.drain()
    text = slack_fake.of("chat.update")[0].block_text
    assert "利用登録がされていません" in text and "原文を確認" not in text
    assert chat.security_events() == [("slack", None)]


async def test_mention_only_gets_a_usage_hint(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.mention(""))
    await chat.drain()
    update = slack_fake.of("chat.update")[0]
    assert "メンションに続けて" in update.block_text
    assert not [b for b in update.blocks if b["type"] == "actions"]


async def test_thanks_in_the_thread_of_an_answer_gets_a_short_reply(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    thread = "1700000000.000100"
    sent = ((SAMPLE_QUESTION, "1700000100.000300"), ("ありがとうございます！", "1700000200.000400"))
    for n, (text, ts) in enumerate(sent):
        event = slack_fake.mention(text, ts=ts, thread_ts=thread, event_id=f"Ev{n}")
        await send_event(chat, slack_fake, event)
        await chat.drain()
    answer, thanks = slack_fake.of("chat.update")
    assert "住民基本台帳法" in answer.block_text
    assert thanks.block_text.startswith("どういたしまして")
    assert "住民基本台帳法" not in thanks.block_text  # not the previous answer again
    assert not [b for b in thanks.blocks if b["type"] == "actions"]  # nothing to rate


async def test_rate_limited_update_is_retried(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    slack_fake.script(
        "chat.update", Failure(429, {"Retry-After": "0"}), Failure(500, {"Retry-After": "0"})
    )
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await chat.drain()
    statuses = [c.status for c in slack_fake.calls if c.method == "chat.update"]
    assert statuses == [429, 500, 200]


async def test_an_answer_whose_placeholder_cannot_be_updated_is_posted(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    slack_fake.script("chat.update", Failure(200, error="message_not_found"))
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await chat.drain()
    placeholder, answer = slack_fake.of("chat.postMessage")
    assert placeholder.body["text"] == "回答を作成しています…"
    assert "住民基本台帳法" in answer.block_text  # not lost with the refused update


async def test_shared_files_download_with_the_bot_token_only_from_slack(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    from adapters.common import DownloadRefused

    adapter = chat.client.app[CHAT].slack
    assert adapter is not None
    url = slack_fake.add_file("reiki.pdf", b"%PDF-1.4 test")
    assert await adapter.download(Attachment(name="reiki.pdf", url=url)) == b"%PDF-1.4 test"
    assert [c.authorized for c in slack_fake.calls if c.method == "file"] == [True]
    for bad in ("https://evil.example/files/reiki.pdf", url.replace("reiki", "missing")):
        try:
            await adapter.download(Attachment(name="x", url=bad))
        except DownloadRefused:
            continue
        raise AssertionError(f"downloaded {bad}")


async def test_upload_asks_for_the_dataset_name(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0USER",))
    event = slack_fake.direct_message("/upload 分類=例規 共有=可")
    event["event"] |= {
        "subtype": "file_share",
        "files": [{"id": "F1", "name": "reiki.pdf", "mimetype": "application/pdf", "size": 9}],
    }
    await send_event(chat, slack_fake, event)
    await chat.drain()
    assert "データセット=名前" in slack_fake.of("chat.update")[0].block_text


async def test_disabled_when_not_configured(make_chat) -> None:
    chat = await make_chat()
    response = await chat.client.post("/slack/events", data=b"{}", headers=JSON)
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "platform_disabled"


async def test_ack_comes_first_and_the_placeholder_is_replaced_later(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    gate, started = asyncio.Event(), asyncio.Event()

    class SlowAssistant:
        async def ask(self, question: str, asker: Any, on_progress: Any = None) -> Answer:
            started.set()
            await gate.wait()  # an LLM taking 30 s
            return Answer(text="お待たせしました。", turn_id="f" * 32)

    chat.client.app[CHAT].router.assistant = SlowAssistant()  # type: ignore[assignment]
    response = await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    assert response.status == 200
    await started.wait()
    assert [c.method for c in slack_fake.calls] == ["auth.test", "chat.postMessage"]
    gate.set()
    await chat.drain()
    assert slack_fake.of("chat.update")[0].block_text.startswith("お待たせしました。")


async def test_an_admin_uploads_a_shared_file_into_a_dataset(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0USER",))
    rule = "横浜市手数料条例\n住民票の写しの交付手数料は一通三百円とする。".encode()
    url = slack_fake.add_file("tesuryo.txt", rule)
    event = slack_fake.direct_message("/upload データセット=手数料 分類=条例・規則・例規")
    event["event"] |= {
        "subtype": "file_share",
        "files": [
            {
                "id": "F2",
                "name": "tesuryo.txt",
                "mimetype": "text/plain",
                "size": len(rule),
                "url_private_download": url,
            }
        ],
    }
    await send_event(chat, slack_fake, event)
    await chat.drain()
    reply = slack_fake.of("chat.update")[0].block_text
    assert "「手数料」に 1 件の文書を登録しました" in reply
    question = slack_fake.direct_message("住民票の写しの手数料はいくらですか", event_id="Ev0002")
    await send_event(chat, slack_fake, question)
    await chat.drain()
    assert "三百円" in slack_fake.of("chat.update")[-1].block_text


async def test_a_shutdown_replaces_the_placeholder_of_an_unfinished_answer(
    make_chat, slack_fake, openai_fake
) -> None:
    openai_fake.script(Hang())  # the model never answers
    settings = {"llm_base_url": openai_fake.url, "llm_api_key": "sk-test", "llm_model": "m"}
    chat = await slack_chat(
        make_chat, slack_fake, **settings, llm_query_variants=0, chat_shutdown_grace_s=0.2
    )
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await eventually(lambda: slack_fake.of("chat.postMessage"))
    [placeholder] = slack_fake.of("chat.postMessage")
    assert placeholder.body["text"] == "回答を作成しています…"
    await chat.client.close()  # a deploy: the answer is cancelled after the grace period
    [apology] = slack_fake.of("chat.update")
    assert "問題が発生しました" in apology.body["text"]


async def test_a_slack_connect_channel_gets_answers_from_shared_data_only(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    org_id = chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0USER",))
    services = chat.client.app[SERVICES]
    dataset = services.datasets.create(org_id, "窓口規程", "条例・規則・例規")
    rule = "横浜市窓口受付規程\n窓口の受付時間は午前8時30分から午後5時15分までとする。"
    await services.uploads.upload(
        dataset,
        [UploadFile("窓口受付規程.txt", rule.encode())],
        publisher="横浜市",
        uploader="u",
        platform="api",
    )
    question = "窓口の受付時間は何時からですか"
    inside = slack_fake.mention(question, event_id="E1", ts="1700000100.000300")
    shared = slack_fake.mention(question, event_id="E2", ts="1700000100.000400")
    shared["is_ext_shared_channel"] = True
    listing = slack_fake.mention("/datasets", event_id="E3", ts="1700000100.000500")
    listing["is_ext_shared_channel"] = True
    for payload in (inside, shared, listing):
        assert (await send_event(chat, slack_fake, payload)).status == 200
        await chat.drain()
    own, connect, refused = (update.block_text for update in slack_fake.of("chat.update"))
    assert "午前8時30分" in own
    assert "午前8時30分" not in connect and "窓口受付規程" not in connect
    assert "他の組織のメンバーも参加しているため" in refused and "窓口規程" not in refused


@pytest.mark.parametrize("filler_lines", [0, 5000], ids=["small", "300KB"])
async def test_a_direct_message_with_a_file_is_answered_from_the_file(
    make_chat, slack_fake, filler_lines: int
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    # A large file, the answer at its end: more than one read of the download brings.
    filler = "".join(
        f"第{n}項 庁舎の清掃は、業者に委託して毎週行う。\n" for n in range(filler_lines)
    )
    rule = "令和8年度の窓口受付時間は午前8時30分から午後5時15分までとする。"
    memo = f"窓口案内\n{filler}{rule}".encode()
    url = slack_fake.add_file("madoguchi.txt", memo)
    event = slack_fake.direct_message("窓口は何時から開いていますか")
    event["event"] |= {
        "subtype": "file_share",
        "files": [{"id": "F1", "name": "madoguchi.txt", "size": len(memo), "url_private": url}],
    }
    await send_event(chat, slack_fake, event)
    await chat.drain()
    [answer] = slack_fake.of("chat.update")
    assert "午前8時30分" in answer.block_text and "・添付ファイル）" in answer.block_text
    assert [c.authorized for c in slack_fake.calls if c.method == "file"] == [True]
