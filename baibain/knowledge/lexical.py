"""An in-memory, segmented inverted index with BM25 scoring (numpy).

Documents are numbered densely (``docno``) in insertion order. Each batch of added documents
becomes an immutable segment (term-sorted postings in CSR form); small segments are merged
into larger ones, which also drops postings of removed documents, so lookups stay logarithmic
in the number of segments and removal is a bit flip. Scores are computed densely over all
docnos with vectorized numpy, which keeps a query over a million chunks in tens of
milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

K1 = 1.2
B = 0.75
_MAX_SEGMENTS = 12


class GrowableArray:
    """A numpy array with amortized O(1) append."""

    def __init__(self, dtype: npt.DTypeLike, fill: object = 0) -> None:
        self._data = np.full(1024, fill, dtype=dtype)
        self._fill = fill
        self.size = 0

    def extend(self, values: npt.ArrayLike) -> None:
        values = np.asarray(values, dtype=self._data.dtype)
        needed = self.size + len(values)
        if needed > len(self._data):
            capacity = max(needed, 2 * len(self._data))
            grown = np.full(capacity, self._fill, dtype=self._data.dtype)
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    @property
    def view(self) -> npt.NDArray[Any]:
        return self._data[: self.size]


@dataclass(frozen=True)
class Segment:
    """Immutable postings: for ``terms[i]``, docs ``docs[indptr[i]:indptr[i+1]]``."""

    terms: npt.NDArray[np.int64]
    indptr: npt.NDArray[np.int64]
    docs: npt.NDArray[np.int64]
    tfs: npt.NDArray[np.float32]

    @property
    def n_postings(self) -> int:
        return len(self.docs)

    @classmethod
    def build(
        cls, term_ids: npt.NDArray[np.int64], docnos: npt.NDArray[np.int64], counts: npt.NDArray
    ) -> Segment:
        """Build from (term, doc, count) triplets in any order; duplicate pairs are summed."""
        if len(term_ids) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return cls(empty, np.zeros(1, dtype=np.int64), empty, np.zeros(0, dtype=np.float32))
        span = int(docnos.max()) + 1
        keys = term_ids.astype(np.int64) * span + docnos.astype(np.int64)
        order = np.argsort(keys, kind="stable")
        keys = keys[order]
        weights = np.asarray(counts, dtype=np.float32)[order]
        unique_keys, starts = np.unique(keys, return_index=True)
        tfs = np.add.reduceat(weights, starts).astype(np.float32)
        terms_per_posting = unique_keys // span
        docs = unique_keys % span
        terms, term_starts = np.unique(terms_per_posting, return_index=True)
        indptr = np.append(term_starts, len(docs)).astype(np.int64)
        return cls(terms.astype(np.int64), indptr, docs.astype(np.int64), tfs)

    def postings(
        self, term_id: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]] | None:
        i = int(np.searchsorted(self.terms, term_id))
        if i == len(self.terms) or self.terms[i] != term_id:
            return None
        start, end = self.indptr[i], self.indptr[i + 1]
        return self.docs[start:end], self.tfs[start:end]

    @classmethod
    def merge(cls, segments: Sequence[Segment], alive: npt.NDArray[np.bool_]) -> Segment:
        """One segment holding the live postings of ``segments``."""
        terms = np.concatenate([np.repeat(s.terms, np.diff(s.indptr)) for s in segments])
        docs = np.concatenate([s.docs for s in segments])
        tfs = np.concatenate([s.tfs for s in segments])
        keep = alive[docs]
        return cls.build(terms[keep], docs[keep], tfs[keep])


class FieldIndex:
    """Postings and document lengths of one field."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.segments: list[Segment] = []
        self.lengths = GrowableArray(np.float32)

    def add(self, first_docno: int, token_lists: Sequence[Sequence[str]]) -> None:
        vocab = self.vocab
        ids: list[int] = []
        owners: list[int] = []
        for offset, tokens in enumerate(token_lists):
            ids.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
            owners.extend([first_docno + offset] * len(tokens))
        self.lengths.extend([len(t) for t in token_lists])
        if ids:
            term_ids = np.asarray(ids, dtype=np.int64)
            docnos = np.asarray(owners, dtype=np.int64)
            self.segments.append(Segment.build(term_ids, docnos, np.ones(len(ids), np.float32)))

    def compact(self, alive: npt.NDArray[np.bool_]) -> None:
        """Merge trailing small segments (logarithmic merging); all of them past a cap."""
        segs = self.segments
        while len(segs) > 1 and (
            len(segs) > _MAX_SEGMENTS or segs[-1].n_postings * 4 >= segs[-2].n_postings
        ):
            merged = Segment.merge(segs[-2:], alive)
            segs[-2:] = [merged]

    def df(self, term: str) -> int:
        term_id = self.vocab.get(term)
        if term_id is None:
            return 0
        total = 0
        for seg in self.segments:
            found = seg.postings(term_id)
            if found is not None:
                total += len(found[0])
        return total

    def bm25(
        self,
        terms: Mapping[str, float],
        n_docs: int,
        alive: npt.NDArray[np.bool_],
        scores: npt.NDArray[np.float32],
        boost: float,
    ) -> None:
        """Add ``boost`` × BM25 of the weighted terms into ``scores`` (in place)."""
        lengths = self.lengths.view
        live_lengths = lengths[alive[: len(lengths)]]
        avgdl = float(live_lengths.mean()) if len(live_lengths) else 1.0
        avgdl = max(avgdl, 1.0)
        for term, weight in terms.items():
            term_id = self.vocab.get(term)
            if term_id is None or weight <= 0:
                continue
            found = [p for p in (s.postings(term_id) for s in self.segments) if p is not None]
            df = min(sum(len(d) for d, _ in found), n_docs)
            if df == 0:
                continue
            idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
            factor = np.float32(boost * weight * idf)
            for docs, tfs in found:
                norm = K1 * (1.0 - B + B * lengths[docs] / avgdl)
                scores[docs] += factor * tfs * (K1 + 1.0) / (tfs + norm)


