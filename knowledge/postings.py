"""Postings: compact term ids per document, and immutable segments of an inverted index.

``Vocabulary`` numbers the terms of a field; ``Encoded`` holds several documents' distinct term
ids and counts (what the embedded store persists per chunk); a ``Segment`` is the term-sorted
postings of a range of documents in CSR form, with ``int32`` docnos and ``uint16`` term
frequencies (6 bytes a posting). Adjacent segments merge in one linear pass without sorting.
"""

from __future__ import annotations

import ctypes
import functools
import itertools
import logging
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

# A term counted more often in one chunk saturates here (BM25 has long saturated by then).
MAX_TF = np.iinfo(np.uint16).max
# Postings moved per step of a merge; bounds the temporary memory of merging huge segments.
_MERGE_BLOCK = 4_000_000

IntArray = npt.NDArray[np.int64]
_M_MMAP_THRESHOLD = -3  # mallopt parameter, from glibc's <malloc.h>
_log = logging.getLogger(__name__)


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
class Encoded:
    """Several documents' terms of one field: per document its distinct term ids and counts.

    ``ids[offsets[i]:offsets[i+1]]`` are the distinct term ids of document ``i``, ``tfs`` their
    counts (saturated at ``MAX_TF``).
    """

    ids: npt.NDArray[np.int32]
    tfs: npt.NDArray[np.uint16]
    offsets: IntArray

    @property
    def n_docs(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> npt.NDArray[np.float32]:
        """Document lengths in tokens (the BM25 ``dl``)."""
        summed = np.concatenate(([0], np.cumsum(self.tfs, dtype=np.int64)))
        return (summed[self.offsets[1:]] - summed[self.offsets[:-1]]).astype(np.float32)

    @classmethod
    def from_blobs(cls, ids: Sequence[bytes], tfs: Sequence[bytes]) -> Encoded:
        """Decode the per-document blobs written by ``to_blobs``."""
        counts = np.array(list(map(len, tfs)), dtype=np.int64) // 2
        return cls(
            ids=np.frombuffer(b"".join(ids), dtype="<i4").astype(np.int32, copy=False),
            tfs=np.frombuffer(b"".join(tfs), dtype="<u2").astype(np.uint16, copy=False),
            offsets=np.concatenate(([0], np.cumsum(counts))),
        )

    @classmethod
    def concat(cls, parts: Sequence[Encoded]) -> Encoded:
        """The documents of ``parts`` one after the other."""
        if len(parts) == 1:
            return parts[0]
        starts = np.cumsum([0, *(len(p.ids) for p in parts[:-1])])
        return cls(
            ids=np.concatenate([p.ids for p in parts]),
            tfs=np.concatenate([p.tfs for p in parts]),
            offsets=np.concatenate(
                [[0], *(p.offsets[1:] + start for p, start in zip(parts, starts, strict=True))]
            ),
        )

    def to_blobs(self) -> list[tuple[bytes, bytes]]:
        """Per document ``(ids, tfs)`` as little-endian bytes, for storage."""
        ids = self.ids.astype("<i4", copy=False).tobytes()
        tfs = self.tfs.astype("<u2", copy=False).tobytes()
        bounds = self.offsets.tolist()
        return [(ids[4 * a : 4 * b], tfs[2 * a : 2 * b]) for a, b in itertools.pairwise(bounds)]


class Vocabulary:
    """Term ↔ id of one field; ids are dense from 0 in order of first use."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.terms: list[str] = []

    def __len__(self) -> int:
        return len(self.terms)

    def get(self, term: str) -> int | None:
        return self.ids.get(term)

    def extend(self, terms: Iterable[str]) -> None:
        """Append terms that are known to be new (replaying the persisted numbering)."""
        for term in terms:
            self.ids[term] = len(self.terms)
            self.terms.append(term)

    def truncate(self, size: int) -> None:
        """Forget the terms numbered ``size`` and above (a write that was rolled back)."""
        for term in self.terms[size:]:
            del self.ids[term]
        del self.terms[size:]

    def encode(self, token_lists: Sequence[Sequence[str]]) -> Encoded:
        """Term ids and counts of each token list; unseen terms get new ids."""
        return self.adopt(LocalTerms.encode(token_lists))

    def adopt(self, local: LocalTerms) -> Encoded:
        """``local`` in this vocabulary's ids; its unseen terms get new ids, in the order
        the batch first used them (so the numbering is the same as encoding it here)."""
        ids = self.ids
        self.extend(t for t in local.terms if t not in ids)
        mapping = np.fromiter(map(ids.__getitem__, local.terms), np.int32, len(local.terms))
        encoded = local.encoded
        return Encoded(mapping[encoded.ids], encoded.tfs, encoded.offsets)


@dataclass(frozen=True)
class LocalTerms:
    """A batch's token lists encoded against the batch's own vocabulary: ``terms[i]`` is term
    id ``i`` of ``encoded``. The costly per-token work runs wherever the batch is analyzed;
    the index then only renumbers the batch's distinct terms (``Vocabulary.adopt``)."""

    terms: list[str]
    encoded: Encoded

    @classmethod
    def encode(cls, token_lists: Sequence[Sequence[str]]) -> LocalTerms:
        flat = [t for tokens in token_lists for t in tokens]
        ids: dict[str, int] = {t: i for i, t in enumerate(dict.fromkeys(flat))}
        n_docs, n_terms = len(token_lists), max(len(ids), 1)
        term_ids = np.fromiter(map(ids.__getitem__, flat), dtype=np.int64, count=len(flat))
        owners = np.repeat(
            np.arange(n_docs, dtype=np.int64),
            np.fromiter(map(len, token_lists), dtype=np.int64, count=n_docs),
        )
        keys, counts = np.unique(owners * n_terms + term_ids, return_counts=True)
        per_doc = np.bincount(keys // n_terms, minlength=n_docs)
        encoded = Encoded(
            ids=(keys % n_terms).astype(np.int32),
            tfs=np.minimum(counts, MAX_TF).astype(np.uint16),
            offsets=np.concatenate(([0], np.cumsum(per_doc))),
        )
        return cls(list(ids), encoded)


@dataclass(frozen=True)
class Segment:
    """Immutable postings: for ``terms[i]``, docs ``docs[indptr[i]:indptr[i+1]]`` (ascending)."""

    terms: npt.NDArray[np.int32]
    indptr: IntArray
    docs: npt.NDArray[np.int32]
    tfs: npt.NDArray[np.uint16]

    @property
    def n_postings(self) -> int:
        return len(self.docs)

    @functools.cached_property
    def docno_range(self) -> tuple[int, int]:
        """Smallest and largest docno with postings here (``(0, -1)`` when empty)."""
        if not len(self.docs):
            return 0, -1
        return int(self.docs[self.indptr[:-1]].min()), int(self.docs[self.indptr[1:] - 1].max())

    @classmethod
    def build(cls, first_docno: int, encoded: Encoded) -> Segment:
        """Postings of consecutive documents numbered from ``first_docno``."""
        owners = np.repeat(
            np.arange(first_docno, first_docno + encoded.n_docs, dtype=np.int32),
            np.diff(encoded.offsets),
        )
        order = _stable_order(encoded.ids)  # keeps docnos ascending per term
        counts = np.bincount(encoded.ids) if len(encoded.ids) else np.zeros(0, np.int64)
        terms = np.flatnonzero(counts)
        indptr = np.concatenate(([0], np.cumsum(counts[terms])))
        return cls(terms.astype(np.int32), indptr, owners[order], encoded.tfs[order])

    def lookup(self, term_ids: npt.NDArray[np.int32]) -> tuple[IntArray, IntArray]:
        """Start and end of each term's postings (equal when the segment lacks the term)."""
        if not len(self.terms):
            empty = np.zeros(len(term_ids), dtype=np.int64)
            return empty, empty
        pos = np.minimum(np.searchsorted(self.terms, term_ids), len(self.terms) - 1)
        found = self.terms[pos] == term_ids
        return np.where(found, self.indptr[pos], 0), np.where(found, self.indptr[pos + 1], 0)

    @classmethod
    def merge(cls, segments: Sequence[Segment], alive: npt.NDArray[np.bool_] | None) -> Segment:
        """One segment with the live postings of adjacent ``segments`` (ascending docnos).

        A linear pass without sorting: a term's postings are those of each segment in turn,
        so every posting's place follows from the per-term counts. Segments are moved block
        by block of terms, which bounds the temporary memory.
        """
        terms = np.unique(np.concatenate([s.terms for s in segments]))
        kept = [_kept_per_term(s, alive) for s in segments]
        where = [np.searchsorted(terms, s.terms) for s in segments]
        counts = np.zeros(len(terms), dtype=np.int64)
        for seg, at, k in zip(segments, where, kept, strict=True):
            counts[at] += np.diff(seg.indptr) if k is None else k
        indptr = np.concatenate(([0], np.cumsum(counts)))
        cursor = indptr[:-1].copy()
        docs = np.empty(int(indptr[-1]), dtype=np.int32)
        tfs = np.empty(int(indptr[-1]), dtype=np.uint16)
        for seg, at, k in zip(segments, where, kept, strict=True):
            bounds = np.searchsorted(seg.indptr, np.arange(0, seg.n_postings, _MERGE_BLOCK))
            for lo, hi in itertools.pairwise([*np.unique(bounds).tolist(), len(seg.terms)]):
                p, q = seg.indptr[lo], seg.indptr[hi]
                part_docs, part_tfs = seg.docs[p:q], seg.tfs[p:q]
                if k is not None and alive is not None:
                    live = alive[part_docs]
                    part_docs, part_tfs = part_docs[live], part_tfs[live]
                lengths = k[lo:hi] if k is not None else np.diff(seg.indptr[lo : hi + 1])
                first = cursor[at[lo:hi]] - np.cumsum(lengths) + lengths
                dest = np.repeat(first, lengths) + np.arange(len(part_docs))
                docs[dest] = part_docs
                tfs[dest] = part_tfs
                cursor[at[lo:hi]] += lengths
        nonempty = counts > 0
        return cls(terms[nonempty], np.append(indptr[:-1][nonempty], indptr[-1]), docs, tfs)


def _kept_per_term(seg: Segment, alive: npt.NDArray[np.bool_] | None) -> IntArray | None:
    """Live postings per term, ``None`` when every posting is live."""
    if alive is None or not len(seg.terms) or alive[seg.docs].all():
        return None
    return np.add.reduceat(alive[seg.docs], seg.indptr[:-1], dtype=np.int64)


def _stable_order(ids: npt.NDArray[np.int32]) -> IntArray:
    """``np.argsort(ids, kind="stable")`` for non-negative ids, as 16-bit radix passes."""
    order = np.argsort((ids & 0xFFFF).astype(np.uint16), kind="stable")
    high = (ids[order] >> 16).astype(np.uint16)
    return order[np.argsort(high, kind="stable")] if high.any() else order


@functools.cache
def release_freed_arrays() -> None:
    """Make glibc return large freed blocks to the system instead of keeping them in the heap.

    glibc raises its mmap threshold each time a large block is freed, after which arrays of
    up to 32 MiB come from the heap; the index frees many of those (segments replaced by a
    merge), and the fragmented heap then kept the resident size near double the live data
    and made every query's fresh score arrays slow to allocate. A fixed 1 MiB threshold
    keeps large arrays in their own mappings. Other C libraries are left alone.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, 1 << 20)
    except (OSError, AttributeError):
        _log.debug("mallopt is unavailable; keeping the allocator's defaults")
