"""The encrypted, tamper-evident audit log of every turn, admin action and security event.

Integrity follows CloudTrail's log file validation: every record carries the SHA-256 of the
previous one, and an HMAC-signed digest over the chain head is written every N records and at each
key rotation. Everything said in a conversation (question, answer, citations, the platform user id,
conversation reference, action details) is encrypted with AES-256-GCM under the newest audit key,
with the record's clear metadata as associated data. Clear columns (time, kind, organization,
platform, outcome, user pseudonym, model, tokens, latency) serve usage analysis without decryption.

Appends are serialized across processes by updating the single chain-head row first: a row lock on
PostgreSQL, the write lock on SQLite. A failed write raises ``AuditWriteFailed``; the caller reports
the turn as an error instead of losing its record. An administrative change of the database is
made in ``AuditLog.change``, in the transaction that appends its record: both stand or neither
does. Importing this module registers the tables.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from cryptography.exceptions import InvalidTag
from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.sql import Select

from admin import audit_crypto as crypto
from admin.audit_crypto import GENESIS_HASH, AuditKeyError, AuditKeyring
from admin.audit_export import exported, paged_rows
from admin.audit_misuse import scan_misuse
from admin.audit_models import (
    DIGEST,
    HEAD,
    HEAD_ID,
    RECORD,
    AuditEvent,
    AuditIntegrityError,
    AuditUnavailable,
    AuditWriteFailed,
    MisuseSignal,
    Receipt,
    VerifyResult,
    select_rows,
)
from admin.audit_retention import purge_batch
from admin.audit_verify import snapshot, verify_chain
from admin.db import lift_bounds
from knowledge.dates import as_utc

logger = logging.getLogger(__name__)

_APPEND_ATTEMPTS = 3
FOREIGN_HEAD_KEY = (
    "監査ログの最新の記録は、設定されている BAIBAIN_AUDIT_KEY にない鍵で暗号化されています。"
    "鍵を取り違えていないか確認してください。鍵を替えるときは、新しい鍵を先頭に、"
    "これまでの鍵をカンマ区切りで後ろに並べます。何も変更していません。"
)
KEY_NOT_SET = (
    "BAIBAIN_AUDIT_KEY が設定されていないため、データディレクトリの鍵ファイルを使おうとしましたが、"
    "監査ログの既存の記録はその鍵で書かれていません。これまでの鍵を BAIBAIN_AUDIT_KEY に"
    "設定してください。何も変更していません。"
)
KEY_LEFT_IN_FILE = (
    "監査ログのこれまでの記録は、データディレクトリの鍵ファイル {path} の鍵で暗号化されています。"
    "BAIBAIN_AUDIT_KEY には、新しい鍵を先頭に、その鍵ファイルの中身をカンマ区切りで後ろに"
    "並べてください。何も変更していません。"
)
# Event fields stored in clear columns; user_id and payload are encrypted.
_CLEAR_EVENT_FIELDS = [f.name for f in fields(AuditEvent) if f.name not in ("user_id", "payload")]


def _utcnow() -> datetime:
    return datetime.now(UTC)


T = TypeVar("T")


# Records deleted per purge transaction (``AuditLog.purge``).
PURGE_BATCH = 5_000
# Records read per query of an export (``AuditLog.export``).
EXPORT_PAGE = 2_000


def _lock_head(conn: Connection) -> bool:
    # The UPDATE comes first: it takes the head row lock (PostgreSQL) or the database write lock
    # (SQLite) before anything is read, so writers from every process queue here.
    statement = update(HEAD).where(HEAD.c.id == HEAD_ID).values(seq=HEAD.c.seq)
    return bool(conn.execute(statement).rowcount)


WRONG_KEY_REASON = (
    "設定されている監査鍵（BAIBAIN_AUDIT_KEY）では、どのレコードも読めません。"
    "改ざんより先に、鍵を取り違えていないか（別の環境の鍵や、作り直した鍵でないか）を確認してください"
)


class AuditLog:
    """The audit log service on ``engine`` (SQLite or PostgreSQL). ``digest_every`` records get a
    signed digest; ``clock`` gives the time of new records (tests pass a fixed one);
    ``purge_batch`` records are purged per transaction, ``export_page`` read per query of an
    export."""

    def __init__(
        self,
        engine: Engine,
        keyring: AuditKeyring,
        digest_every: int = 100,
        *,
        clock: Callable[[], datetime] = _utcnow,
        purge_batch: int = PURGE_BATCH,
        export_page: int = EXPORT_PAGE,
    ) -> None:
        if digest_every < 1 or purge_batch < 1 or export_page < 1:
            raise ValueError("digest_every, purge_batch and export_page must be at least 1")
        self._engine = engine
        self._keyring = keyring
        self._digest_every = digest_every
        self._purge_batch_size = purge_batch
        self._export_page = export_page
        self._clock = clock

    @property
    def keyring(self) -> AuditKeyring:
        """The keys this log encrypts with (also used for pseudonymous user hashes)."""
        return self._keyring

    # --- writing ---------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """Raise ``AuditKeyError`` when the newest record was written under a key that is not
        configured (a mistyped or regenerated ``BAIBAIN_AUDIT_KEY``): records written now would
        not be readable, nor the chain verifiable, with the keys that wrote the rest."""
        try:
            with self._engine.connect() as conn:
                head = conn.execute(select(HEAD).where(HEAD.c.id == HEAD_ID)).mappings().first()
        except SQLAlchemyError as exc:
            raise AuditWriteFailed(detail=f"audit head unreadable: {type(exc).__name__}") from exc
        if head is not None:
            self._check_head_key(head)

    def _check_head_key(self, head: RowMapping) -> None:
        if head["seq"] > 0 and not self._keyring.has_key(head["last_key_id"]):
            unset = self._keyring.key_file is not None  # the key file stood in for it
            self._keyring.discard_generated()
            in_file = self._keyring.left_out.get(head["last_key_id"])
            message = KEY_NOT_SET if unset else FOREIGN_HEAD_KEY
            if in_file is not None:  # moving from the generated key file to the variable
                message = KEY_LEFT_IN_FILE.format(path=in_file)
            raise AuditKeyError(
                message,
                detail=f"the newest audit record needs key {head['last_key_id']}, not configured",
            )

    def _sealable(self, event: AuditEvent) -> tuple[str, bytes]:
        """The user pseudonym and the plaintext to encrypt of ``event``."""
        return self._keyring.user_hash(event.platform, event.user_id), event.secret_json()

    def _in_transaction(self, work: Callable[[Connection], T]) -> T:
        """``work`` in a transaction of its own, tried again when two first-ever appends both
        created the head row; a failure is ``AuditWriteFailed``."""
        for attempt in range(1, _APPEND_ATTEMPTS + 1):
            try:
                with self._engine.begin() as conn:
                    return work(conn)
            except IntegrityError as exc:
                # Two first-ever appends both created the head row; the loser tries again.
                if attempt == _APPEND_ATTEMPTS:
                    logger.error("audit write failed: %s", type(exc).__name__)
                    raise AuditWriteFailed(detail="audit record conflicts with the chain") from exc
            except SQLAlchemyError as exc:
                logger.error("audit write failed: %s", type(exc).__name__)
                raise AuditWriteFailed(detail=f"audit write failed: {type(exc).__name__}") from exc
        raise AssertionError("unreachable")

    def append(self, event: AuditEvent) -> int:
        """Record ``event`` and return its sequence number; ``AuditWriteFailed`` if it could not
        be stored (the caller must then report the turn as an error)."""
        user_hash, plaintext = self._sealable(event)
        return self._in_transaction(
            lambda conn: self._append_locked(conn, event, user_hash, plaintext)
        )

    @contextmanager
    def change(self) -> Iterator[AuditedChange]:
        """A transaction for one administrative change of the database and its record: what
        the caller writes on ``conn`` and the event it passes to ``record`` commit together,
        or neither does (an exception inside, a record that cannot be written, an interrupted
        process). ``record`` comes last, so the chain head is locked only as long as for any
        append. A change that records nothing must have changed nothing.

        The head row is created beforehand in a transaction of its own (with ``append``'s
        retry), because a second transaction could not insert it while this one holds the
        database's write lock on SQLite."""
        with self._engine.connect() as conn:
            head = conn.execute(select(HEAD.c.id).where(HEAD.c.id == HEAD_ID)).first()
        if head is None:
            self._in_transaction(self._create_head)
        with self._engine.begin() as conn:
            yield AuditedChange(self, conn)

    def _create_head(self, conn: Connection) -> None:
        if not _lock_head(conn):
            self._write_head(conn, 0, GENESIS_HASH, "", 0, GENESIS_HASH, insert_row=True)

    def _append_within(self, conn: Connection, event: AuditEvent) -> int:
        """``append`` in the caller's transaction on ``conn`` (``AuditedChange.record``)."""
        user_hash, plaintext = self._sealable(event)
        try:
            return self._append_locked(conn, event, user_hash, plaintext)
        except SQLAlchemyError as exc:
            logger.error("audit write failed: %s", type(exc).__name__)
            raise AuditWriteFailed(detail=f"audit write failed: {type(exc).__name__}") from exc

    def _append_locked(
        self, conn: Connection, event: AuditEvent, user_hash: str, plaintext: bytes
    ) -> int:
        self._create_head(conn)
        head = conn.execute(select(HEAD).where(HEAD.c.id == HEAD_ID)).mappings().one()
        self._check_head_key(head)
        now = as_utc(self._clock())
        key_id = self._keyring.current_key_id
        digest_seq, digest_mac = head["digest_seq"], head["digest_mac"]
        if head["seq"] > 0 and head["last_key_id"] != key_id:  # first record under a new key
            digest_mac = self._write_digest(
                conn, head["seq"], head["head_hash"], digest_seq, digest_mac, "rotation", now
            )
            digest_seq = head["seq"]
        seq = head["seq"] + 1
        clear = {name: getattr(event, name) for name in _CLEAR_EVENT_FIELDS}
        clear |= {"seq": seq, "created_at": now, "user_hash": user_hash, "key_id": key_id}
        clear["prev_hash"] = head["head_hash"]
        record = crypto.seal_record(self._keyring, clear, plaintext)
        conn.execute(insert(RECORD).values(**record))
        if seq % self._digest_every == 0:
            digest_mac = self._write_digest(
                conn, seq, record["record_hash"], digest_seq, digest_mac, "interval", now
            )
            digest_seq = seq
        self._write_head(conn, seq, record["record_hash"], key_id, digest_seq, digest_mac)
        logger.debug("audit record %d appended (%s)", seq, event.kind)
        return seq

    def _write_digest(
        self,
        conn: Connection,
        seq: int,
        head_hash: str,
        prev_seq: int,
        prev_mac: str,
        reason: str,
        now: datetime,
    ) -> str:
        row = {"seq": seq, "head_hash": head_hash, "records": seq - prev_seq, "reason": reason}
        row |= {"created_at": now, "prev_mac": prev_mac}
        row["key_id"], row["mac"] = self._keyring.sign(crypto.digest_message(row))
        conn.execute(insert(DIGEST).values(**row))
        return str(row["mac"])

    def _write_head(
        self,
        conn: Connection,
        seq: int,
        head_hash: str,
        last_key_id: str,
        digest_seq: int,
        digest_mac: str,
        *,
        insert_row: bool = False,
    ) -> None:
        row: dict[str, Any] = {"seq": seq, "head_hash": head_hash, "last_key_id": last_key_id}
        row |= {"digest_seq": digest_seq, "digest_mac": digest_mac}
        row["mac_key_id"], row["mac"] = self._keyring.sign(crypto.head_message(row))
        row["updated_at"] = as_utc(_utcnow())
        if insert_row:
            conn.execute(insert(HEAD).values(id=HEAD_ID, **row))
        else:
            conn.execute(update(HEAD).where(HEAD.c.id == HEAD_ID).values(**row))

    # --- verification ----------------------------------------------------------------------------

    def verify(self, receipt: Receipt | None = None) -> VerifyResult:
        """Check the whole retained chain: seq continuity, links, hashes, decryption (GCM tags)
        of every record from the retention checkpoint (or the start), every digest and checkpoint
        HMAC, and the signed chain head. Any modification, deletion, insertion or reordering
        gives ``ok=False`` and the first bad record's seq; so does a chain that lacks, or
        differs at, the record of an earlier verification's ``receipt`` (wiped or rolled back:
        the database alone cannot show that)."""
        try:
            with snapshot(self._engine) as conn:
                result = verify_chain(conn, self._keyring, receipt)
                if result.ok:
                    return result
                used: list[str] = list(conn.execute(select(RECORD.c.key_id).distinct()).scalars())
        except SQLAlchemyError as exc:
            raise AuditUnavailable(detail=f"audit verify failed: {type(exc).__name__}") from exc
        if used and not any(self._keyring.has_key(key_id) for key_id in used):
            # No configured key wrote any record: the key, not the log, is what is wrong.
            return replace(result, reason=WRONG_KEY_REASON)
        return result

    # --- reading ---------------------------------------------------------------------------------

    def _open(self, row: RowMapping) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(crypto.open_record(self._keyring, row))
        except (InvalidTag, TypeError, ValueError) as exc:
            detail = f"audit record {row['seq']} fails authentication; run `baibain audit verify`"
            raise AuditIntegrityError(detail=detail) from exc
        return data

    def export(
        self,
        org_id: str,
        since: datetime | None,
        until: datetime | None,
        actor: str,
        *,
        platform: str = "cli",
        outcomes: Sequence[str] = (),
    ) -> Iterator[dict[str, object]]:
        """The decrypted records of one organization with ``since <= time < until`` (and one
        of ``outcomes``, when given), oldest first, as JSON-ready dicts. The export is recorded
        first (an ``admin`` event naming ``actor``, the organization, the range and the
        outcomes) and covers the records written before it."""
        details: dict[str, object] = {
            "actor": actor,
            "org_id": org_id,
            "since": since,
            "until": until,
        }
        if outcomes:
            details["outcomes"] = list(outcomes)
        event = AuditEvent.admin(
            org_id=org_id,
            platform=platform,
            user_id=actor,
            action="audit.export",
            details=details,
            outcome="exported",
        )
        seq = self.append(event)
        statement = select_rows(RECORD).where(RECORD.c.org_id == org_id, RECORD.c.seq < seq)
        if since is not None:
            statement = statement.where(RECORD.c.created_at >= as_utc(since))
        if until is not None:
            statement = statement.where(RECORD.c.created_at < as_utc(until))
        if outcomes:
            statement = statement.where(RECORD.c.outcome.in_(outcomes))
        return self._export_rows(statement.order_by(RECORD.c.seq))

    def _export_rows(self, statement: Select[Any]) -> Iterator[dict[str, object]]:
        for row in paged_rows(self._engine, statement, self._export_page):
            yield exported(row, self._open(row))

    # --- retention -------------------------------------------------------------------------------

    def purge(self, older_than: datetime) -> int:
        """Delete the oldest records (the longest run of records all older than ``older_than``)
        and sign a checkpoint naming the last one, so ``verify`` still passes from there. The run
        is verified first: a tampered record is never purged. Records go ``purge_batch`` at a
        time, each batch in a transaction of its own with its checkpoint, so that turns waiting
        to write the log wait for one batch, not for a year of records. Returns how many were
        deleted."""
        cutoff = as_utc(older_than)
        total, upto = 0, 0
        while purged := self._purge_batch(cutoff):
            total, upto = total + purged[0], purged[1]
        if total:
            logger.info("audit retention purged %d records up to record %d", total, upto)
        return total

    def _purge_batch(self, cutoff: datetime) -> tuple[int, int] | None:
        """Purge the next batch: (records deleted, the last one's seq), ``None`` when none is
        left to purge."""
        try:
            with self._engine.begin() as conn:
                lift_bounds(conn)  # verifying a batch may take longer than a turn's bound
                if not _lock_head(conn):
                    return None
                now = as_utc(self._clock())
                return purge_batch(conn, self._keyring, cutoff, self._purge_batch_size, now)
        except SQLAlchemyError as exc:
            raise AuditUnavailable(detail=f"audit purge failed: {type(exc).__name__}") from exc

    # --- misuse ----------------------------------------------------------------------------------

    def misuse_signals(
        self, org_id: str | None, since: datetime, until: datetime | None = None
    ) -> list[MisuseSignal]:
        """Signals since ``since`` (and before ``until``) for one organization (or all with
        ``None``); see ``admin.audit_misuse``."""
        return scan_misuse(self._engine, self._question_of, org_id, since, until)

    def _question_of(self, row: RowMapping) -> str | None:
        """The question a turn record holds, ``None`` when there is none or it is unreadable."""
        try:
            question = self._open(row).get("payload", {}).get("question")
        except (AuditIntegrityError, AuditKeyError):
            logger.warning("audit record %d unreadable in misuse scan", row["seq"])
            return None
        return question if isinstance(question, str) else None


@dataclass(frozen=True)
class AuditedChange:
    """An administrative change in progress (``AuditLog.change``): services write it on
    ``conn``; ``record`` appends its audit event in the same transaction."""

    log: AuditLog
    conn: Connection

    def record(self, event: AuditEvent) -> int:
        """Append ``event`` within the change; ``AuditWriteFailed`` undoes the change."""
        return self.log._append_within(self.conn, event)
