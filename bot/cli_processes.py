"""The long-running processes of the ``baibain`` command line: ``serve`` and ``worker``."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli_common import reported, run_async
from bot.settings import Settings
from knowledge.errors import BadInput


def serve(
    host: Annotated[str | None, typer.Option(help="待ち受けるアドレス")] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="待ち受けるポート")] = None,
) -> None:
    """Web プロセス（チャット画面・REST・各チャット連携）を起動します。"""
    import asyncio

    from bot.app import create_app
    from bot.http import serve_app

    settings = Settings()
    updates = {k: v for k, v in (("host", host), ("port", port)) if v is not None}
    settings = settings.model_copy(update=updates)
    listening = f"http://{settings.host}:{settings.port}/ で待ち受けます。"
    with reported():
        try:
            asyncio.run(
                serve_app(
                    create_app(settings, show_progress=True),
                    settings.host,
                    settings.port,
                    # Said once the app has started (database, index and audit log opened).
                    started=lambda: typer.echo(listening, err=True),
                )
            )
        except OSError as exc:
            if exc.filename is not None:
                raise
            raise BadInput(  # the port taken, an address not of this machine
                f"{settings.host}:{settings.port} で待ち受けできませんでした"
                f"（{exc.strerror or type(exc).__name__}）。ほかのプログラムがそのポートを"
                "使っていないか、--host と --port（BAIBAIN_HOST、BAIBAIN_PORT）を確認してください。"
            ) from exc


def worker(
    once: Annotated[
        str,
        typer.Option(
            metavar="JOB",
            help="このジョブだけを今すぐ1回実行して終了します"
            "（dataset-refresh, quota-reservations, retention, usage-report）",
        ),
    ] = "",
) -> None:
    """定期ジョブ（データ更新・クォータ更新・保存期間の削除・利用レポート）を実行します。"""
    from bot.worker import job_named, once_report, run_once, run_worker

    if not once:
        run_async(lambda: run_worker(Settings()))
        return
    with reported():
        job_id = job_named(once)
    message, code = once_report(job_id, run_async(lambda: run_once(Settings(), job_id)))
    typer.echo(message, err=code != 0)
    raise typer.Exit(code)
