"""``baibain quota set`` and ``baibain quota show``."""

from __future__ import annotations

from typing import Annotated

import typer

from admin import orgs
from admin.quotas import MAX_BUDGET, QuotaService, QuotaStatus
from bot.cli_common import admin_change, admin_db, fail, record_admin
from bot.commands import typed_digits
from bot.settings import Settings
from knowledge.errors import BadInput

quota_app = typer.Typer(no_args_is_help=True, help="月間トークン上限の管理")


def parse_tokens(typed: str) -> int | None:
    """A token count as administrators type it (``typed_digits``); one of more digits than the
    largest budget has is past it (``MAX_BUDGET + 1``); ``None`` for no number."""
    digits = typed_digits(typed)
    if digits is None:
        return None
    return MAX_BUDGET + 1 if len(digits) > len(str(MAX_BUDGET)) else int(digits)


def tokens_refused(typed: str) -> BadInput:
    """Why ``typed`` is no token count (「50万」, 「1e6」, 「-5」)."""
    return BadInput(
        f"トークン数「{typed[:40]}」は使えません。0〜{MAX_BUDGET:,} の整数で指定してください"
        "（例: 500000 または 500,000。「50万」のような書き方はできません）。"
    )


def changed_line(name: str, tokens: int) -> str:
    """The line confirming a new budget, before the quota it shows."""
    return f"組織「{name}」の月間トークン上限を {tokens:,} トークンに変更しました。"


def describe(name: str, status: QuotaStatus) -> str:
    """The quota as staff read it."""
    reset = status.reset_on
    lines = [
        f"{name}のトークン上限と使用量（{status.period}）",
        f"  上限: {status.budget:,} トークン",
        f"  使用済み: {status.used:,} / 予約中: {status.reserved:,} / 残り: {status.remaining:,}",
    ]
    if status.percent_used is not None:
        passed = "（上限の80%に達しています）" if status.threshold_reached == 80 else ""
        lines.append(f"  使用率: {status.percent_used}%{passed}")
    if status.budget == 0:  # turned off, not spent (as the refusal says)
        lines.append("  AIによる回答は行いません（上限0トークン）")
    elif status.used >= status.budget:
        # Used can pass the budget: a server that ignores max_tokens is charged what it reports.
        over = status.used - status.budget
        lines.append("  今月の上限に達しています" + (f"（{over:,} トークン超過）" if over else ""))
    lines += [
        f"  リセット日: {reset.year}年{reset.month}月{reset.day}日",
        "  上限到達後: "
        + ("資料の抜粋で回答します" if status.offline_when_exhausted else "回答を停止します"),
    ]
    return "\n".join(lines)


def _run(name: str, tokens: int | None, offline: bool | None) -> str:
    settings = Settings()
    with admin_db(settings) as engine:
        org = orgs.get_org(engine, name)
        quotas = QuotaService(engine, settings.monthly_token_budget)
        if tokens is not None or offline is not None:
            budget = tokens if tokens is not None else quotas.status(org.id).budget
            with admin_change(engine) as change:
                quotas.set_budget(
                    org.id, budget, offline_when_exhausted=offline, within=change.conn
                )
                details = {"budget": budget, "offline_when_exhausted": offline}
                record_admin(change, org.id, "quota.set", details)
        shown = describe(org.name, quotas.status(org.id))
        return shown if tokens is None else f"{changed_line(org.name, tokens)}\n{shown}"


@quota_app.command("set")
def set_quota(
    name: Annotated[str, typer.Argument(help="組織名")],
    tokens: Annotated[str, typer.Argument(help="月間トークン上限")],
    offline: Annotated[
        bool | None,
        typer.Option(
            "--offline/--no-offline",
            help="上限到達後に資料の抜粋で回答するか（省略すると今の設定のままです）",
        ),
    ] = None,
) -> None:
    """組織の月間トークン上限を設定します（今月分から適用）。"""
    amount = parse_tokens(tokens)
    if amount is None:
        raise fail(tokens_refused(tokens))
    typer.echo(_run(name, amount, offline))


@quota_app.command("show")
def show_quota(name: Annotated[str, typer.Argument(help="組織名")]) -> None:
    """組織の今月の上限・使用量・残り・リセット日を表示します。"""
    typer.echo(_run(name, None, None))
