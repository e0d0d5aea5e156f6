"""Large batches are analyzed partly in a helper process, with the same terms as in-process."""

from __future__ import annotations

import sys
from collections import Counter

import pytest

from knowledge import term_workers
from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Document, DocumentMeta, Section
from knowledge.term_workers import TermAnalysis
from knowledge.terms import BatchTerms, chunk_terms

ANALYZER = Analyzer()
TEXTS = [
    "普通地方公共団体の長は、当該普通地方公共団体を統轄し、これを代表する。",
    "市町村長は、想定される災害の状況等を勘案し、指定避難所を指定しなければならない。",
    "火災を発見した者は、遅滞なくこれを消防署に通報しなければならない。",
    "副市長は、市長の命を受け政策及び企画をつかさどる。",
]


def documents(n: int) -> list[Document]:
    made = []
    for i in range(n):
        meta = DocumentMeta(doc_id=f"d{i}", title=f"第{i}号規則", dataset="テスト")
        sections = [Section(text=TEXTS[(i + j) % 4], heading=f"第{j}条") for j in range(3)]
        made.append(Document(meta, chunk_sections(meta.doc_id, sections)))
    return made


Counts = dict[str, dict[str, int]]


def expected(batch: list[Document]) -> list[Counts]:
    """Per chunk and field, each term's count, analyzed in-process one chunk at a time."""
    return [
        {
            "words": dict(Counter(t.words)),
            "title": dict(Counter(t.title_words)),
            "grams": dict(Counter(t.grams)),
            "refs": dict(Counter(t.refs)),
        }
        for d in batch
        for t in chunk_terms(d, ANALYZER)
    ]


def decoded(parts: list[BatchTerms]) -> list[Counts]:
    """The same, read back from the batch-numbered parts."""
    rows = []
    for part in parts:
        for i in range(len(part.articles)):
            row = {}
            for field, local in part.fields.items():
                e = local.encoded
                lo, hi = e.offsets[i], e.offsets[i + 1]
                pairs = zip(e.ids[lo:hi], e.tfs[lo:hi], strict=True)
                row[field] = {local.terms[t]: int(n) for t, n in pairs}
            rows.append(row)
    return rows


def test_a_large_batch_gets_the_same_terms_as_in_process() -> None:
    batch = documents(term_workers.MIN_SHARED_CHUNKS)  # three chunks each
    analysis = TermAnalysis(ANALYZER)
    try:
        for _ in range(2):  # the helper is started once and reused
            parts = analysis.analyze(batch)
            assert len(parts) == 2  # the helper's part and ours
            assert decoded(parts) == expected(batch)
    finally:
        analysis.close()


def test_a_batch_started_ahead_gets_the_same_terms() -> None:
    # A bulk load starts the next batch in the helper, then writes the current one.
    first = documents(term_workers.MIN_SHARED_CHUNKS)
    second = documents(term_workers.MIN_SHARED_CHUNKS + 30)[30:]
    analysis = TermAnalysis(ANALYZER)
    try:
        pending = analysis.start(first, ahead=True)
        analysis.note_writing(0.5, 256)
        assert decoded(analysis.finish(pending)) == expected(first)
        # Another caller analyzing meanwhile takes the helper first: the started batch is
        # still analyzed whole (its helper part in-process), and the helper stays in step.
        pending = analysis.start(first, ahead=True)
        assert decoded(analysis.analyze(second)) == expected(second)
        assert decoded(analysis.finish(pending)) == expected(first)
        assert decoded(analysis.analyze(second)) == expected(second)
    finally:
        analysis.close()


def test_analysis_falls_back_in_process_when_the_helper_cannot_start(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    batch = documents(term_workers.MIN_SHARED_CHUNKS)
    analysis = TermAnalysis(ANALYZER)
    try:
        got = analysis.analyze(batch)
    finally:
        analysis.close()
    assert decoded(got) == expected(batch)
    assert "analyzing in-process" in caplog.text
