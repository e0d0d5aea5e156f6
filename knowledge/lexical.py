"""An in-memory, segmented inverted index with BM25 scoring (numpy).

Terms are numbered by a ``Vocabulary`` per field (the embedded store persists the numbering, so
a document's terms are stored as compact id arrays). Documents are numbered densely (``docno``)
in insertion order. Each batch of added documents becomes an immutable ``Segment`` (see
``postings``). Segments cover ascending docno ranges; trailing segments of similar size are
merged (tiered merging), which also drops postings of removed documents, so a field has a
handful of segments and removal is a bit flip. Scores are computed densely over all docnos with
vectorized numpy (the arithmetic is in ``bm25``); long questions on large indexes are bounded as
``LexicalIndex.score`` says.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from knowledge.bm25 import K1, B, Scores, TermPlan, add_bm25, add_scores, add_scores_for
from knowledge.postings import Encoded, GrowableArray, IntArray, Segment, Vocabulary

# Tiered merging: trailing segments are merged once together they reach 1/_MERGE_FACTOR of the
# segment before them; past _MAX_SEGMENTS the smallest trailing ones are merged regardless.
_MERGE_FACTOR = 4
_MAX_SEGMENTS = 8
# Query cost bound (see ``LexicalIndex.score``): postings scored exhaustively per field, as a
# multiple of the number of documents but never fewer than EXACT_POSTINGS, and the number of
# best documents that the remaining terms are added to.
POSTINGS_BUDGET = 0.5
EXACT_POSTINGS = 250_000
CANDIDATES = 500
# A term in at least 1/_DENSE_SHARE of the documents (「する」, 「規定」) is scored by adding a
# dense row of its BM25 term-frequency parts, which is much faster than scattering its
# postings; the rows are kept per field, for at most _DENSE_KEPT numbers (4 bytes each),
# until the document lengths change, since such terms recur in almost every question. An
# index too large for _DENSE_ROWS rows scatters as before.
_DENSE_SHARE = 8
_DENSE_KEPT = 8_000_000
_DENSE_ROWS = 64


class FieldIndex:
    """Vocabulary, postings and document lengths of one field."""

    def __init__(self) -> None:
        self.vocab = Vocabulary()
        self.segments: list[Segment] = []
        self.lengths = GrowableArray(np.float32)
        self._dense: dict[tuple[int, int], Scores] = {}
        self._dense_norm: Scores | None = None

    def add(self, first_docno: int, encoded: Encoded) -> None:
        self.lengths.extend(encoded.lengths())
        if len(encoded.ids):
            self.segments.append(Segment.build(first_docno, encoded))

    def compact(self, alive: npt.NDArray[np.bool_] | None, *, everything: bool = False) -> None:
        """Merge the trailing segments that together reach 1/_MERGE_FACTOR of the one before
        (all of them with ``everything``); ``alive`` is ``None`` when no document was removed.
        """
        segs = self.segments
        first, total = len(segs) - 1, segs[-1].n_postings if segs else 0
        while first > 0 and total * _MERGE_FACTOR >= segs[first - 1].n_postings:
            first -= 1
            total += segs[first].n_postings
        if len(segs) > _MAX_SEGMENTS:
            first = min(first, _MAX_SEGMENTS - 1)
        if everything:
            first = 0
        if len(segs) - first > 1:
            segs[first:] = [Segment.merge(segs[first:], alive)]

    def lookup(self, term_ids: npt.NDArray[np.int32]) -> list[tuple[IntArray, IntArray]]:
        """Per segment, the postings range of each term."""
        return [seg.lookup(term_ids) for seg in self.segments]

    def df(self, terms: Sequence[str], allowed: npt.NDArray[np.bool_] | None = None) -> list[int]:
        """Postings per term: of the ``allowed`` documents only, or of all (then removed
        documents count until their segment is merged)."""
        known = [(i, self.vocab.get(t)) for i, t in enumerate(terms)]
        ids = np.array([t for _, t in known if t is not None], dtype=np.int32)
        found = np.zeros(len(ids), dtype=np.int64)
        for segment, (start, end) in zip(self.segments, self.lookup(ids), strict=True):
            if allowed is None:
                found += end - start
                continue
            for j, (first, last) in enumerate(zip(start.tolist(), end.tolist(), strict=True)):
                if last > first:
                    found[j] += np.count_nonzero(allowed[segment.docs[first:last]])
        result = [0] * len(terms)
        for (i, _), n in zip((k for k in known if k[1] is not None), found.tolist(), strict=True):
            result[i] = n
        return result

    def plan(self, terms: Mapping[str, float], n_docs: int, boost: float) -> TermPlan:
        """The query terms known to this field with their BM25 factor and postings ranges."""
        wanted = [(self.vocab.get(t), w) for t, w in terms.items() if w > 0]
        known = [(i, w) for i, w in wanted if i is not None]
        ids = np.array([i for i, _ in known], dtype=np.int32)
        weights = np.array([w for _, w in known], dtype=np.float64)
        ranges = self.lookup(ids)
        df = np.minimum(
            sum((end - start for start, end in ranges), np.zeros(len(ids), int)), n_docs
        )
        idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        factors = (boost * weights * idf).astype(np.float32)
        return TermPlan(factors, df, ranges)

    def dense_row(self, number: int, start: int, end: int, norm: Scores) -> Scores | None:
        """The BM25 term-frequency parts ``tf * (K1 + 1) / (tf + norm)`` of the postings
        ``start:end`` of segment ``number`` as a row over every docno (zero elsewhere), when
        they are dense enough (see ``_DENSE_SHARE``); kept until the norms change, as the
        segments change only with them. The ``bm25.DenseRow`` of this field's scoring."""
        n = len(norm)
        if (end - start) * _DENSE_SHARE < n or n * _DENSE_ROWS > _DENSE_KEPT:
            return None
        if self._dense_norm is not norm:
            self._dense, self._dense_norm = {}, norm
        row = self._dense.get((number, start))
        if row is None:
            if (len(self._dense) + 1) * n > _DENSE_KEPT:
                self._dense = {}
            seg = self.segments[number]
            row = np.zeros(n, dtype=np.float32)
            add_bm25(row, seg.docs[start:end], seg.tfs[start:end], np.float32(1), norm, unique=True)
            self._dense[(number, start)] = row
        return row


