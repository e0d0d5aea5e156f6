"""Relative-score fusion of per-field BM25 lists and the nearest chunks from Weaviate, as the
embedded store fuses.

The embedded store scores every visible chunk: per signal, the sum over its fields of
boost × BM25, divided by the signal's best score, times the signal weight; with a question
vector of the store's model, the ``DENSE_CANDIDATES`` most similar visible chunks add their
similarity scaled between the worst and the best of them, times the dense weight
(``knowledge.dense``); boosts are added and the best chunk of each of the ``k`` best documents
returned (ties by insertion order).
Weaviate returns the top ``window`` chunks of one field at a time, so this module

1. runs one BM25 query per (signal, field) with the visibility filter,
2. with a question vector of the store's model, runs one near-vector query for the
   ``DENSE_CANDIDATES`` nearest visible chunks embedded by that model and scales their
   similarities (1 − cosine distance) as the embedded store does; every other chunk gets
   nothing from the dense side, so one call is enough (the server's HNSW index is
   approximate, where the embedded store compares every vector),
3. fetches article-lookup chunks directly,
4. completes the per-field scores of every candidate (a chunk in some list, a dense
   candidate or a looked-up article) with a query restricted to the missing ids — a filter
   never changes BM25 statistics, so these are the scores the chunk would have had anywhere,
   and
5. checks a threshold bound: a chunk in no list scores at most the last score of each BM25
   list (and nothing from the dense side), so when the ``k``-th fused score beats that bound
   the result equals the embedded store's. Otherwise the windows grow (×4, up to
   ``max_window``); past that the result is the exact fusion of every field's top
   ``max_window``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import numpy as np
from weaviate.collections.classes.filters import _Filters

from knowledge.dense import DENSE_CANDIDATES, relative_shares
from knowledge.index import IndexQuery
from knowledge.weaviate_schema import (
    FIELD_PROPERTIES,
    QueryCall,
    article_filter,
    dense_query,
    field_query,
    only_ids,
    query_text,
)

FIRST_WINDOW = 100
MAX_WINDOW = 1000
WINDOW_GROWTH = 4
# Ids per restricted query when completing candidates' scores.
_ID_GROUP = 500


@dataclass(frozen=True)
class Scored:
    """One object of a result list: its id, score (BM25 or cosine similarity) and the fields
    fusion needs."""

    uuid: str
    score: float
    seq: int
    law_id: str
    doc_id: str


RunQuery = Callable[[QueryCall], Awaitable[list[Scored]]]
FetchIds = Callable[[_Filters, int], Awaitable[list[Scored]]]


@dataclass
class _FieldList:
    """One (signal, field) list: its query text, boost and the scores seen so far."""

    signal: int
    prop: str
    boost: float
    text: str
    scores: dict[str, float] = field(default_factory=dict)
    floor: float = 0.0  # an upper bound for chunks not in the list; 0 once exhausted


def _plan(query: IndexQuery) -> list[_FieldList]:
    lists = []
    for i, signal in enumerate(query.signals):
        text = query_text(signal.terms)
        if signal.weight <= 0 or not text:
            continue
        for name, boost in signal.fields.items():
            if boost > 0:
                lists.append(_FieldList(i, FIELD_PROPERTIES[name], boost, text))
    return lists


class FusedSearch:
    """One ``IndexQuery`` against Weaviate, through two injected calls (see module doc).

    ``model`` is the embedding model of the store's vectors (empty: none); the query's
    ``dense`` counts only when it is of that model, as in the embedded store.
    """

    def __init__(
        self,
        query: IndexQuery,
        base: _Filters,
        run: RunQuery,
        fetch: FetchIds,
        *,
        model: str = "",
        first_window: int = FIRST_WINDOW,
        max_window: int = MAX_WINDOW,
    ) -> None:
        self.query = query
        self.base = base
        self._run = run
        self._fetch = fetch
        dense = query.dense
        self._dense = dense if dense is not None and model and dense.model == model else None
        self._first_window = first_window
        self._max_window = max(max_window, first_window)
        self._lists = _plan(query)
        self._info: dict[str, Scored] = {}
        self._article_hits: dict[int, set[str]] = {}
        self._dense_shares: dict[str, float] = {}
        self.rounds = 0

    def _field_query(self, item: _FieldList, filters: _Filters, limit: int) -> QueryCall:
        return field_query(item.text, item.prop, filters, limit)

    async def _fill_list(self, item: _FieldList, window: int) -> None:
        found = await self._run(self._field_query(item, self.base, window))
        item.scores = {s.uuid: s.score for s in found}
        item.floor = found[-1].score if len(found) >= window else 0.0
        for s in found:
            self._info.setdefault(s.uuid, s)

    async def _lookup_articles(self) -> None:
        """Chunks of the looked-up articles are candidates even without a matching term."""
        lookups = [(i, b) for i, b in enumerate(self.query.boosts) if b.articles]
        found = await asyncio.gather(
            *(
                self._fetch(article_filter(self.base, b.law_id, b.articles), self._max_window)
                for _, b in lookups
            )
        )
        for (i, _), hits in zip(lookups, found, strict=True):
            self._article_hits[i] = {s.uuid for s in hits}
            for s in hits:
                self._info.setdefault(s.uuid, s)

    async def _find_nearest(self) -> None:
        """The dense shares of the chunks nearest to the question's vector."""
        dense = self._dense
        if dense is None:
            return
        found = await self._run(dense_query(dense.vector, dense.model, self.base, DENSE_CANDIDATES))
        if not found:
            return
        similarities = np.array([s.score for s in found], dtype=np.float32)
        shares = relative_shares(similarities, dense.weight)
        self._dense_shares = {s.uuid: float(v) for s, v in zip(found, shares, strict=True)}
        for s in found:
            self._info.setdefault(s.uuid, s)

    async def _complete(self, item: _FieldList) -> None:
        """Exact scores in this list for candidates it did not return."""
        if item.floor <= 0:
            return  # exhausted: every chunk missing from the list scores zero in it
        missing = [u for u in self._info if u not in item.scores]
        groups = [missing[i : i + _ID_GROUP] for i in range(0, len(missing), _ID_GROUP)]
        found = await asyncio.gather(
            *(self._run(self._field_query(item, only_ids(self.base, g), len(g))) for g in groups)
        )
        for s in (s for part in found for s in part):
            item.scores[s.uuid] = s.score
        for u in missing:
            item.scores.setdefault(u, 0.0)

    async def run(self) -> list[tuple[str, float]]:
        """Object ids and fused scores, best first, at most ``k``, never zero."""
        if self.query.k <= 0:
            return []
        window = max(self._first_window, self.query.k)
        await asyncio.gather(self._lookup_articles(), self._find_nearest())
        while True:
            self.rounds += 1
            growing = [item for item in self._lists if self.rounds == 1 or item.floor > 0]
            await asyncio.gather(*(self._fill_list(item, window) for item in growing))
            await asyncio.gather(*(self._complete(item) for item in self._lists))
            ranked, exact = self._fuse()
            if exact or window >= self._max_window:
                return ranked
            window = min(window * WINDOW_GROWTH, self._max_window)

    def _fuse(self) -> tuple[list[tuple[str, float]], bool]:
        signals = sorted({item.signal for item in self._lists})
        totals = dict.fromkeys(self._info, 0.0)
        exact = True
        bound = 0.0
        for i in signals:
            members = [item for item in self._lists if item.signal == i]
            per_chunk = {
                u: sum(item.boost * item.scores.get(u, 0.0) for item in members) for u in totals
            }
            best = max(per_chunk.values(), default=0.0)
            ceiling = sum(item.boost * item.floor for item in members)
            if ceiling > best:
                exact = False  # an unseen chunk might be this signal's best
            if best <= 0:
                continue
            scale = self.query.signals[i].weight / best
            for u, score in per_chunk.items():
                totals[u] += scale * score
            bound += scale * ceiling
        for u, share in self._dense_shares.items():
            totals[u] += share
        # Boosts apply in order, as in the embedded store: a law boost raises chunks that
        # already score, an article lookup adds to its chunks whatever they score.
        for i, boost in enumerate(self.query.boosts):
            if boost.articles:
                for u in self._article_hits.get(i, ()):
                    totals[u] += boost.add
                continue
            for u, total in totals.items():
                if total > 0 and self._info[u].law_id == boost.law_id:
                    totals[u] = total + boost.add
            if bound > 0:
                bound += max(boost.add, 0.0)
        ranked = _best_per_document(
            sorted(
                ((u, t) for u, t in totals.items() if t > 0),
                key=lambda ut: (-ut[1], self._info[ut[0]].seq, ut[0]),
            ),
            self._info,
        )[: self.query.k]
        if bound > 0 and (len(ranked) < self.query.k or ranked[-1][1] <= bound):
            exact = False
        return ranked, exact


def _best_per_document(
    ranked: list[tuple[str, float]], info: dict[str, Scored]
) -> list[tuple[str, float]]:
    """The first (best) chunk of each document, in rank order."""
    seen: set[str] = set()
    kept = []
    for u, total in ranked:
        doc_id = info[u].doc_id
        if doc_id not in seen:
            seen.add(doc_id)
            kept.append((u, total))
    return kept