class LexicalIndex:
    """Several ``FieldIndex`` sharing one docno space and one liveness bitmap."""

    def __init__(self, fields: Sequence[str]) -> None:
        self.fields = {name: FieldIndex() for name in fields}
        self._alive = GrowableArray(np.bool_, fill=False)

    @property
    def size(self) -> int:
        return self._alive.size

    @property
    def alive(self) -> npt.NDArray[np.bool_]:
        return self._alive.view

    @property
    def n_alive(self) -> int:
        return int(self._alive.view.sum())

    def add(self, docs: Sequence[Mapping[str, Sequence[str]]]) -> range:
        """Index a batch of documents given as {field: tokens}; returns their docnos."""
        first = self.size
        self._alive.extend(np.ones(len(docs), dtype=np.bool_))
        for name, field_index in self.fields.items():
            field_index.add(first, [d.get(name, ()) for d in docs])
            field_index.compact(self.alive)
        return range(first, first + len(docs))

    def remove(self, docnos: Sequence[int]) -> None:
        if len(docnos):
            self._alive.view[np.asarray(docnos, dtype=np.int64)] = False

    def df(self, field_name: str, term: str) -> int:
        return self.fields[field_name].df(term)

    def score(
        self, field_terms: Mapping[str, float], fields: Mapping[str, float], allowed: npt.NDArray
    ) -> npt.NDArray[np.float32]:
        """Sum over ``fields`` of boost × BM25 for the weighted terms, zero outside ``allowed``."""
        scores = np.zeros(self.size, dtype=np.float32)
        n_docs = max(self.n_alive, 1)
        for name, boost in fields.items():
            self.fields[name].bm25(field_terms, n_docs, self.alive, scores, boost)
        scores[~allowed] = 0.0
        return scores
