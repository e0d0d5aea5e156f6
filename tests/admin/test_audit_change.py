"""An administrative change and its audit record commit together (``AuditLog.change``), on real
SQLite and PostgreSQL: a record that cannot be written, or an interruption between the change
and its record, leaves nothing changed."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from support import refusing_inserts

from admin import links, orgs
from admin.audit import AuditEvent, AuditKeyring, AuditLog, AuditWriteFailed
from admin.audit_crypto import new_audit_key
from admin.audit_models import RECORD


@pytest.fixture
def log(db_engine: Engine, tmp_path: Path) -> AuditLog:
    return AuditLog(db_engine, AuditKeyring.load(new_audit_key(), tmp_path), digest_every=3)


def created(org: orgs.OrgInfo) -> AuditEvent:
    return AuditEvent.admin(
        org_id=org.id, platform="cli", user_id="cli:admin", action="org.create", details={}
    )


def records(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(RECORD)) or 0)


def org_names(engine: Engine) -> list[str]:
    return [org.name for org in orgs.list_orgs(engine)]


def test_a_change_whose_record_cannot_be_written_does_not_stand(
    db_engine: Engine, log: AuditLog
) -> None:
    with log.change() as change:  # the first record ever; the chain head is created for it
        change.record(created(orgs.create_org(change.conn, "横浜市")))
    refusing = refusing_inserts(db_engine, "audit_record")
    with refusing, pytest.raises(AuditWriteFailed), log.change() as change:
        org = orgs.create_org(change.conn, "川崎市")
        links.link_workspace(change.conn, "川崎市", "slack", "T1")
        change.record(created(org))
    assert org_names(db_engine) == ["横浜市"]
    assert links.org_for_workspace(db_engine, "slack", "T1") is None
    assert records(db_engine) == 1
    result = log.verify()
    assert result.ok and result.checked == 1, result.reason


def test_a_change_interrupted_before_its_record_does_not_stand(
    db_engine: Engine, log: AuditLog
) -> None:
    with pytest.raises(KeyboardInterrupt), log.change() as change:
        orgs.create_org(change.conn, "川崎市")
        raise KeyboardInterrupt  # Ctrl-C between the change and its record
    assert org_names(db_engine) == []
    assert records(db_engine) == 0
    assert log.verify().ok


def test_first_changes_made_at_once_are_all_recorded_in_one_chain(
    db_engine: Engine, log: AuditLog
) -> None:
    """The chain head does not exist yet when they start: one of them creates it, the others
    queue behind it, and every change gets its record."""
    barrier = threading.Barrier(8)

    def create(n: int) -> int:
        barrier.wait()
        with log.change() as change:
            return change.record(created(orgs.create_org(change.conn, f"市{n}")))

    with ThreadPoolExecutor(8) as pool:
        seqs = sorted(pool.map(create, range(8)))
    assert seqs == list(range(1, 9))
    assert len(org_names(db_engine)) == 8
    result = log.verify()
    assert result.ok and result.checked == 8, result.reason
