"""``baibain audit verify`` and ``baibain audit export``."""

from __future__ import annotations

import errno
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, get_args

import typer

from admin import orgs
from admin.audit_models import Receipt
from bot.cli_common import admin_db, cli_user
from bot.services import open_audit_log
from bot.settings import Settings
from bot.turns import Outcome
from knowledge.dates import midnight_in_japan, parse_date
from knowledge.errors import BadInput, BaibainError

audit_app = typer.Typer(no_args_is_help=True, help="監査ログの検証と書き出し")


def _outcomes(given: list[str]) -> tuple[str, ...]:
    """The turn outcomes ``--outcome`` names (「not_found」: what staff asked that no document
    answered, the datasets to add), each checked."""
    known = get_args(Outcome)
    for name in given:
        if name not in known:
            raise BadInput(
                f"--outcome「{name}」は指定できません。"
                f"{'、'.join(known)} のいずれかを指定してください。"
            )
    return tuple(dict.fromkeys(given))


def _moment(text: str | None, *, end_of_day: bool) -> datetime | None:
    """A date (和暦 accepted) as the start of that day in Japan (of the next day for ``until``)."""
    if text is None:
        return None
    day = parse_date(text)
    try:
        if end_of_day:
            day += timedelta(days=1)
        return midnight_in_japan(day).astimezone(UTC)
    except OverflowError:  # 9999-12-31, 0001-01-01: written for "no bound"
        return None


@audit_app.command("verify")
def verify(
    receipt: Annotated[
        str | None,
        typer.Option(help="前回の検証で表示された控え（記録の削除や巻き戻しも検出します）"),
    ] = None,
) -> None:
    """ハッシュチェーンと署名付きダイジェストを検証します（改ざんがあれば終了コード1）。"""
    settings = Settings()
    with admin_db(settings) as engine:
        kept = None if receipt is None else Receipt.parse(receipt)
        audit = open_audit_log(settings, engine)
        if audit.keyring.key_file is not None:
            # BAIBAIN_AUDIT_KEY unset: a key file that did not write the log cannot verify it;
            # that is said as such, not as a broken chain, and a file generated now is removed.
            audit.check_writable()
        result = audit.verify(kept)
    if result.ok:
        typer.echo(f"監査ログは改ざんされていません（{result.checked} 件を確認しました）。")
        if result.note:
            typer.echo(result.note)
        elif kept is not None:
            typer.echo("指定された控えの記録も残っています（削除や巻き戻しはありません）。")
        typer.echo(
            f"控え: {result.receipt}（データベースの外に保管し、次回 --receipt に指定すると、"
            "記録の削除や以前の状態への巻き戻しも検出できます）"
        )
        return
    typer.echo(
        f"監査ログの検証に失敗しました（最初の問題はレコード #{result.first_bad_seq}）: "
        f"{result.reason}。",
        err=True,
    )
    raise typer.Exit(code=1)


@audit_app.command("export")
def export(
    org: Annotated[str, typer.Option(help="組織名")],
    since: Annotated[
        str | None, typer.Option(help="開始日（例: 2026-04-01、令和8年4月1日）")
    ] = None,
    until: Annotated[str | None, typer.Option(help="終了日（その日を含みます）")] = None,
    outcome: Annotated[
        list[str] | None,
        typer.Option(
            help="この結果の質問だけ（例: not_found で資料が見つからなかった質問。複数指定可）"
        ),
    ] = None,
) -> None:
    """組織の監査ログを復号して JSONL で書き出します（書き出し自体も記録されます）。"""
    settings = Settings()
    with admin_db(settings) as engine:
        outcomes = _outcomes(outcome or [])
        start, end = _moment(since, end_of_day=False), _moment(until, end_of_day=True)
        if start is not None and end is not None and start >= end:
            raise BadInput(f"--since（{since}）は --until（{until}）以前の日付にしてください。")
        owner = orgs.get_org(engine, org)
        log = open_audit_log(settings, engine)
        rows = log.export(owner.id, start, end, actor=cli_user(), outcomes=outcomes)
        written = 0
        try:
            for row in rows:
                typer.echo(json.dumps(row, ensure_ascii=False, default=str))
                written += 1
        except BaibainError:
            # Said before the error itself: what is on standard output is not the whole range.
            typer.echo(
                f"書き出しは {written} 件目のあとで中断しました。書き出された内容は不完全です。",
                err=True,
            )
            raise
        except OSError as exc:  # standard output's disk full, or its reader gone
            space = "書き出し先の空き容量を確認してください。" if exc.errno == errno.ENOSPC else ""
            typer.echo(
                f"書き出しは {written} 件目のあとで中断しました（{exc.strerror}）。"
                f"書き出された内容は不完全です。{space}",
                err=True,
            )
            raise typer.Exit(code=1) from exc
        # On standard error, so the JSONL stays clean: an empty range is not mistaken for
        # an export that wrote nothing by failing.
        typer.echo(f"組織「{owner.name}」の監査ログを {written} 件書き出しました。", err=True)
