"""Changes of a dataset as a whole — creating, sharing, deleting it or one of its documents —
each with its audit record, so that no change stands unrecorded.

A change of the database alone (creation, the attestation) commits in one transaction with its
record (``Auditor.change``). A change that reaches the index too cannot share that transaction,
so its record is written first and the change made after: a failure at any step leaves the
dataset as it was (the record could not be written) or a record with the change done or cut
short, which repeating the action finishes (and records again). The order of each is in its
docstring; ``bot.uploads`` builds the uploads on this class. One upload or deletion of a
dataset runs at a time, in any process (``held``); another one meanwhile is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace

from admin.audit import AuditEvent
from admin.dataset_rules import ListedNotFound
from admin.datasets import HOLD, DatasetInfo, DatasetService
from admin.orgs import OrgInfo
from bot.auditing import Auditor
from knowledge.documents import Document
from knowledge.errors import BadInput, BaibainError, Forbidden
from knowledge.index import IndexStore
from knowledge.titles import is_named, title_key

log = logging.getLogger(__name__)


class DatasetChanges:
    """A dataset's index and records, changed in step and recorded."""

    def __init__(self, index: IndexStore, datasets: DatasetService, auditor: Auditor) -> None:
        self.index = index
        self.datasets = datasets
        self.auditor = auditor

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

    async def create(
        self, make: Callable[[DatasetService], DatasetInfo], *, who: str, platform: str
    ) -> DatasetInfo:
        """The dataset ``make`` creates (``DatasetService.create`` with its fields, on a
        service reserving the names ``datasets`` reserves), recorded as created in the same
        transaction (over REST, by a chat upload or ``ingest``)."""

        def created(dataset: DatasetInfo) -> AuditEvent:
            details = {
                "dataset_id": dataset.id,
                "name": dataset.name,
                "shared": dataset.visibility == "shared",
            }
            return self._event(dataset, "dataset.create", details, who=who, platform=platform)

        return await self.auditor.change(lambda conn: make(self.datasets.on(conn)), created)

    async def create_for_upload(
        self,
        owner: OrgInfo,
        name: str,
        category: str,
        *,
        license: str,
        source_url: str,
        who: str,
        platform: str,
    ) -> DatasetInfo:
        """A new dataset of ``owner``, which publishes it, to upload into (a chat upload,
        ``ingest``); recorded as created (``create``)."""
        return await self.create(
            lambda datasets: datasets.create(
                owner.id,
                name,
                category,
                license=license,
                publisher=owner.name,
                source_url=source_url,
            ),
            who=who,
            platform=platform,
        )

    async def attest(
        self, dataset: DatasetInfo, *, who: str, platform: str, attested_by: str = ""
    ) -> DatasetInfo:
        """Share the dataset with every organization (the attestation is recorded): ``who``
        acts, ``attested_by`` (by default ``who``) is the person who confirmed that sharing
        is legally allowed.

        The attestation commits with its audit record, then the documents are shared in one
        index transaction, so no document is ever shared without both. When the record cannot
        be written, nothing is attested. An index failure leaves the dataset attested with
        documents not yet shared: attesting again (which keeps the first attestation) shares
        them.
        """
        attested_by = attested_by or who
        details = {"dataset_id": dataset.id, "attested_by": attested_by}
        event = self._event(dataset, "dataset.attest", details, who=who, platform=platform)
        shared = await self.auditor.change(
            lambda conn: self.datasets.on(conn).attest(dataset.id, dataset.org_id, attested_by),
            lambda _attested: event,
        )
        documents = []
        for doc_id in await asyncio.to_thread(self.datasets.documents, dataset.id):
            document = await self.index.get_document(doc_id)
            if document is not None and document.meta.visibility != "shared":
                documents.append(shared_document(document))
        await self.index.upsert_many(documents)
        return shared

    async def delete(self, dataset: DatasetInfo, *, who: str, platform: str) -> int:
        """Delete every document of the dataset from the index, then the dataset.

        The deletion is recorded first: when the record cannot be written, nothing is deleted.
        The index goes next: when it fails part-way, the dataset stays listed with what is left
        of it, and deleting it again finishes the job. The other way round, the documents not
        yet deleted would stay searchable with no dataset left to delete them by.
        """
        return await self._delete(dataset, {}, who=who, platform=platform)

    async def withdraw(self, dataset: DatasetInfo, *, who: str, platform: str) -> None:
        """Delete a dataset created for an upload that was then refused, so that no empty
        dataset stays behind; recorded as a deletion, as its creation was. When that fails as
        well (the audit log or the index is down), the dataset stays, recorded as created, and
        the upload's own error is what the uploader is told."""
        try:
            await self._delete(dataset, {"reason": "upload_refused"}, who=who, platform=platform)
        except BaibainError as exc:
            log.warning("dataset %d kept after a refused upload: %s", dataset.id, exc.code)

    async def _delete(
        self, dataset: DatasetInfo, why: Mapping[str, object], *, who: str, platform: str
    ) -> int:
        async with self.held(dataset):
            doc_ids = await asyncio.to_thread(self.datasets.documents, dataset.id)
            details = {
                "dataset_id": dataset.id,
                "name": dataset.name,
                "documents": len(doc_ids),
                **why,
            }
            await self.auditor.admin(
                self._event(dataset, "dataset.delete", details, who=who, platform=platform)
            )
            for doc_id in doc_ids:
                await self.index.delete(doc_id)
            recorded = await asyncio.to_thread(self.datasets.delete, dataset.id, dataset.org_id)
            # Written meanwhile by an upload that held nothing (a process of an older release).
            late = set(recorded) - set(doc_ids)
            for doc_id in late:
                await self.index.delete(doc_id)
            return len(doc_ids) + len(late)

    async def delete_document(
        self, dataset: DatasetInfo, doc_id: str, *, who: str, platform: str
    ) -> tuple[str, str]:
        """Delete one document of the dataset (a file uploaded by mistake), named by its id,
        file name or title; returns its id and title.
        Recorded first, then the index, then the records, as for a whole dataset: deleting it
        again finishes the job."""
        titles = dict((d, t) for t, d in await asyncio.to_thread(self.datasets.titles, dataset.id))
        doc_id = _document_named(dataset, titles, doc_id.strip())
        details = {"dataset_id": dataset.id, "doc_id": doc_id}
        async with self.held(dataset):
            await self.auditor.admin(
                self._event(dataset, "document.delete", details, who=who, platform=platform)
            )
            await self.index.delete(doc_id)
            await asyncio.to_thread(self.datasets.forget, dataset.id, [doc_id])
        return doc_id, titles[doc_id]

    @contextlib.asynccontextmanager
    async def held(self, dataset: DatasetInfo) -> AsyncIterator[None]:
        """The dataset held for one upload or deletion, in any process, renewed while it
        lasts: another one meanwhile is refused (``DatasetBusy``), so that an upload never
        writes into a dataset being deleted (its documents would stay searchable with no
        dataset to delete them by) and two versions of one file never both stay."""
        holder = uuid.uuid4().hex
        taking = asyncio.ensure_future(asyncio.to_thread(self.datasets.hold, dataset.id, holder))
        renewal: asyncio.Task[None] | None = None
        try:
            # Shielded: cancelled meanwhile (Ctrl-C), the thread takes the hold all the same,
            # and it is let go below instead of blocking the dataset until it lapses.
            await asyncio.shield(taking)
            renewal = asyncio.create_task(self._renew(dataset.id, holder))
            yield
        finally:
            if renewal is not None:
                renewal.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await renewal
            await asyncio.wait([taking])
            if taking.exception() is None:  # held (a refusal, DatasetBusy, holds nothing)
                try:
                    await asyncio.to_thread(self.datasets.let_go, dataset.id, holder)
                except Exception as exc:  # the hold lapses by itself after HOLD
                    log.warning("dataset %d not let go: %s", dataset.id, type(exc).__name__)

    async def _renew(self, dataset_id: int, holder: str) -> None:
        while True:
            await asyncio.sleep(HOLD.total_seconds() / 3)
            try:
                await asyncio.to_thread(self.datasets.hold, dataset_id, holder)
            except Exception as exc:  # tried again at the next turn, while the hold lasts
                log.warning("dataset %d hold not renewed: %s", dataset_id, type(exc).__name__)

    def _event(
        self,
        dataset: DatasetInfo,
        action: str,
        details: Mapping[str, object],
        *,
        who: str,
        platform: str,
    ) -> AuditEvent:
        """The record of ``action`` taken on ``dataset``, in its organization's audit log."""
        return AuditEvent.admin(
            org_id=dataset.org_id, platform=platform, user_id=who, action=action, details=details
        )


def shared_document(document: Document) -> Document:
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
    raise ListedNotFound(
        f"データセット「{dataset.name}」に「{name}」という文書はありません。",
        "文書IDは",
        chat=f"datasets {dataset.id}",
        cli=f"baibain dataset show {dataset.id} --org 組織名",
        rest=f"GET /api/v1/datasets/{dataset.id}",
    )
