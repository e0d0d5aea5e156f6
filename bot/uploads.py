"""Uploading documents into a dataset, sharing it, deleting it — index and records together.

An upload is all or nothing: every file is parsed first, and only when all of them are fine
are the changed documents written, in one index transaction; so a bad file leaves the previous
version of everything searchable. Unchanged documents (same content hash) are skipped.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from admin.audit_models import DONE_BUT_UNRECORDED
from admin.datasets import DatasetInfo, DatasetService
from bot.auditing import Auditor
from knowledge.corpus import CorpusDefaults
from knowledge.documents import Document
from knowledge.errors import BadDocument, BadInput, Forbidden, NotFound
from knowledge.index import IndexStore, batches
from knowledge.ingest import documents_from_bytes, dropped, failure_of, source_of, unreadable
from knowledge.titles import is_named, title_key

log = logging.getLogger(__name__)

MAX_FILES = 200
# An attestation recorded whose audit record failed: its documents are not shared yet, and
# attesting again (which keeps the first attestation) shares them.
ATTESTED_NOT_SHARED = (
    "共有可能であることの表明は記録しましたが、監査ログへの記録に失敗したため、共有はまだ"
    "有効になっていません。時間をおいて、もう一度共有を有効にしてください。"
)
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

    def message(self) -> str:
        """A short Japanese summary for the uploader."""
        removed = f"、新しい版にない {self.removed} 件を削除" if self.removed else ""
        return (
            f"データセット「{self.dataset.name}」に {self.written} 件の文書を登録しました"
            f"（変更なし {self.unchanged} 件{removed}）。"
        ) + left_out_note(self.left_out)


# How many left-out files a reply names.
LISTED_LEFT_OUT = 10


def left_out_note(names: Sequence[str]) -> str:
    """The sentence naming files of formats Baibain does not read that an upload or ingest
    left out (pictures and the like in a folder or an archive), or ``""``."""
    if not names:
        return ""
    more = len(names) - LISTED_LEFT_OUT
    shown = "、".join(names[:LISTED_LEFT_OUT]) + (f" ほか {more} 件" if more > 0 else "")
    return f"対応していない形式のため取り込まなかったファイル: {shown}。"


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


class Uploads:
    """Dataset contents: the index and the dataset records kept in step."""

    def __init__(self, index: IndexStore, datasets: DatasetService, auditor: Auditor) -> None:
        self.index = index
        self.datasets = datasets
        self.auditor = auditor

    def parse(
        self,
        dataset: DatasetInfo,
        files: Sequence[UploadFile],
        publisher: str,
        left_out: list[str] | None = None,
    ) -> list[Document]:
        """Every document of every file, or ``BadDocument`` naming every bad file; archive
        members of formats Baibain does not read are named in ``left_out``."""
        if not files:
            raise BadDocument("アップロードするファイルがありません。ファイルを添付してください。")
        if len(files) > MAX_FILES:
            raise BadDocument(f"一度にアップロードできるのは {MAX_FILES} ファイルまでです。")
        names = Counter(file.name for file in files)
        if twice := sorted(name for name, n in names.items() if n > 1):
            raise BadDocument(
                f"同じ名前のファイルが複数あります（{'、'.join(twice)}）。"
                "文書は名前で区別されるため、名前を変えてからアップロードしてください。"
            )
        defaults = defaults_for(dataset, publisher)
        documents: list[Document] = []
        failures: list[str] = []
        for file in files:
            try:
                documents += documents_from_bytes(
                    file.name, file.data, defaults, id_prefix=id_prefix(dataset), left_out=left_out
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
        documents = await asyncio.to_thread(self.parse, dataset, files, publisher, left_out)
        report = await self.write(
            dataset,
            documents,
            uploader=uploader,
            platform=platform,
            progress=progress,
            sources=[*(f.name for f in files), *replaces],
        )
        return replace(report, left_out=tuple(left_out))

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

        The index is written first, then the dataset's records. A document the index holds
        but the records do not (their write failed after the index's) is recorded when the
        upload is repeated, so the dataset lists, and its deletion removes, all it holds."""
        sources = list(dict.fromkeys(sources))
        own = id_prefix(dataset) + "/"
        if foreign := [d.doc_id for d in documents if not d.doc_id.startswith(own)]:
            # Ids carry the dataset's prefix (``documents_from_bytes``, ``read_corpus``): any
            # other id could name another dataset's document, of another organization.
            raise BadDocument(
                "データセットの文書として登録できない ID があります。",
                detail=f"{len(foreign)} ids outside {own}",
            )
        changed = [
            d for d in documents if await self.index.content_hash(d.doc_id) != d.content_hash
        ]
        recorded = await asyncio.to_thread(self.datasets.documents, dataset.id)
        unrecorded = [d for d in documents if recorded.get(d.doc_id) != d.content_hash]
        # One transaction for the whole upload when it is small enough to hold; large bulk
        # loads commit per batch (each batch is still all-or-nothing).
        batch = max(len(changed) if len(changed) <= WRITE_BATCH * 5 else WRITE_BATCH, 1)

        async def written(done: int) -> None:
            if progress is not None:
                await progress(done, len(changed))

        await self.index.upsert_batches(batches(changed, batch), written)
        for document in unrecorded:
            await asyncio.to_thread(
                self.datasets.record,
                dataset.id,
                doc_id=document.doc_id,
                source_name=source_of(document.doc_id),
                title=document.meta.title,
                content_hash=document.content_hash,
                published=document.meta.published,
            )
        gone = dropped(
            [f"{id_prefix(dataset)}/{source}" for source in sources], documents, recorded
        )
        for doc_id in gone:  # the index first, then the records (see ``delete``)
            await self.index.delete(doc_id)
        await asyncio.to_thread(self.datasets.forget, dataset.id, gone)
        refreshed = await asyncio.to_thread(self.datasets.get, dataset.id, dataset.org_id)
        if refreshed.visibility == "shared":
            # Attested while this upload ran (after its documents were built as private, and
            # perhaps after the attestation shared what was recorded then): share them too.
            private = [_shared(d) for d in changed if d.meta.visibility != "shared"]
            await self.index.upsert_batches(batches(private, batch))
        await self._audit(
            dataset,
            "dataset.upload",
            {
                "dataset_id": dataset.id,
                "files": list(sources),
                "written": len(changed),
                "unchanged": len(documents) - len(changed),
                "removed": len(gone),
            },
            who=uploader,
            platform=platform,
        )
        return UploadReport(refreshed, len(changed), len(documents) - len(changed), len(gone))

    async def owned(
        self, dataset_id: int, org_id: str, *, who: str, platform: str, action: str
    ) -> DatasetInfo:
        """The organization's own dataset, to change by ``action``. A change of another
        organization's dataset is refused (``Forbidden``) and recorded as a security event,
        as chat commands refused to non-admins are."""
        try:
            return await asyncio.to_thread(self.datasets.owned, dataset_id, org_id)
        except Forbidden:
            owner = await asyncio.to_thread(self.datasets.get, dataset_id, org_id)
            await self.auditor.security(
                org_id=org_id,
                platform=platform,
                user_id=who,
                reason="command_refused",
                details={
                    "command": action,
                    "dataset_id": dataset_id,
                    "dataset_org_id": owner.org_id,
                },
            )
            raise

    async def record_created(self, dataset: DatasetInfo, *, who: str, platform: str) -> None:
        """Audit the creation of ``dataset`` (over REST, or by a chat upload that named it)."""
        await self._audit(
            dataset,
            "dataset.create",
            {
                "dataset_id": dataset.id,
                "name": dataset.name,
                "shared": dataset.visibility == "shared",
            },
            who=who,
            platform=platform,
        )

    async def attest(
        self, dataset: DatasetInfo, *, who: str, platform: str, attested_by: str = ""
    ) -> DatasetInfo:
        """Share the dataset with every organization (the attestation is recorded): ``who``
        acts, ``attested_by`` (by default ``who``) is the person who confirmed that sharing
        is legally allowed.

        The attestation is recorded first, then the documents are shared in one index
        transaction, so no document is ever shared without it. An index failure leaves the
        dataset attested with documents not yet shared: attesting again (which keeps the first
        attestation) shares them.
        """
        attested_by = attested_by or who
        shared = await asyncio.to_thread(
            self.datasets.attest, dataset.id, dataset.org_id, attested_by
        )
        await self._audit(
            dataset,
            "dataset.attest",
            {"dataset_id": dataset.id, "attested_by": attested_by},
            who=who,
            platform=platform,
            unrecorded=ATTESTED_NOT_SHARED,
        )
        documents = []
        for doc_id in await asyncio.to_thread(self.datasets.documents, dataset.id):
            document = await self.index.get_document(doc_id)
            if document is not None and document.meta.visibility != "shared":
                documents.append(_shared(document))
        await self.index.upsert_many(documents)
        return shared

    async def delete(self, dataset: DatasetInfo, *, who: str, platform: str) -> int:
        """Delete every document of the dataset from the index, then the dataset.

        The index goes first: when it fails part-way, the dataset stays listed with what is
        left of it, and deleting it again finishes the job. The other way round, the documents
        not yet deleted would stay searchable with no dataset left to delete them by.
        """
        doc_ids = await asyncio.to_thread(self.datasets.documents, dataset.id)
        for doc_id in doc_ids:
            await self.index.delete(doc_id)
        recorded = await asyncio.to_thread(self.datasets.delete, dataset.id, dataset.org_id)
        late = set(recorded) - set(doc_ids)  # written by an upload meanwhile
        for doc_id in late:
            await self.index.delete(doc_id)
        removed = len(doc_ids) + len(late)
        await self._audit(
            dataset,
            "dataset.delete",
            {"dataset_id": dataset.id, "name": dataset.name, "documents": removed},
            who=who,
            platform=platform,
        )
        return removed

    async def delete_document(
        self, dataset: DatasetInfo, doc_id: str, *, who: str, platform: str
    ) -> str:
        """Delete one document of the dataset (a file uploaded by mistake); returns its title.
        The index goes first, as for a whole dataset: deleting it again finishes the job."""
        titles = dict((d, t) for t, d in await asyncio.to_thread(self.datasets.titles, dataset.id))
        doc_id = _document_named(dataset, titles, doc_id.strip())
        await self.index.delete(doc_id)
        await asyncio.to_thread(self.datasets.forget, dataset.id, [doc_id])
        await self._audit(
            dataset,
            "document.delete",
            {"dataset_id": dataset.id, "doc_id": doc_id},
            who=who,
            platform=platform,
        )
        return titles[doc_id]

    async def _audit(
        self,
        dataset: DatasetInfo,
        action: str,
        details: Mapping[str, object],
        *,
        who: str,
        platform: str,
        unrecorded: str = DONE_BUT_UNRECORDED,
    ) -> None:
        """Record an action taken on ``dataset`` in its organization's audit log."""
        await self.auditor.admin(
            org_id=dataset.org_id,
            platform=platform,
            user_id=who,
            action=action,
            details=details,
            unrecorded=unrecorded,
        )


def _shared(document: Document) -> Document:
    """``document`` visible to every organization."""
    return replace(document, meta=replace(document.meta, visibility="shared"))


def _document_named(dataset: DatasetInfo, titles: Mapping[str, str], name: str) -> str:
    """The id of the dataset's document that ``name`` names: its document id, the name of
    its file (with or without the extension) or its title; ``NotFound`` or, when several
    match, ``BadInput`` listing their ids."""
    if name in titles:
        return name
    key = title_key(name)
    found = [doc_id for doc_id, title in titles.items() if is_named(key, title, doc_id)]
    if len(found) == 1:
        return found[0]
    if found:
        raise BadInput(
            f"「{name}」に当たる文書が複数あります。文書IDで指定してください: {'、'.join(found)}"
        )
    raise NotFound(
        f"データセット「{dataset.name}」に「{name}」という文書はありません（文書IDは、"
        "チャットでは /datasets 番号、コマンドでは baibain dataset show で確認できます）。"
    )
