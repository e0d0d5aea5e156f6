"""Datasets: what each organization uploaded, and who may see it.

A dataset belongs to one organization. It is ``organization``-only until someone attests that
sharing it with every participating organization is legally allowed; the attestation (who and
when) makes it ``shared``. The versions of a dataset's documents are kept by
``admin.document_versions``; ``DatasetService`` builds on it. What its fields may hold is
``admin.dataset_rules``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath

from sqlalchemy import ColumnElement, UniqueConstraint, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, or_, select

from admin.dataset_rules import (
    ATTESTER,
    MAX_ATTESTED_BY,
    MAX_ID,
    MAX_LICENSE,
    MAX_NAME,
    MAX_PUBLISHER,
    MAX_REFRESH_HOURS,
    MAX_SOURCE_URL,
    check_category,
    checked_name,
    missing,
    within,
)
from admin.db import Bind
from admin.document_versions import DocumentVersion, DocumentVersions
from admin.names import typed_name
from knowledge.dates import as_utc
from knowledge.errors import BadInput, BaibainError, Conflict, Forbidden
from knowledge.titles import file_keys, title_key

# Documents read from files whose names contain the name asked for, compared with it.
_FILE_MATCHES = 50


def _visible_to(viewer_org: str | None) -> ColumnElement[bool]:
    """Datasets the viewer may see: shared ones and its own."""
    return or_(col(Dataset.visibility) == "shared", col(Dataset.org_id) == (viewer_org or ""))


def _escaped(text: str) -> str:
    """``text`` matched literally inside a LIKE pattern (escape character ``\\``)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _now() -> datetime:
    return datetime.now(UTC)


# How long a dataset is held for one upload or deletion without renewal (``hold``): a process
# killed in the middle leaves the dataset to the others after this. Renewed every third of it.
HOLD = timedelta(minutes=2)


class DatasetBusy(BaibainError):
    """Another upload or deletion of the dataset is under way (in any process), holding it
    until ``held_until`` at the latest (renewed while it runs)."""

    code = "dataset_busy"
    status = 409
    default_message = (
        "このデータセットは、ほかの取り込みまたは削除の処理中です。"
        "処理が終わってから（数分後に）もう一度お試しください。"
    )

    def __init__(self, held_until: datetime | None = None) -> None:
        super().__init__()
        self.held_until = held_until

    @property
    def retry_at(self) -> datetime | None:
        return self.held_until