class LexicalIndex:
    """Several ``FieldIndex`` sharing one docno space and one liveness bitmap."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = {name: FieldIndex() for name in fields}
        self._alive = GrowableArray(np.bool_, fill=False)
        self._version = 0
        self._cache: dict[tuple[str, int], Any] = {}

    @property
    def size(self) -> int:
        return self._alive.size

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        return self._alive.view

    @property
    def version(self) -> int:
        """Changes whenever documents are added or removed."""
        return self._version

    @property
    def n_alive(self) -> int:
        return int(self._cached("n_alive", lambda: int(self.alive.sum())))

    def vocab(self, field_name: str) -> Vocabulary:
        return self.fields[field_name].vocab

    def add(self, fields: Mapping[str, Encoded], *, merge: bool = True) -> range:
        """Index a batch of documents given per field; returns their docnos.

        ``merge=False`` leaves the new segments unmerged (loading a whole index: call
        ``merge_all`` once at the end instead of merging as it grows)."""
        n_docs = {e.n_docs for e in fields.values()}
        if len(n_docs) != 1 or set(fields) != set(self.fields):
            raise ValueError("every field needs the same documents")
        first, count = self.size, n_docs.pop()
        everyone_live = self.n_alive == self.size
        self._alive.extend(np.ones(count, dtype=np.bool_))
        live = None if everyone_live else self.alive
        for name, field_index in self.fields.items():
            field_index.add(first, fields[name])
            if merge:
                field_index.compact(live)
        self._changed()
        return range(first, first + count)

    def merge_all(self) -> None:
        """Merge each field's segments into one."""
        live = None if self.n_alive == self.size else self.alive
        for field_index in self.fields.values():
            field_index.compact(live, everything=True)
        self._changed()

    def remove(self, docnos: Sequence[int] | range) -> None:
        if len(docnos):
            self._alive.view[np.asarray(docnos, dtype=np.int64)] = False
            self._changed()

    def df(
        self,
        field_name: str,
        terms: Sequence[str],
        allowed: npt.NDArray[np.bool_] | None = None,
    ) -> list[int]:
        return self.fields[field_name].df(terms, allowed)

    def score(
        self,
        field_terms: Mapping[str, float],
        fields: Mapping[str, float],
        allowed: npt.NDArray[np.bool_] | None = None,
    ) -> Scores:
        """Sum over ``fields`` of boost × BM25 for the weighted terms, zero outside ``allowed``
        (``None``: every document).

        Long questions over a large index touch a large share of all postings through their
        most common terms, which contribute little (their idf is low). Per field, the rarest
        terms are scored over every document until their postings reach ``POSTINGS_BUDGET``
        times the number of documents (at least ``EXACT_POSTINGS``); the remaining common
        terms are then added only for the ``CANDIDATES`` best documents so far (the idea of
        Lucene's common-terms query), which bounds the cost of a question by the size of the
        index rather than by its length. Short questions and small indexes are scored exactly.
        """
        scores = np.zeros(self.size, dtype=np.float32)
        n_docs = max(self.n_alive, 1)
        budget = max(int(POSTINGS_BUDGET * n_docs), EXACT_POSTINGS)
        later: list[tuple[FieldIndex, TermPlan, Scores]] = []
        for name, boost in fields.items():
            field, norm = self.fields[name], self._field_norm(name)
            rare, common = field.plan(field_terms, n_docs, boost).split(budget)
            add_scores(field.segments, rare, norm, scores, dense_row=field.dense_row)
            if not common.empty:
                later.append((field, common, norm))
        if allowed is not None:
            scores[~allowed] = 0.0
        if later:
            candidates = _best(scores, CANDIDATES)
            for field, plan, norm in later:
                add_scores_for(field.segments, plan, norm, scores, candidates)
        return scores

    def _field_norm(self, name: str) -> Scores:
        norm: Scores = self._cached(f"norm:{name}", lambda: self._norm(name))
        return norm

    def _norm(self, name: str) -> npt.NDArray[np.float32]:
        lengths = self.fields[name].lengths.view
        live_lengths = lengths[self.alive[: len(lengths)]]
        avgdl = max(float(live_lengths.mean()) if len(live_lengths) else 1.0, 1.0)
        return np.asarray(K1 * (1.0 - B + B * lengths / avgdl), dtype=np.float32)

    def _cached(self, key: str, compute: Any) -> Any:
        found = self._cache.get((key, self._version))
        if found is None:
            found = self._cache[(key, self._version)] = compute()
        return found

    def _changed(self) -> None:
        self._version += 1
        self._cache.clear()


