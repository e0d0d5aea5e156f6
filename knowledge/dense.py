"""Dense vectors of chunks, in memory next to the lexical index, and their share of the fusion.

Vectors come from an OpenAI-compatible embeddings endpoint (``knowledge.embeddings``) and are
L2-normalized, so a dot product is the cosine similarity. Rows are aligned with the lexical
index's docnos; a chunk without a vector (embedded before embeddings were configured, or by
another model) scores nothing until it is embedded.

Fusion follows Weaviate's relative-score fusion: the ``DENSE_CANDIDATES`` most similar visible
chunks are scaled to [0, 1] between the worst and the best of them and weighted; every other
chunk gets nothing from the dense side. Cosine similarities of unrelated texts are far from
zero, so scaling by the best score alone (as the lexical signals are) would lift everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from knowledge.documents import Chunk, Document, DocumentMeta

if TYPE_CHECKING:
    from knowledge.embeddings import Embedder

DENSE_CANDIDATES = 100
# Texts per embedder call when indexing.
EMBED_BATCH = 256
# Merge the per-batch blocks into one when there are more than this many.
_MAX_BLOCKS = 16

Vector = npt.NDArray[np.float32]


def embedding_input(meta: DocumentMeta, chunk: Chunk) -> str:
    """The text embedded for a chunk: its title line, then its text."""
    head = " ".join(f"{meta.title} {chunk.heading}".split())
    return f"{head}\n{chunk.text}" if head else chunk.text


async def embed_chunks(embedder: Embedder, documents: Sequence[Document]) -> dict[str, Vector]:
    """The vector of every chunk of ``documents`` by chunk id; ``UpstreamUnavailable`` when
    the embedder fails (nothing is returned then)."""
    chunks = [(d.meta, c) for d in documents for c in d.chunks]
    vectors: dict[str, Vector] = {}
    # One call per slice: each gets the embedder's whole deadline.
    for start in range(0, len(chunks), EMBED_BATCH):
        part = chunks[start : start + EMBED_BATCH]
        embedded = await embedder.embed([embedding_input(m, c) for m, c in part])
        vectors.update((c.chunk_id, v) for (_, c), v in zip(part, embedded, strict=True))
    return vectors


def relative_shares(similarities: npt.NDArray[np.float32], weight: float) -> Vector:
    """The dense shares of the candidates' similarities: scaled to [0, 1] between the worst
    and the best of them (all 1 when they are equal), times ``weight``."""
    low, high = float(similarities.min()), float(similarities.max())
    spread = high - low
    scaled = (similarities - low) / spread if spread > 0 else np.ones_like(similarities)
    return np.float32(weight) * scaled


def vector_to_blob(vector: Vector) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def blob_to_vector(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


class DenseIndex:
    """Vectors by docno, stored as a few dense blocks (one per loaded batch, merged)."""

    def __init__(self) -> None:
        self._blocks: list[tuple[int, Vector, npt.NDArray[np.bool_]]] = []
        self.dimension = 0

    @property
    def empty(self) -> bool:
        return not self._blocks

    def add(self, first_docno: int, blobs: Sequence[bytes | None]) -> None:
        """Vectors of consecutive docnos from ``first_docno``; ``None`` where a chunk has none.
        Vectors of another dimension than the first ones seen are ignored."""
        vectors = [blob_to_vector(b) if b else None for b in blobs]
        if not self.dimension:
            self.dimension = next((len(v) for v in vectors if v is not None), 0)
        if not self.dimension:
            return
        present = np.array([v is not None and len(v) == self.dimension for v in vectors])
        if not present.any():
            return
        matrix = np.zeros((len(vectors), self.dimension), dtype=np.float32)
        for row, vector in enumerate(vectors):
            if present[row]:
                matrix[row] = vector
        self._blocks.append((first_docno, matrix, present))
        if len(self._blocks) > _MAX_BLOCKS:
            self._merge()

    def _merge(self) -> None:
        first = self._blocks[0][0]
        end = max(start + len(m) for start, m, _ in self._blocks)
        matrix = np.zeros((end - first, self.dimension), dtype=np.float32)
        present = np.zeros(end - first, dtype=np.bool_)
        for start, block, has in self._blocks:
            matrix[start - first : start - first + len(block)][has] = block[has]
            present[start - first : start - first + len(block)] |= has
        self._blocks = [(first, matrix, present)]

    def similarities(
        self, query: Vector, size: int, allowed: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float32]:
        """Cosine similarity per docno (``-inf`` where there is no vector or not allowed)."""
        scores = np.full(size, -np.inf, dtype=np.float32)
        if len(query) != self.dimension:
            return scores
        for start, matrix, present in self._blocks:
            block = matrix @ query
            block[~present] = -np.inf
            scores[start : start + len(block)] = block
        scores[~allowed[:size]] = -np.inf
        return scores

    def fused(
        self, query: Vector, size: int, allowed: npt.NDArray[np.bool_], weight: float
    ) -> npt.NDArray[np.float32]:
        """The dense share of the fused score per docno (see the module docstring)."""
        similarities = self.similarities(query, size, allowed)
        candidates = np.flatnonzero(np.isfinite(similarities))
        shares = np.zeros(size, dtype=np.float32)
        if not len(candidates):
            return shares
        if len(candidates) > DENSE_CANDIDATES:
            best = np.argpartition(similarities[candidates], -DENSE_CANDIDATES)
            candidates = candidates[best[-DENSE_CANDIDATES:]]
        shares[candidates] = relative_shares(similarities[candidates], weight)
        return shares
