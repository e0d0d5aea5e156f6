"""Domain values for documents, chunks and search results."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Visibility = Literal["shared", "organization"]

SHARED: Visibility = "shared"
ORGANIZATION: Visibility = "organization"


@dataclass(frozen=True)
class DocumentMeta:
    """What a citation needs to know about a document, and what filters match on.

    ``owner_org`` is the id of the organization that owns the dataset (``None`` for data that
    ships with Baibain); ``publisher`` is the organization that published the text (for example
    「e-Gov法令検索（デジタル庁）」).
    """

    doc_id: str
    title: str
    dataset: str
    owner_org: str | None = None
    visibility: Visibility = SHARED
    publisher: str = ""
    category: str = ""
    license: str = ""
    source_url: str = ""
    published: date | None = None
    law_id: str = ""
    law_title: str = ""
    version: str = ""

    @property
    def records_meeting(self) -> bool:
        """Whether the document records a meeting (会議録, 議事録, 議事要旨), so that the date
        its opening lines state (``published``) is the day the meeting was held: it is in the
        会議録 category or its title says so."""
        return self.category == MINUTES_CATEGORY or titles_minutes(self.title)


# The seed category of council and committee minutes (see the design's data model).
MINUTES_CATEGORY = "会議録"
_MINUTES = re.compile(r"会議録|議事録|議事要旨|議事概要|委員会記録")


def titles_minutes(title: str) -> bool:
    """Whether a document's title says it records a meeting (「第1回定例会会議録」)."""
    return bool(_MINUTES.search(title))


@dataclass(frozen=True)
class Chunk:
    """One retrievable passage of a document.

    ``position`` is human-readable (「第二百四十二条」, 「3ページ」, a heading) and goes into the
    citation; ``heading`` is searchable text that describes the passage (law name, article
    caption, section heading) and is indexed as the title field.
    """

    chunk_id: str
    doc_id: str
    ordinal: int
    text: str
    heading: str = ""
    position: str = ""


@dataclass(frozen=True)
class Document:
    """A document ready for the index: metadata, its chunks in order, and a content hash."""

    meta: DocumentMeta
    chunks: tuple[Chunk, ...]
    content_hash: str = ""

    @property
    def doc_id(self) -> str:
        return self.meta.doc_id


@dataclass(frozen=True)
class Hit:
    """A chunk returned by a search, with its document's metadata and fused score, and the
    words it is indexed under (``words`` field: its text, title and heading)."""

    chunk: Chunk
    meta: DocumentMeta
    score: float
    words: frozenset[str] = frozenset()


# Between the cells of a table's row in a section's text, as every parser writes a table
# (「施設名 | 所在地」): answers and summaries read the rows back by it.
TABLE_CELL = " | "


@dataclass(frozen=True)
class Section:
    """A structural piece of a parsed file before chunking (an article, a page, a heading)."""

    text: str
    heading: str = ""
    position: str = ""
    extra: dict[str, str] = field(default_factory=dict)


def content_hash(text: str) -> str:
    """Stable hash of a document's text, used to skip unchanged re-uploads."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def stable_chunk_id(doc_id: str, position: str, piece: int) -> str:
    """Chunk ids depend on the document, the structural position and the piece number only.

    Re-ingesting the same document therefore yields the same ids.
    """
    digest = hashlib.blake2b(f"{doc_id}\x1f{position}\x1f{piece}".encode(), digest_size=10)
    return digest.hexdigest()
