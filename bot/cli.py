"""The ``baibain`` command line."""

from __future__ import annotations

import json
import logging
import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from tqdm import tqdm

from admin import orgs
from admin.dataset_rules import CATEGORIES
from bot.api import answer_json
from bot.asker import Asker
from bot.chat_commands import scope_label
from bot.cli_audit import audit_app
from bot.cli_common import (
    JapaneseUsageGroup,
    cli_user,
    fail,
    reported,
    run_async,
    run_with_services,
)
from bot.cli_datasets import dataset_app
from bot.cli_index import index_app
from bot.cli_org import apikey_app, org_app
from bot.cli_processes import serve, worker
from bot.cli_quota import quota_app
from bot.commands import is_web_address
from bot.fetch import FetchPolicy, check_url
from bot.services import Services, open_embedder
from bot.settings import Settings, load_settings
from bot.summary_asked import document_asked
from bot.turns import Answer, shown_position
from bot.uploads import defaults_for, id_prefix, left_out_note, unread_note
from knowledge.errors import BadInput, BaibainError, NotFound
from knowledge.ingest import folder_name, iter_files, read_files, unreadable

app = typer.Typer(
    cls=JapaneseUsageGroup, no_args_is_help=True, add_completion=False, help="自治体版バイバイン"
)
app.add_typer(org_app, name="org")
app.add_typer(apikey_app, name="apikey")
app.add_typer(audit_app, name="audit")
app.add_typer(quota_app, name="quota")
app.add_typer(index_app, name="index")
app.add_typer(dataset_app, name="dataset")

log = logging.getLogger("baibain")


@app.callback()
def _check_settings() -> None:
    """Before any command: a misconfigured environment variable is named, not a traceback."""
    try:
        load_settings()
    except BaibainError as exc:  # a configuration error, however the server would report it
        raise fail(exc, code=2) from exc


def _settings() -> Settings:
    return Settings()


def _print_json(payload: Any) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def _show(answer: Answer, *, as_json: bool) -> None:
    """An answer as the REST API's JSON object, or as text with its sources and footer."""
    if as_json:
        _print_json(answer_json(answer))
    else:
        _print_answer(answer)


def _print_answer(answer: Answer) -> None:
    typer.echo(answer.text)
    if answer.citations:
        typer.echo(f"\n{answer.citations_heading}:")
        for c in answer.citations:
            details = "・".join(c.details())
            shown = f"{c.title}（{details}）" if details else c.title
            typer.echo(f"[{c.n}] {shown}{(' ' + c.url) if c.url else ''}")
    for closing in (answer.footer, answer.notice):
        if closing:
            typer.echo(f"\n{closing}")


def _org_id(services: Services, org: str | None) -> str | None:
    """The id of the organization named on the command line (``None`` = shared data only)."""
    return orgs.get_org(services.engine, org).id if org is not None else None


def _path_kind(path: Path) -> str:
    """``"file"``, ``"folder"`` or ``""``: nothing there, or a name too long to be a path
    (a document's title typed for ``summarize``), which ``Path.is_file`` raises for."""
    try:
        return "file" if path.is_file() else "folder" if path.is_dir() else ""
    except OSError:
        return ""


