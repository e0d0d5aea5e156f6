"""``baibain audit verify`` and ``baibain audit export``."""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Annotated

import typer
from sqlalchemy.engine import Engine

from admin import orgs
from admin.audit import AuditLog
from admin.audit_models import DONE_BUT_UNRECORDED, AuditEvent, AuditWriteFailed
from admin.db import create_db_engine, init_db
from bot.services import open_audit_log
from bot.settings import Settings
from knowledge.dates import parse_date
from knowledge.errors import BaibainError

audit_app = typer.Typer(no_args_is_help=True, help="監査ログの検証と書き出し")


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


def _moment(text: str | None, *, end_of_day: bool) -> datetime | None:
    """A date (和暦 accepted) as the start of that day in Japan (of the next day for ``until``)."""
    if text is None:
        return None
    day = parse_date(text)
    if end_of_day:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=UTC) - timedelta(hours=9)


@audit_app.command("verify")
def verify() -> None:
    """ハッシュチェーンと署名付きダイジェストを検証します（改ざんがあれば終了コード1）。"""
    settings = Settings()
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        init_db(engine)
        result = open_audit_log(settings, engine).verify()
    except BaibainError as exc:
        typer.echo(f"エラー: {exc.user_message}", err=True)
        raise typer.Exit(code=2) from exc
    finally:
        engine.dispose()
    if result.ok:
        typer.echo(f"監査ログは改ざんされていません（{result.checked} 件を確認しました）。")
        return
    typer.echo(
        f"監査ログの検証に失敗しました: レコード #{result.first_bad_seq}: {result.reason}", err=True
    )
    raise typer.Exit(code=1)


@audit_app.command("export")
def export(
    org: Annotated[str, typer.Option(help="組織名")],
    since: Annotated[
        str | None, typer.Option(help="開始日（例: 2026-04-01、令和8年4月1日）")
    ] = None,
    until: Annotated[str | None, typer.Option(help="終了日（その日を含みます）")] = None,
) -> None:
    """組織の監査ログを復号して JSONL で書き出します（書き出し自体も記録されます）。"""
    settings = Settings()
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        init_db(engine)
        org_id = orgs.get_org(engine, org).id
        rows = open_audit_log(settings, engine).export(
            org_id,
            _moment(since, end_of_day=False),
            _moment(until, end_of_day=True),
            actor=getpass.getuser(),
        )
        for row in rows:
            typer.echo(json.dumps(row, ensure_ascii=False, default=str))
    except BaibainError as exc:
        typer.echo(f"エラー: {exc.user_message}", err=True)
        raise typer.Exit(code=2) from exc
    finally:
        engine.dispose()
