"""``baibain org …`` and ``baibain apikey …``: organizations, their chat workspaces and
admins (added and removed), and API keys. Each change commits with its audit record."""

from __future__ import annotations

from typing import Annotated

import typer

from admin import links, orgs
from bot.cli_common import admin_change, admin_db, record_admin
from knowledge.dates import minute_in_japan
from knowledge.errors import BadInput

org_app = typer.Typer(no_args_is_help=True, help="組織の管理")
apikey_app = typer.Typer(no_args_is_help=True, help="APIキーの管理")

PlatformArg = Annotated[str, typer.Argument(help="slack | teams | logo", metavar="PLATFORM")]


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="組織名")],
    operator: Annotated[
        bool,
        typer.Option(
            "--operator",
            help="運用組織にします（その管理者はチャットで quota set などを実行できます）。"
            "既存の組織に付けると運用組織に設定します",
        ),
    ] = False,
) -> None:
    """組織を作成します。"""
    existed = False
    with admin_db(create=True) as engine, admin_change(engine) as change:
        try:
            created = orgs.create_org(change.conn, name)
        except BadInput:
            if not operator:
                raise
            created, existed = orgs.get_org(change.conn, name.strip()), True
        if operator:
            links.set_operator(change.conn, created.name)
        details = {"name": created.name, "operator": operator}
        record_admin(change, created.id, "org.set_operator" if existed else "org.create", details)
    role = "運用組織として" if operator else ""
    if existed:
        typer.echo(f"組織「{created.name}」を運用組織に設定しました（id {created.id}）。")
    else:
        typer.echo(f"組織「{created.name}」を{role}作成しました（id {created.id}）。")


@org_app.command("link")
def org_link(
    name: Annotated[str, typer.Argument(help="組織名")],
    platform: PlatformArg,
    workspace_id: Annotated[
        str,
        typer.Argument(
            help="Slack のチームID（T…）、Teams のテナントID、LoGo チャットの組織ID",
            metavar="ID",
        ),
    ],
) -> None:
    """チャットのワークスペースを組織に関連付けます（未登録のワークスペースには回答しません）。"""
    with admin_db() as engine, admin_change(engine) as change:
        org = links.link_workspace(change.conn, name, platform, workspace_id)
        details = {"platform": platform, "workspace_id": workspace_id.strip()}
        record_admin(change, org.id, "org.link", details)
    typer.echo(
        f"{platform} のワークスペース {workspace_id.strip()} を組織「{org.name}」に関連付けました。"
    )


@org_app.command("add-admin")
def org_add_admin(
    name: Annotated[str, typer.Argument(help="組織名")],
    platform: PlatformArg,
    user_id: Annotated[
        str,
        typer.Argument(
            help="Slack のメンバーID（U…）、Teams の Entra ID オブジェクトID、"
            "LoGo チャットのユーザーID",
            metavar="USER_ID",
        ),
    ],
) -> None:
    """チャットのユーザーを組織の管理者にします（管理者コマンドを実行できます）。"""
    with admin_db() as engine, admin_change(engine) as change:
        org = links.add_admin(change.conn, name, platform, user_id)
        details = {"platform": platform, "user_id": user_id.strip()}
        record_admin(change, org.id, "org.add_admin", details)
    typer.echo(f"{platform} のユーザー {user_id.strip()} を組織「{org.name}」の管理者にしました。")


@org_app.command("unlink")
def org_unlink(
    name: Annotated[str, typer.Argument(help="組織名")],
    platform: PlatformArg,
    workspace_id: Annotated[str, typer.Argument(help="関連付けたワークスペースのID", metavar="ID")],
) -> None:
    """ワークスペースと組織の関連付けを解除します（以後そのワークスペースには回答しません）。"""
    with admin_db() as engine, admin_change(engine) as change:
        org = links.unlink_workspace(change.conn, name, platform, workspace_id)
        details = {"platform": platform, "workspace_id": workspace_id.strip()}
        record_admin(change, org.id, "org.unlink", details)
    typer.echo(
        f"{platform} のワークスペース {workspace_id.strip()} と組織「{org.name}」の"
        "関連付けを解除しました。"
    )


@org_app.command("remove-admin")
def org_remove_admin(
    name: Annotated[str, typer.Argument(help="組織名")],
    platform: PlatformArg,
    user_id: Annotated[str, typer.Argument(help="管理者にしたユーザーのID", metavar="USER_ID")],
) -> None:
    """チャットのユーザーを組織の管理者から外します（異動・退職のときなど）。"""
    with admin_db() as engine, admin_change(engine) as change:
        org = links.remove_admin(change.conn, name, platform, user_id)
        details = {"platform": platform, "user_id": user_id.strip()}
        record_admin(change, org.id, "org.remove_admin", details)
    typer.echo(
        f"{platform} のユーザー {user_id.strip()} を組織「{org.name}」の管理者から外しました。"
    )


@org_app.command("list")
def org_list() -> None:
    """組織の一覧（関連付けたワークスペース、管理者、有効なAPIキー数）を表示します。"""
    with admin_db() as engine:
        overview = links.org_overview(engine)
    if not overview:
        typer.echo("組織はまだありません。`baibain org create 組織名` で作成してください。")
    for item in overview:
        role = "（運用組織）" if item.operator else ""
        workspaces = "、".join(f"{p} {w}" for p, w in item.workspaces) or "なし"
        admins = "、".join(f"{p} {u}" for p, u in item.admins)
        typer.echo(
            f"{item.org.name}{role} id {item.org.id}: ワークスペース {workspaces} / "
            f"管理者 {len(item.admins)} 人{f'（{admins}）' if admins else ''} / "
            f"APIキー {item.api_keys} 件"
        )


@apikey_app.command("create")
def apikey_create(org: Annotated[str, typer.Option(help="組織名")]) -> None:
    """APIキーを発行します。キーは最後の行に一度だけ表示されます。"""
    with admin_db() as engine, admin_change(engine) as change:
        key = orgs.create_api_key(change.conn, org)
        record_admin(change, key.org.id, "apikey.create", {"key_id": key.prefix})
    typer.echo(f"組織「{key.org.name}」のAPIキーを発行しました（ID {key.prefix}）。", err=True)
    typer.echo("このキーは再表示できません。安全な場所に保管してください。", err=True)
    typer.echo(key.secret)


@apikey_app.command("list")
def apikey_list(org: Annotated[str, typer.Option(help="組織名")]) -> None:
    """組織のAPIキーのIDと発行日・無効化日を表示します（キー自体は表示されません）。"""
    with admin_db() as engine:
        keys = orgs.list_api_keys(engine, org)
    if not keys:
        typer.echo(f"組織「{org}」のAPIキーはまだありません。")
    for key in keys:
        issued = minute_in_japan(key.created_at)
        state = f"無効化 {minute_in_japan(key.revoked_at)}" if key.revoked_at else "有効"
        typer.echo(f"{key.prefix}  発行 {issued}  {state}")


@apikey_app.command("revoke")
def apikey_revoke(
    key: Annotated[
        str,
        typer.Argument(
            help="APIキーのID（発行時に表示。キー全体も指定できます）", metavar="KEY_ID"
        ),
    ],
) -> None:
    """APIキーを無効にします（キー全体を指定しても、その秘密の部分は表示・記録しません）。"""
    with admin_db() as engine, admin_change(engine) as change:
        revoked = orgs.revoke_api_key(change.conn, key)
        record_admin(change, revoked.org.id, "apikey.revoke", {"key_id": revoked.prefix})
    typer.echo(f"組織「{revoked.org.name}」のAPIキー {revoked.prefix} を無効にしました。")
