"""The audit log's data model: SQLModel tables, the values its service takes and returns, and its
errors. Use them through ``admin.audit``, which re-exports the public names.

Times are aware UTC (timestamptz on PostgreSQL, UTC text on SQLite); hashes and MACs are lowercase
hex. Clear columns hold what usage analysis needs without decryption; everything said in a
conversation is in ``ciphertext``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import String, Table, select, type_coerce
from sqlalchemy.sql import Select
from sqlmodel import Field, SQLModel

from knowledge.errors import BadInput, BaibainError

KINDS = ("turn", "admin", "security")
_LIMITS = {"kind": 16, "org_id": 64, "platform": 32, "outcome": 32, "model": 200}


class AuditRecord(SQLModel, table=True):
    """One audited event, chained to the previous one by ``prev_hash``."""

    __tablename__ = "audit_record"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    created_at: datetime = Field(index=True)
    kind: str = Field(max_length=16, index=True)
    org_id: str | None = Field(default=None, max_length=64, index=True)
    platform: str = Field(max_length=32)
    outcome: str = Field(max_length=32)
    user_hash: str = Field(max_length=64, index=True)
    model: str = Field(default="", max_length=200)
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    key_id: str = Field(max_length=16)
    nonce: bytes
    ciphertext: bytes
    prev_hash: str = Field(max_length=64)
    record_hash: str = Field(max_length=64)


class AuditChainHead(SQLModel, table=True):
    """The single row (``id`` 1) that appends lock; it names the newest record, signed."""

    __tablename__ = "audit_chain_head"

    id: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    head_hash: str = Field(max_length=64)
    last_key_id: str = Field(default="", max_length=16)
    digest_seq: int = 0
    digest_mac: str = Field(max_length=64)
    mac_key_id: str = Field(max_length=16)
    mac: str = Field(max_length=64)
    updated_at: datetime


class AuditDigest(SQLModel, table=True):
    """An HMAC over the chain head at ``seq`` and the number of records since the previous digest
    (whose MAC it includes), written every N records and at each key rotation."""

    __tablename__ = "audit_digest"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(index=True)
    head_hash: str = Field(max_length=64)
    records: int
    reason: str = Field(max_length=16)
    created_at: datetime
    prev_mac: str = Field(max_length=64)
    key_id: str = Field(max_length=16)
    mac: str = Field(max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """Written by a retention purge: the last purged record, so verification starts after it."""

    __tablename__ = "audit_checkpoint"

    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(index=True)
    record_hash: str = Field(max_length=64)
    purged: int
    created_at: datetime
    key_id: str = Field(max_length=16)
    mac: str = Field(max_length=64)


RECORD = cast(Table, AuditRecord.__table__)  # type: ignore[attr-defined]
HEAD = cast(Table, AuditChainHead.__table__)  # type: ignore[attr-defined]
DIGEST = cast(Table, AuditDigest.__table__)  # type: ignore[attr-defined]
CHECKPOINT = cast(Table, AuditCheckpoint.__table__)  # type: ignore[attr-defined]
HEAD_ID = 1
# Long chains are read in batches (server-side cursors on PostgreSQL).
STREAM = {"yield_per": 500}


def select_rows(table: Table) -> Select[Any]:
    """``SELECT`` every column of ``table``, times as the driver returns them: a malformed time
    planted in SQLite is then reported against its row instead of failing the whole read."""
    return select(
        *(
            type_coerce(column, String).label(column.name)
            if column.name.endswith("_at")
            else column
            for column in table.columns
        )
    )


class AuditWriteFailed(BaibainError):
    """The audit record of an event could not be written; the event must fail with it."""

    code = "audit_write_failed"
    status = 503
    default_message = (
        "申し訳ありません。記録処理に失敗したため、処理を完了できませんでした。"
        "時間をおいてもう一度お試しください。"
    )


class AuditUnavailable(BaibainError):
    """The audit log could not be read or maintained (database unreachable)."""

    code = "audit_unavailable"
    status = 503
    default_message = "監査ログを読み出せませんでした。しばらく待ってからもう一度お試しください。"


class AuditIntegrityError(BaibainError):
    """A stored record failed authentication, so it cannot be exported or purged."""

    code = "audit_integrity"
    status = 500
    default_message = (
        "監査ログの整合性を確認できませんでした。"
        "管理者が `baibain audit verify` を実行してください。"
    )


def _json_default(value: object) -> object:
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


@dataclass(frozen=True)
class AuditEvent:
    """One event to record. ``user_id`` is the platform's user id: the clear column holds only its
    keyed hash; it is kept, like ``payload`` (question, answer, citations, conversation, details),
    encrypted. ``payload`` must be JSON-serializable (dataclasses and datetimes are converted)."""

    kind: str
    org_id: str | None
    platform: str
    outcome: str
    user_id: str
    model: str = ""
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    payload: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def admin(
        cls,
        *,
        org_id: str | None,
        platform: str,
        user_id: str,
        action: str,
        details: Mapping[str, object],
        outcome: str = "done",
    ) -> AuditEvent:
        """An administrative action: its name and details go into the encrypted payload."""
        payload = {"action": action, "details": dict(details)}
        return cls("admin", org_id, platform, outcome, user_id, payload=payload)

    def secret_json(self) -> bytes:
        """What is kept encrypted of the event (``user_id`` and ``payload``), as JSON;
        ``AuditWriteFailed`` when the payload cannot be serialized."""
        secret = {"user_id": self.user_id, "payload": dict(self.payload)}
        try:
            return json.dumps(secret, ensure_ascii=False, default=_json_default).encode()
        except (TypeError, ValueError) as exc:
            raise AuditWriteFailed(detail=f"audit payload is not JSON-serializable: {exc}") from exc

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadInput(detail=f"audit event kind must be one of {KINDS}")
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if value is not None and len(value) > limit:
                raise BadInput(detail=f"audit event {name} is longer than {limit} characters")
        if min(self.input_tokens, self.output_tokens, self.latency_ms) < 0:
            raise BadInput(detail="audit event tokens and latency must not be negative")


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of ``AuditLog.verify``: ``checked`` records passed; on failure ``first_bad_seq``
    names the earliest bad (or missing) record and ``reason`` says what is wrong, in Japanese
    for the operator who runs ``baibain audit verify``. ``receipt`` (``<seq>-<hash prefix>``
    of the last record) is for the operator to keep outside the database: given to a later
    verification (``Receipt``), it shows a log wiped, cut short or rolled back, which the chain
    alone cannot. ``note`` says what the receipt could not be compared with."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str
    receipt: str = ""
    note: str = ""


@dataclass(frozen=True)
class Receipt:
    """A record's number and the start of its chain hash, as ``VerifyResult.receipt`` said."""

    seq: int
    hash_prefix: str

    @classmethod
    def parse(cls, text: str) -> Receipt:
        """The receipt ``text`` spells (「1234-0f3a9c5d7e1b2a48」), or ``BadInput``."""
        seq, _, prefix = text.strip().lower().partition("-")
        if not (seq.isascii() and seq.isdigit() and len(seq) <= 12):
            raise BadInput(RECEIPT_FORM)
        if not (8 <= len(prefix) <= 64 and all(c in "0123456789abcdef" for c in prefix)):
            raise BadInput(RECEIPT_FORM)
        return cls(int(seq), prefix)

    def __str__(self) -> str:
        return f"{self.seq}-{self.hash_prefix}"


RECEIPT_FORM = (
    "--receipt には、前回の検証で表示された控え（「1234-0f3a9c5d7e1b2a48」の形）を"
    "指定してください。"
)
# Hex digits of the chain hash a receipt keeps: enough that no forged chain matches by chance.
RECEIPT_HASH_CHARS = 16


@dataclass(frozen=True)
class MisuseSignal:
    """A pattern worth a human look: ``kind`` is ``unusual_volume``, ``refused_commands`` or
    ``instruction_override``; ``detail`` says what was seen, in Japanese for the admins who
    read usage reports, and never contains message text."""

    kind: str
    user_hash: str
    count: int
    detail: str
