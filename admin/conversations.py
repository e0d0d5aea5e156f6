"""Encrypted thread history, so follow-up questions in a thread can use earlier turns.

Questions and answers never reach the database in the clear: each turn is sealed with AES-GCM
under the audit keyring's newest key, and the conversation is found by a keyed hash of its
reference, not the reference itself. History is shared by every web process (it is in the
database) and only the last few turns of the last day are used.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from admin.audit_crypto import AuditKeyError, AuditKeyring

MAX_AGE = timedelta(hours=24)
MAX_TURNS = 4
# Answers are stored shortened: the history is context for rewriting, not a transcript.
MAX_STORED_ANSWER = 600


class ConversationTurn(SQLModel, table=True):
    """One sealed (question, answer) pair of a conversation."""

    __tablename__ = "conversation_turn"

    id: int | None = Field(default=None, primary_key=True)
    conversation_hash: str = Field(max_length=64, index=True)
    created_at: datetime = Field(index=True)
    key_id: str = Field(max_length=16)
    nonce: bytes
    ciphertext: bytes


def _aad(conversation_hash: str) -> bytes:
    return f"conversation:{conversation_hash}".encode()


class ConversationStore:
    """Thread history sealed with the audit keyring."""

    def __init__(self, engine: Engine, keyring: AuditKeyring) -> None:
        self._engine = engine
        self._keyring = keyring

    def _hash(self, conversation_key: str) -> str:
        return self._keyring.user_hash("conversation", conversation_key)

    def append(self, conversation_key: str, question: str, answer: str) -> None:
        """Remember one turn of the conversation."""
        digest = self._hash(conversation_key)
        plaintext = json.dumps(
            {"q": question, "a": answer[:MAX_STORED_ANSWER]}, ensure_ascii=False
        ).encode()
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
        """The last turns of the last day, oldest first, as (question, answer) pairs.

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
                .limit(MAX_TURNS)
            ).all()
        turns: list[tuple[str, str]] = []
        for row in reversed(rows):
            try:
                data = json.loads(
                    self._keyring.decrypt(row.key_id, row.nonce, row.ciphertext, _aad(digest))
                )
            except (InvalidTag, AuditKeyError, ValueError):
                continue
            turns.append((str(data["q"]), str(data["a"])))
        return turns

    def purge(self, older_than: datetime) -> int:
        """Delete turns older than ``older_than``; returns how many."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(ConversationTurn).where(ConversationTurn.created_at < older_than)
            ).all()
            for row in rows:
                session.delete(row)
            session.commit()
            return len(rows)
