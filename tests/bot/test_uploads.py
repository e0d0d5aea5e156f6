"""A dataset's index and records stay together when one of them fails: nothing stays
searchable that its owner could no longer see listed or delete."""

from __future__ import annotations

import asyncio
import base64
import io
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fakes.weaviate_memory import FakeWeaviate
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from support import SCANNED_PAGE, japanese_pdf, refusing_inserts

from admin.audit import AuditKeyring, AuditLog
from admin.datasets import DatasetInfo, DatasetService
from bot.auditing import Auditor
from bot.uploads import UploadFile, UploadReport, Uploads, defaults_for, id_prefix
from knowledge.analysis import Analyzer
from knowledge.errors import BadDocument, IndexUnavailable, NotFound
from knowledge.index import IndexStore, SearchFilter
from knowledge.ingest import documents_from_bytes
from knowledge.retrieval import Retriever
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

RULES = [
    UploadFile("粗大ごみ収集規則.txt", "粗大ごみは毎月第二水曜日に収集する。".encode()),
    UploadFile("資源ごみ収集規則.txt", "資源ごみは毎週金曜日に収集する。".encode()),
]


def services(
    db_engine: Engine, tmp_path: Path
) -> tuple[FakeWeaviate, IndexStore, Uploads, DatasetInfo]:
    """Uploads over a Weaviate stand-in, with one new dataset of organization 7."""
    server = FakeWeaviate()
    index = WeaviateIndexStore(
        WeaviateConfig(url="http://weaviate.invalid:8080"), Analyzer(), client_factory=server.client
    )
    key = base64.b64encode(os.urandom(32)).decode()
    auditor = Auditor(AuditLog(db_engine, AuditKeyring.load(key, tmp_path)))
    datasets = DatasetService(db_engine)
    dataset = datasets.create("7", "ごみ収集規則", "条例・規則・例規")
    return server, index, Uploads(index, datasets, auditor), dataset


async def upload(uploads: Uploads, dataset: DatasetInfo, files: list[UploadFile]) -> UploadReport:
    return await uploads.upload(dataset, files, publisher="テスト市", uploader="u", platform="api")


async def test_a_failed_delete_keeps_the_dataset_and_can_be_finished(
    db_engine: Engine, tmp_path: Path
) -> None:
    server, index, uploads, dataset = services(db_engine, tmp_path)
    await upload(uploads, dataset, RULES)
    assert await index.count_chunks() == 2

    server.down = True
    with pytest.raises(IndexUnavailable):
        await uploads.delete(dataset, who="u", platform="api")
    server.down = False
    # The dataset is still there to be deleted again, with its documents.
    assert uploads.datasets.owned(dataset.id, "7").documents == 2
    assert await uploads.delete(dataset, who="u", platform="api") == 2
    assert await index.count_chunks() == 0
    with pytest.raises(NotFound):
        uploads.datasets.owned(dataset.id, "7")
    await index.close()


async def test_an_upload_whose_records_failed_leaves_the_index_as_it_was(
    db_engine: Engine, tmp_path: Path
) -> None:
    _, index, uploads, dataset = services(db_engine, tmp_path)
    await upload(uploads, dataset, RULES)
    retriever = Retriever(index, Analyzer())

    async def searchable() -> list[str]:
        found = await retriever.retrieve("ごみの収集日", SearchFilter(viewer_org="7"))
        return sorted(hit.chunk.text for hit in found.hits)

    before = await searchable()
    revised = [
        UploadFile("粗大ごみ収集規則.txt", "粗大ごみは毎月第四水曜日に収集する。".encode()),
        UploadFile("家庭ごみ収集規則.txt", "家庭ごみは毎週月曜日に収集する。".encode()),
    ]
    # The new file's record cannot be inserted (a full disk, say): the upload fails whole.
    with refusing_inserts(db_engine, "document_version"), pytest.raises(DBAPIError):
        await upload(uploads, dataset, revised)
    # The index is as it was: the old 粗大ごみ rule, no 家庭ごみ rule the dataset would not list.
    assert await searchable() == before
    assert uploads.datasets.owned(dataset.id, "7").documents == 2

    again = await upload(uploads, dataset, revised)
    assert (again.written, again.unchanged, again.dataset.documents) == (2, 0, 3)
    assert "粗大ごみは毎月第四水曜日に収集する。" in await searchable()
    assert await uploads.delete(dataset, who="u", platform="api") == 3
    assert await index.count_chunks() == 0
    await index.close()


