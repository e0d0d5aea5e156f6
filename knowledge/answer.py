"""Offline (extractive) answers: the passages' most relevant sentences, each with its citation."""

from __future__ import annotations

from dataclasses import dataclass

from knowledge.analysis import Analyzer, char_bigrams, split_sentences
from knowledge.documents import Hit
from knowledge.retrieval import AnalyzedQuery

MAX_ANSWER_CHARS = 600
MAX_SENTENCES = 4
MAX_PER_SOURCE = 2
# The best sentence of each of this many top sources is shown before any second sentence.
LEADING_SOURCES = 3
MAX_SENTENCE_CHARS = 320
SOURCES_CONSIDERED = 5
_DUPLICATE_OVERLAP = 0.8


@dataclass(frozen=True)
class Quote:
    """One extracted sentence and the hit (by index into the hit list) it came from."""

    text: str
    hit_index: int


def _clip(sentence: str) -> str:
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return sentence
    return sentence[: MAX_SENTENCE_CHARS - 1] + "…"


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def extract_quotes(query: AnalyzedQuery, hits: list[Hit], analyzer: Analyzer) -> list[Quote]:
    """Pick the sentences of the top hits that share most terms with the question.

    The best sentence of each of the first ``LEADING_SOURCES`` passages comes first, so the
    answer shows more than one source; then the best remaining sentences, at most
    ``MAX_PER_SOURCE`` per passage. Sentences are scored by word and bigram overlap with
    the question plus a small prior for better-ranked passages; near-duplicates are skipped;
    the result stays within ``MAX_ANSWER_CHARS`` and keeps reading order (by passage rank,
    then position).
    """
    qwords = set(query.words)
    qgrams = set(query.grams)
    scored: list[tuple[float, int, int, str, set[str]]] = []
    for rank, hit in enumerate(hits[:SOURCES_CONSIDERED]):
        for position, sentence in enumerate(split_sentences(hit.chunk.text)):
            grams = set(char_bigrams(sentence))
            words = set(analyzer.words(sentence))
            score = (
                len(qwords & words) / max(len(qwords), 1)
                + 0.5 * len(qgrams & grams) / max(len(qgrams), 1)
                + 0.3 / (rank + 1)
                + (0.05 if position == 0 else 0.0)
            )
            scored.append((score, rank, position, sentence, grams))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    leaders = [next(s for s in scored if s[1] == r) for r in sorted({s[1] for s in scored})]
    ordered = leaders[:LEADING_SOURCES] + scored
    chosen: list[tuple[int, int, str, set[str]]] = []
    per_source: dict[int, int] = {}
    used = 0
    for _score, rank, position, sentence, grams in ordered:
        if len(chosen) >= MAX_SENTENCES:
            break
        text = _clip(sentence)
        if chosen and used + len(text) > MAX_ANSWER_CHARS:
            continue
        if per_source.get(rank, 0) >= MAX_PER_SOURCE:
            continue
        if any(_jaccard(grams, g) >= _DUPLICATE_OVERLAP for _, _, _, g in chosen):
            continue
        chosen.append((rank, position, text, grams))
        per_source[rank] = per_source.get(rank, 0) + 1
        used += len(text)
    chosen.sort(key=lambda c: (c[0], c[1]))
    return [Quote(text=text, hit_index=rank) for rank, _, text, _ in chosen]


EXTRACTIVE_INTRO = "資料の該当箇所を抜粋しました（AIによる文章生成は行っていません）。"


@dataclass(frozen=True)
class ExtractiveAnswer:
    """Answer text with ``[n]`` markers and the hits cited, ``sources[n-1]`` for marker n."""

    text: str
    sources: tuple[Hit, ...]


def compose_extractive_answer(
    query: AnalyzedQuery, hits: list[Hit], analyzer: Analyzer
) -> ExtractiveAnswer:
    """The offline answer: quoted sentences, each followed by the number of its source."""
    numbers: dict[str, int] = {}
    sources: list[Hit] = []
    lines: list[str] = []
    for quote in extract_quotes(query, hits, analyzer):
        hit = hits[quote.hit_index]
        n = numbers.get(hit.meta.doc_id)
        if n is None:
            n = numbers[hit.meta.doc_id] = len(numbers) + 1
            sources.append(hit)
        lines.append(f"・{quote.text} [{n}]")
    return ExtractiveAnswer(
        text=EXTRACTIVE_INTRO + "\n\n" + "\n".join(lines), sources=tuple(sources)
    )
