"""Chunk sets and queries for ``make bench``, built from the shared evaluation corpora.

The shared data holds about 11,000 documents (10,301 law articles of e-Gov and 1,145 JSQuAD
Wikipedia paragraphs, 15.6 MB of text). To reach a million chunks:

1. each document is cut into sentence groups of at most ``GROUP_CHARS`` characters with the
   product's own splitter (``chunking.split_long``: sentence boundaries, one sentence of overlap),
   which gives about 39,000 distinct chunks of 150 characters on average;
2. documents are put in a fixed pseudo-random order, so every set mixes statutes and
   encyclopedia text;
3. the documents are then repeated with distinct ids (``<id>~<n>``) until the set has the wanted
   number of chunks; the last document may be cut short.

Repeated text has the same term statistics as its original (the vocabulary stops growing after
the first copy and document frequencies grow linearly), which is fine for measuring speed and
memory but is not what a million distinct chunks would look like: a real corpus of that size has
a larger vocabulary and more, shorter posting lists.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from knowledge.chunking import chunk_sections, split_long
from knowledge.corpus import CorpusDefaults, read_corpus
from knowledge.documents import Document, Section
from knowledge.evaluation import read_queries

GROUP_CHARS = 200
CORPORA = ("lawqa_egov", "jsquad")
# Query sets: lawqa questions carry their answer choices (as in ``baibain eval``); JSQuAD is
# sampled with a fixed stride so the set stays a few hundred questions.
QUERY_SETS = (("lawqa_egov", 1), ("municipal_dev", 1), ("jsquad", 18))
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)([km]?)$")


class SharedDataMissing(RuntimeError):
    """The shared corpora are not on this machine."""


def shared_data_dir(repo: Path) -> Path:
    """``BAIBAIN_SHARED_DATA``, else ``<repo>/../shared/data``, else ``/work/shared/data``."""
    candidates = [os.environ.get("BAIBAIN_SHARED_DATA", "")]
    candidates += [str(repo.parent / "shared" / "data"), "/work/shared/data"]
    for candidate in candidates:
        if candidate and all(Path(candidate, c, "corpus.jsonl").is_file() for c in CORPORA):
            return Path(candidate)
    tried = ", ".join(c for c in candidates if c)
    raise SharedDataMissing(
        "The benchmark needs the shared corpora (lawqa_egov/corpus.jsonl and "
        f"jsquad/corpus.jsonl); none of these has them: {tried}. "
        "Set BAIBAIN_SHARED_DATA to the directory that holds them."
    )


def parse_size(text: str) -> int:
    """``10k`` → 10,000; ``1m`` → 1,000,000; plain numbers are chunk counts."""
    found = _SIZE.match(text.strip().lower())
    if not found:
        raise ValueError(f"not a size: {text!r} (use e.g. 10k, 100k, 1m)")
    factor = {"": 1, "k": 1_000, "m": 1_000_000}[found.group(2)]
    return int(float(found.group(1)) * factor)


@dataclass(frozen=True)
class ChunkSet:
    """Base documents, each as sentence-group sections, in the fixed benchmark order."""

    documents: tuple[Document, ...]

    @property
    def n_chunks(self) -> int:
        return sum(len(d.chunks) for d in self.documents)

    def batches(self, n_chunks: int, batch_chunks: int) -> Iterator[list[Document]]:
        """Documents totalling exactly ``n_chunks`` chunks, about ``batch_chunks`` per batch.

        Copies are built lazily so the benchmark process never holds the whole set.
        """
        if not self.documents:
            return
        batch: list[Document] = []
        in_batch, remaining, copy = 0, n_chunks, 0
        while remaining > 0:
            for base in self.documents:
                if remaining <= 0:
                    break
                document = _copy(base, copy) if copy else base
                if len(document.chunks) > remaining:
                    document = replace(document, chunks=document.chunks[:remaining])
                batch.append(document)
                in_batch += len(document.chunks)
                remaining -= len(document.chunks)
                if in_batch >= batch_chunks:
                    yield batch
                    batch, in_batch = [], 0
            copy += 1
        if batch:
            yield batch


def _copy(document: Document, copy: int) -> Document:
    doc_id = f"{document.doc_id}~{copy}"
    sections = [
        Section(text=c.text, heading=c.heading, position=c.position) for c in document.chunks
    ]
    return Document(
        meta=replace(document.meta, doc_id=doc_id),
        chunks=chunk_sections(doc_id, sections),
        content_hash=document.content_hash,
    )


def _grouped(document: Document) -> Document:
    sections = [
        Section(text=piece, heading=chunk.heading, position=chunk.position)
        for chunk in document.chunks
        for piece in split_long(chunk.text, GROUP_CHARS)
    ]
    return replace(document, chunks=chunk_sections(document.doc_id, sections))


def read_documents(data: Path) -> list[Document]:
    """Every document of the shared corpora, one chunk per corpus row (as ``baibain eval``)."""
    documents: list[Document] = []
    for name in CORPORA:
        documents += read_corpus(data / name / "corpus.jsonl", CorpusDefaults(dataset=name))
    return documents


def sentence_group_set(documents: Sequence[Document], seed: int = 0) -> ChunkSet:
    """The benchmark's base set: sentence-group chunks in a fixed pseudo-random order."""
    ordered = [_grouped(d) for d in documents]
    random.Random(seed).shuffle(ordered)
    return ChunkSet(tuple(ordered))


def law_set(documents: Sequence[Document]) -> ChunkSet:
    """The law corpus exactly as ``baibain eval`` indexes it (10,301 articles)."""
    return ChunkSet(tuple(d for d in documents if d.meta.dataset == "lawqa_egov"))


def bench_queries(data: Path, documents: Sequence[Document]) -> list[str]:
    """A fixed set of a few hundred questions (question + choices, as ``baibain eval``)."""
    known = {d.doc_id for d in documents}
    texts: list[str] = []
    for name, stride in QUERY_SETS:
        path = data / name / "queries.jsonl"
        if path.is_file():
            texts += [q.text for q in read_queries(path, known)[::stride]]
    return texts
