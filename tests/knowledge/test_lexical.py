"""The in-memory BM25 index agrees with a plain BM25 however its segments were built."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from knowledge import lexical
from knowledge.lexical import K1, B, LexicalIndex

VOCABULARY = [f"t{i}" for i in range(60)]


def random_documents(n: int, seed: int) -> list[list[str]]:
    rng = random.Random(seed)
    # Skewed term use, so some posting lists are long and some short.
    weights = [1 / (i + 1) for i in range(len(VOCABULARY))]
    return [rng.choices(VOCABULARY, weights, k=rng.randint(0, 30)) for _ in range(n)]


def plain_bm25(documents: list[list[str]], terms: dict[str, float]) -> list[float]:
    n = len(documents)
    avgdl = max(sum(map(len, documents)) / n, 1.0)
    df = Counter(t for d in documents for t in set(d))
    scores = []
    for document in documents:
        tf = Counter(document)
        score = 0.0
        for term, weight in terms.items():
            if tf[term]:
                idf = math.log1p((n - df[term] + 0.5) / (df[term] + 0.5))
                norm = K1 * (1 - B + B * len(document) / avgdl)
                score += weight * idf * tf[term] * (K1 + 1) / (tf[term] + norm)
        scores.append(score)
    return scores


def build(documents: list[list[str]], batch: int) -> LexicalIndex:
    index = LexicalIndex(("words",))
    for start in range(0, len(documents), batch):
        part = documents[start : start + batch]
        index.add({"words": index.vocab("words").encode(part)})
    return index


def test_scores_match_plain_bm25_for_any_batching() -> None:
    documents = random_documents(700, seed=1)
    query = {"t20": 1.0, "t33": 2.0, "t47": 1.0, "t59": 0.5, "unknown": 1.0}
    expected = plain_bm25(documents, query)
    for batch in (1, 7, 64, 700):
        index = build(documents, batch)
        assert len(index.fields["words"].segments) <= 8
        scores = index.score(query, {"words": 1.0}, np.ones(index.size, dtype=bool))
        assert np.allclose(scores, expected, rtol=1e-5, atol=1e-6)


def test_long_questions_over_large_indexes_keep_the_best_documents_and_scores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What a million chunks would do, on a small index: few postings scored exhaustively.
    monkeypatch.setattr(lexical, "EXACT_POSTINGS", 0)
    monkeypatch.setattr(lexical, "CANDIDATES", 100)
    documents = random_documents(3000, seed=3)
    rng = random.Random(4)
    for document in documents[::50]:  # a few documents carry the question's rare words
        document += rng.choices(["r1", "r2", "r3"], k=3)
    query = {t: 1.0 for t in [*VOCABULARY[:30], "r1", "r2", "r3"]}
    expected = np.array(plain_bm25(documents, query), dtype=np.float32)
    index = build(documents, 100)
    scores = index.score(query, {"words": 1.0})
    best = np.argsort(-expected, kind="stable")[:10]
    assert list(np.argsort(-scores, kind="stable")[:10]) == list(best)
    assert np.allclose(scores[best], expected[best], rtol=1e-5)


def test_terms_in_most_documents_score_as_plain_bm25_before_and_after_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # t0 and t1 are in most of these documents: their scores come from kept dense rows,
    # which must follow every change of the document lengths.
    documents = random_documents(4000, seed=5)
    query = {"t0": 1.0, "t1": 0.5, "t30": 1.0}
    index = build(documents, 4000)
    for _ in range(2):  # the second time from the kept rows
        scores = index.score(query, {"words": 1.0})
        assert np.allclose(scores, plain_bm25(documents, query), rtol=1e-5, atol=1e-6)
    more = random_documents(500, seed=6)
    index.add({"words": index.vocab("words").encode(more)})
    scores = index.score(query, {"words": 1.0})
    assert np.allclose(scores, plain_bm25(documents + more, query), rtol=1e-5, atol=1e-6)
    index.remove(range(0, 4500, 2))
    kept_rows = index.score(query, {"words": 1.0}, index.alive)
    assert not kept_rows[::2].any()
    monkeypatch.setattr(lexical, "_DENSE_SHARE", 10**9)  # every posting list gets a dense row
    assert np.allclose(kept_rows, index.score(query, {"words": 1.0}, index.alive), rtol=1e-5)


def test_removed_documents_never_score_and_merging_drops_them() -> None:
    documents = random_documents(300, seed=2)
    index = build(documents, 10)
    removed = set(range(0, 300, 3))
    index.remove(sorted(removed))
    added = documents[:200]
    for start in range(0, 200, 5):  # more batches: segments merge and shed dead postings
        index.add({"words": index.vocab("words").encode(added[start : start + 5])})
    scores = index.score({"t0": 1.0, "t1": 1.0}, {"words": 1.0}, index.alive)
    assert not scores[sorted(removed)].any()
    # Every live document keeps exactly its postings, each term's documents in order.
    vocab = index.vocab("words")
    live: Counter[tuple[str, int]] = Counter()
    segments = index.fields["words"].segments
    for seg in segments:
        assert (np.diff(seg.terms) > 0).all()
        for i, term in enumerate(seg.terms):
            docs = seg.docs[seg.indptr[i] : seg.indptr[i + 1]]
            assert (np.diff(docs) > 0).all()
            tfs = seg.tfs[seg.indptr[i] : seg.indptr[i + 1]]
            for doc, tf in zip(docs, tfs, strict=True):
                if index.alive[doc]:
                    live[(vocab.terms[term], int(doc))] += int(tf)
    everything = [*documents, *added]
    expected = Counter((t, n) for n, d in enumerate(everything) if n not in removed for t in d)
    assert live == expected
    assert sum(s.n_postings for s in segments) < sum(len(set(d)) for d in everything)