app.command()(serve)
app.command()(worker)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="ファイル・フォルダ・zip")],
    dataset: Annotated[str, typer.Option(help="データセット名")],
    org: Annotated[str, typer.Option(help="所有する組織")],
    category: Annotated[str, typer.Option(help="分類（法令、条例・規則・例規、会議録 など）")] = "",
    license: Annotated[str, typer.Option("--license", help="ライセンス")] = "",
    shareable: Annotated[
        bool, typer.Option(help="全参加団体との共有が法的に可能であることを表明します")
    ] = False,
    source_url: Annotated[str, typer.Option(help="出典URL")] = "",
) -> None:
    """資料をまとめて取り込みます（進捗を表示します）。"""
    settings = _settings()
    if not dataset.strip():
        raise fail(BadInput("--dataset を指定してください。"))
    if source_url.strip():  # checked as the REST API checks a dataset's source
        with reported():
            source_url = check_url(source_url.strip(), FetchPolicy.of(settings))

    left_out: list[str] = []
    if unseen := [str(path) for path in paths if not _path_kind(path)]:
        # Before the folders are walked: a path too long to be one is not found either.
        raise fail(BadInput(f"{unseen[0]} が見つかりません。パスを確認してください。"))
    with reported():
        files = list(iter_files(paths, left_out))
    if not files:
        raise fail(BadInput("取り込めるファイルが見つかりませんでした。" + left_out_note(left_out)))
    who = cli_user()

    async def work(services: Services) -> tuple[int, int, int, list[str]]:
        owner = orgs.get_org(services.engine, org)
        existing = services.datasets.by_name(owner.id, dataset)
        created = existing is None
        # What changed besides the documents, or was asked for and not done, said at the end.
        notes: list[str] = []
        if existing is not None and category and category != existing.category:
            notes.append(
                f"データセット「{existing.name}」の分類は「{existing.category}」のままです"
                "（--category は新しく作るデータセットにだけ使われます）。"
            )
        if existing is not None and shareable and existing.visibility != "shared":
            notes.append(f"データセット「{existing.name}」を全参加団体との共有に切り替えました。")
        if existing is None:
            if not category:
                raise BadInput(
                    "新しいデータセットには --category で分類を指定してください"
                    f"（{'、'.join(CATEGORIES)}）。"
                )
            existing = await services.uploads.create_for_upload(
                owner,
                dataset,
                category,
                license=license,
                source_url=source_url,
                who=who,
                platform="cli",
            )
            scope = scope_label(shareable)
            notes.append(
                f"データセット「{existing.name}」（{existing.category}・{scope}）を作成しました。"
            )
        # Every file is read before anything is written; documents carry the visibility the
        # dataset will have then.
        target = replace(existing, visibility="shared") if shareable else existing
        reading = tqdm(total=len(files), desc="読み込み中", unit="ファイル", file=sys.stderr)
        defaults = defaults_for(target, owner.name)
        written = skipped = 0
        kept = False
        read_ids: set[str] = set()
        try:
            with read_files(
                files, defaults, id_prefix=id_prefix(existing), progress=reading.update
            ) as read:
                reading.close()
                if read.failures:
                    raise unreadable(read.failures)
                kept = True  # every file is readable: the dataset stays
                if read.unread:
                    notes.append(unread_note(read.unread))
                if shareable:  # again when already shared: completes an attestation cut short
                    existing = await services.uploads.attest(existing, who=who, platform="cli")
                with tqdm(
                    total=len(files), desc="取り込み中", unit="ファイル", file=sys.stderr
                ) as bar:
                    for name, documents in read:
                        report = await services.uploads.write(
                            existing, documents, uploader=who, platform="cli", sources=[name]
                        )
                        written += report.written
                        skipped += report.unchanged
                        read_ids.update(d.doc_id for d in documents)
                        bar.update(1)
        except BaseException:
            if created and not kept:  # nothing was written: no empty dataset is left behind
                await services.uploads.withdraw(existing, who=who, platform="cli")
            raise
        # Only after every file went in: what the folders no longer hold goes too.
        folders = [folder_name(path) for path in paths if path.is_dir()]
        removed = await services.uploads.sweep(existing, folders, read_ids, who=who, platform="cli")
        return written, skipped, removed, notes

    try:
        written, skipped, removed, notes = run_with_services(settings, work)
    except KeyboardInterrupt:
        typer.echo(
            "ここまでに取り込んだ文書は検索できます。同じコマンドをもう一度実行すると、"
            "残りを取り込みます（取り込み済みの文書は変更なしとして飛ばします）。",
            err=True,
        )
        raise
    if left_out:
        notes.append(left_out_note(left_out))
    for note in notes:
        typer.echo(note)
    gone = f"、フォルダにない {removed} 件を削除" if removed else ""
    typer.echo(f"{written} 件の文書を取り込みました（変更なし {skipped} 件{gone}）。")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="質問")],
    org: Annotated[str | None, typer.Option(help="組織名（その組織の資料も検索します）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
) -> None:
    """質問に回答します（チャットと同じ処理です）。"""
    settings = _settings()

    async def work(services: Services) -> Answer:
        asker = Asker(org_id=_org_id(services, org), platform="cli")
        # 「地方自治法第242条を要約して」, a pasted notice, a linked PDF: as in chat.
        summary = await document_asked(services.summarizer, services.assistant, question, asker)
        return summary or await services.assistant.ask(question, asker)

    _show(run_with_services(settings, work, as_json=as_json), as_json=as_json)


@app.command()
def summarize(
    target: Annotated[str, typer.Argument(help="文書名、文書ID、ファイルのパス、または URL")],
    org: Annotated[str | None, typer.Option(help="組織名（その組織の文書も対象にします）")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
) -> None:
    """1つの文書を要約します。"""
    from bot.summary_sources import SummaryRequest
    from knowledge.ingest import no_text

    settings = _settings()
    path = Path(target).expanduser()
    if not target.strip():  # not the current folder
        raise fail(
            BadInput(
                "要約する文書の名前・文書ID・ファイルのパス・URL のいずれかを指定してください。"
            ),
            as_json=as_json,
        )
    kind = _path_kind(path)
    if is_web_address(target):
        request = SummaryRequest(url=target)
    elif kind == "file":
        try:
            request = SummaryRequest(filename=path.name, content=path.read_bytes())
        except OSError as exc:  # not readable by this account
            raise fail(
                BadInput(
                    f"ファイル {target} を読み込めませんでした（{exc.strerror}）。"
                    "読み取りの権限を確認してください。"
                ),
                as_json=as_json,
            ) from exc
    elif kind == "folder":
        raise fail(
            BadInput(f"{target} はフォルダです。要約するファイルを指定してください。"),
            as_json=as_json,
        )
    elif target.startswith(("./", "../", "/", "~")):  # a path (no document id looks like one)
        raise fail(
            BadInput(f"ファイル {target} が見つかりません。パスを確認してください。"),
            as_json=as_json,
        )
    elif no_text(target):  # a terminal in another encoding: no name any document has
        raise fail(
            BadInput(
                "文書名に読み取れない文字が含まれています。文字化けしていないか確認してください。"
            ),
            as_json=as_json,
        )
    else:
        request = SummaryRequest(doc_id=target)

    async def work(services: Services) -> Answer:
        asker = Asker(org_id=_org_id(services, org), platform="cli")
        try:
            return await services.summarizer.summarize(request, asker)
        except NotFound as exc:
            if org is not None or not request.doc_id:
                raise
            # Without --org only shared data is searched: an organization's own document
            # (just ingested, named as `dataset show` lists it) is found with --org.
            raise NotFound(
                f"{exc.user_message}組織内のみのデータセットの文書は、"
                "--org に組織名を付けて指定してください。"
            ) from exc

    _show(run_with_services(settings, work, as_json=as_json), as_json=as_json)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="検索語")],
    k: Annotated[int, typer.Option(min=1, max=100, help="件数")] = 10,
    org: Annotated[str | None, typer.Option(help="組織名")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
) -> None:
    """検索だけを行います。"""
    from knowledge.speakers import cited_position

    settings = _settings()

    async def work(services: Services) -> list[dict[str, Any]]:
        hits = await services.assistant.search(
            query, Asker(org_id=_org_id(services, org), platform="cli"), k
        )
        return [
            {
                "rank": i,
                "score": round(h.score, 4),
                "doc_id": h.meta.doc_id,
                "chunk_id": h.chunk.chunk_id,
                "title": h.meta.title,
                "position": cited_position(h.meta, h.chunk),  # a turn's speaker too
                "dataset": h.meta.dataset,
                "url": h.meta.source_url,
                "text": h.chunk.text,
            }
            for i, h in enumerate(hits, start=1)
        ]

    results = run_with_services(settings, work, as_json=as_json)
    if as_json:
        _print_json(results)
        return
    if not results:
        typer.echo("該当する資料が見つかりませんでした。")
    for r in results:
        snippet = r["text"][:80].replace("\n", " ")
        title = " ".join(x for x in (r["title"], shown_position(r["title"], r["position"])) if x)
        typer.echo(f"{r['rank']:>2}. {title}  ({r['score']})\n    {snippet}…")


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Alembic narrates every start ("Context impl SQLiteImpl."); init_db logs real upgrades.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    app()


@app.command("eval")
def eval_command(
    corpus: Annotated[Path, typer.Option(help="コーパス JSONL")],
    queries: Annotated[Path, typer.Option(help="質問 JSONL")],
    k: Annotated[int, typer.Option(min=1, max=100)] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="JSON で出力します")] = False,
) -> None:
    """検索の評価を一時インデックスで実行し、指標を表示します。

    BAIBAIN_EMBEDDING_* が設定されていれば、ベクトル検索も併用します。
    """
    from knowledge.evaluation import evaluate

    bars: dict[str, tqdm] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            label = "索引作成" if stage == "index" else "評価"
            bar = bars[stage] = tqdm(total=total, desc=label, file=sys.stderr, leave=False)
        bar.update(done - bar.n)

    async def run() -> dict[str, Any]:
        embedder = open_embedder(Settings())
        try:
            return await evaluate(corpus, queries, k=k, progress=progress, embedder=embedder)
        finally:
            if embedder is not None:
                await embedder.close()

    metrics = run_async(run)
    for bar in bars.values():
        bar.close()
    if as_json:
        typer.echo(json.dumps(metrics, ensure_ascii=False))
        return
    for name, value in metrics.items():
        typer.echo(f"{name:>16}: {value}")
