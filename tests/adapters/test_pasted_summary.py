"""A notice or e-mail pasted into a message that asks for its summary is summarized, as an
attached text file would be, in chat (LoGo Chat end to end; the web page's REST route and the
command line read messages alike: ``document_asked``); a question about pasted text is still
answered as a question."""

from __future__ import annotations

from chat_harness import Chat, MakeChat
from fakes.logo import FakeLogo
from test_logo import deliver, logo_chat
from test_slack_thread_opening import audited_turns

NOTICE = (
    "住民票の写し等の交付手数料の改定について\n"
    "令和8年4月1日から、住民票の写し等の交付手数料を改定します。改定後の手数料は、住民票の"
    "写し1通につき350円、印鑑登録証明書1通につき350円となります。コンビニ交付サービスを利用"
    "した場合は、1通につき250円です。問い合わせ先は市民課です。"
)
SUMMARY_OF_PASTE = "「住民票の写し等の交付手数料の改定について」の要約です"


async def said(chat: Chat, fake: FakeLogo, text: str) -> str:
    """The reply to ``text``, sent in a talk of its own (no earlier question to continue)."""
    await deliver(chat, fake, fake.event(text, thread_id=f"t-{len(fake.replies)}"))
    await chat.drain()
    return fake.replies[-1].text


async def linked(make_chat: MakeChat, fake: FakeLogo, **settings: object) -> Chat:
    chat = await logo_chat(make_chat, fake, **settings)
    chat.link("横浜市", "logo", fake.org_id)
    return chat


async def test_pasted_text_a_message_asks_to_summarize_is_summarized(make_chat, logo_fake) -> None:
    chat = await linked(make_chat, logo_fake)
    asked = (
        f"次の文章を要約してください。\n{NOTICE}",
        f"以下の要点を教えて：{NOTICE}",
        f"{NOTICE}\n\n上記を3行で要約してください",
    )
    for text in asked:
        summary = await said(chat, logo_fake, text)
        assert summary.startswith(SUMMARY_OF_PASTE), summary
        assert "350円" in summary
    # A question about pasted text is a question, answered from the datasets.
    question = await said(chat, logo_fake, f"次の文章の根拠となる法律を教えてください\n{NOTICE}")
    assert "の要約です" not in question
    # The audit log keeps each message as it was sent, pasted text and all.
    assert [t["question"] for t in audited_turns(chat)][:3] == list(asked)


async def test_the_model_summarizes_the_pasted_text(make_chat, logo_fake, openai_fake) -> None:
    openai_fake.script("手数料は令和8年4月から1通350円（コンビニ交付は250円）になります[1]。")
    llm = {"llm_base_url": openai_fake.url, "llm_api_key": "sk-test", "llm_model": "gpt-test"}
    chat = await linked(make_chat, logo_fake, **llm)

    summary = await said(chat, logo_fake, f"3行で要約してください\n{NOTICE}")

    assert "コンビニ交付は250円" in summary
    [request] = openai_fake.chat_requests
    prompt = "\n".join(str(m["content"]) for m in request.messages)
    # The pasted text is the document; the line asking for its summary is no part of it.
    document = prompt.split('<document title="住民票の写し等の交付手数料の改定について">')[1]
    assert "1通につき250円です" in document and "要約してください" not in document
    assert "を180字以内で要約してください" in prompt  # three lines of about 60 characters
