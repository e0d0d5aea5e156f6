"""Microsoft Teams end to end: activities signed like the Bot Framework signs them, validated by
botframework-connector against the fake's OpenID metadata, answered at the fake connector."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from chat_harness import SAMPLE_QUESTION, Chat, MakeChat, eventually
from fakes.botframework import Failure, FakeBotFramework
from fakes.openai_server import Hang

from admin.links import feedback_for, hash_user

TENANT = "tenant-test"
THREAD = "19:general@thread.tacv2;messageid=1700000000000"


async def teams_chat(make_chat: MakeChat, fake: FakeBotFramework, **settings: Any) -> Chat:
    return await make_chat(
        teams_app_id=fake.app_id,
        teams_app_password=fake.app_password,
        teams_openid_metadata_url=fake.metadata_url,
        teams_token_url=fake.token_url,
        **settings,
    )


async def linked_teams(make_chat: MakeChat, fake: FakeBotFramework) -> Chat:
    """The app with Teams enabled, its tenant ``TENANT`` linked to 横浜市."""
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    return chat


async def post(chat: Chat, activity: dict[str, Any], token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return await chat.client.post("/api/messages", json=activity, headers=headers)


async def test_channel_thread_mention_gets_one_threaded_cited_card(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    activity = fake.activity(SAMPLE_QUESTION, activity_id="1700000000555")
    response = await post(chat, activity, fake.token())
    assert response.status == 200
    await chat.drain()
    [placeholder] = fake.of("POST")
    [update] = fake.of("PUT")
    assert placeholder.authorized and update.authorized
    assert unquote(placeholder.conversation_id) == THREAD  # the reply stays in the thread
    assert placeholder.activity_id == "1700000000555"
    assert placeholder.body["text"] == "回答を作成しています…"
    assert update.activity_id == "bot-activity-1"
    assert re.search(r"［\d］ \[住民基本台帳法 第二十三条\]\(https://laws\.e-gov", update.card_text)
    assert "［1］" in update.card_text and "サンプル法令データ" in update.card_text
    assert "原文を確認" in update.card_text
    actions = update.card["actions"]
    assert [a["data"]["rating"] for a in actions] == ["up", "down"]
    assert all(a["type"] == "Action.Execute" for a in actions)
    assert [r["client_id"] for r in fake.token_requests] == [fake.app_id]

    retry = await post(chat, activity, fake.token())
    assert retry.status == 200
    await chat.drain()
    assert len(fake.calls) == 2


async def test_a_question_about_another_person_mentioned_keeps_their_name(
    make_chat, botframework_fake, openai_fake
) -> None:
    fake = botframework_fake
    openai_fake.script("転入した日から十四日以内に届け出てください[1]。")
    llm = {"llm_base_url": openai_fake.url, "llm_api_key": "sk-test", "llm_model": "gpt-test"}
    chat = await teams_chat(make_chat, fake, **llm, llm_query_variants=0)
    chat.link("横浜市", "teams", TENANT)
    question = "<at>田中 太郎</at>さんが引っ越したら何日以内に届け出ますか"
    await post(chat, fake.activity(question, others=(("田中 太郎", "aad-tanaka"),)), fake.token())
    await chat.drain()
    asked = openai_fake.chat_requests[-1].messages[-1]["content"]
    assert "田中 太郎さんが引っ越したら何日以内に届け出ますか" in asked
    assert "十四日以内" in fake.of("PUT")[-1].card_text


async def test_personal_chat_is_answered(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    activity = fake.activity(
        SAMPLE_QUESTION, conversation_id="a:1personal", conversation_type="personal", mention=False
    )
    await post(chat, activity, fake.token())
    await chat.drain()
    assert unquote(fake.of("PUT")[0].conversation_id) == "a:1personal"
    assert "住民基本台帳法" in fake.of("PUT")[0].card_text


async def test_invalid_expired_and_missing_tokens_get_401(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    activity = fake.activity(SAMPLE_QUESTION)
    bad_tokens = [
        fake.token(rogue=True),  # signed with a key the metadata does not publish
        fake.token(expires_in=-600),  # expired beyond the 5 minutes of clock skew
        fake.token(audience="another-bot"),
        fake.token(service_url="https://attacker.example/"),
        fake.token(issuer="https://sts.windows.net/someone/"),
        "not-a-jwt",
        "署名.署名.署名",  # not ASCII
        None,
    ]
    for token in bad_tokens:
        response = await post(chat, activity, token)
        assert response.status == 401, token
        assert (await response.json())["error"]["code"] == "unauthorized"
    await chat.drain()
    assert fake.calls == [] and fake.token_requests == []
    assert ("teams", None) in chat.security_events()


async def test_malformed_activity_gets_400(make_chat, botframework_fake) -> None:
    chat = await teams_chat(make_chat, botframework_fake)
    bodies = (b"not json", b"[]", b'{"text": "no type"}', b'{"type": "message", "from": "x"}')
    deep = b'{"type": "message", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"  # unauthenticated
    for body in (*bodies, deep):
        response = await chat.client.post(
            "/api/messages", data=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 400, body[:40]


async def test_a_feedback_click_is_stored_and_thanked_to_the_one_who_clicked(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    org_id = chat.link("横浜市", "teams", TENANT)
    await post(chat, fake.activity(SAMPLE_QUESTION), fake.token())
    await chat.drain()
    answer = fake.of("PUT")[0]
    up, down = answer.card["actions"]
    for n, button in enumerate((up, down)):  # the second click replaces the first
        click = fake.card_action(button, card_id=answer.activity_id, activity_id=f"f:click-{n}")
        response = await post(chat, click, fake.token())
        # Teams shows this message under the card to the person who clicked, and to no one else.
        assert response.status == 200
        assert await response.json() == {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": "ご評価ありがとうございました。今後の改善に役立てます。",
        }
    await chat.drain()
    [stored] = feedback_for(chat.engine, up["data"]["turn_id"])
    assert (stored.rating, stored.org_id) == ("down", org_id)
    assert stored.user_hash == hash_user("teams", "aad-user-1")
    assert len(fake.calls) == 2  # the answer card is left as it is for everyone else


async def test_a_click_on_a_card_posted_with_submit_buttons_is_stored_and_thanked(
    make_chat, botframework_fake
) -> None:
    # Cards posted before the buttons became Action.Execute send a message with the data,
    # which a message in reply answers.
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    await post(chat, fake.activity(SAMPLE_QUESTION), fake.token())
    await chat.drain()
    turn_id = fake.of("PUT")[0].card["actions"][0]["data"]["turn_id"]
    answered = len(fake.calls)
    data = {"kind": "baibain.feedback", "turn_id": turn_id, "rating": "up"}
    submit = fake.activity("", activity_id="1700000000999", value=data, mention=False)
    assert (await post(chat, submit, fake.token())).status == 200
    await chat.drain()
    [stored] = feedback_for(chat.engine, turn_id)
    assert stored.rating == "up"
    [thanks] = fake.calls[answered:]
    assert thanks.method == "POST" and thanks.authorized
    assert unquote(thanks.conversation_id) == THREAD  # in the thread of the card
    assert thanks.activity_id == thanks.body["replyToId"] == "1700000000999"
    assert thanks.body["text"] == "ご評価ありがとうございました。今後の改善に役立てます。"


async def test_non_admin_quota_set_is_refused(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    org_id = chat.link("横浜市", "teams", TENANT, admins=("aad-admin",))
    await post(chat, fake.activity("/quota set 横浜市 100"), fake.token())
    await chat.drain()
    assert "運用組織の管理者のみが実行できます" in fake.of("PUT")[0].card_text
    assert chat.security_events() == [("teams", org_id)]


async def test_unknown_tenant_and_mention_only(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    await post(chat, fake.activity(SAMPLE_QUESTION, tenant_id="other"), fake.token())
    await chat.drain()
    await post(chat, fake.activity("", activity_id="1700000000777"), fake.token())
    await chat.drain()
    refusal, hint = (c.card_text for c in fake.of("PUT"))
    assert "利用登録がされていません" in refusal
    assert "メンションに続けて" in hint


async def test_rate_limited_connector_is_retried(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    fake.script(Failure(429, {"Retry-After": "0"}))
    await post(chat, fake.activity(SAMPLE_QUESTION), fake.token())
    await chat.drain()
    assert [c.status for c in fake.calls] == [429, 200, 200]
    assert len(fake.token_requests) == 1  # the token is reused


async def test_an_answer_whose_placeholder_cannot_be_updated_is_sent_as_a_reply(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    fake.script(Failure(404), method="PUT")  # the placeholder was deleted meanwhile
    await post(chat, fake.activity(SAMPLE_QUESTION), fake.token())
    await chat.drain()
    placeholder, answer = fake.of("POST")
    assert placeholder.body["text"] == "回答を作成しています…"
    assert "住民基本台帳法" in answer.card_text  # not lost with the refused update


async def test_local_mode_needs_an_empty_app_id_and_the_opt_in(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    disabled = await make_chat(teams_openid_metadata_url=fake.metadata_url)
    response = await post(disabled, fake.activity(SAMPLE_QUESTION), None)
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "platform_disabled"

    fake.accept_anonymous = True  # like the Bot Framework Emulator
    local = await make_chat(allow_insecure_local=True)
    local.link("横浜市", "teams", TENANT)
    response = await post(local, fake.activity(SAMPLE_QUESTION), None)
    assert response.status == 200
    await local.drain()
    assert [c.authorized for c in fake.calls] == [False, False]  # no token is sent
    # Through a reverse proxy on this machine, anyone could post as anyone: refused.
    proxied = await local.client.post(
        "/api/messages",
        json=fake.activity(SAMPLE_QUESTION),
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert proxied.status == 401
    await local.drain()
    assert len(fake.calls) == 2


async def test_activities_from_other_channels_are_not_trusted(make_chat, botframework_fake) -> None:
    # In Web Chat or Direct Line the client writes the tenant and the user itself.
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    activity = {**fake.activity(SAMPLE_QUESTION), "channelId": "webchat"}
    response = await post(chat, activity, fake.token())
    assert response.status == 200
    await chat.drain()
    assert fake.calls == []


async def test_local_mode_is_refused_on_a_public_bind(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    public = await make_chat(allow_insecure_local=True, host="0.0.0.0")
    response = await post(public, fake.activity(SAMPLE_QUESTION), None)
    assert response.status == 503
    assert (await response.json())["error"]["code"] == "platform_disabled"


async def test_a_shutdown_replaces_the_placeholder_of_an_unfinished_answer(
    make_chat, botframework_fake, openai_fake
) -> None:
    fake = botframework_fake
    openai_fake.script(Hang())  # the model never answers
    settings = {"llm_base_url": openai_fake.url, "llm_api_key": "sk-test", "llm_model": "m"}
    chat = await teams_chat(
        make_chat, fake, **settings, llm_query_variants=0, chat_shutdown_grace_s=0.2
    )
    chat.link("横浜市", "teams", TENANT)
    await post(chat, fake.activity(SAMPLE_QUESTION), fake.token())
    await eventually(lambda: fake.of("POST"))
    assert fake.of("POST")[0].body["text"] == "回答を作成しています…"
    await chat.client.close()  # a deploy: the answer is cancelled after the grace period
    [apology] = fake.of("PUT")
    assert "問題が発生しました" in json.dumps(apology.body, ensure_ascii=False)


def personal(fake: FakeBotFramework, text: str, activity_id: str, attachment: Any) -> Any:
    """A personal-chat message with one attachment."""
    activity = fake.activity(
        text,
        activity_id=activity_id,
        conversation_id="a:1personal",
        conversation_type="personal",
        mention=False,
    )
    activity["attachments"] = [attachment]
    return activity


async def test_a_file_attached_in_personal_chat_is_summarized(make_chat, botframework_fake) -> None:
    fake = botframework_fake
    memo = "窓口案内\n令和8年度の窓口受付時間は午前8時30分から午後5時15分までとする。".encode()
    attachment = fake.file_attachment("窓口案内.txt", memo)
    # The fake serves the file where SharePoint would; by default only SharePoint is trusted.
    for n, hosts in enumerate((urlsplit(fake.root_url).netloc, "sharepoint.com")):
        chat = await teams_chat(make_chat, fake, teams_file_hosts=hosts)
        if n == 0:
            chat.link("横浜市", "teams", TENANT)
        activity = personal(fake, "/summarize", f"170000000020{n}", attachment)
        await post(chat, activity, fake.token())
        await chat.drain()
    summary, refused = (call.card_text for call in fake.of("PUT"))
    assert "「窓口案内」の要約です" in summary and "午前8時30分" in summary
    assert fake.downloads == ["窓口案内.txt"]  # not fetched from outside the file hosts
    assert "添付ファイルを受け取れませんでした" in refused


async def test_a_picture_pasted_in_personal_chat_is_named_with_the_formats_read(
    make_chat, botframework_fake
) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake)
    chat.link("横浜市", "teams", TENANT)
    pasted = {"contentType": "image/png", "contentUrl": f"{fake.root_url}/inline/x.png"}
    for n, text in enumerate(("要約して", "")):
        activity = personal(fake, text, f"170000000030{n}", pasted)
        await post(chat, activity, fake.token())
        await chat.drain()
    for reply in (call.card_text for call in fake.of("PUT")):
        assert "「画像.png」は対応していない形式のファイルです" in reply and "PDF" in reply
    assert fake.downloads == []  # nothing fetched: Baibain reads no pictures
