"""LoGo Chat end to end: signed webhooks into ``create_app(...)``, replies at the fake."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from chat_harness import SAMPLE_QUESTION, Chat, MakeChat
from fakes.logo import Failure, FakeLogo
from support import serving

from adapters.logo.handler import LogoAdapter
from bot.chat import CHAT
from bot.turns import AI_FOOTER, Answer, Citation

# Long enough that no answer in these tests is preceded by a notice that it is being written,
# however loaded the machine.
NO_NOTICE_S = 3600.0


async def logo_chat(
    make_chat: MakeChat, fake: FakeLogo, *, notice_after: float = NO_NOTICE_S, **settings: Any
) -> Chat:
    """The app with LoGo enabled; an answer not ready after ``notice_after`` seconds is
    preceded by a notice."""
    chat = await make_chat(
        logo_signing_secret=fake.signing_secret, logo_reply_token=fake.reply_token, **settings
    )
    platforms = chat.client.app[CHAT]
    assert platforms.logo is not None
    platforms.logo = LogoAdapter(
        platforms.logo.config, platforms.logo.runtime, notice_after=notice_after
    )
    return chat


async def deliver(chat: Chat, fake: FakeLogo, body: dict[str, Any], **sign: Any) -> Any:
    raw = fake.encode(body)
    return await chat.client.post(
        "/logo/events", data=raw, headers=fake.signed_headers(raw, **sign)
    )


async def test_mention_in_a_thread_gets_one_threaded_cited_answer(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    body = logo_fake.event(SAMPLE_QUESTION, thread_id="thread-9", event_id="ev-a")
    response = await deliver(chat, logo_fake, body)
    assert response.status == 200
    await chat.drain()
    [reply] = logo_fake.replies
    assert reply.authorized
    assert reply.body["talk_id"] == "talk-1" and reply.body["thread_id"] == "thread-9"
    assert "住民基本台帳法 第二十三条" in reply.text and "出典:" in reply.text
    assert "https://laws.e-gov.go.jp/law/" in reply.text
    assert "[1]" in reply.text and "原文を確認" in reply.text

    retry = await deliver(chat, logo_fake, body)  # the platform retries the same event
    assert retry.status == 200 and (await retry.json())["duplicate"] is True
    await chat.drain()
    assert len(logo_fake.replies) == 1

    # Another municipality's LoGo numbers its events itself: the same id is its own event.
    chat.link("川崎市", "logo", "kawasaki")
    theirs = logo_fake.event(SAMPLE_QUESTION, event_id="ev-a", org_id="kawasaki", talk_id="t-k")
    answered = await deliver(chat, logo_fake, theirs)
    assert "duplicate" not in await answered.json()
    await chat.drain()
    assert [r.body["talk_id"] for r in logo_fake.replies] == ["talk-1", "t-k"]


async def test_a_top_level_mention_is_answered_in_its_thread(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, message_id="m-77"))
    await chat.drain()
    assert logo_fake.replies[0].body["thread_id"] == "m-77"


async def test_direct_message_is_answered(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, type="message"))
    await chat.drain()
    [reply] = logo_fake.replies
    assert reply.body["thread_id"] is None and "住民基本台帳法" in reply.text


async def test_bad_missing_and_expired_signatures_get_401(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    body = logo_fake.event(SAMPLE_QUESTION)
    raw = logo_fake.encode(body)
    cases = [
        logo_fake.signed_headers(raw, secret="wrong-secret"),
        logo_fake.signed_headers(raw, timestamp=int(time.time()) - 301),
        logo_fake.signed_headers(raw, timestamp=int(time.time()) + 400),
        {"Content-Type": "application/json"},
        {**logo_fake.signed_headers(raw), "X-LoGo-Request-Timestamp": "soon"},
        # More digits than Python turns into a number: refused, not a server error.
        {**logo_fake.signed_headers(raw), "X-LoGo-Request-Timestamp": "1" * 5000},
        # Not ASCII: hmac.compare_digest refuses to compare such a string (a server error).
        {**logo_fake.signed_headers(raw), "X-LoGo-Signature": "v0=署名"},
    ]
    for headers in cases:
        response = await chat.client.post("/logo/events", data=raw, headers=headers)
        assert response.status == 401, headers
        assert (await response.json())["error"]["code"] == "unauthorized"
    tampered = raw.replace(b"talk-1", b"talk-2")
    response = await chat.client.post(
        "/logo/events", data=tampered, headers=logo_fake.signed_headers(raw)
    )
    assert response.status == 401
    await chat.drain()
    assert logo_fake.received == []
    # Recorded once: a flood of bad requests does not flood the audit log.
    assert chat.security_events() == [("logo", None)]
    # A gateway that writes the digest's hex digits in capitals signed it all the same.
    headers = logo_fake.signed_headers(raw)
    headers["X-LoGo-Signature"] = "v0=" + headers["X-LoGo-Signature"].removeprefix("v0=").upper()
    assert (await chat.client.post("/logo/events", data=raw, headers=headers)).status == 200
    await chat.drain()
    assert "住民基本台帳法" in logo_fake.replies[0].text


async def test_malformed_payloads_get_400(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    valid = logo_fake.event(SAMPLE_QUESTION)
    bodies: list[bytes] = [
        b"not json",
        b"[]",
        logo_fake.encode({k: v for k, v in valid.items() if k != "user"}),
        logo_fake.encode({**valid, "type": "reaction"}),
        logo_fake.encode({**valid, "type": "command"}),
        logo_fake.encode({**valid, "reply_url": "ftp://example/x"}),
    ]
    for raw in bodies:
        response = await chat.client.post(
            "/logo/events", data=raw, headers=logo_fake.signed_headers(raw)
        )
        assert response.status == 400, raw
        assert "形式" in (await response.json())["error"]["message"]
    # Compressed wrongly (「Content-Encoding: gzip」 over no gzip): unreadable, not a server
    # error the platform would retry.
    unreadable = {**logo_fake.signed_headers(b"no gzip"), "Content-Encoding": "gzip"}
    response = await chat.client.post("/logo/events", data=b"no gzip", headers=unreadable)
    assert response.status == 400 and "圧縮" in (await response.json())["error"]["message"]
    await chat.drain()
    assert logo_fake.received == []


async def test_unknown_organization_is_refused_politely(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, org_id="stranger"))
    await chat.drain()
    [reply] = logo_fake.replies
    assert "利用登録がされていません" in reply.text and "出典" not in reply.text
    assert chat.security_events() == [("logo", None)]


async def test_mention_only_gets_a_usage_hint(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(""))
    await chat.drain()
    # A 1:1 talk needs no mention: the bot's name alone there is asked for the question only.
    await deliver(chat, logo_fake, logo_fake.event("@バイバイン", type="message"))
    await chat.drain()
    talk, one_to_one = logo_fake.replies
    assert "メンションに続けて" in talk.text and "「@バイバイン 使い方」と送ると" in talk.text
    assert one_to_one.text.startswith("ご質問をそのまま入力してください")
    assert "メンション" not in one_to_one.text and "「使い方」と送ると" in one_to_one.text


async def test_quota_set_is_for_operator_admins_only(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    org_id = chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    chat.link("運用", "logo", "operator-org", admins=("op-1",), operator=True)
    command = {"name": "baibain", "text": "quota set 横浜市 500000"}
    senders = (
        ("user-1", logo_fake.org_id),
        ("admin-1", logo_fake.org_id),
        ("op-1", "operator-org"),
    )
    for user, org in senders:
        body = logo_fake.event(type="command", command=command, user_id=user, org_id=org)
        await deliver(chat, logo_fake, body)
        await chat.drain()
    refused_user, refused_admin, operator = (r.text for r in logo_fake.replies)
    assert "運用組織の管理者のみ" in refused_user and "運用組織の管理者のみ" in refused_admin
    assert "上限: 500,000 トークン" in operator
    assert chat.security_events() == [("logo", org_id), ("logo", org_id)]
    huge = {"name": "baibain", "text": "quota set 横浜市 99999999999999999999"}
    body = logo_fake.event(type="command", command=huge, user_id="op-1", org_id="operator-org")
    await deliver(chat, logo_fake, body)
    await chat.drain()
    assert "トークン数は0〜2,147,483,647の整数" in logo_fake.replies[-1].text


async def test_help_lists_commands_and_what_is_not_ready(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event("/help"))
    await chat.drain()
    [reply] = logo_fake.replies
    assert "/summarize <文書名|文書ID|URL|添付> — 文書を要約します" in reply.text
    assert "ファイルを添付して質問すると、その資料から回答します" in reply.text
    assert "/quota set <組織> <トークン数>" in reply.text and "運用組織の管理者のみ" in reply.text
    assert "/ask 質問" in reply.text and AI_FOOTER not in reply.text


class LongAssistant:
    """An answer core that writes a long answer (about 9,000 characters)."""

    async def ask(self, question: str, asker: Any, on_progress: Any = None) -> Answer:
        paragraph = "住民監査請求は、普通地方公共団体の住民が行うことができます。" * 30
        text = "\n\n".join(f"{i}. {paragraph}" for i in range(1, 10))
        source = Citation(n=1, title="地方自治法 第二百四十二条", url="https://laws.e-gov.go.jp/x")
        return Answer(text=text, citations=(source,), turn_id="a" * 32)


async def test_long_answers_are_split_in_order(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    chat.client.app[CHAT].router.assistant = LongAssistant()  # type: ignore[assignment]
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    await chat.drain()
    texts = [r.text for r in logo_fake.replies]
    assert len(texts) >= 3 and all(len(t) <= 4000 for t in texts)
    assert texts[0].startswith("1. ") and "9. " in texts[-1]
    assert "出典:" in texts[-1] and "原文を確認" in texts[-1]
    assert all("出典:" not in t for t in texts[:-1])


async def test_429_and_5xx_are_retried_honoring_retry_after(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    logo_fake.script(Failure(429, {"Retry-After": "0"}), Failure(503, {"Retry-After": "0"}))
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    await chat.drain()
    assert [r.status for r in logo_fake.received] == [429, 503, 200]
    assert logo_fake.received[0].body == logo_fake.received[2].body


class GatedAssistant:
    """An answer core that answers only when the test opens the gate."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.started = asyncio.Event()

    async def ask(self, question: str, asker: Any, on_progress: Any = None) -> Answer:
        self.started.set()
        await self.gate.wait()
        return Answer(text="ゲートの回答です。", turn_id="b" * 32)


