"""Versions of one statute by enforcement date (e-Gov XML named ``<法令ID>_<施行日>_…``): which
one is in force, and searches that answer from it alone.

Each version is a document of its own holding the whole statute, so a search finds the same
article in each of them: the copies of versions not in force would be quoted as the law and
would take the places of other relevant articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date

from knowledge.analysis import Analyzer
from knowledge.documents import DocumentMeta, Hit
from knowledge.index import IndexQuery, IndexStore, Signal

# At most this many versions of the statutes found are compared (one document each).
VERSIONS_COMPARED = 50


def version_in_force(versions: Sequence[DocumentMeta], today: date) -> DocumentMeta | None:
    """Of versions of one document, the one in force on ``today``: the latest whose
    ``version`` (its 施行日, ISO) is not after it; ``None`` when none is in force yet."""
    enforced = [m for m in versions if m.version and m.version <= today.isoformat()]
    return max(enforced, key=lambda m: m.version) if enforced else None


def answering_version(versions: Sequence[DocumentMeta], today: date) -> DocumentMeta:
    """The version an answer quotes: the one in force on ``today``, or, when every version
    comes into force later, the first to come into force."""
    return version_in_force(versions, today) or min(versions, key=lambda m: m.version)


class InForce:
    """The searches of one question, without the hits of statute versions other than the one
    in force on ``today`` (``answering_version``) among those the filter allows; still up to
    ``query.k`` hits. Documents without a version are kept as they are. What it learnt of a
    law's versions is kept for the question's later searches (same filter), which then ask
    nothing again."""

    def __init__(self, store: IndexStore, analyzer: Analyzer, today: date) -> None:
        self._store = store
        self._analyzer = analyzer
        self._today = today
        self._superseded_of: dict[str, set[str]] = {}  # law id → doc ids not quoted

    async def search(self, query: IndexQuery) -> list[Hit]:
        """``store.search(query)`` as the class says."""
        hits = await self._store.search(query)
        superseded = await self._superseded(hits, query)
        if not any(hit.meta.doc_id in superseded for hit in hits):
            return hits
        # Each superseded version took at most one place (a document appears once).
        more = await self._store.search(replace(query, k=query.k + len(superseded)))
        superseded = await self._superseded(more, query)
        return [hit for hit in more if hit.meta.doc_id not in superseded][: query.k]

    async def _superseded(self, hits: list[Hit], query: IndexQuery) -> set[str]:
        """The ids of the versions, among those the query's filter allows, of the statutes
        ``hits`` hold versions of that an answer does not quote. Every chunk of a statute is
        indexed under its title, so a search for the titles among the laws' documents finds
        each version."""
        laws = _versioned(hits)
        unknown = {law: title for law, title in laws.items() if law not in self._superseded_of}
        terms = {word for title in unknown.values() for word in self._analyzer.words(title)}
        if terms:
            signal = Signal(terms=dict.fromkeys(terms, 1.0), fields={"title": 1.0})
            flt = replace(query.filter, law_ids=tuple(sorted(unknown)))
            found = await self._store.search(IndexQuery([signal], filter=flt, k=VERSIONS_COMPARED))
            for law in unknown:
                versions = [h.meta for h in found if h.meta.law_id == law and h.meta.version]
                kept = answering_version(versions, self._today) if versions else None
                self._superseded_of[law] = {
                    m.doc_id for m in versions if kept is not None and m.doc_id != kept.doc_id
                }
        return set().union(*(self._superseded_of.get(law, set()) for law in laws))


def _versioned(hits: Iterable[Hit]) -> dict[str, str]:
    """Law id → title of the statutes among ``hits`` that are versions by 施行日."""
    return {
        hit.meta.law_id: hit.meta.law_title or hit.meta.title
        for hit in hits
        if hit.meta.law_id and hit.meta.version
    }
