"""Every message to the bot is in the audit log with what it was told (LoGo Chat end to end):
not only the questions answered, but a mention alone, a request for help, a command (a listing
of datasets too), a command typed without what it needs, a question too long to answer and
files that never arrived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fakes.logo import FakeLogo
from test_logo import deliver, logo_chat

from admin import orgs
from bot.services import open_audit_log
from bot.settings import Settings


def recorded_turns(chat: Any, data_dir: Path) -> list[tuple[str, str, str]]:
    """(question, start of the answer, outcome) of each turn of 横浜市's audit log, in order."""
    log = open_audit_log(Settings(data_dir=data_dir), chat.engine)
    org_id = orgs.get_org(chat.engine, "横浜市").id
    rows = log.export(org_id, None, None, "cli:test")
    return [
        (str(r["payload"]["question"]), str(r["payload"]["answer"])[:20], str(r["outcome"]))  # type: ignore[index]
        for r in rows
        if r["kind"] == "turn"
    ]


async def test_replies_that_answer_nothing_from_the_documents_are_recorded(
    make_chat, logo_fake: FakeLogo, chat_data_dir: Path
) -> None:
    chat = await logo_chat(make_chat, logo_fake)
    chat.link("横浜市", "logo", logo_fake.org_id)
    lost = logo_fake.add_file("f-1", "議事録.pdf", b"%PDF-1.7")
    del logo_fake.files["f-1"]  # gone before the bot fetches it
    sent = [
        ("", []),
        ("使い方を教えてください", []),
        ("/help", []),
        ("/datasets", []),
        ("データセット一覧", []),
        ("どんな資料がありますか", []),
        ("/ask", []),
        ("/hlep", []),
        ("この議事録の結論は何ですか", [lost]),
        ("住民票" * 2000, []),
    ]
    for text, files in sent:
        await deliver(chat, logo_fake, logo_fake.event(text, files=files))
        await chat.drain()
    replies = [r.text for r in logo_fake.replies]
    turns = recorded_turns(chat, chat_data_dir)
    # A command as the turn holds it: without its slash.
    assert [question for question, _, _ in turns] == [text.lstrip("/") for text, _ in sent]
    # What each was told is what the log holds, the refused question as an error.
    assert [answer for _, answer, _ in turns] == [reply[:20] for reply in replies]
    assert [outcome for _, _, outcome in turns][-1] == "error"
    # Asked in words, what the bot answers from is the datasets command's listing.
    listings = [r for r in replies if r.startswith("利用できるデータセット:")]
    assert len(listings) == 3 and len(set(listings)) == 1
    assert "質問が長すぎます" in replies[-1]
