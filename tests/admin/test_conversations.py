"""Thread history keeps the sources each answer cited, sealed like its text; turns stored
before it kept them still read."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from admin.audit_crypto import AuditKeyring
from admin.conversations import CitedSource, ConversationStore, ConversationTurn

THREAD = "1|logo/org-1/talk-1/thread-9"
SOURCES = [
    CitedSource(n=1, title="地方自治法 第二百五十二条の四十三", doc_id="322AC0000000067#252-43"),
    CitedSource(n=2, title="原子力基本法", doc_id="ds3/原子力基本法.xml", position="第二条の二"),
]


def test_an_answers_sources_are_kept_sealed_with_its_turn(db_engine: Engine) -> None:
    store = ConversationStore(db_engine, AuditKeyring([os.urandom(32)]))
    store.append(THREAD, "住民監査請求は誰ができますか", "住民です。[1][2]", SOURCES)
    assert store.last_sources(THREAD) == SOURCES
    assert store.recent(THREAD) == [("住民監査請求は誰ができますか", "住民です。[1][2]")]
    with Session(db_engine) as session:
        [row] = session.exec(select(ConversationTurn)).all()
    for clear in ("原子力基本法", "322AC0000000067", "第二条の二"):
        assert clear.encode() not in row.ciphertext
    assert store.last_sources("1|logo/org-1/talk-1/other") == []

    store.append(THREAD, "その期限は？", "資料からは確認できませんでした。")
    assert store.last_sources(THREAD) == []  # the previous answer cited nothing
    assert store.purge(datetime.now(UTC) + timedelta(seconds=1)) == 2
    assert store.recent(THREAD) == [] and store.last_sources(THREAD) == []


def test_a_turn_stored_before_sources_were_kept_still_reads(db_engine: Engine) -> None:
    keyring = AuditKeyring([os.urandom(32)])
    store = ConversationStore(db_engine, keyring)
    # A turn as it was sealed before: the question and the answer only.
    digest = keyring.user_hash("conversation", THREAD)
    old = json.dumps({"q": "住民票の写しは誰が請求できますか", "a": "本人です。[1]"}).encode()
    key_id, nonce, ciphertext = keyring.encrypt(old, f"conversation:{digest}".encode())
    with Session(db_engine) as session:
        session.add(
            ConversationTurn(
                conversation_hash=digest,
                created_at=datetime.now(UTC),
                key_id=key_id,
                nonce=nonce,
                ciphertext=ciphertext,
            )
        )
        session.commit()
    assert store.recent(THREAD) == [("住民票の写しは誰が請求できますか", "本人です。[1]")]
    assert store.last_sources(THREAD) == []


def test_a_long_history_is_purged_batch_by_batch_and_the_recent_turns_stay(
    db_engine: Engine,
) -> None:
    keyring = AuditKeyring([os.urandom(32)])
    store = ConversationStore(db_engine, keyring)
    cutoff = datetime.now(UTC) - timedelta(days=365)
    with Session(db_engine) as session:
        for n in range(7):  # a year ago and older: more than two batches
            session.add(
                ConversationTurn(
                    conversation_hash=keyring.user_hash("conversation", f"old-{n}"),
                    created_at=cutoff - timedelta(days=n + 1),
                    key_id="old",
                    nonce=b"n",
                    ciphertext=b"sealed",
                )
            )
        session.commit()
    store.append(THREAD, "住民監査請求は誰ができますか", "住民です。[1][2]", SOURCES)
    assert store.purge(cutoff, batch=3) == 7
    assert store.purge(cutoff, batch=3) == 0
    assert store.recent(THREAD) == [("住民監査請求は誰ができますか", "住民です。[1][2]")]
    with Session(db_engine) as session:
        assert len(session.exec(select(ConversationTurn)).all()) == 1
