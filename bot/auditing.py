"""Recording turns, admin actions and security events in the encrypted audit log.

Writing the record is part of the turn: when it fails, ``AuditWriteFailed`` propagates and the
turn is reported as an error instead of being answered unrecorded. An administrative action is
never done unrecorded either: a change of the database commits with its record (``change``),
and one that also reaches the index or files is recorded before it starts (``admin``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from typing import TypeVar

from sqlalchemy.engine import Connection

from admin.audit import AuditEvent, AuditLog
from admin.usage import UsageService
from bot.turns import Answer, ConversationRef, Outcome
from knowledge.errors import BaibainError, NotFound, QuotaExceeded


def failed_turn(exc: BaibainError, turn_id: str = "") -> Answer:
    """The turn a failure ends, as recorded and counted in usage reports: a budget that cannot
    pay is ``quota``, a document that is not there ``not_found``, anything else ``error``."""
    outcome: Outcome = (
        "quota"
        if isinstance(exc, QuotaExceeded)
        else "not_found"
        if isinstance(exc, NotFound)
        else "error"
    )
    return Answer(text=exc.user_message, turn_id=turn_id, outcome=outcome)


log = logging.getLogger(__name__)

# What the audit log holds as the answer of a turn stopped before it was answered.
CANCELLED_TEXT = "（回答の作成中に処理が中断されました）"


def cancelled_turn(turn_id: str = "") -> Answer:
    """The turn a cancellation ends (a shutdown mid-answer), as recorded: outcome ``error``."""
    return Answer(text=CANCELLED_TEXT, turn_id=turn_id, outcome="error", feedback=False)


async def record_while_cancelled(record: Awaitable[None]) -> None:
    """Write the record of a turn being cancelled: shielded from the cancellation, and a
    failure only logged (the cancellation is what the caller goes on with)."""
    try:
        await asyncio.shield(record)
    except (asyncio.CancelledError, BaibainError) as exc:
        log.warning("cancelled turn not recorded: %s", type(exc).__name__)


T = TypeVar("T")


def _conversation(ref: ConversationRef | None) -> dict[str, str] | None:
    return asdict(ref) if ref else None


class Auditor:
    """The bot's view of the audit log."""

    def __init__(self, log: AuditLog, usage: UsageService | None = None) -> None:
        self.log = log
        self.usage = usage

    async def _append(self, event: AuditEvent) -> int:
        return await asyncio.to_thread(self.log.append, event)

    async def turn(
        self,
        *,
        org_id: str | None,
        platform: str,
        user_id: str,
        conversation: ConversationRef | None,
        question: str,
        answer: Answer,
        latency_ms: int,
        thread_opening: str = "",
    ) -> int:
        """Record one answered (or refused, or failed) question, and its usage figures.
        ``thread_opening``: the message that opened the thread, when the question was read
        with it (「これの根拠は？」 under a colleague's message); recorded beside the question
        (payload key ``thread_opening``, absent otherwise), as the asker's words stay theirs."""
        payload = {
            "turn_id": answer.turn_id,
            "conversation": _conversation(conversation),
            "question": question,
            "answer": answer.text,
            "citations": [asdict(c) for c in answer.citations],
        }
        if thread_opening:
            payload["thread_opening"] = thread_opening
        seq = await self._append(
            AuditEvent(
                kind="turn",
                org_id=org_id,
                platform=platform,
                outcome=answer.outcome,
                user_id=user_id,
                model=answer.usage.model,
                input_tokens=answer.usage.input_tokens,
                output_tokens=answer.usage.output_tokens,
                latency_ms=max(latency_ms, 0),
                payload=payload,
            )
        )
        if self.usage is not None:
            await asyncio.to_thread(
                self.usage.record,
                turn_id=answer.turn_id,
                org_id=org_id,
                platform=platform,
                category=answer.citations[0].category if answer.citations else "",
                outcome=answer.outcome,
                model=answer.usage.model,
                input_tokens=answer.usage.input_tokens,
                output_tokens=answer.usage.output_tokens,
                user_hash=self.log.keyring.user_hash(platform, user_id) if user_id else "",
            )
        return seq

    async def admin(self, event: AuditEvent) -> int:
        """Record an administrative action (``AuditEvent.admin``) before it is made, when it
        reaches beyond the database (an upload, a deletion): ``AuditWriteFailed`` means it
        was not started."""
        return await self._append(event)

    async def change(
        self, work: Callable[[Connection], T], event: Callable[[T], AuditEvent | None]
    ) -> T:
        """``work``'s change of the database, written on the connection it is given, and the
        audit event ``event`` makes of its result, in one transaction (``AuditLog.change``):
        when the record cannot be written, nothing changed and ``AuditWriteFailed`` says so.
        ``event`` returns ``None`` when ``work`` found nothing to change."""

        def run() -> T:
            with self.log.change() as change:
                result = work(change.conn)
                if (made := event(result)) is not None:
                    change.record(made)
            return result

        return await asyncio.to_thread(run)

    async def security(
        self,
        *,
        org_id: str | None,
        platform: str,
        user_id: str,
        reason: str,
        details: Mapping[str, object] | None = None,
    ) -> int:
        """Record a security event (bad signature, refused admin command, unknown workspace)."""
        return await self._append(
            AuditEvent(
                kind="security",
                org_id=org_id,
                platform=platform,
                outcome="refused",
                user_id=user_id,
                payload={"reason": reason, "details": dict(details or {})},
            )
        )
