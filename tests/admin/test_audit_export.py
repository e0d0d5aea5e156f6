"""An audit export read slowly (piped into a pager or a slow link) on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from admin.audit import AuditEvent, AuditKeyring, AuditLog
from admin.audit_crypto import new_audit_key

# What PostgreSQL does to a session left idle inside a transaction past
# idle_in_transaction_session_timeout (a minute for Baibain's connections).
_END_IDLE_TRANSACTIONS = """
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()
"""


def test_an_export_whose_reader_pauses_is_written_whole(db_engine: Engine, tmp_path: Path) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL ends sessions left idle in a transaction")
    log = AuditLog(db_engine, AuditKeyring.load(new_audit_key(), tmp_path), export_page=3)
    for n in range(1, 8):
        log.append(AuditEvent("turn", "1", "slack", "answered", "U1", payload={"question": f"{n}"}))
    rows = log.export("1", None, None, actor="cli:auditor")
    first = next(rows)
    # The reader pauses longer than the server lets a transaction sit idle.
    with db_engine.connect() as connection:
        connection.execute(text(_END_IDLE_TRANSACTIONS))
    exported = [first, *rows]
    assert [r["payload"] for r in exported] == [{"question": f"{n}"} for n in range(1, 8)]
