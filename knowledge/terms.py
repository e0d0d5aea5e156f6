"""Index-time terms of a chunk, shared by every ``IndexStore`` so all stores see the same tokens.

Each chunk is indexed in three fields (see ``knowledge.index``): ``words`` (Sudachi terms
of the chunk text), ``title`` (terms of the document title and the chunk heading) and ``grams``
(character bigrams of the text). Statute chunks also carry an article key derived from their
position, which article lookups match on.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.analysis import Analyzer, char_bigrams
from knowledge.documents import Chunk, Document
from knowledge.numerals import normalize_article_ref

# Bump when the analysis changes (dictionary, parts of speech, bigrams): stores that keep copies
# of the terms (Weaviate) then see every document as changed and rewrite it.
TERMS_VERSION = "2"  # 2: era years also read as Western years


@dataclass(frozen=True)
class ChunkTerms:
    """The tokens of one chunk, space-joined, ready for an inverted index."""

    chunk: Chunk
    words: str
    title_words: str
    grams: str
    article: str | None


def article_key(position: str) -> str | None:
    """The canonical article key of a chunk position (「第二百四十二条の二」 → ``"242-2"``).

    Supplementary provisions (附則) restart their numbering, so they never get a key: a
    question about 第三条 must not land on 附則第三条.
    """
    if not position or "附則" in position:
        return None
    return normalize_article_ref(position)


def chunk_terms(document: Document, analyzer: Analyzer) -> list[ChunkTerms]:
    """Terms of every chunk of ``document``, in chunk order."""
    title = document.meta.title
    # Chunks of one document mostly share a heading: analyze each title line once.
    title_words: dict[str, str] = {}
    for heading in dict.fromkeys(c.heading for c in document.chunks):
        title_words[heading] = " ".join(analyzer.words(f"{title} {heading}"))
    return [
        ChunkTerms(
            chunk=chunk,
            words=" ".join(analyzer.words(chunk.text)),
            title_words=title_words[chunk.heading],
            grams=" ".join(char_bigrams(chunk.text)),
            article=article_key(chunk.position),
        )
        for chunk in document.chunks
    ]
