"""``baibain index migrate --to weaviate``: copy the embedded index to Weaviate;
``baibain index embed``: embed the chunks that have no vector by the configured model (in the
configured index, embedded or Weaviate)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from tqdm import tqdm

from bot.cli_common import reported
from bot.services import configured_database, open_embedder, open_index, open_weaviate_index
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embeddings import Embedder
from knowledge.errors import BadInput
from knowledge.index import IndexStore
from knowledge.migration import MigrationReport, copy_index

index_app = typer.Typer(no_args_is_help=True, help="検索インデックスの管理")

Progress = Callable[[int, int], None]


@contextmanager
def _progress_bar(description: str) -> Iterator[Progress]:
    """A progress bar on stderr, fed with ``(done, total)``."""
    with tqdm(desc=description, unit="件", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        yield progress


async def _migrate(settings: Settings, batch_size: int) -> tuple[MigrationReport, int | None]:
    """Copy the documents, then embed what Weaviate still lacks vectors for (documents copied
    by an earlier run without embeddings); the count is ``None`` without an embedder."""
    analyzer = Analyzer()
    database = configured_database(settings)
    embedder = open_embedder(settings)
    try:
        # Both bound to the configured database: documents keep their organization numbers.
        source = EmbeddedIndexStore(settings.index_path, analyzer, database=database)
    except BaseException:
        if embedder is not None:
            await embedder.close()
        raise
    try:
        target = open_weaviate_index(settings, analyzer, embedder, database=database)
    except BaseException:
        await source.close()
        if embedder is not None:
            await embedder.close()
        raise
    try:
        await target.ping()
        with _progress_bar("Weaviate へ移行中") as progress:
            report = await copy_index(source, target, batch_size=batch_size, progress=progress)
        if embedder is None:
            return report, None
        with _progress_bar("埋め込みを作成中") as progress:
            return report, await target.embed_missing(progress)
    finally:
        await source.close()
        await target.close()
        if embedder is not None:
            await embedder.close()


@index_app.command("migrate")
def migrate(
    to: Annotated[str, typer.Option("--to", help="移行先（weaviate）")],
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="一度に書き込む文書数")] = 50,
) -> None:
    """組み込みインデックスの全文書を Weaviate へコピーします（再実行すると続きから再開します）。

    埋め込み（BAIBAIN_EMBEDDING_*）を設定している場合は、断片のベクトルも作成します。
    """
    settings = Settings()
    with reported():
        if to != "weaviate":
            raise BadInput("--to には weaviate を指定してください。")
        if not settings.index_path.exists():
            raise BadInput(f"組み込みインデックス {settings.index_path} が見つかりません。")
        report, embedded = asyncio.run(_migrate(settings, batch_size))
    typer.echo(
        f"{report.copied} 件の文書をコピーしました"
        f"（移行済みのため省略 {report.skipped} 件、合計 {report.total} 件）。"
    )
    if embedded is not None:
        typer.echo(f"{embedded} 件の断片をベクトル化しました。")


def _embedding_index(settings: Settings, embedder: Embedder) -> IndexStore:
    """The configured index, keeping vectors of ``embedder``."""
    if settings.index != "weaviate" and not settings.index_path.exists():
        raise BadInput(f"組み込みインデックス {settings.index_path} が見つかりません。")
    return open_index(settings, Analyzer(), embedder, database=configured_database(settings))


async def _embed(settings: Settings) -> int:
    embedder = open_embedder(settings)
    if embedder is None:
        raise BadInput(
            "BAIBAIN_EMBEDDING_BASE_URL と BAIBAIN_EMBEDDING_MODEL を設定してから実行してください。"
        )
    try:
        store = _embedding_index(settings, embedder)
    except BaseException:
        await embedder.close()
        raise
    try:
        with _progress_bar("埋め込みを作成中") as progress:
            return await store.embed_missing(progress)
    finally:
        await store.close()
        await embedder.close()


@index_app.command("embed")
def embed() -> None:
    """ベクトルがまだない断片を、設定された埋め込みモデルでベクトル化します（中断しても再開できます）。

    BAIBAIN_INDEX=weaviate のときは Weaviate の断片が対象です。
    """
    settings = Settings()
    with reported():
        count = asyncio.run(_embed(settings))
    typer.echo(f"{count} 件の断片をベクトル化しました。")
