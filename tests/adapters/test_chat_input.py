"""What staff type and send as it comes: full-width commands, typos, files the bot cannot read
(LoGo Chat end to end, as the platforms share the router)."""

from __future__ import annotations

from typing import Any

from chat_harness import SAMPLE_QUESTION
from fakes.logo import FakeLogo
from support import SCANNED_PAGE, japanese_pdf
from test_chat_typed_input import said
from test_logo import deliver, logo_chat


async def exchange(make_chat: Any, fake: FakeLogo, *sent: tuple[str, list[Any]]) -> list[str]:
    """Send each (text, files) as a mention in a linked talk; the replies' texts, in order."""
    chat = await logo_chat(make_chat, fake)
    chat.link("横浜市", "logo", fake.org_id)
    for text, files in sent:
        await deliver(chat, fake, fake.event(text, files=files))
        await chat.drain()
    return [reply.text for reply in fake.replies]


async def test_commands_typed_with_the_japanese_input_method_on(make_chat, logo_fake) -> None:
    typed = ("／ｈｅｌｐ", "／ｓｕｍｍａｒｉｚｅ　地方自治法第242条", "／ｈｌｅｐ")
    help_, summary, typo = await exchange(make_chat, logo_fake, *((t, []) for t in typed))
    assert "コマンド一覧" in help_
    assert "「地方自治法 第二百四十二条」の要約です" in summary
    assert "（もしかして: /help）" in typo


async def test_a_command_name_cut_short_suggests_the_whole_names(make_chat, logo_fake) -> None:
    [reply] = await exchange(make_chat, logo_fake, ("/dataset", []))
    # Not 「「dataset」というコマンドはありません（もしかして: /dataset）」.
    assert "（もしかして: /datasets、/dataset delete）" in reply


async def test_a_file_the_bot_cannot_read_is_named_not_ignored(make_chat, logo_fake) -> None:
    picture = logo_fake.add_file("f-1", "画面.png", b"\x89PNG\r\n\x1a\n")
    old_excel = logo_fake.add_file("f-2", "施設一覧.xls", b"\xd0\xcf\x11\xe0 old excel")
    alone, summary, question, beside = await exchange(
        make_chat,
        logo_fake,
        ("", [picture]),
        ("要約して", [picture]),
        ("この表の施設はいくつありますか", [old_excel]),
        (SAMPLE_QUESTION, [picture]),  # a screenshot beside a question is left aside
    )
    for reply in (alone, summary):  # not the usage hint, not statutes found for 「要約して」
        assert "「画面.png」は対応していない形式のファイルです" in reply
        assert "出典" not in reply and "関連する可能性のある資料" not in reply
    assert "「施設一覧.xls」は対応していない形式のファイルです" in question
    assert ".xlsx 形式で保存し直すと読み込めます" in question
    assert "住民基本台帳法" in beside


async def test_a_summary_past_the_budget_is_quoted_as_answers_are(
    make_chat, logo_fake, openai_fake
) -> None:
    chat = await logo_chat(
        make_chat,
        logo_fake,
        llm_base_url=openai_fake.url,
        llm_api_key="sk-test",
        llm_model="gpt-test",
    )
    chat.link("横浜市", "logo", logo_fake.org_id)
    chat.link("運用センター", "logo", "ops", admins=("op-1",), operator=True)
    budget = {"name": "baibain", "text": "quota set 横浜市 0"}
    await deliver(
        chat,
        logo_fake,
        logo_fake.event(type="command", command=budget, user_id="op-1", org_id="ops"),
    )
    await chat.drain()
    await deliver(chat, logo_fake, logo_fake.event("/summarize 地方自治法第242条"))
    await chat.drain()
    _set, summary = (r.text for r in logo_fake.replies)
    # The organization chose excerpts once the budget is used up (「上限到達後: 資料の抜粋で
    # 回答します」): a summary is quoted too, not refused.
    assert "AI利用上限は0トークンに設定されています" in summary
    assert "「地方自治法 第二百四十二条」の要約です" in summary and "監査委員" in summary
    assert openai_fake.chat_requests == []


