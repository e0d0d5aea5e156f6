"""Re-ranking the best hits of a short question by what one of their sentences holds."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from knowledge.analysis import best_sentence_weight, normalize, sentence_topics
from knowledge.documents import TABLE_CELL, Hit
from knowledge.index import IndexStore, TermStats
from knowledge.query import TREND, AnalyzedQuery, Coverage, bm25_idf, one_line

# Proximity: the best hits are re-ranked by the share of the question that one of their
# sentences covers (see ``rerank_by_sentence``), added with this weight.
# Only questions up to PROXIMITY_MAX_CHARS are re-ranked: a long question (several sentences,
# a list of choices) is not written from one sentence.
RERANKED = 10
SENTENCE_WEIGHT = 0.4
# A question asking for an amount (「何日以内」, 「何人まで」, 「何割」) is answered by a passage
# stating one in the same unit (「十四日以内」, 「二人」, 「百分の三十」 is not one: 「三割」 is):
# the re-rank adds this much to such a passage, and looks at more hits for it.
AMOUNT_WEIGHT = 0.3
# A question on a trend (「人口の推移を教えてください」) is answered by a table of its years, row
# by row: a passage that is one rises by this much (the statutes repeating 人口 do not say how
# it went). Three rows whose first cell is a year or a month make one.
TREND_WEIGHT = 0.3
TREND_ROWS = 3
_PERIOD = re.compile(
    r"(?:令和|平成|昭和|大正|明治)\s*(?:元|[0-9０-９]+)\s*年|[0-9０-９]{4}\s*年?|[0-9０-９]+\s*月"
)
AMOUNT_RERANKED = 20
# A passage one of whose sentences has the question's subject as its topic (「出生の届出は、」 for
# 「出生届はいつまでに出しますか」) states the rule about it: the re-rank adds up to this much, by
# the share of the question's words (the thesaurus's at their weight) in the topic.
TOPIC_WEIGHT = 0.1
PROXIMITY_MAX_CHARS = 200
# A passage holding every word the user typed (itself or as a statutory phrase the thesaurus
# added for it) answers more of the question than one repeating a few of them: the re-rank
# adds this much times its coverage (``Coverage``), for questions of one line (the words of
# choices under a question are candidates, mostly wrong ones).
COVERAGE_WEIGHT = 0.3
# The asking organization's own data (its ordinances, statistics, budget) answers a question it
# matches before national statutes sharing the same words do (「人口を教えてください」 is about
# the city's own figures, not 地方自治法施行令's census dates): such a passage rises by this much
# times the share of the question it holds, so that one sharing a word or two stays below.
OWN_WEIGHT = 0.3


def rerank_depth(query: AnalyzedQuery) -> int:
    """How many of the best hits the re-rank looks at: more when the question asks for an
    amount, whose passage a lexical ranking often puts lower."""
    return AMOUNT_RERANKED if query.amount is not None else RERANKED


async def rerank_by_sentence(
    store: IndexStore,
    query: AnalyzedQuery,
    hits: list[Hit],
    word_stats: TermStats,
    coverage: Coverage,
    viewer_org: str | None = None,
) -> list[Hit]:
    """Raise the best hits by how much of the question one of their sentences covers.

    A question is usually written from one sentence, and a passage that matches it in one
    place beats one whose matching words are scattered (term proximity). Coverage is the
    idf-weighted share of the question's bigrams in the best sentence plus the title line.
    A passage also rises by how much of the question a sentence topic holds
    (``TOPIC_WEIGHT``), one stating the amount asked for by ``AMOUNT_WEIGHT``, a table of
    years for a question on a trend by ``TREND_WEIGHT``, and one
    holding more of the words the user typed by ``COVERAGE_WEIGHT`` (one-line questions),
    and one of ``viewer_org``'s own documents by ``OWN_WEIGHT`` times its share of the question.
    The bigrams weigh by their statistics over all chunks, as BM25's do: they only order hits.
    """
    if len(hits) < 2 or not query.grams or len(query.text) > PROXIMITY_MAX_CHARS:
        return hits
    depth = rerank_depth(query)
    head, tail = hits[:depth], hits[depth:]
    bigrams = [g for g in query.grams if len(g) == 2]
    stats = await store.term_stats("grams", bigrams)
    weights = {g: bm25_idf(stats.n_docs, stats.df.get(g, 0)) for g in bigrams}
    total = sum(weights.values())
    if total <= 0:
        return hits
    word_weights = {
        t: w * bm25_idf(word_stats.n_docs, word_stats.df.get(t, 0)) for t, w in query.words.items()
    }
    typed_total = sum(w for t, w in word_weights.items() if t in query.typed)
    single = one_line(query.text)
    rescored = []
    for hit in head:
        title_line = normalize(f"{hit.meta.title} {hit.chunk.heading}")
        title = [g for g in weights if g in title_line]
        best = best_sentence_weight(hit.chunk.text, weights, title)
        score = hit.score + SENTENCE_WEIGHT * best / total
        if typed_total > 0:
            topic = _topic_weight(hit.chunk.text, word_weights)
            score += TOPIC_WEIGHT * min(topic / typed_total, 1.0)
        if query.amount is not None and query.amount.search(hit.chunk.text):
            score += AMOUNT_WEIGHT
        if query.trend and time_series(hit.chunk.text):
            score += TREND_WEIGHT
        share = coverage.share(held_words(query, hit))
        if single:
            score += COVERAGE_WEIGHT * share
        if viewer_org is not None and hit.meta.owner_org == viewer_org:
            score += OWN_WEIGHT * share
        rescored.append(replace(hit, score=score))
    rescored.sort(key=lambda h: -h.score)
    return rescored + tail


def _topic_weight(text: str, weights: Mapping[str, float]) -> float:
    """The largest summed weight of the question's words that one sentence topic of ``text``
    contains (as text: topics are short noun phrases, and Sudachi would cost more than the
    re-rank is worth)."""
    best = 0.0
    for topic in sentence_topics(text):
        normalized = normalize(topic)
        best = max(best, sum(w for t, w in weights.items() if t in normalized))
    return best


def held_words(query: AnalyzedQuery, hit: Hit) -> frozenset[str]:
    """The words ``hit`` holds of ``query`` as its coverage counts them: for a question on a
    trend, a table of years holds the words asking for one (推移, 増減), which no table says."""
    if not query.trend or not time_series(hit.chunk.text):
        return hit.words
    return hit.words | {t for t in query.typed if TREND.search(t)}


def time_series(text: str) -> bool:
    """Whether ``text`` is a table whose rows run over years or months (``TREND_ROWS`` rows
    whose first cell is one: 「令和2年 | 372000」, 「2024年度 | …」)."""
    rows = (line.split(TABLE_CELL, 1)[0] for line in text.split("\n") if TABLE_CELL in line)
    return sum(1 for first in rows if _PERIOD.match(first.strip())) >= TREND_ROWS