async def test_the_webhook_is_acknowledged_before_the_answer(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    gated = GatedAssistant()
    chat.client.app[CHAT].router.assistant = gated  # type: ignore[assignment]
    response = await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    assert response.status == 200  # while the answer is still being written
    await gated.started.wait()
    assert logo_fake.received == []
    gated.gate.set()
    await chat.drain()
    assert [r.text.split("\n")[0] for r in logo_fake.replies] == ["ゲートの回答です。"]


async def test_disabled_when_not_configured(make_chat, logo_fake) -> None:
    chat = await make_chat()
    response = await chat.client.post("/logo/events", json={})
    assert response.status == 503
    body = await response.json()
    assert body["error"]["code"] == "platform_disabled"
    assert "BAIBAIN_LOGO_SIGNING_SECRET" in body["error"]["message"]


async def test_admins_manage_data_from_the_chat(make_chat, logo_fake) -> None:
    from aiohttp import web

    async def rule(_request: web.Request) -> web.Response:
        return web.Response(
            text="テスト市手数料条例\n住民票の写しの交付手数料は一通三百円とする。",
            content_type="text/plain",
        )

    async def broken(_request: web.Request) -> web.Response:
        return web.Response(body=b"PK\x03\x04 not really", content_type="application/zip")

    async with serving({"/tesuryo.txt": rule, "/kowareta.zip": broken}) as server:
        # The rule is served on loopback, a network the operator has to allow.
        chat = await logo_chat(make_chat, logo_fake, fetch_allowed_networks="127.0.0.0/8")
        chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
        url = server.make_url("/tesuryo.txt")
        commands = (
            f"/upload {server.make_url('/kowareta.zip')} データセット=壊れた規則 分類=統計",
            f"/upload {url} データセット=手数料条例 種類=例規 license=CC-BY",
            f"/upload {url} データセット=手数料条例 共有=する",
            f"/upload {url} データセット=手数料条例 分類=条例・規則・例規",
            f"/upload {url} データセット=手数料条例",
            "/datasets",
            "/quota",
            "/usage",
            "/要約 地方自治法第242条",
        )
        for text in commands:
            await deliver(chat, logo_fake, logo_fake.event(text, user_id="admin-1"))
            await chat.drain()
        replies = (r.text for r in logo_fake.replies)
        refused, unknown, share, uploaded, again, listed, quota, usage, summary = replies
    # Options it does not know are named, not ignored, and nothing is uploaded.
    assert "「種類=」、「license=」は使えない指定です。" in unknown and "分類=" in unknown
    assert "「共有=可」か「共有=不可」" in share
    assert "「手数料条例」に 1 件の文書を登録しました" in uploaded and "組織内のみ" in uploaded
    assert "内容が変わっていないため、更新していません（変更なし 1 件）" in again
    assert "手数料条例（条例・規則・例規・組織内のみ・1件）" in listed
    assert "・サンプル法令データ（e-Gov法令検索（デジタル庁）の法令、同梱）" in listed
    assert "kowareta.zip" in refused and "壊れた規則" not in listed  # no empty dataset left
    assert "上限: 1,000,000 トークン" in quota and "リセット日" in quota
    assert "質問数:" in usage
    assert "「地方自治法 第二百四十二条」の要約です" in summary and "原文を確認" in summary

    await deliver(chat, logo_fake, logo_fake.event("住民票の写しの手数料はいくらですか"))
    await chat.drain()
    assert "三百円" in logo_fake.replies[-1].text

    # Any member lists a dataset's documents and summarizes one by the name shown there.
    dataset_id = re.search(r"\[(\d+)\] 手数料条例", listed)[1]  # type: ignore[index]
    for text in (f"/datasets {dataset_id}", "/datasets 手数料", "/summarize tesuryo.txt"):
        await deliver(chat, logo_fake, logo_fake.event(text))
        await chat.drain()
    documents, not_a_number, by_file_name = (r.text for r in logo_fake.replies[-3:])
    assert f"文書ID: ds{dataset_id}/tesuryo.txt" in documents
    assert "番号を数字で指定してください" in not_a_number
    assert "の要約です" in by_file_name and "三百円" in by_file_name

    # An admin deletes the one document, by the id the listing showed.
    delete = f"/dataset delete {dataset_id} ds{dataset_id}/tesuryo.txt"
    for text in (delete, "住民票の写しの手数料はいくらですか"):
        await deliver(chat, logo_fake, logo_fake.event(text, user_id="admin-1"))
        await chat.drain()
    deleted, asked = (r.text for r in logo_fake.replies[-2:])
    assert "データセット「手数料条例」から文書「テスト市手数料条例」を削除しました" in deleted
    assert "三百円" not in asked


MEMO = "窓口案内\n令和8年度の窓口受付時間は午前8時30分から午後5時15分までとする。".encode()


async def test_an_attached_file_is_fetched_with_the_reply_token_and_summarized(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    attached = logo_fake.add_file("f-1", "窓口案内.txt", MEMO)
    elsewhere = {**attached, "download_url": "https://files.example.com/f-1"}
    for files in ([attached], [elsewhere]):
        await deliver(chat, logo_fake, logo_fake.event("/summarize", files=files))
        await chat.drain()
    summary, refused = (reply.text for reply in logo_fake.replies)
    assert "「窓口案内」の要約です" in summary and "午前8時30分" in summary
    assert logo_fake.downloads == [True]  # the other host got no request, and no token
    assert "添付ファイルを受け取れませんでした" in refused

    # The same as a command event (「/baibain summarize」 with the file attached).
    command = logo_fake.event("summarize", type="command")
    command["message"] = {"id": "m-c", "text": "/baibain summarize", "files": [attached]}
    await deliver(chat, logo_fake, command)
    await chat.drain()
    assert "「窓口案内」の要約です" in logo_fake.replies[-1].text


async def test_a_message_with_a_file_is_answered_from_it_or_summarized(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    memo = logo_fake.add_file("f-2", "窓口案内.txt", MEMO)
    picture = logo_fake.add_file("f-3", "画面.png", b"\x89PNG\r\n\x1a\n")
    sent = (
        ("窓口は何時から開いていますか", [memo]),
        ("これを要約してください", [picture, memo]),
        (SAMPLE_QUESTION, [picture]),  # a screenshot beside a question is left aside
    )
    for text, files in sent:
        await deliver(chat, logo_fake, logo_fake.event(text, files=files))
        await chat.drain()
    answered, summarized, from_index = (reply.text for reply in logo_fake.replies)
    assert "午前8時30分" in answered and "窓口案内" in answered  # quoted and cited
    assert "住民基本台帳法" not in answered  # from the file, not the index
    assert "「窓口案内」の要約です" in summarized and "「画面.png」は要約していません" in summarized
    assert "住民基本台帳法" in from_index


async def test_uploading_a_source_again_under_a_new_file_name_replaces_it(
    make_chat, logo_fake
) -> None:
    from aiohttp import web

    served = {
        "name": "tesuryo-r7.txt",
        "text": "手数料条例\n住民票の写しの交付手数料は三百円とする。",
    }

    async def latest(_request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/files/{served['name']}")

    async def dated(_request: web.Request) -> web.Response:
        return web.Response(text=served["text"], content_type="text/plain")

    async with serving({"/latest": latest, "/files/{name}": dated}) as server:
        chat = await logo_chat(make_chat, logo_fake, fetch_allowed_networks="127.0.0.0/8")
        chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
        upload = (
            f"/upload {server.make_url('/latest')} データセット=手数料条例 分類=条例・規則・例規"
        )
        for name in ("tesuryo-r7.txt", "tesuryo-r8.txt"):
            served["name"] = name
            await deliver(chat, logo_fake, logo_fake.event(upload, user_id="admin-1"))
            await chat.drain()
        await deliver(chat, logo_fake, logo_fake.event("/datasets 1"))
        await chat.drain()
    listed = logo_fake.replies[-1].text
    assert "ds1/tesuryo-r8.txt" in listed and "tesuryo-r7.txt" not in listed


async def test_a_message_far_too_long_to_ask_is_answered_with_the_limit(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    pasted = "次の文章を確認してください。" + "住民票の写しの交付について。" * 3000  # 42,000字
    response = await deliver(chat, logo_fake, logo_fake.event(pasted))
    assert response.status == 200
    await chat.drain()
    [reply] = logo_fake.replies
    assert "質問が長すぎます" in reply.text and "ファイルにして添付" in reply.text


async def test_a_command_after_the_bots_name_is_a_command_in_any_talk(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    one_to_one = logo_fake.event("@バイバイン /quota", type="message", user_id="admin-1")
    spaced = logo_fake.event("/quota", user_id="admin-1")
    spaced["message"]["text"] = "@自治体版 バイバイン /quota"  # a display name with a space
    for body in (one_to_one, spaced):
        await deliver(chat, logo_fake, body)
        await chat.drain()
    assert all("上限: 1,000,000 トークン" in reply.text for reply in logo_fake.replies)
    assert len(logo_fake.replies) == 2
