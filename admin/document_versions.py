"""Document versions: the version and content hash recorded for each document of a dataset.

A document is recorded after it is in the index, keyed by its dataset and the name of the file it
was read from. Re-uploading unchanged content is a no-op and changed content becomes a new
version; documents no longer in the dataset are forgotten. ``admin.datasets.DatasetService``
builds on ``DocumentVersions``, so its callers reach these methods through it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from admin.db import Bind
from admin.models import utcnow
from knowledge.ingest import MAX_DOC_ID

# Titles are kept for listings; a longer one (a PDF's own title, a corpus row's) is cut.
MAX_TITLE = 500


@dataclass(frozen=True)
class DocumentRecord:
    """What is recorded of a document: its index id, the file it was read from, its title,
    content hash and publication date."""

    doc_id: str
    source_name: str
    title: str
    content_hash: str
    published: date | None = None

    @property
    def kept(self) -> Kept:
        """What its row keeps of it: the same text under another title or date (a corrected
        corpus row, a parser that now reads the date a cover states) is a change too."""
        return (self.content_hash, self.title[:MAX_TITLE], self.published)


# A document's content hash, title and publication date, as its row holds them.
Kept = tuple[str, str, date | None]


@dataclass(frozen=True)
class VersionChange:
    """What recording a document did: ``version`` is the document's version afterwards."""

    doc_id: str
    version: int
    changed: bool


class DocumentVersion(SQLModel, table=True):
    """The current version of one document of a dataset."""

    __tablename__ = "document_version"
    __table_args__ = (UniqueConstraint("dataset_id", "source_name"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    doc_id: str = Field(max_length=MAX_DOC_ID, unique=True)
    source_name: str = Field(max_length=MAX_DOC_ID)
    title: str = Field(max_length=MAX_TITLE)
    published: date | None = None
    version: int = 1
    content_hash: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow)


class DocumentVersions:
    """The recorded versions of the documents of every dataset, on ``bind``: the engine, or the
    connection of an ``AuditLog.change`` whose record the changes then commit with."""

    def __init__(self, bind: Bind) -> None:
        self._bind = bind

    def _count(self, session: Session, dataset_id: int | None) -> int:
        if dataset_id is None:
            return 0
        return self._counts(session, [dataset_id]).get(dataset_id, 0)

    def _counts(self, session: Session, dataset_ids: Collection[int | None]) -> dict[int, int]:
        """Documents recorded per dataset of ``dataset_ids``, counted by the database in one
        query (a listing of every shared dataset would otherwise read every document's row);
        a dataset without documents is missing from the result."""
        ids = [i for i in dataset_ids if i is not None]
        if not ids:
            return {}
        query = (
            select(DocumentVersion.dataset_id, func.count())
            .where(col(DocumentVersion.dataset_id).in_(ids))
            .group_by(col(DocumentVersion.dataset_id))
        )
        return {dataset_id: count for dataset_id, count in session.exec(query).all()}

    def forget(self, dataset_id: int, doc_ids: Collection[str]) -> None:
        """Drop the records of documents no longer in the dataset."""
        if not doc_ids:
            return
        with Session(self._bind) as session:
            rows = session.exec(
                select(DocumentVersion).where(
                    DocumentVersion.dataset_id == dataset_id,
                    col(DocumentVersion.doc_id).in_(list(doc_ids)),
                )
            ).all()
            for row in rows:
                session.delete(row)
            session.commit()

    def version_of(self, doc_id: str) -> tuple[int, str] | None:
        """``(version, content hash)`` of a recorded document."""
        with Session(self._bind) as session:
            row = session.exec(
                select(DocumentVersion).where(DocumentVersion.doc_id == doc_id)
            ).first()
            return (row.version, row.content_hash) if row else None

    def record(self, dataset_id: int, documents: Sequence[DocumentRecord]) -> list[VersionChange]:
        """Record documents after they are in the index, all or none (one transaction); a
        changed hash is a new version."""
        with Session(self._bind) as session:
            changes = [_recorded(session, dataset_id, document) for document in documents]
            session.commit()
        return changes

    def recorded(self, dataset_id: int) -> dict[str, Kept]:
        """Index doc id → what is kept of each document of a dataset (``DocumentRecord.kept``)."""
        with Session(self._bind) as session:
            rows = session.exec(
                select(DocumentVersion).where(DocumentVersion.dataset_id == dataset_id)
            ).all()
            return {row.doc_id: (row.content_hash, row.title, row.published) for row in rows}

    def documents(self, dataset_id: int) -> dict[str, str]:
        """Index doc id → recorded content hash of each document of a dataset."""
        with Session(self._bind) as session:
            rows = session.exec(
                select(DocumentVersion.doc_id, DocumentVersion.content_hash).where(
                    DocumentVersion.dataset_id == dataset_id
                )
            ).all()
            return dict(rows)

    def titles(self, dataset_id: int) -> list[tuple[str, str]]:
        """``(title, index doc id)`` of each document of a dataset, by title."""
        with Session(self._bind) as session:
            rows = session.exec(
                select(DocumentVersion.title, DocumentVersion.doc_id)
                .where(DocumentVersion.dataset_id == dataset_id)
                .order_by(col(DocumentVersion.title), col(DocumentVersion.doc_id))
            ).all()
            return [(title, doc_id) for title, doc_id in rows]


def _recorded(session: Session, dataset_id: int, document: DocumentRecord) -> VersionChange:
    """Add or update one document's row in ``session`` (not committed)."""
    row = session.exec(
        select(DocumentVersion).where(
            DocumentVersion.dataset_id == dataset_id,
            DocumentVersion.source_name == document.source_name,
        )
    ).first()
    if row is not None and (row.content_hash, row.title, row.published) == document.kept:
        return VersionChange(document.doc_id, row.version, changed=False)
    title = document.title[:MAX_TITLE]
    if row is None:
        row = DocumentVersion(
            dataset_id=dataset_id,
            doc_id=document.doc_id,
            source_name=document.source_name,
            title=title,
            published=document.published,
            content_hash=document.content_hash,
        )
    else:
        row.version += 1
        row.title, row.published, row.content_hash = (
            title,
            document.published,
            document.content_hash,
        )
        row.updated_at = utcnow()
    session.add(row)
    return VersionChange(document.doc_id, row.version, changed=True)
