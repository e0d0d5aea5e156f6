"""``baibain index migrate --to weaviate``: copy the embedded index to Weaviate."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from tqdm import tqdm

from bot.services import open_weaviate_index
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import BadInput, BaibainError
from knowledge.migration import MigrationReport, copy_index

index_app = typer.Typer(no_args_is_help=True, help="検索インデックスの管理")


async def _migrate(settings: Settings, batch_size: int) -> MigrationReport:
    analyzer = Analyzer()
    source = EmbeddedIndexStore(settings.index_path, analyzer)
    try:
        target = open_weaviate_index(settings, analyzer)
    except BaseException:
        await source.close()
        raise
    with tqdm(desc="Weaviate へ移行中", unit="件", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            await target.ping()
            return await copy_index(source, target, batch_size=batch_size, progress=progress)
        finally:
            await source.close()
            await target.close()


@index_app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="移行先（weaviate）")],
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="一度に書き込む文書数")] = 50,
) -> None:
    """組み込みインデックスの全文書を Weaviate へコピーします（再実行すると続きから再開します）。"""
    settings = Settings()
    try:
        if to != "weaviate":
            raise BadInput("--to には weaviate を指定してください。")
        if not settings.index_path.exists():
            raise BadInput(f"組み込みインデックス {settings.index_path} が見つかりません。")
        report = asyncio.run(_migrate(settings, batch_size))
    except BaibainError as exc:
        typer.echo(f"エラー: {exc.user_message}", err=True)
        raise typer.Exit(code=2 if exc.status < 500 else 1) from exc
    typer.echo(
        f"{report.copied} 件の文書をコピーしました"
        f"（移行済みのため省略 {report.skipped} 件、合計 {report.total} 件）。"
    )
