"""``baibain index migrate --to weaviate``: copy the embedded index to Weaviate;
``baibain index embed``: embed the chunks that have no vector by the configured model."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated

import typer
from tqdm import tqdm

from bot.services import open_embedder, open_weaviate_index
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


async def _embed(settings: Settings) -> int:
    embedder = open_embedder(settings)
    if embedder is None:
        raise BadInput(
            "BAIBAIN_EMBEDDING_BASE_URL と BAIBAIN_EMBEDDING_MODEL を設定してから実行してください。"
        )
    store = EmbeddedIndexStore(settings.index_path, Analyzer(), embedder)
    with tqdm(desc="埋め込みを作成中", unit="件", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            return await store.embed_missing(progress)
        finally:
            await store.close()
            await embedder.close()


@index_app.command("embed")
def embed() -> None:
    """ベクトルがまだない断片を、設定された埋め込みモデルでベクトル化します（中断しても再開できます）。"""
    settings = Settings()
    try:
        if not settings.index_path.exists():
            raise BadInput(f"組み込みインデックス {settings.index_path} が見つかりません。")
        count = asyncio.run(_embed(settings))
    except BaibainError as exc:
        typer.echo(f"エラー: {exc.user_message}", err=True)
        raise typer.Exit(code=2 if exc.status < 500 else 1) from exc
    typer.echo(f"{count} 件の断片をベクトル化しました。")