async def test_an_attestation_cut_short_by_the_index_is_completed_by_attesting_again(
    db_engine: Engine, tmp_path: Path
) -> None:
    server, index, uploads, dataset = services(db_engine, tmp_path)
    await upload(uploads, dataset, RULES)
    retriever = Retriever(index, Analyzer())

    async def seen_by_another_org() -> list[str]:
        found = await retriever.retrieve("ごみの収集日", SearchFilter(viewer_org="8"))
        return [hit.meta.title for hit in found.hits]

    # The index refuses the second document's shared version (a full disk, say).
    server.reject = lambda props: "disk full" if "資源ごみ" in props["text"] else None
    with pytest.raises(IndexUnavailable):
        await uploads.attest(dataset, who="法務担当 山田", platform="api")
    server.reject = None
    # The attestation is recorded; no document is shared yet.
    attested = uploads.datasets.owned(dataset.id, "7")
    assert (attested.visibility, attested.attested_by) == ("shared", "法務担当 山田")
    assert await seen_by_another_org() == []
    again = await uploads.attest(dataset, who="別の担当者", platform="api")
    assert again.attested_by == "法務担当 山田"  # the first attestation stands
    assert len(await seen_by_another_org()) == 2
    await index.close()


async def test_a_file_uploaded_again_without_a_member_loses_that_member(
    db_engine: Engine, tmp_path: Path
) -> None:
    _, index, uploads, dataset = services(db_engine, tmp_path)

    def reiki(*rules: UploadFile) -> list[UploadFile]:
        data = io.BytesIO()
        with zipfile.ZipFile(data, "w") as bundle:
            for rule in rules:
                bundle.writestr(rule.name, rule.data)
        return [UploadFile("例規集.zip", data.getvalue())]

    await upload(uploads, dataset, reiki(*RULES))
    # 資源ごみ収集規則 is repealed; another file of the dataset is not touched.
    await upload(uploads, dataset, RULES[1:])
    again = await upload(uploads, dataset, reiki(RULES[0]))
    assert (again.written, again.unchanged, again.removed) == (0, 1, 1)
    assert "新しい版にない 1 件を削除" in again.message()
    assert again.dataset.documents == 2
    assert await index.count_chunks() == 2
    await index.close()


async def test_a_document_id_outside_the_dataset_is_refused(
    db_engine: Engine, tmp_path: Path
) -> None:
    _, index, uploads, dataset = services(db_engine, tmp_path)
    defaults = defaults_for(dataset, "テスト市")
    # Another dataset's document id, as a corpus row or a script might try to reuse.
    foreign = next(
        documents_from_bytes("予算案.txt", "非公開の予算案。".encode(), defaults, id_prefix="ds99")
    )
    with pytest.raises(BadDocument):
        await uploads.write(dataset, [foreign], uploader="u", platform="cli")
    assert await index.count_chunks() == 0
    await index.close()


async def test_two_files_of_one_name_are_refused_naming_it(
    db_engine: Engine, tmp_path: Path
) -> None:
    # Browsers send base names only: 第1回/資料.txt and 第2回/資料.txt both arrive as 資料.txt.
    _, index, uploads, dataset = services(db_engine, tmp_path)
    twins = [
        UploadFile("資料.txt", "第一回の資料。".encode()),
        UploadFile("資料.txt", "第二回の資料。".encode()),
    ]
    with pytest.raises(BadDocument) as refused:
        await upload(uploads, dataset, twins)
    assert "資料.txt" in refused.value.user_message
    assert await index.count_chunks() == 0
    await index.close()