class Dataset(SQLModel, table=True):
    """A named collection of documents owned by an organization."""

    __tablename__ = "dataset"
    # Ids are never handed out twice (SQLite would reuse a deleted highest one): they name
    # datasets in commands, retried deletions and document ids (ds<id>/…).
    __table_args__ = (UniqueConstraint("org_id", "name"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    org_id: str = Field(max_length=64, index=True)
    name: str = Field(max_length=MAX_NAME)
    category: str = Field(max_length=32)
    license: str = Field(default="", max_length=MAX_LICENSE)
    publisher: str = Field(default="", max_length=MAX_PUBLISHER)
    source_url: str = Field(default="", max_length=MAX_SOURCE_URL)
    visibility: str = Field(default="organization", max_length=16)
    attested_by: str = Field(default="", max_length=MAX_ATTESTED_BY)
    attested_at: datetime | None = None
    refresh_hours: int | None = None
    etag: str = Field(default="", max_length=255)
    last_modified: str = Field(default="", max_length=64)
    # The file name the source URL last gave (it may change, behind a redirect to a dated file).
    source_name: str = Field(default="", max_length=500)
    refreshed_at: datetime | None = None
    # Why the refreshes of the source fail (an error code), and since when: the first failure
    # after the last refresh that worked, which clears both ("" and None: not failing).
    refresh_error: str = Field(default="", max_length=32)
    refresh_failing_since: datetime | None = None
    # Who holds the dataset for an upload or a deletion, and until when (``hold``).
    held_by: str = Field(default="", max_length=32)
    held_until: datetime | None = None
    created_at: datetime = Field(default_factory=_now)
    updated_at: datetime = Field(default_factory=_now)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset as services hand it out. ``refreshed_at`` is when its source URL was last
    fetched; ``refresh_error`` the code of the error its refreshes fail with since
    ``refresh_failing_since`` ("" and ``None`` while they work)."""

    id: int
    org_id: str
    name: str
    category: str
    license: str
    publisher: str
    source_url: str
    visibility: str
    attested_by: str
    attested_at: datetime | None
    refresh_hours: int | None
    documents: int = 0
    refreshed_at: datetime | None = None
    refresh_error: str = ""
    refresh_failing_since: datetime | None = None


@dataclass(frozen=True)
class SourceState:
    """What the last fetch of a dataset's source URL gave: its validators (ETag,
    Last-Modified) and the file name it was read as."""

    etag: str = ""
    last_modified: str = ""
    name: str = ""


def _info(row: Dataset, documents: int = 0) -> DatasetInfo:
    assert row.id is not None
    return DatasetInfo(
        id=row.id,
        org_id=row.org_id,
        name=row.name,
        category=row.category,
        license=row.license,
        publisher=row.publisher,
        source_url=row.source_url,
        visibility=row.visibility,
        attested_by=row.attested_by,
        attested_at=row.attested_at,
        refresh_hours=row.refresh_hours,
        documents=documents,
        refreshed_at=row.refreshed_at,
        refresh_error=row.refresh_error,
        refresh_failing_since=row.refresh_failing_since,
    )


class DatasetService(DocumentVersions):
    """Datasets: creation, lookup as a viewer may see them, attestation, deletion, documents by
    file name and source state; recording document versions comes from ``DocumentVersions``."""

    def __init__(self, bind: Bind, *, reserved: Collection[str] = ()) -> None:
        """The service on ``bind``; ``create`` refuses the ``reserved`` names: those of the
        datasets that ship with Baibain, which every organization sees (``bot`` knows them)."""
        super().__init__(bind)
        self._reserved = frozenset(reserved)

    def on(self, bind: Bind) -> DatasetService:
        """This service on another bind (an audited change's connection), same names reserved."""
        return DatasetService(bind, reserved=self._reserved)

    def create(
        self,
        org_id: str,
        name: str,
        category: str,
        *,
        license: str = "",
        publisher: str = "",
        source_url: str = "",
        attested_by: str = "",
        refresh_hours: int | None = None,
    ) -> DatasetInfo:
        """A new dataset; shared at once when ``attested_by`` names who attests it."""
        name = checked_name(name, self._reserved)
        if refresh_hours is not None and not 1 <= refresh_hours <= MAX_REFRESH_HOURS:
            raise BadInput(f"更新間隔は1〜{MAX_REFRESH_HOURS}時間で指定してください。")
        row = Dataset(
            org_id=org_id,
            name=name,
            category=check_category(category),
            license=within(license, "ライセンス", MAX_LICENSE),
            publisher=within(publisher, "発行元", MAX_PUBLISHER),
            source_url=within(source_url, "出典URL", MAX_SOURCE_URL),
            refresh_hours=refresh_hours,
        )
        if attested_by.strip():  # blanks attest nothing
            row.visibility = "shared"
            row.attested_by = within(attested_by, ATTESTER, MAX_ATTESTED_BY)
            row.attested_at = _now()
        with Session(self._bind) as session:
            session.add(row)
            try:
                session.commit()
            except IntegrityError as exc:
                raise Conflict(
                    f"データセット「{name}」はすでにあります。別の名前を指定してください。"
                ) from exc
            session.refresh(row)
            return _info(row)

    def visible(self, viewer_org: str | None) -> list[DatasetInfo]:
        """Datasets the viewer may see (shared ones and its own), with document counts."""
        with Session(self._bind) as session:
            query = select(Dataset).where(_visible_to(viewer_org))
            rows = session.exec(query.order_by(col(Dataset.id))).all()
            counts = self._counts(session, [r.id for r in rows])
            return [_info(r, counts.get(r.id or 0, 0)) for r in rows]

    def get(self, dataset_id: int, viewer_org: str | None) -> DatasetInfo:
        """One dataset the viewer may see; ``NotFound`` otherwise (no hint that it exists)."""
        with Session(self._bind) as session:
            # An id past the column's range (a typo of many digits) names no dataset.
            row = session.get(Dataset, dataset_id) if 0 < dataset_id <= MAX_ID else None
            if row is None or (row.visibility != "shared" and row.org_id != viewer_org):
                raise missing(dataset_id)
            return _info(row, self._count(session, row.id))

    def by_name(self, org_id: str, name: str) -> DatasetInfo | None:
        """The organization's dataset called ``name``, if any."""
        with Session(self._bind) as session:
            row = session.exec(
                select(Dataset).where(Dataset.org_id == org_id, Dataset.name == typed_name(name))
            ).first()
            return _info(row, self._count(session, row.id)) if row else None

    def owned(self, dataset_id: int, org_id: str) -> DatasetInfo:
        """A dataset the organization owns (for changes); ``Forbidden`` for others' datasets."""
        info = self.get(dataset_id, org_id)
        if info.org_id != org_id:
            raise Forbidden("他の組織のデータセットは変更できません。")
        return info

    def attest(self, dataset_id: int, org_id: str, who: str) -> DatasetInfo:
        """Record that sharing is legally allowed: the dataset becomes ``shared``. A dataset
        already shared keeps its first attestation."""
        who = within(who, ATTESTER, MAX_ATTESTED_BY)
        self.owned(dataset_id, org_id)
        with Session(self._bind) as session:
            row = session.get(Dataset, dataset_id)
            assert row is not None
            if row.visibility != "shared":
                row.visibility, row.attested_by, row.attested_at = "shared", who, _now()
                row.updated_at = _now()
                session.add(row)
                session.commit()
                session.refresh(row)
            return _info(row, self._count(session, row.id))

    def hold(self, dataset_id: int, holder: str) -> None:
        """Hold the dataset for one upload or deletion by ``holder`` (also to renew the hold):
        until ``let_go``, or for ``HOLD`` unless renewed. ``DatasetBusy`` while another holds
        it; ``NotFound`` when it is gone (deleted meanwhile)."""
        now = _now()
        free = or_(
            col(Dataset.held_until).is_(None),
            col(Dataset.held_until) <= now,
            col(Dataset.held_by) == holder,
        )
        with Session(self._bind) as session:
            held = session.connection().execute(
                update(Dataset)
                .where(col(Dataset.id) == dataset_id, free)
                .values(held_by=holder, held_until=now + HOLD)
            )
            other = None if held.rowcount else session.get(Dataset, dataset_id)
            gone = not held.rowcount and other is None
            until = other.held_until if other is not None else None
            session.commit()
        if gone:
            raise missing(dataset_id)
        if not held.rowcount:
            raise DatasetBusy(as_utc(until) if until else None)

    def let_go(self, dataset_id: int, holder: str) -> None:
        """End ``holder``'s hold on the dataset (nothing when it no longer holds it)."""
        with Session(self._bind) as session:
            session.connection().execute(
                update(Dataset)
                .where(col(Dataset.id) == dataset_id, col(Dataset.held_by) == holder)
                .values(held_by="", held_until=None)
            )
            session.commit()

    def delete(self, dataset_id: int, org_id: str) -> list[str]:
        """Delete a dataset of the organization; returns the index doc ids to remove."""
        self.owned(dataset_id, org_id)
        with Session(self._bind) as session:
            versions = session.exec(
                select(DocumentVersion).where(DocumentVersion.dataset_id == dataset_id)
            ).all()
            doc_ids = [v.doc_id for v in versions]
            for version in versions:
                session.delete(version)
            row = session.get(Dataset, dataset_id)
            session.delete(row)
            session.commit()
        return doc_ids

    def from_file(self, viewer_org: str | None, name: str) -> list[str]:
        """Index doc ids of the documents read from a file called ``name`` (with or without
        its extension, width and case folded) in the datasets the viewer may see."""
        key = title_key(name)
        stem = PurePosixPath(name.strip()).stem or name.strip()
        if not key or not stem:
            return []
        # As typed and folded: a file may be stored as 「資料３.pdf」 or as 「資料3.pdf」.
        stems = {stem, unicodedata.normalize("NFKC", stem)}
        names = [
            col(DocumentVersion.source_name).ilike(f"%{_escaped(s)}%", escape="\\") for s in stems
        ]
        with Session(self._bind) as session:
            rows = session.exec(
                select(DocumentVersion.doc_id, DocumentVersion.source_name)
                .join(Dataset)
                .where(_visible_to(viewer_org), or_(*names))
                .order_by(col(DocumentVersion.doc_id))
                .limit(_FILE_MATCHES)
            ).all()
        return [doc_id for doc_id, source in rows if key in file_keys(source)]

    def remember_source(self, dataset_id: int, state: SourceState) -> None:
        """Keep what the last fetch of the dataset's source URL gave: a refresh that worked,
        which ends a failure recorded before (``refresh_failed``)."""
        with Session(self._bind) as session:
            row = session.get(Dataset, dataset_id)
            if row is not None:
                row.etag, row.last_modified = state.etag, state.last_modified
                row.source_name, row.refreshed_at = state.name, _now()
                row.refresh_error, row.refresh_failing_since = "", None
                session.add(row)
                session.commit()

    def refresh_failed(self, dataset_id: int, code: str) -> None:
        """Record that a refresh of the dataset failed with the error ``code``; failing since
        now unless an earlier failure is recorded. Nothing else of the dataset changes (its
        documents and validators stay as the last refresh that worked left them); nothing
        happens to a dataset deleted meanwhile."""
        with Session(self._bind) as session:
            row = session.get(Dataset, dataset_id)
            if row is not None:
                row.refresh_error = code[:32]
                row.refresh_failing_since = row.refresh_failing_since or _now()
                session.add(row)
                session.commit()

    def source_state(self, dataset_id: int) -> SourceState:
        """The validators and file name of the last fetch of the dataset's source."""
        with Session(self._bind) as session:
            row = session.get(Dataset, dataset_id)
            if row is None:
                return SourceState()
            return SourceState(row.etag, row.last_modified, row.source_name)

    def due_for_refresh(self, now: datetime | None = None) -> list[DatasetInfo]:
        """Datasets with a source URL whose refresh interval has passed since the last one."""
        now = now or _now()
        with Session(self._bind) as session:
            rows = session.exec(
                select(Dataset).where(
                    col(Dataset.refresh_hours).is_not(None), col(Dataset.source_url) != ""
                )
            ).all()
            due = []
            for row in rows:
                last = as_utc(row.refreshed_at) if row.refreshed_at else None
                if last is None or now - last >= timedelta(hours=row.refresh_hours or 0):
                    due.append(_info(row))
            return due
