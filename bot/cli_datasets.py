"""``baibain dataset list`` and ``baibain dataset delete``: an organization's datasets from
the server's shell, as its admins have them in chat (``/datasets``, ``/dataset delete``)."""

from __future__ import annotations

from typing import Annotated

import typer

from admin import orgs
from admin.datasets import DatasetService
from admin.identity import database_identity
from bot.chat_commands import dataset_line, delete_dataset_or_document, document_lines
from bot.cli_common import admin_db, cli_user, fail, run_async, run_with_services
from bot.sample import sample_in_index, sample_line
from bot.services import Services, open_index
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.errors import BadInput

dataset_app = typer.Typer(no_args_is_help=True, help="データセットの管理")

OrgOption = Annotated[str, typer.Option("--org", help="組織名")]


@dataset_app.command("list")
def dataset_list(org: OrgOption) -> None:
    """組織が利用できるデータセット（共有のものと自組織のもの、同梱のサンプル法令）を一覧表示します。"""
    settings = Settings()
    with admin_db(settings) as engine:
        viewer = orgs.get_org(engine, org)
        rows = DatasetService(engine).visible(viewer.id)
        database = database_identity(engine)
    # The bundled statutes answer questions too, though no organization uploaded them.
    sample = run_async(lambda: _sample_in(settings, database))
    if not rows and not sample:
        typer.echo(f"組織「{viewer.name}」が利用できるデータセットはまだありません。")
    for row in rows:
        typer.echo(dataset_line(row, viewer.id))
    if sample:
        typer.echo(sample_line())


async def _sample_in(settings: Settings, database: str) -> bool:
    """Whether the configured index (serving ``database``) holds the bundled sample (without
    loading it)."""
    index = open_index(settings, Analyzer(), None, database=database)
    try:
        return await sample_in_index(index)
    finally:
        await index.close()


@dataset_app.command("show")
def dataset_show(
    dataset_id: Annotated[int, typer.Argument(min=1, help="データセットの番号（list で確認）")],
    org: OrgOption,
) -> None:
    """データセットの文書を、文書IDとともに一覧表示します。"""
    with admin_db() as engine:
        viewer = orgs.get_org(engine, org)
        datasets = DatasetService(engine)
        dataset = datasets.get(dataset_id, viewer.id)
        titles = datasets.titles(dataset.id)
    typer.echo(dataset_line(dataset, viewer.id))
    for line in document_lines(dataset, titles, limit=len(titles)):
        typer.echo(line)


@dataset_app.command("delete")
def dataset_delete(
    dataset_id: Annotated[int, typer.Argument(min=1, help="データセットの番号（list で確認）")],
    org: OrgOption,
    document: Annotated[
        str | None,
        typer.Option("--document", help="この文書だけを削除します（文書ID・ファイル名・文書名）"),
    ] = None,
) -> None:
    """組織のデータセットを、その文書とともに削除します（検索できなくなります）。"""
    if document is not None and not document.strip():  # a script's empty variable
        raise fail(
            BadInput(
                "--document に削除する文書（文書ID・ファイル名・文書名）を指定してください。"
                "何も削除していません。"
            )
        )

    async def work(services: Services) -> str:
        owner = orgs.get_org(services.engine, org)
        return await delete_dataset_or_document(
            services.uploads, dataset_id, owner.id, document or "", who=cli_user(), platform="cli"
        )

    typer.echo(run_with_services(Settings(), work))
