"""「この条文を要約して」 (or 「/summarize この条文」) in a thread summarizes what the previous
answer cited (LoGo Chat end to end, on SQLite and PostgreSQL): its only source, or the one a
number picks; with several and no number the bot lists them; without a cited answer before, it
says what to name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from chat_harness import Chat, MakeChat
from fakes.logo import FakeLogo
from test_logo import deliver, logo_chat

from admin import orgs
from admin.datasets import DatasetService
from admin.db import create_db_engine, init_db
from bot.cited import NO_CITED_ANSWER_TEXT
from bot.summary_sources import CITED_FILE_GONE_TEXT, CITED_GONE_TEXT

EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"


@pytest.fixture
async def chat(
    make_chat: MakeChat, logo_fake: FakeLogo, app_database_url: str
) -> AsyncIterator[Chat]:
    """The app answering LoGo Chat on the data dir's SQLite file or a fresh PostgreSQL
    database, with 横浜市 (admin ``admin-1``) linked."""
    engine = create_db_engine(app_database_url)
    init_db(engine)
    app = await logo_chat(make_chat, logo_fake, database_url=app_database_url)
    chat = Chat(client=app.client, engine=engine)
    chat.link("横浜市", "logo", logo_fake.org_id, admins=("admin-1",))
    yield chat
    engine.dispose()


async def say(chat: Chat, fake: FakeLogo, text: str, **event: object) -> str:
    """The reply to ``text`` (a mention in thread ``t-1`` unless ``event`` says otherwise)."""
    await deliver(chat, fake, fake.event(text, **{"thread_id": "t-1", **event}))
    await chat.drain()
    return fake.replies[-1].text


def cited_titles(answer: str) -> list[str]:
    """The titles an answer lists under 出典, in their order."""
    return re.findall(r"^\[\d+\] (.+?)（", answer, flags=re.MULTILINE)


async def test_this_article_after_an_answer_citing_it_is_summarized(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    answer = await say(chat, logo_fake, "地方自治法第242条")
    assert cited_titles(answer) == ["地方自治法 第二百四十二条"]
    for asked in (
        "この条文を要約して",
        "要約して",
        "この内容を要約して",
        "上記の内容の要点は？",
        "/summarize この条文",
        "/要約 この 条文",
        "/summarize",
    ):
        summary = await say(chat, logo_fake, asked)
        assert summary.startswith("「地方自治法 第二百四十二条」の要約です"), asked
        assert "監査委員" in summary


async def test_several_sources_are_listed_and_a_number_picks_one(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    answer = await say(chat, logo_fake, "住民監査請求は誰ができますか")
    titles = cited_titles(answer)
    assert len(titles) >= 2
    which = await say(chat, logo_fake, "その資料の要点を教えて")
    assert f"前の回答には出典が{len(titles)}件あります" in which
    assert "番号で指定してください" in which and f"[2] {titles[1]}" in which
    assert "の要約です" not in which
    for asked in (
        "[2]を要約して",
        "２番目の資料を要約してください",
        "/summarize [2]",
        "/summarize 2番目の資料",
    ):
        summary = await say(chat, logo_fake, asked)
        assert summary.startswith(f"「{titles[1]}」の要約です"), asked
    missing = await say(chat, logo_fake, "[9]を要約して")
    assert "前の回答に出典[9]はありません" in missing and f"[1] {titles[0]}" in missing


async def test_without_a_cited_answer_before_the_user_is_told_what_to_name(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    top_level = await say(chat, logo_fake, "この条文を要約して", thread_id=None)
    direct = await say(chat, logo_fake, "要約して", type="message", talk_id="dm-1")
    command = await say(chat, logo_fake, "/summarize この条文", thread_id=None)
    assert top_level == direct == command == NO_CITED_ANSWER_TEXT
    bare = await say(chat, logo_fake, "/summarize", thread_id=None)
    assert bare.startswith("要約する文書の名前・文書ID・URL を「/summarize」に続けて")
    # A message that asks no summary of a cited source is still a question.
    question = await say(chat, logo_fake, "住民監査請求の概要を教えてください", thread_id="t-2")
    assert "出典:" in question and "の要約です" not in question


async def test_a_cited_article_of_a_statute_stored_whole_until_its_dataset_is_deleted(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    statute = EGOV / "330AC1000000186_20250606_505AC0000000044.xml"
    upload = logo_fake.event(
        "/upload データセット=原子力法令 分類=法令",
        user_id="admin-1",
        files=[logo_fake.add_file("f-1", statute.name, statute.read_bytes())],
    )
    await deliver(chat, logo_fake, upload)
    await chat.drain()
    assert "1 件の文書を登録しました" in logo_fake.replies[-1].text
    answer = await say(chat, logo_fake, "原子力基本法第2条の2")
    assert "原子力基本法" in answer and "第二条の二" in answer
    summary = await say(chat, logo_fake, "この条文を要約して")
    # That article alone, not the whole statute.
    assert summary.startswith("「原子力基本法 第二条の二（2025-06-06 施行）」の要約です")

    org = orgs.get_org(chat.engine, "横浜市").id
    [dataset] = [d for d in DatasetService(chat.engine).visible(org) if d.name == "原子力法令"]
    deleted = await say(chat, logo_fake, f"/dataset delete {dataset.id} すべて", user_id="admin-1")
    assert "削除しました" in deleted
    assert await say(chat, logo_fake, "この条文を要約して") == CITED_GONE_TEXT


async def test_a_source_from_an_attached_file_asks_for_the_file_again(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    memo = "窓口案内\n令和8年度の窓口受付時間は午前8時30分から午後5時15分までとする。"
    attached = logo_fake.add_file("f-9", "窓口案内.txt", memo.encode())
    answer = await say(chat, logo_fake, "窓口は何時から開いていますか", files=[attached])
    assert "午前8時30分" in answer and "窓口案内" in answer
    # The file was read for that answer only: it is asked for again, not said to be deleted.
    assert await say(chat, logo_fake, "この資料を要約して") == CITED_FILE_GONE_TEXT


def summary_body(reply: str) -> str:
    """A summary's text between its heading and the ``[1]`` citing it."""
    return reply.split("\n\n", 1)[1].split(" [1]", 1)[0]


async def test_a_summary_asked_in_so_many_lines_or_characters_is_that_short(
    chat: Chat, logo_fake: FakeLogo
) -> None:
    await say(chat, logo_fake, "地方自治法第242条")
    whole = summary_body(await say(chat, logo_fake, "この条文を要約して"))
    for asked, at_most in (
        ("この条文を3行で要約して", 180),
        ("100字以内で簡潔にまとめてください", 100),
    ):
        summary = await say(chat, logo_fake, asked)
        assert summary.startswith("「地方自治法 第二百四十二条」の要約です"), asked
        assert 0 < len(summary_body(summary)) <= at_most < len(whole), asked
    # So is a summary of a document the message names.
    named = await say(chat, logo_fake, "地方自治法第242条を三行で要約してください")
    assert named.startswith("「地方自治法 第二百四十二条」の要約です")
    assert len(summary_body(named)) <= 180
