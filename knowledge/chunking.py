"""Structure-aware chunking: each parsed section becomes one or more passages.

Sections longer than ``MAX_CHUNK_CHARS`` are cut on sentence boundaries, and each piece starts
with the last sentence of the previous one so that an answer spanning the cut is still found.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from knowledge.analysis import split_sentences
from knowledge.documents import Chunk, Section, stable_chunk_id

MAX_CHUNK_CHARS = 1000
OVERLAP_SENTENCES = 1


def split_long(text: str, limit: int | None = None) -> list[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters on sentence boundaries."""
    limit = limit or MAX_CHUNK_CHARS
    if len(text) <= limit:
        return [text]
    sentences: list[str] = []
    for sentence in split_sentences(text):
        # A single sentence longer than the limit is cut hard; statutes do have them.
        sentences.extend(sentence[i : i + limit] for i in range(0, len(sentence), limit))
    pieces: list[str] = []
    current: list[str] = []
    for sentence in sentences:
        if current and sum(len(s) for s in current) + len(sentence) > limit:
            pieces.append("\n".join(current))
            overlap = current[-OVERLAP_SENTENCES:] if OVERLAP_SENTENCES else []
            fits = sum(len(s) for s in overlap) + len(sentence) <= limit
            current = [*overlap] if fits else []
        current.append(sentence)
    if current:
        pieces.append("\n".join(current))
    return pieces


def chunk_sections(doc_id: str, sections: Sequence[Section]) -> tuple[Chunk, ...]:
    """Chunks for a document's sections, with ids that stay the same on re-ingest."""
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for section in sections:
        if not section.text.strip():
            continue
        key = section.position or section.heading
        occurrence = seen[key]
        seen[key] += 1
        for piece_no, piece in enumerate(split_long(section.text.strip())):
            chunks.append(
                Chunk(
                    chunk_id=stable_chunk_id(doc_id, f"{key}#{occurrence}", piece_no),
                    doc_id=doc_id,
                    ordinal=len(chunks),
                    text=piece,
                    heading=section.heading,
                    position=section.position,
                )
            )
    return tuple(chunks)
