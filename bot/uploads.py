"""Uploading documents into a dataset — index and records together, and recorded.

An upload is all or nothing: every file is parsed first, and only when all of them are fine
are the changed documents written, in one index transaction; so a bad file leaves the previous
version of everything searchable. Unchanged documents (same content hash) are skipped. Sharing
and deleting a dataset come from ``bot.dataset_changes``, which ``Uploads`` builds on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, replace

from admin.datasets import DatasetInfo
from admin.document_versions import DocumentRecord
from bot.dataset_changes import DatasetChanges, shared_document
from knowledge.corpus import CorpusDefaults
from knowledge.documents import Document
from knowledge.errors import BadDocument
from knowledge.index import batches
from knowledge.ingest import (
    UnreadPages,
    documents_from_bytes,
    dropped,
    failure_of,
    listed_unread,
    name_failure,
    no_text,
    shown_name,
    source_of,
    unreadable,
)
from knowledge.parsing import resave_hint
from knowledge.parsing.archive import unsafe_name

log = logging.getLogger(__name__)

MAX_FILES = 200
WRITE_BATCH = 200
Progress = Callable[[int, int], Awaitable[None]]


@dataclass(frozen=True)
class UploadFile:
    """One uploaded file."""

    name: str
    data: bytes


@dataclass(frozen=True)
class UploadReport:
    """What an upload did."""

    dataset: DatasetInfo
    written: int
    unchanged: int
    removed: int = 0
    left_out: tuple[str, ...] = ()  # archive members of formats Baibain does not read
    unread: tuple[UnreadPages, ...] = ()  # pages of PDFs without text (scans)

    def message(self) -> str:
        """A short Japanese summary for the uploader."""
        removed = f"、新しい版にない {self.removed} 件を削除" if self.removed else ""
        if not self.written and not self.removed:
            done = (
                f"データセット「{self.dataset.name}」の文書は内容が変わっていないため、"
                f"更新していません（変更なし {self.unchanged} 件）。"
            )
        else:
            done = (
                f"データセット「{self.dataset.name}」に {self.written} 件の文書を登録しました"
                f"（変更なし {self.unchanged} 件{removed}）。"
            )
        return done + unread_note(self.unread) + left_out_note(self.left_out)


# How many left-out files a reply names.
LISTED_LEFT_OUT = 10


def left_out_note(names: Sequence[str]) -> str:
    """The sentence naming files of formats Baibain does not read that an upload or ingest
    left out (pictures and the like in a folder or an archive), or ``""``."""
    if not names:
        return ""
    more = len(names) - LISTED_LEFT_OUT
    shown = "、".join(names[:LISTED_LEFT_OUT]) + (f" ほか {more} 件" if more > 0 else "")
    return f"対応していない形式のため取り込まなかったファイル: {shown}。{resave_hint(names)}"


def unread_note(files: Sequence[UnreadPages]) -> str:
    """The sentences naming the pages of PDFs that hold no text to read (scanned pages), which
    were left out of the search, or ``""``."""
    if not files:
        return ""
    shown, more = listed_unread(files)
    notes = [f"{described}は文字を読み取れませんでした。" for described in shown]
    if more:
        notes.append(f"ほか {more} 件の PDF にも文字を読み取れないページがあります。")
    return "".join(notes) + "スキャンした画像のページは検索できません（OCR には対応していません）。"


def defaults_for(dataset: DatasetInfo, publisher: str) -> CorpusDefaults:
    """Document metadata that every document of the dataset carries."""
    return CorpusDefaults(
        dataset=dataset.name,
        owner_org=dataset.org_id,
        visibility="shared" if dataset.visibility == "shared" else "organization",
        publisher=dataset.publisher or publisher,
        category=dataset.category,
        license=dataset.license,
        source_url=dataset.source_url,
    )


def id_prefix(dataset: DatasetInfo) -> str:
    """Dataset names are unique per organization only; ids carry the dataset id."""
    return f"ds{dataset.id}"


class Uploads(DatasetChanges):
    """Dataset contents: the index and the dataset records kept in step, and recorded."""

    def parse(
        self,
        dataset: DatasetInfo,
        files: Sequence[UploadFile],
        publisher: str,
        left_out: list[str] | None = None,
        unread: list[UnreadPages] | None = None,
    ) -> list[Document]:
        """Every document of every file, or ``BadDocument`` naming every bad file; archive
        members of formats Baibain does not read are named in ``left_out``, the pages of PDFs
        without text in ``unread``."""
        if not files:
            raise BadDocument("アップロードするファイルがありません。ファイルを添付してください。")
        if len(files) > MAX_FILES:
            raise BadDocument(f"一度にアップロードできるのは {MAX_FILES} ファイルまでです。")
        names = Counter(file.name for file in files)
        if twice := sorted(shown_name(name) for name, n in names.items() if n > 1):
            raise BadDocument(
                f"同じ名前のファイルが複数あります（{'、'.join(twice)}）。"
                "文書は名前で区別されるため、名前を変えてからアップロードしてください。"
            )
        defaults = defaults_for(dataset, publisher)
        documents: list[Document] = []
        failures: list[str] = []
        for file in files:
            if no_text(file.name):  # sent in another encoding, or with a NUL
                failures.append(name_failure(file.name))
                continue
            if unsafe_name(file.name):  # refused as an archive member's: ids are names
                failures.append(
                    f"「{file.name}」: フォルダの外を指す名前（..、絶対パス、ドライブ名、「\\」を"
                    "含む名前）は使えません。名前を付け直してください。"
                )
                continue
            try:
                documents += documents_from_bytes(
                    file.name,
                    file.data,
                    defaults,
                    id_prefix=id_prefix(dataset),
                    left_out=left_out,
                    unread=unread,
                )
            except BadDocument as exc:
                failures.append(failure_of(file.name, exc))
        if failures:
            raise unreadable(failures)
        return documents

    async def upload(
        self,
        dataset: DatasetInfo,
        files: Sequence[UploadFile],
        *,
        publisher: str,
        uploader: str,
        platform: str,
        progress: Progress | None = None,
        replaces: Sequence[str] = (),
    ) -> UploadReport:
        """Parse ``files`` and write what changed (see the module docstring); what was read
        from files named ``replaces`` goes too (a source now read under another name)."""
        left_out: list[str] = []
        unread: list[UnreadPages] = []
        documents = await asyncio.to_thread(self.parse, dataset, files, publisher, left_out, unread)
        report = await self.write(
            dataset,
            documents,
            uploader=uploader,
            platform=platform,
            progress=progress,
            sources=[*(f.name for f in files), *replaces],
        )
        return replace(report, left_out=tuple(left_out), unread=tuple(unread))

    async def sweep(
        self,
        dataset: DatasetInfo,
        folders: Sequence[str],
        kept: Collection[str],
        *,
        who: str,
        platform: str,
    ) -> int:
        """Delete the dataset's documents read from files under ``folders`` (named as
        ``iter_files`` names them) that are not in ``kept``, the ids of what the folders hold
        now: a 例規集 folder ingested again without a repealed rule stops answering from it,
        as an archive uploaded again does. Recorded first; returns how many went."""
        if not folders:
            return 0
        under = [f"{id_prefix(dataset)}/{folder}/" for folder in folders]
        async with self.held(dataset):
            recorded = await asyncio.to_thread(self.datasets.documents, dataset.id)
            gone = dropped(under, kept, recorded)
            if not gone:
                return 0
            details = {"dataset_id": dataset.id, "files": list(folders), "written": 0}
            details |= {"unchanged": 0, "removed": len(gone)}
            await self.auditor.admin(
                self._event(dataset, "dataset.upload", details, who=who, platform=platform)
            )
            await self._remove(dataset, gone)
        return len(gone)

    async def _remove(self, dataset: DatasetInfo, gone: Sequence[str]) -> None:
        """Documents of the dataset deleted: the index first, then the records (see
        ``delete``)."""
        for doc_id in gone:
            await self.index.delete(doc_id)
        await asyncio.to_thread(self.datasets.forget, dataset.id, gone)

    async def _put_back(self, new: Sequence[str], previous: Sequence[Document]) -> None:
        """The index as it was before an upload whose records failed: its ``new`` documents
        removed, the ``previous`` versions of those it replaced written again. A failure here
        is logged; the upload's own error is what the uploader sees."""
        try:
            for doc_id in new:
                await self.index.delete(doc_id)
            await self.index.upsert_batches(batches(previous, max(len(previous), 1)))
        except Exception as exc:
            log.warning("upload not undone in the index: %s", type(exc).__name__)

    async def write(
        self,
        dataset: DatasetInfo,
        documents: Sequence[Document],
        *,
        uploader: str,
        platform: str,
        progress: Progress | None = None,
        sources: Sequence[str] = (),
    ) -> UploadReport:
        """Write already-built documents of the dataset; unchanged ones are skipped, and those
        of the same files that the new versions no longer hold are deleted (``dropped``).

        The upload is recorded first (``AuditWriteFailed``: nothing is written), then the
        index is written, then the dataset's records, all in one transaction. When the records
        cannot be written, an upload small enough for one index transaction puts the index
        back as it was (new documents removed, replaced ones restored), so nothing is
        searchable that the dataset does not list. A bulk load is recorded before it is
        written (see ``_write``). A document the index still holds but the records do not (the
        index could not be put back) is recorded when the upload is repeated, so the dataset
        lists, and its deletion removes, all it holds. The dataset is held meanwhile
        (``held``): another upload or deletion of it is refused."""
        sources = list(dict.fromkeys(sources))
        own = id_prefix(dataset) + "/"
        if foreign := [d.doc_id for d in documents if not d.doc_id.startswith(own)]:
            # Ids carry the dataset's prefix (``documents_from_bytes``, ``read_corpus``): any
            # other id could name another dataset's document, of another organization.
            raise BadDocument(
                "データセットの文書として登録できない ID があります。",
                detail=f"{len(foreign)} ids outside {own}",
            )
        async with self.held(dataset):
            return await self._write(dataset, documents, uploader, platform, progress, sources)

    async def _write(
        self,
        dataset: DatasetInfo,
        documents: Sequence[Document],
        uploader: str,
        platform: str,
        progress: Progress | None,
        sources: list[str],
    ) -> UploadReport:
        indexed = {d.doc_id: await self.index.content_hash(d.doc_id) for d in documents}
        records = [
            DocumentRecord(
                doc_id=d.doc_id,
                source_name=source_of(d.doc_id),
                title=d.meta.title,
                content_hash=d.content_hash,
                published=d.meta.published,
            )
            for d in documents
        ]
        recorded = await asyncio.to_thread(self.datasets.recorded, dataset.id)
        relabelled = {
            r.doc_id
            for r in records
            if r.doc_id in recorded and recorded[r.doc_id][1:] != r.kept[1:]
        }
        changed = [
            d for d in documents if indexed[d.doc_id] != d.content_hash or d.doc_id in relabelled
        ]
        records = [r for r in records if recorded.get(r.doc_id) != r.kept]
        gone = dropped(
            [f"{id_prefix(dataset)}/{source}" for source in sources],
            {d.doc_id for d in documents},
            recorded,
        )
        unchanged = len(documents) - len(changed)
        details = {"dataset_id": dataset.id, "files": sources, "written": len(changed)}
        details |= {"unchanged": unchanged, "removed": len(gone)}
        upload = self._event(dataset, "dataset.upload", details, who=uploader, platform=platform)
        await self.auditor.admin(upload)
        # One transaction for the whole upload when it is small enough to hold; large bulk
        # loads commit per batch (each batch is still all-or-nothing).
        whole = len(changed) <= WRITE_BATCH * 5
        batch = max(len(changed) if whole else WRITE_BATCH, 1)

        async def written(done: int) -> None:
            if progress is not None:
                await progress(done, len(changed))

        if whole:
            # What the index held of the documents replaced, to put back if the records fail.
            previous = [
                held
                for d in changed
                if indexed[d.doc_id] is not None
                and (held := await self.index.get_document(d.doc_id)) is not None
            ]
            await self.index.upsert_batches(batches(changed, batch), written)
            try:
                await asyncio.to_thread(self.datasets.record, dataset.id, records)
            except Exception:
                new = [d.doc_id for d in changed if indexed[d.doc_id] is None]
                await self._put_back(new, previous)
                raise
        else:
            # A bulk load commits batch by batch: recorded first, so that a load killed or
            # failed part-way leaves the dataset listing (and its deletion removing) all that
            # the index holds of it; what is listed but not yet written, repeating it writes.
            await asyncio.to_thread(self.datasets.record, dataset.id, records)
            await self.index.upsert_batches(batches(changed, batch), written)
        await self._remove(dataset, gone)
        refreshed = await asyncio.to_thread(self.datasets.get, dataset.id, dataset.org_id)
        if refreshed.visibility == "shared":
            # Attested while this upload ran (after its documents were built as private, and
            # perhaps after the attestation shared what was recorded then): share them too.
            private = [shared_document(d) for d in changed if d.meta.visibility != "shared"]
            await self.index.upsert_batches(batches(private, batch))
        return UploadReport(refreshed, len(changed), unchanged, len(gone))
