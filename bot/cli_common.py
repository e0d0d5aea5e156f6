"""What the ``baibain`` commands share: a failure as one Japanese line and an exit code, and
the administrative database with the audit log that records what is done on it."""

from __future__ import annotations

import getpass
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import typer
from sqlalchemy.engine import Engine

from admin.audit import AuditLog
from admin.audit_models import DONE_BUT_UNRECORDED, AuditEvent, AuditWriteFailed
from admin.db import create_db_engine, init_db
from bot.services import open_audit_log
from bot.settings import Settings
from knowledge.errors import BaibainError


def fail(exc: BaibainError) -> typer.Exit:
    """Print the error for staff; exit code 2 for bad input, 1 for a failure on our side."""
    typer.echo(f"エラー: {exc.user_message}", err=True)
    return typer.Exit(code=2 if exc.status < 500 else 1)


@contextmanager
def reported() -> Iterator[None]:
    """Turn a ``BaibainError`` raised inside into its message and exit code (``fail``)."""
    try:
        yield
    except BaibainError as exc:
        raise fail(exc) from exc


@contextmanager
def admin_db(settings: Settings | None = None) -> Iterator[Engine]:
    """The administrative database, its tables created; errors inside are ``reported``."""
    engine = create_db_engine((settings or Settings()).sqlalchemy_url)
    try:
        with reported():
            init_db(engine)
            yield engine
    finally:
        engine.dispose()


def admin_audit(engine: Engine) -> AuditLog:
    """The audit log that administrative commands record into, opened before they act, so a
    misconfigured audit key stops the command before it changes anything."""
    return open_audit_log(Settings(), engine)


def record_admin(
    audit: AuditLog, org_id: str | None, action: str, details: Mapping[str, object]
) -> None:
    """Record an administrative action taken on the command line (by the OS account) once it
    is done; a failed record says so instead of claiming that nothing happened."""
    event = AuditEvent.admin(
        org_id=org_id,
        platform="cli",
        user_id=f"cli:{getpass.getuser()}",
        action=action,
        details=details,
    )
    try:
        audit.append(event)
    except AuditWriteFailed as exc:
        raise AuditWriteFailed(DONE_BUT_UNRECORDED, detail=exc.detail) from exc