async def test_unrelated_questions_in_a_direct_message_are_answered_on_their_own(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    asked = (
        SAMPLE_QUESTION,
        "住民票の写しは誰が請求できますか",
        "生活保護の申請はどこにしますか",
        "その決定は何日以内ですか",
    )
    for text in asked:
        await deliver(chat, logo_fake, logo_fake.event(text, type="message", talk_id="dm-1"))
        await chat.drain()
    moving, copies, welfare, deadline = (r.text for r in logo_fake.replies)
    assert "住民基本台帳法 第二十二条" in moving
    # Not the sources of the questions asked just before them.
    assert "住民基本台帳法 第二十二条" not in copies
    assert "生活保護法" in welfare and "住民基本台帳法" not in welfare
    assert "生活保護法 第二十四条" in deadline  # 「その」 points back: a follow-up
    # 「違います」 is about the answer just before, in a direct message too.
    await deliver(chat, logo_fake, logo_fake.event("違います", type="message", talk_id="dm-1"))
    await chat.drain()
    disputed = logo_fake.replies[-1].text
    assert disputed.startswith("ご指摘ありがとうございます。") and "👎" not in disputed
    assert "生活保護法 第二十四条" not in disputed


async def test_a_document_named_after_a_full_width_space_is_deleted(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    memo = logo_fake.add_file("f-1", "下書き.txt", "窓口案内\n受付は午前9時からです。".encode())
    sent = (
        ("/upload データセット=窓口 分類=計画", [memo]),
        ("/dataset delete 1　ds1/下書き.txt", []),
        ("/datasets 1", []),
    )
    for text, files in sent:
        body = logo_fake.event(text, user_id="admin-1", files=files)
        await deliver(chat, logo_fake, body)
        await chat.drain()
    uploaded, deleted, listed = (r.text for r in logo_fake.replies)
    assert "「窓口」に 1 件の文書を登録しました" in uploaded
    assert "データセット「窓口」から文書「窓口案内」を削除しました" in deleted  # its title
    assert "まだ文書がありません" in listed


async def test_a_question_about_a_file_that_cannot_be_read_is_recorded(
    make_chat, logo_fake
) -> None:
    broken = logo_fake.add_file("f-1", "議事録.pdf", b"%PDF-1.7 not really a pdf")
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event("この議事録の結論は何ですか", files=[broken]))
    await chat.drain()
    [reply] = [r.text for r in logo_fake.replies]
    assert "議事録.pdf" in reply
    assert chat.turn_outcomes() == ["error"]  # asked, not answered, and in the audit log


async def test_quota_set_takes_an_organization_name_with_spaces(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("相模原市 中央区", "logo", logo_fake.org_id)
    chat.link("運用", "logo", "operator-org", admins=("op-1",), operator=True)
    # As typed with the Japanese input method on: a full-width space and digits.
    command = {"name": "baibain", "text": "quota set 相模原市　中央区 ５００，０００"}
    body = logo_fake.event(type="command", command=command, user_id="op-1", org_id="operator-org")
    await deliver(chat, logo_fake, body)
    await chat.drain()
    [reply] = [r.text for r in logo_fake.replies]
    assert "組織「相模原市 中央区」の月間トークン上限を 500,000 トークンに変更しました。" in reply
    assert "上限: 500,000 トークン" in reply
    # A name typed wrong is a typo to fix, not an organization to create on the server.
    typo = {"name": "baibain", "text": "quota set 相模原市中央 1000"}
    body = logo_fake.event(type="command", command=typo, user_id="op-1", org_id="operator-org")
    await deliver(chat, logo_fake, body)
    await chat.drain()
    missing = logo_fake.replies[-1].text
    assert "組織「相模原市中央」が見つかりません。組織名を確認してください" in missing
    assert "baibain" not in missing


async def test_usage_names_where_questions_came_from(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    for text in (SAMPLE_QUESTION, "/usage"):
        await deliver(chat, logo_fake, logo_fake.event(text, user_id="admin-1"))
        await chat.drain()
    usage = logo_fake.replies[-1].text
    assert "チャネル別: LoGoチャット 1件" in usage  # not 「logo 1」


async def test_a_message_asking_for_a_summary_of_a_named_document_gets_it(
    make_chat, logo_fake
) -> None:
    asked = (
        ("地方自治法第242条の2を要約してください", []),
        ("「地方自治法第二百四十二条」の要点を教えて", []),
        ("個情法の第5条を要約して", []),
        # Names no document: a question about its subject, answered from the index.
        ("住民監査請求の概要を教えてください", []),
    )
    named, in_brackets, joined, subject = await exchange(make_chat, logo_fake, *asked)
    assert "「地方自治法 第二百四十二条の二」の要約です" in named
    assert "「地方自治法 第二百四十二条」の要約です" in in_brackets
    assert "「個人情報の保護に関する法律 第五条」の要約です" in joined
    assert "の要約です" not in subject and "出典:" in subject


async def test_a_dataset_number_no_one_could_mean_is_answered_not_apologized_for(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("user-1",))
    many = "9" * 5000  # past 4,300 digits int() refuses it: the bot apologized for a failure
    for text in (f"/datasets {many}", f"/dataset delete {many}", f"/datasets {many[:30]}"):
        await deliver(chat, logo_fake, logo_fake.event(text))
        await chat.drain()
    replies = [r.text for r in logo_fake.replies]
    assert len(replies) == 3
    for reply in replies:  # one reply each, without the number repeated whole
        assert "データセット 999999999999… が見つかりません" in reply and len(reply) < 300


async def test_numbers_and_names_of_thousands_of_characters_get_a_short_reply(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    chat.link("運用センター", "logo", "ops", admins=("op-1",), operator=True)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, thread_id="t-1"))
    await chat.drain()
    many = "9" * 5000  # past 4,300 digits int() refuses a number: the bot apologized
    budget = {"name": "baibain", "text": f"quota set 横浜市 {many}"}
    for body in (
        logo_fake.event(f"[{many}]を要約して", thread_id="t-1"),
        logo_fake.event(f"/summarize [{many[:3000]}]", thread_id="t-1"),
        logo_fake.event(f"/summarize {'あ' * 5000}"),
        logo_fake.event(type="command", command=budget, user_id="op-1", org_id="ops"),
    ):
        await deliver(chat, logo_fake, body)
        await chat.drain()
    _answer, cited, cited_shorter, named, budget_set = (r.text for r in logo_fake.replies)
    assert "質問が長すぎます（5007文字）" in cited  # not a source's number: a long question
    for reply in (cited_shorter, named):  # not repeated back whole
        assert "文書名・文書ID（doc_id）は 500 文字以内" in reply and len(reply) < 300, reply
    assert "トークン数は0〜2,147,483,647の整数" in budget_set


async def test_an_upload_names_the_pages_of_a_pdf_it_could_not_read(make_chat, logo_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    pages = [["窓口案内", "受付は午前9時からです。"], SCANNED_PAGE, SCANNED_PAGE]
    guide = logo_fake.add_file("f-1", "窓口案内.pdf", japanese_pdf(pages))
    uploaded = await said(chat, logo_fake, "/upload データセット=窓口 分類=計画", files=[guide])
    assert "「窓口」に 1 件の文書を登録しました" in uploaded
    assert "「窓口案内.pdf」の 2・3ページは文字を読み取れませんでした。" in uploaded


async def test_an_answer_from_an_attached_pdf_names_the_pages_it_could_not_read(
    make_chat, logo_fake
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    pages = [["窓口案内", "受付は午前9時からです。"], SCANNED_PAGE]
    guide = logo_fake.add_file("f-1", "窓口案内.pdf", japanese_pdf(pages))
    answered = await said(chat, logo_fake, "受付は何時からですか", files=[guide])
    summarized = await said(chat, logo_fake, "要約して", files=[guide])
    assert "午前9時" in answered
    assert "「窓口案内.pdf」の 2ページは文字を読み取れなかったため、回答に含まれていません。" in (
        answered
    )
    assert "要約に含まれていません。" in summarized