def _best(scores: Scores, n: int) -> npt.NDArray[np.intp]:
    """Sorted docnos of the ``n`` highest positive scores."""
    positive = np.flatnonzero(scores > 0)
    if len(positive) > n:
        positive = np.sort(positive[np.argpartition(scores[positive], len(positive) - n)[-n:]])
    return positive


def top_k(total: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.intp]:
    """Docnos of the ``k`` best positive scores, best first, ties in docno order."""
    candidates = np.flatnonzero(total > 0)
    if k <= 0 or not len(candidates):
        return candidates[:0]
    if len(candidates) > k:
        kth = np.partition(total[candidates], len(candidates) - k)[len(candidates) - k]
        candidates = candidates[total[candidates] >= kth]
    return candidates[np.lexsort((candidates, -total[candidates]))][:k]


def top_k_distinct(
    total: npt.NDArray[np.float32], groups: npt.NDArray[np.integer[Any]], k: int
) -> npt.NDArray[np.intp]:
    """Like ``top_k``, but only the best of each group (``groups[docno]``): the best chunk of
    each of the ``k`` best documents. One document with many matching chunks (a long article
    looked up directly) would otherwise fill the whole list."""
    wanted = 4 * k
    while True:
        top = top_k(total, wanted)
        _, first = np.unique(groups[top], return_index=True)
        kept = top[np.sort(first)]
        if len(kept) >= k or len(top) < wanted:
            return kept[:k]
        wanted *= 4
