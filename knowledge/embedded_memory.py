"""The in-memory side of the embedded store: what a search reads, rebuilt from SQLite.

``MemoryIndex`` holds the BM25 postings (``LexicalIndex``), the chunk vectors
(``DenseIndex``), each document's filter columns (``DocTable``) and, per chunk (by docno), its
document, SQLite rowid and article. It ranks an ``IndexQuery`` and knows nothing of SQLite:
``EmbeddedIndexStore`` feeds it the committed rows and holds the lock around every call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from knowledge.dense import DenseIndex
from knowledge.embedded_docs import DocRow, DocTable
from knowledge.index import FIELDS, Boost, Dense, IndexQuery, SearchFilter, Signal, TermStats
from knowledge.lexical import LexicalIndex, Scores, top_k_distinct
from knowledge.postings import Encoded, GrowableArray, Vocabulary

# rowid, doc_id, article key, (term ids, counts) blobs per field in ``FIELDS`` order, and the
# chunk's vector by the configured model (or ``NULL``).
TermRow = tuple[int, str, str, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes, bytes | None]
# Scaled signal scores kept (a question has up to four signals, searched twice).
_SCALED_KEPT = 8


class MemoryIndex:
    """Chunks by docno, their postings and vectors, and their documents' filter columns.

    Not thread-safe: the caller serializes access. ``model`` is the embeddings model whose
    vectors the rows carry; a dense signal of another model is ignored.
    """

    def __init__(self, model: str) -> None:
        self._model = model
        self._lexical = LexicalIndex(FIELDS)
        self._dense = DenseIndex()
        self._docs = DocTable()
        self._chunk_doc = GrowableArray(np.int32)
        self._chunk_rowid = GrowableArray(np.int64)
        self._chunk_article = GrowableArray(np.int32, fill=-1)
        self._article_codes: dict[str, int] = {}
        self._allowed_cache: tuple[object, npt.NDArray[np.bool_] | None] | None = None
        self._law_cache: tuple[int, dict[str, npt.NDArray[np.intp]]] = (-1, {})
        self._scaled_cache: dict[object, Scores] = {}

    @property
    def size(self) -> int:
        """Docnos handed out (deleted chunks included until compaction)."""
        return self._lexical.size

    def vocab(self, field_name: str) -> Vocabulary:
        return self._lexical.vocab(field_name)

    # -- loading -------------------------------------------------------------------------

    def add_documents(self, rows: Sequence[DocRow]) -> None:
        """Documents (their metadata rows) whose chunks follow."""
        self._docs.add(rows)

    def add_chunks(self, rows: Sequence[TermRow], *, merge: bool = True) -> None:
        """Index chunk rows of documents already added; ``merge=False`` leaves merging the
        postings to ``merge_all`` (a bulk load)."""
        columns = list(zip(*rows, strict=True))
        encoded = {
            field: Encoded.from_blobs(columns[3 + 2 * i], columns[4 + 2 * i])
            for i, field in enumerate(FIELDS)
        }
        docnos = self._lexical.add(encoded, merge=merge)
        self._dense.add(docnos.start, columns[3 + 2 * len(FIELDS)])
        self._chunk_article.extend([self._article_code(a) for a in columns[2]])
        keys = [self._docs.keys[d] for d in columns[1]]
        self._docs.add_chunks(keys, docnos)
        self._chunk_doc.extend(keys)
        self._chunk_rowid.extend(columns[0])

    def merge_all(self) -> None:
        self._lexical.merge_all()

    def remove_document(self, doc_id: str) -> None:
        """Forget a document and its chunks (nothing when it is unknown)."""
        self._lexical.remove(self._docs.remove(doc_id))

    def _article_code(self, key: str) -> int:
        if not key:
            return -1
        return self._article_codes.setdefault(key, len(self._article_codes))

    # -- reading -------------------------------------------------------------------------

    def rank(self, query: IndexQuery) -> list[tuple[int, float]]:
        """The SQLite rowids of the best chunk of each of the ``query.k`` best documents,
        with their fused scores, best first."""
        if self._lexical.size == 0:
            return []
        allowed = self._allowed(query.filter)
        total = self._fused(query, allowed)
        for boost in query.boosts:
            self._apply_boost(boost, total, allowed)
        top = top_k_distinct(total, self._chunk_doc.view, query.k)
        return [(int(self._chunk_rowid.view[t]), float(total[t])) for t in top]

    def words(self, blob: bytes) -> frozenset[str]:
        """The indexed words of a chunk, from its stored term ids."""
        terms = self._lexical.vocab("words").terms
        return frozenset(map(terms.__getitem__, np.frombuffer(blob, dtype="<i4").tolist()))

    def term_stats(
        self, field_name: str, terms: Sequence[str], flt: SearchFilter | None
    ) -> TermStats:
        """Document frequencies over the chunks ``flt`` allows (all without one)."""
        allowed = self._allowed(flt) if flt is not None else None
        counts = self._lexical.df(field_name, terms, allowed)
        n_docs = self._lexical.n_alive if allowed is None else int(np.count_nonzero(allowed))
        return TermStats(n_docs=n_docs, df=dict(zip(terms, counts, strict=True)))

    def law_titles(self, viewer_org: str | None) -> dict[str, str]:
        return self._docs.law_titles(viewer_org)

    def _allowed(self, flt: SearchFilter) -> npt.NDArray[np.bool_] | None:
        """Chunks the filter allows, ``None`` for all of them; kept while the index is
        unchanged (a question searches more than once with the same filter)."""
        key = (flt, self._lexical.version)
        if self._allowed_cache is None or self._allowed_cache[0] != key:
            mask = self._docs.allowed(flt)[self._chunk_doc.view] & self._lexical.alive
            self._allowed_cache = (key, None if mask.all() else mask)
        return self._allowed_cache[1]

    def _law_chunks(self, law_id: str) -> npt.NDArray[np.intp]:
        """Docnos of the chunks of one law (kept while the index is unchanged)."""
        if self._law_cache[0] != self._lexical.version:
            self._law_cache = (self._lexical.version, {})
        found = self._law_cache[1].get(law_id)
        if found is None:
            code = self._docs.code("law_id", law_id)
            found = np.flatnonzero(self._docs.column("law_id")[self._chunk_doc.view] == code)
            self._law_cache[1][law_id] = found
        return found

    def _fused(self, query: IndexQuery, allowed: npt.NDArray[np.bool_] | None) -> Scores:
        """The signals' relative-score fusion (a new array)."""
        total = np.zeros(self._lexical.size, dtype=np.float32)
        for signal in query.signals:
            total += self._scaled(signal, query.filter, allowed)
        dense = query.dense
        if dense is not None and dense.model == self._model and not self._dense.empty:
            total += self._scaled(dense, query.filter, allowed)
        return total

    def _scaled(
        self, signal: Signal | Dense, flt: SearchFilter, allowed: npt.NDArray[np.bool_] | None
    ) -> Scores:
        """One signal's scores scaled to at most its weight (the dense side as
        ``knowledge.dense`` scales it); the last few are kept, because a question is searched
        again with the same signals, one more signal or other boosts."""
        key = (_cache_key(signal), flt, self._lexical.version)
        scores = self._scaled_cache.get(key)
        if scores is None:
            scores = self._score(signal, allowed)
            if len(self._scaled_cache) >= _SCALED_KEPT:
                self._scaled_cache.pop(next(iter(self._scaled_cache)))
            self._scaled_cache[key] = scores
        return scores

    def _score(self, signal: Signal | Dense, allowed: npt.NDArray[np.bool_] | None) -> Scores:
        if isinstance(signal, Dense):
            visible = self._lexical.alive if allowed is None else allowed
            vector = np.asarray(signal.vector, dtype=np.float32)
            return self._dense.fused(vector, self._lexical.size, visible, signal.weight)
        scores = self._lexical.score(signal.terms, signal.fields, allowed)
        best = float(scores.max()) if len(scores) else 0.0
        if best > 0:
            scores *= np.float32(signal.weight / best)
        return scores

    def _apply_boost(
        self, boost: Boost, total: npt.NDArray[np.float32], allowed: npt.NDArray[np.bool_] | None
    ) -> None:
        target = self._law_chunks(boost.law_id)
        if boost.articles:
            codes = [self._article_codes.get(a, -2) for a in boost.articles]
            target = target[np.isin(self._chunk_article.view[target], codes)]
        else:
            target = target[total[target] > 0]
        if allowed is not None:
            target = target[allowed[target]]
        total[target] += np.float32(boost.add)


def _cache_key(signal: Signal | Dense) -> object:
    if isinstance(signal, Dense):
        return signal
    return (tuple(signal.terms.items()), tuple(signal.fields.items()), signal.weight)