async def test_documents_of_an_upload_running_while_the_dataset_was_attested_are_shared(
    db_engine: Engine, tmp_path: Path
) -> None:
    _, index, uploads, dataset = services(db_engine, tmp_path)
    await upload(uploads, dataset, RULES[:1])
    # The attestation lands while an upload that read the dataset as private is running.
    await uploads.attest(dataset, who="法務担当 山田", platform="api")
    report = await upload(uploads, dataset, RULES)
    assert report.written == 1 and report.dataset.visibility == "shared"
    found = await Retriever(index, Analyzer()).retrieve(
        "資源ごみの収集日", SearchFilter(viewer_org="8")
    )
    assert "資源ごみ収集規則" in [hit.meta.title for hit in found.hits]
    await index.close()


async def test_a_bulk_load_cut_short_leaves_nothing_its_deletion_misses(
    db_engine: Engine, tmp_path: Path
) -> None:
    server, index, uploads, dataset = services(db_engine, tmp_path)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:  # more than one index transaction holds
        for n in range(1100):
            bundle.writestr(f"例規/規則{n:04}.txt", f"規則第{n}号 申請の受付について定める。")
    files = [UploadFile("例規集.zip", archive.getvalue())]
    # The index fails part-way: the batches before the failure stay written.
    server.reject = lambda props: "disk full" if "規則第1050号" in props["text"] else None
    with pytest.raises(IndexUnavailable):
        await upload(uploads, dataset, files)
    server.reject = None
    assert await index.count_chunks() >= 1000
    # The dataset lists every document of the load, so deleting it leaves none searchable.
    assert uploads.datasets.owned(dataset.id, "7").documents == 1100
    assert await uploads.delete(dataset, who="u", platform="api") == 1100
    assert await index.count_chunks() == 0
    await index.close()


async def test_a_write_cancelled_while_taking_the_dataset_lets_go_of_it(
    db_engine: Engine, tmp_path: Path
) -> None:
    # Ctrl-C while `baibain ingest` reads its files cancels the write at its first wait, as
    # the dataset's hold is being taken in a thread: the hold was taken all the same and the
    # next run was refused as busy for two minutes, although nothing was running.
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1))  # database calls in order
    _, index, uploads, dataset = services(db_engine, tmp_path)
    defaults = defaults_for(dataset, "テスト市")
    rule = RULES[0]
    documents = list(
        documents_from_bytes(rule.name, rule.data, defaults, id_prefix=id_prefix(dataset))
    )
    cancelled = asyncio.create_task(uploads.write(dataset, documents, uploader="u", platform="cli"))
    await asyncio.sleep(0)  # the write starts taking the hold; then Ctrl-C
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    report = await uploads.write(dataset, documents, uploader="u", platform="cli")
    assert report.written == 1
    await index.close()


async def test_scanned_pages_of_many_pdfs_are_named_for_a_few_and_counted_for_the_rest(
    db_engine: Engine, tmp_path: Path
) -> None:
    _, index, uploads, dataset = services(db_engine, tmp_path)
    text = ["粗大ごみは毎月第二水曜日に収集する。"]
    # Every other page of the first a scan: its first ten runs of pages shown, then the count.
    pages = [page for n in range(12) for page in ([f"議案第{n + 1}号"], SCANNED_PAGE)]
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as bundle:
        bundle.writestr("議案.pdf", japanese_pdf(pages))
        for name in ("表紙.pdf", "決裁.pdf", "地図.pdf", "別紙.pdf"):
            bundle.writestr(name, japanese_pdf([SCANNED_PAGE, text]))
    report = await upload(uploads, dataset, [UploadFile("議会資料.zip", data.getvalue())])
    assert report.written == 5
    message = report.message()
    assert (
        "「議会資料.zip/議案.pdf」の 2・4・6・8・10・12・14・16・18・20ページほか計 12 ページは"
        "文字を読み取れませんでした。「議会資料.zip/表紙.pdf」の 1ページは文字を読み取れません"
        "でした。「議会資料.zip/決裁.pdf」の 1ページは文字を読み取れませんでした。"
        "ほか 2 件の PDF にも文字を読み取れないページがあります。" in message
    )
    assert message.count("スキャンした画像のページは検索できません") == 1
    await index.close()
