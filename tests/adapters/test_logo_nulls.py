"""LoGo Chat deliveries that send JSON ``null`` for an optional field (a gateway with no display
name, no text, no MIME type) are answered as if the field were absent: LoGo shows no webhook
error to the user, so refusing the delivery dropped the question unseen. Required fields stay
required, and a wrong type is still refused."""

from __future__ import annotations

from typing import Any

from chat_harness import SAMPLE_QUESTION
from test_logo import MEMO, deliver, logo_chat


async def test_optional_fields_sent_as_null_are_taken_as_absent(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)

    question = logo_fake.event(SAMPLE_QUESTION, type="message")
    question["user"]["display_name"] = None
    question["message"].update(mentions=None, files=None)
    assert question["thread_id"] is None
    response = await deliver(chat, logo_fake, question)
    assert response.status == 200, await response.text()
    await chat.drain()
    assert "住民基本台帳法" in logo_fake.replies[-1].text

    attached = {**logo_fake.add_file("f-1", "窓口案内.txt", MEMO), "mime_type": None, "size": None}
    summarize = logo_fake.event("/summarize", files=[attached])
    assert (await deliver(chat, logo_fake, summarize)).status == 200
    await chat.drain()
    assert "「窓口案内」の要約です" in logo_fake.replies[-1].text

    mention_only = logo_fake.event("")
    mention_only["message"]["text"] = None
    assert (await deliver(chat, logo_fake, mention_only)).status == 200
    await chat.drain()
    assert "ご質問をメンションに続けて入力してください" in logo_fake.replies[-1].text

    command = logo_fake.event(type="command", command={"name": "help", "text": None})  # type: ignore[dict-item]
    command["message"] = None
    assert (await deliver(chat, logo_fake, command)).status == 200
    await chat.drain()
    assert "コマンド一覧" in logo_fake.replies[-1].text
    assert len(logo_fake.replies) == 4


async def test_required_fields_and_wrong_types_are_still_refused_by_name(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    valid = logo_fake.event(SAMPLE_QUESTION)
    message: dict[str, Any] = valid["message"]
    cases: tuple[tuple[str, dict[str, Any]], ...] = (
        ("event_id", {**valid, "event_id": None}),
        ("user", {**valid, "user": None}),
        ("user.id", {**valid, "user": {"id": None, "display_name": "山田"}}),
        ("user.display_name", {**valid, "user": {"id": "u-1", "display_name": 5}}),
        ("本文", {**valid, "message": None}),  # a mention with no message
        ("message.id", {**valid, "message": {**message, "id": None}}),
        ("message.text", {**valid, "message": {**message, "text": {"body": "質問"}}}),
        ("reply_url", {**valid, "reply_url": None}),
    )
    for field, body in cases:
        response = await deliver(chat, logo_fake, body)
        assert response.status == 400, field
        error = (await response.json())["error"]
        assert error["code"] == "bad_input" and f"（{field}）" in error["message"], error
    await chat.drain()
    assert logo_fake.received == []
