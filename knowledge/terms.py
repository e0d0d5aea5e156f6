"""Index-time terms of a chunk, shared by every ``IndexStore`` so all stores see the same tokens.

Each chunk is indexed in four fields (see ``knowledge.index``): ``words`` (Sudachi terms
of the chunk text), ``title`` (terms of the document title and the chunk heading), ``grams``
(character bigrams of the text) and ``refs`` (citation keys of the articles the chunk cites,
``knowledge.citations``). The title line also counts as part of the passage in ``words`` and
``grams`` (the simplest form of BM25F): a passage about 「ラオス」 rarely repeats the word, and a
statute article rarely names its own law, yet questions name both. Statute chunks also carry
an article key derived from their position, which article lookups match on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from knowledge.analysis import Analyzer, char_bigrams, normalize
from knowledge.citations import chunk_citation_keys, delegation_keys
from knowledge.definitions import definition_keys
from knowledge.documents import Chunk, Document
from knowledge.numerals import normalize_article_ref
from knowledge.postings import LocalTerms

# Bump when the analysis changes (dictionary, parts of speech, bigrams): stores that keep copies
# of the terms (Weaviate) then see every document as changed and rewrite it.
# 2: era years also read as Western years; 3: title line in words and grams, citation keys;
# 4: citation keys of paragraphs (項), delegation keys; 5: law titles joined by kana;
# 6: definition keys; 7: a deputy's title is one term (副市町村長, not 副 and 市町村長);
# 8: the old spelling of っ (「知つた」) read as っ; 9: era initials (「R6年度」) read as years.
TERMS_VERSION = "9"
# The title line counts this many times in ``words`` (its BM25F field weight).
TITLE_WEIGHT = 2


@dataclass(frozen=True)
class ChunkTerms:
    """The tokens of one chunk per field, in order, ready for an inverted index."""

    chunk: Chunk
    words: list[str]
    title_words: list[str]
    grams: list[str]
    refs: list[str]
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
    title, law_title = document.meta.title, document.meta.law_title
    articles = [(c, article_key(c.position)) for c in document.chunks]
    # Chunks of one document mostly share a heading: analyze each title line once.
    title_words: dict[str, list[str]] = {}
    title_grams: dict[str, list[str]] = {}
    for heading in dict.fromkeys(c.heading for c in document.chunks):
        title_words[heading] = analyzer.words(f"{title} {heading}")
        title_grams[heading] = char_bigrams(f"{title} {heading}")
    terms = []
    normalized_title = normalize(title)
    for chunk, article in articles:
        text = normalize(chunk.text)  # once for all three fields
        words = analyzer.words(text, normalized=True)
        terms.append(
            ChunkTerms(
                chunk=chunk,
                words=words + title_words[chunk.heading] * TITLE_WEIGHT,
                title_words=title_words[chunk.heading],
                grams=char_bigrams(text, normalized=True) + title_grams[chunk.heading],
                refs=chunk_citation_keys(text, law_title, article)
                + delegation_keys(text, law_title)
                + definition_keys(text, normalized_title, first=chunk.ordinal == 0),
                article=article,
            )
        )
    return terms


@dataclass(frozen=True)
class BatchTerms:
    """The terms of the chunks of some documents, in order, for the embedded index: per field
    (``knowledge.index.FIELDS``) encoded against the batch's own vocabulary, so that the
    per-token work is done where the batch is analyzed (possibly a helper process)."""

    articles: list[str | None]
    fields: dict[str, LocalTerms]


def batch_terms(documents: Sequence[Document], analyzer: Analyzer) -> BatchTerms:
    """``chunk_terms`` of every chunk of ``documents``, encoded per field."""
    analyzed = [t for d in documents for t in chunk_terms(d, analyzer)]
    columns = {
        "words": [t.words for t in analyzed],
        "title": [t.title_words for t in analyzed],
        "grams": [t.grams for t in analyzed],
        "refs": [t.refs for t in analyzed],
    }
    return BatchTerms(
        articles=[t.article for t in analyzed],
        fields={f: LocalTerms.encode(token_lists) for f, token_lists in columns.items()},
    )
