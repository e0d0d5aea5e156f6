"""BM25 of one field's segmented postings, added into a dense array of scores over every docno.

``LexicalIndex`` (``knowledge.lexical``) keeps the segments, document lengths and liveness and
decides which query terms are scored over every document and which only for a few candidates;
this module does the arithmetic: ``TermPlan`` holds the query terms resolved to their BM25 factor
(boost × weight × idf) and postings ranges, ``add_scores`` adds a plan's scores for every
document (or for marked ones), ``add_scores_for`` for a few given documents, both through
``add_bm25``, the term-frequency part of the formula. ``norm`` is always the field's
``K1 * (1 - B + B * length / avgdl)`` per docno.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from knowledge.postings import IntArray, Segment

# k1 = 0.9 (Anserini's default for passages): short passages saturate term frequency early.
K1 = 0.9
B = 0.75
# Posting lists at least this long are scored in place rather than gathered into a batch.
_LONG_POSTINGS = 2048
# Scanning this many postings costs about as much as looking one document up in a term's
# postings by binary search.
_SCAN_PER_SEARCH = 8

Scores = npt.NDArray[np.float32]
DenseRow = Callable[[int, int, int, Scores], Scores | None]
"""``(segment number, start, end, norm)`` → the BM25 term-frequency parts of those postings as
a row over every docno, or ``None`` when they are to be scattered (``FieldIndex.dense_row``)."""


@dataclass(frozen=True)
class TermPlan:
    """Query terms of one field resolved to BM25 factors and per-segment postings ranges."""

    factors: npt.NDArray[np.float32]
    df: IntArray
    ranges: list[tuple[IntArray, IntArray]]

    def split(self, budget: int) -> tuple[TermPlan, TermPlan]:
        """Rarest terms whose postings fit in ``budget`` (at least one), and the others."""
        order = np.argsort(self.df, kind="stable")
        rare = np.zeros(len(self.df), dtype=bool)
        rare[order[np.cumsum(self.df[order]) <= budget]] = True
        rare[order[:1]] = True
        return self._subset(rare), self._subset(~rare)

    def _subset(self, keep: npt.NDArray[np.bool_]) -> TermPlan:
        return TermPlan(
            self.factors[keep],
            self.df[keep],
            [(start[keep], end[keep]) for start, end in self.ranges],
        )

    @property
    def empty(self) -> bool:
        return not len(self.factors)


def add_scores(
    segments: Sequence[Segment],
    plan: TermPlan,
    norm: Scores,
    scores: Scores,
    candidates: npt.NDArray[np.bool_] | None = None,
    dense_row: DenseRow | None = None,
) -> None:
    """Add the plan's BM25 into ``scores`` for every document that has its terms, or
    only for those marked in ``candidates``.

    Long posting lists are read in place (from ``dense_row`` where it has them); short ones are
    gathered into one batch, so the Python overhead per term does not dominate. Each
    document's contributions are added in the order of the plan's terms.
    """
    for number, (seg, (start, end)) in enumerate(zip(segments, plan.ranges, strict=True)):
        lengths = end - start
        batched = (lengths > 0) & (lengths < _LONG_POSTINGS)
        if candidates is None:
            for factor, p, q in zip(
                plan.factors[~batched], start[~batched], end[~batched], strict=True
            ):
                if p >= q:
                    continue
                row = dense_row(number, int(p), int(q), norm) if dense_row else None
                if row is not None:
                    scores[: len(row)] += factor * row
                else:
                    add_bm25(scores, seg.docs[p:q], seg.tfs[p:q], factor, norm, unique=True)
        else:
            batched = lengths > 0
        if not batched.any():
            continue
        lengths = lengths[batched]
        first = start[batched] - np.cumsum(lengths) + lengths
        index = np.repeat(first, lengths) + np.arange(int(lengths.sum()))
        factors = np.repeat(plan.factors[batched], lengths)
        docs = seg.docs[index]
        if candidates is not None:
            wanted = candidates[docs]
            index, factors, docs = index[wanted], factors[wanted], docs[wanted]
        add_bm25(scores, docs, seg.tfs[index], factors, norm)


def add_scores_for(
    segments: Sequence[Segment], plan: TermPlan, norm: Scores, scores: Scores, docnos: IntArray
) -> None:
    """Add the plan's BM25 into ``scores`` for the (sorted) ``docnos`` only.

    Per segment, whichever is cheaper: scan the terms' postings against a bitmap of the
    documents, or binary-search each document in each term's postings.
    """
    marked = np.zeros(len(norm), dtype=np.bool_)
    marked[docnos] = True
    for number, (seg, (start, end)) in enumerate(zip(segments, plan.ranges, strict=True)):
        first, last = seg.docno_range
        # In the postings' own dtype: searchsorted would otherwise convert (copy) the
        # whole posting list on every call.
        inside = docnos[(docnos >= first) & (docnos <= last)].astype(seg.docs.dtype)
        terms = np.flatnonzero(end > start)
        if not len(inside) or not len(terms):
            continue
        if int((end - start).sum()) < _SCAN_PER_SEARCH * len(terms) * len(inside):
            ranges = [(np.zeros_like(start), np.zeros_like(end))] * len(segments)
            ranges[number] = (start, end)
            add_scores(segments, TermPlan(plan.factors, plan.df, ranges), norm, scores, marked)
            continue
        for factor, p, q in zip(plan.factors[terms], start[terms], end[terms], strict=True):
            postings = seg.docs[p:q]
            at = np.minimum(np.searchsorted(postings, inside), q - p - 1)
            found = postings[at] == inside
            add_bm25(scores, inside[found], seg.tfs[p + at[found]], factor, norm, unique=True)


def add_bm25(
    scores: Scores,
    docs: npt.NDArray[np.int32] | IntArray,
    tfs: npt.NDArray[np.uint16],
    factors: npt.NDArray[np.float32] | np.float32,
    norm: Scores,
    *,
    unique: bool = False,
) -> None:
    """``scores[docs] += factors * tf * (K1 + 1) / (tf + norm[docs])``, in that order of
    operations, with fewer temporaries. ``unique``: no document repeats in ``docs`` (one
    term's postings), so a plain indexed add does what the slower ``np.add.at`` does."""
    tf = tfs.astype(np.float32)
    added = tf * factors
    added *= np.float32(K1 + 1.0)
    denominator = norm[docs]
    denominator += tf
    added /= denominator
    if unique:
        scores[docs] += added
    else:
        np.add.at(scores, docs, added)
