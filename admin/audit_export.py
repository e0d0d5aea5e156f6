"""Reading the audit log out: the records of an export, a page at a time."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy.engine import Engine, RowMapping
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql import Select

from admin import audit_crypto as crypto
from admin.audit_models import RECORD, AuditUnavailable
from knowledge.dates import as_utc


def paged_rows(engine: Engine, statement: Select[Any], page: int) -> Iterator[RowMapping]:
    """The rows of ``statement`` (ordered by record number), read ``page`` at a time, each
    page on a connection of its own: however long the reader takes over a page (a slow pipe,
    a pager), no transaction stays open meanwhile for PostgreSQL to end at its
    idle-in-transaction bound, cutting the export short."""
    after = 0
    while True:
        query = statement.where(RECORD.c.seq > after).limit(page)
        try:
            with engine.connect() as conn:
                rows = conn.execute(query).mappings().all()
        except SQLAlchemyError as exc:
            raise AuditUnavailable(detail=f"audit export failed: {type(exc).__name__}") from exc
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1]["seq"]


def exported(row: RowMapping, data: Mapping[str, Any]) -> dict[str, object]:
    """A record as exported: its clear metadata, the time in ISO form, and the user id and
    payload of its decrypted ``data`` (never the nonce or the ciphertext)."""
    item: dict[str, object] = {
        name: row[name] for name in row if name not in ("nonce", "ciphertext")
    }
    item["created_at"] = as_utc(crypto.as_datetime(row["created_at"])).isoformat()
    item["user_id"] = data.get("user_id")
    item["payload"] = data.get("payload", {})
    return item
