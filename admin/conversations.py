"""Encrypted thread history, so follow-up questions in a thread can use earlier turns.

Questions, answers and the sources an answer cited never reach the database in the clear: each
turn is sealed with AES-GCM under the audit keyring's newest key, and the conversation is found
by a keyed hash of its reference, not the reference itself. History is shared by every web
process (it is in the database) and only the last few turns of the last day are used.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from admin.audit_crypto import AuditKeyError, AuditKeyring

MAX_AGE = timedelta(hours=24)
MAX_TURNS = 4
# Answers are stored shortened: the history is context for rewriting, not a transcript.
MAX_STORED_ANSWER = 600
# Old turns deleted per statement and transaction (``ConversationStore.purge``).
PURGE_BATCH = 5_000


class ConversationTurn(SQLModel, table=True):
    """One sealed (question, answer) pair of a conversation."""

    __tablename__ = "conversation_turn"

    id: int | None = Field(default=None, primary_key=True)
    conversation_hash: str = Field(max_length=64, index=True)
    created_at: datetime = Field(index=True)
    key_id: str = Field(max_length=16)
    nonce: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class CitedSource:
    """A numbered source an answer cited, kept with its turn: enough to list it again and to
    summarize it (the document's id and the position cited in it, such as an article)."""

    n: int
    title: str
    doc_id: str
    position: str = ""
    # Where the document was read from (a linked page, which can be read again).
    url: str = ""


def _aad(conversation_hash: str) -> bytes:
    return f"conversation:{conversation_hash}".encode()


class ConversationStore:
    """Thread history sealed with the audit keyring."""

    def __init__(self, engine: Engine, keyring: AuditKeyring) -> None:
        self._engine = engine
        self._keyring = keyring

    def _hash(self, conversation_key: str) -> str:
        return self._keyring.user_hash("conversation", conversation_key)

    def append(
        self,
        conversation_key: str,
        question: str,
        answer: str,
        sources: Sequence[CitedSource] = (),
    ) -> None:
        """Remember one turn of the conversation, with the sources its answer cited."""
        digest = self._hash(conversation_key)
        turn: dict[str, Any] = {"q": question, "a": answer[:MAX_STORED_ANSWER]}
        if sources:
            turn["s"] = [asdict(source) for source in sources]
        plaintext = json.dumps(turn, ensure_ascii=False).encode()
        key_id, nonce, ciphertext = self._keyring.encrypt(plaintext, _aad(digest))
        with Session(self._engine) as session:
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

    def recent(self, conversation_key: str) -> list[tuple[str, str]]:
        """The last turns of the last day, oldest first, as (question, answer) pairs."""
        return [(str(t["q"]), str(t["a"])) for t in self._turns(conversation_key, MAX_TURNS)]

    def last_sources(self, conversation_key: str, turns: int = 1) -> list[CitedSource]:
        """The sources the conversation's last turn of the last day cited, as they were
        numbered (of its last ``turns`` turns, oldest first); empty when there is no such
        turn or it cited nothing (turns stored before sources were kept cited nothing)."""
        kept = [s for turn in self._turns(conversation_key, turns) for s in turn.get("s", [])]
        return [
            CitedSource(
                n=int(s["n"]),
                title=str(s["title"]),
                doc_id=str(s["doc_id"]),
                position=str(s.get("position", "")),
                url=str(s.get("url", "")),
            )
            for s in kept
        ]

    def _turns(self, conversation_key: str, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` turns of the last day, oldest first, as stored.

        Turns that can no longer be decrypted (a retired key, tampering) are skipped: history
        is a convenience, never a reason to fail a turn.
        """
        digest = self._hash(conversation_key)
        since = datetime.now(UTC) - MAX_AGE
        with Session(self._engine) as session:
            rows = session.exec(
                select(ConversationTurn)
                .where(
                    ConversationTurn.conversation_hash == digest,
                    ConversationTurn.created_at >= since,
                )
                .order_by(col(ConversationTurn.id).desc())
                .limit(limit)
            ).all()
        turns: list[dict[str, Any]] = []
        for row in reversed(rows):
            try:
                data = json.loads(
                    self._keyring.decrypt(row.key_id, row.nonce, row.ciphertext, _aad(digest))
                )
            except (InvalidTag, AuditKeyError, ValueError):
                continue
            turns.append(data)
        return turns

    def purge(self, older_than: datetime, batch: int = PURGE_BATCH) -> int:
        """Delete turns older than ``older_than`` (their sources with them), ``batch`` at a
        time, each batch a statement and a transaction of its own: a year of turns is neither
        read into memory nor deleted in one statement, which would outlast its bound on
        PostgreSQL. Returns how many."""
        old_turns = select(ConversationTurn.id).where(ConversationTurn.created_at < older_than)
        total = 0
        while True:
            with Session(self._engine) as session:
                batch_ids = old_turns.order_by(col(ConversationTurn.id)).limit(batch)
                deleted = session.exec(
                    delete(ConversationTurn).where(col(ConversationTurn.id).in_(batch_ids))
                ).rowcount
                session.commit()
            total += deleted
            if deleted < batch:
                return total
