"""The ``IndexStore`` protocol: what every index (embedded, Weaviate) promises.

Fields that queries can target:

* ``words``  – morphological terms of the chunk text
* ``title``  – morphological terms of the document title and the chunk heading
* ``grams``  – character bigrams of the chunk text
* ``refs``   – citation keys of the articles the chunk cites (``knowledge.citations``):
  「地方自治法第二百四十二条」 → ``地方自治法:242``, 「法第百六十二条」 → ``法:162``

Chunks of statutes carry the law id of their document and an article key derived from their
position (「第二百四十二条の二」 → ``"242-2"``; supplementary provisions have none), which
``Boost`` uses.

A query is a set of weighted lexical *signals*; a store scores each signal with BM25 over the
named fields (field boosts summed), scales each signal by its best score in the visible set
(relative-score fusion) and ranks by the weighted sum; a document ranks by its best chunk and
appears once. A query may also carry the question's
embedding (``Dense``): stores that hold chunk vectors of that model add the most similar
chunks, scaled between the worst and the best of them (``knowledge.dense``). Stores must apply
the ``SearchFilter`` before ranking, so a hit that the viewer may not see can never push out one
that it may.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from knowledge.documents import Chunk, Document, DocumentMeta, Hit

FIELDS = ("words", "title", "grams", "refs")


@dataclass(frozen=True)
class SearchFilter:
    """Which chunks a query may see.

    ``viewer_org`` sees every ``shared`` document plus the ``organization`` documents it owns;
    ``None`` sees shared documents only. Empty tuples mean "no restriction".
    """

    viewer_org: str | None = None
    categories: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    owner_orgs: tuple[str, ...] = ()
    law_ids: tuple[str, ...] = ()
    doc_ids: tuple[str, ...] = ()
    published_from: date | None = None
    published_to: date | None = None

    def allows(self, meta: DocumentMeta) -> bool:
        """Reference semantics of the filter for one document (stores may vectorize it)."""
        if meta.visibility != "shared" and (
            self.viewer_org is None or meta.owner_org != self.viewer_org
        ):
            return False
        checks: list[tuple[tuple[str, ...], str | None]] = [
            (self.categories, meta.category),
            (self.datasets, meta.dataset),
            (self.owner_orgs, meta.owner_org),
            (self.law_ids, meta.law_id),
            (self.doc_ids, meta.doc_id),
        ]
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        if self.published_from and (not meta.published or meta.published < self.published_from):
            return False
        return not (
            self.published_to and (not meta.published or meta.published > self.published_to)
        )


@dataclass(frozen=True)
class Signal:
    """One lexical signal: weighted terms, BM25 in each named field, times the field boost."""

    terms: Mapping[str, float]
    fields: Mapping[str, float]
    weight: float = 1.0


# (doc id, first ordinal, last ordinal) of ``IndexStore.get_chunks``.
ChunkRange = tuple[str, int, int]


@dataclass(frozen=True)
class Boost:
    """Add ``add`` to the fused score of chunks of law ``law_id`` (article keys ``articles``).

    With ``articles`` the boost is a direct lookup: matching chunks are candidates even when
    no term matches. Without, only chunks that some signal already matched are raised.
    """

    law_id: str
    add: float
    articles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dense:
    """The question's embedding (unit length) by ``model``, and its weight in the fusion."""

    vector: tuple[float, ...]
    model: str
    weight: float = 1.0


@dataclass(frozen=True)
class IndexQuery:
    """A fused query with its filter and the number of documents wanted (``k``)."""

    signals: Sequence[Signal]
    filter: SearchFilter = field(default_factory=SearchFilter)
    k: int = 10
    boosts: Sequence[Boost] = ()
    dense: Dense | None = None


@dataclass(frozen=True)
class TermStats:
    """Document frequencies of terms in one field, for query weighting."""

    n_docs: int
    df: Mapping[str, int]


def batches(documents: Sequence[Document], size: int) -> list[Sequence[Document]]:
    """``documents`` cut into consecutive batches of at most ``size``, for ``upsert_batches``."""
    return [documents[start : start + size] for start in range(0, len(documents), size)]


class IndexStore(Protocol):
    """A persistent chunk index.

    Contract:

    * ``upsert`` is idempotent and atomic per document: afterwards the document has exactly the
      given chunks; chunks of an older version that the new one no longer has are gone; a failure
      leaves the previous version searchable.
    * ``delete`` removes a document and all its chunks; it returns whether anything was removed.
    * ``search`` returns at most ``k`` hits allowed by the filter, best first; ties are broken by
      chunk insertion order. Hits with a score of zero are never returned.
    * Writes by another process become visible to later searches of this process.
    """

    async def upsert(self, document: Document) -> None:
        """Insert or replace one document and its chunks."""
        ...

    async def upsert_many(self, documents: Sequence[Document]) -> None:
        """Insert or replace several documents in one transaction (all or nothing)."""
        ...

    async def upsert_batches(
        self,
        batches: Iterable[Sequence[Document]],
        written: Callable[[int], Awaitable[None]] | None = None,
    ) -> None:
        """``upsert_many`` of each batch in turn, each its own transaction: a failed batch
        leaves the earlier ones written and nothing of itself. ``written`` is told how many
        documents are written after each batch."""
        ...

    async def delete(self, doc_id: str) -> bool:
        """Remove a document; ``True`` when it existed."""
        ...

    async def search(self, query: IndexQuery) -> list[Hit]:
        """The best chunk of each of the ``k`` best documents that the filter allows, best
        first (a document ranks by its best chunk)."""
        ...

    async def term_stats(
        self, field_name: str, terms: Sequence[str], flt: SearchFilter | None = None
    ) -> TermStats:
        """Document frequencies of ``terms`` in ``field_name`` over the chunks ``flt`` allows
        (``n_docs``: how many it allows), or over all chunks without one (statistics that only
        order results, as BM25's own are). What the asker cannot see, another organization's
        private datasets above all, must not change whether a question is answered: the
        relevance check asks with the asker's filter."""
        ...

    async def law_titles(self, viewer_org: str | None) -> Mapping[str, str]:
        """Title → law id of every law with chunks that ``viewer_org`` may see (shared ones
        and its own, as ``SearchFilter.viewer_org``): another organization's private
        datasets must not change how a question is read."""
        ...

    async def get_document(self, doc_id: str) -> Document | None:
        """The stored document with its chunks in order, or ``None``."""
        ...

    async def get_chunks(self, ranges: Sequence[ChunkRange]) -> list[list[Chunk]]:
        """For each (doc id, first, last) range, the chunks of that document with ordinals
        ``first`` to ``last`` (inclusive) that exist, in order: passages' neighbours, read
        together and without reading long documents whole."""
        ...

    async def content_hash(self, doc_id: str) -> str | None:
        """The stored content hash of a document, or ``None`` when it is not indexed."""
        ...

    async def count_chunks(self) -> int:
        """Number of chunks in the index."""
        ...

    async def embed_missing(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Embed, with the store's embedder, every chunk without a vector of its model; returns
        how many (0 without an embedder). Resumable: finished batches stay written."""
        ...

    async def ping(self) -> None:
        """Raise ``IndexUnavailable`` with a reason when the index cannot serve queries."""
        ...

    async def close(self) -> None:
        """Release files and connections."""
        ...
