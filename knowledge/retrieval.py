"""Retrieval: question analysis, fused lexical search and a relevance decision."""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from knowledge.analysis import (
    Analyzer,
    best_sentence_weight,
    char_bigrams,
    normalize,
    sentence_topics,
)
from knowledge.citations import PARENT_ACT, citation_keys, delegation_key, find_citations
from knowledge.definitions import asked_terms
from knowledge.documents import Hit
from knowledge.embeddings import Embedder
from knowledge.errors import UpstreamUnavailable
from knowledge.index import Boost, Dense, IndexQuery, IndexStore, SearchFilter, Signal, TermStats
from knowledge.lawquery import LawQuery, analyze_law_references, names_of
from knowledge.numerals import normalize_article_ref
from knowledge.terms import article_key
from knowledge.thesaurus import expansions_for

log = logging.getLogger(__name__)

# Share of the question's (idf-weighted) content words that the best passage must contain
# before we call it relevant; below this the bot says it found nothing.
MIN_COVERAGE = 0.4
# Below that, a best passage holding at least this share still shares much of the question:
# the bot says it found no answer but lists the best passages as possibly related.
MIN_RELATED_COVERAGE = 0.25
# The title line is part of ``words`` too; the title field adds a smaller extra weight.
WORD_FIELDS = {"words": 1.0, "title": 0.3}
GRAM_FIELDS = {"grams": 1.0}
GRAM_WEIGHT = 0.6
# Weight of a word added by the thesaurus, relative to a word the user typed.
EXPANSION_WEIGHT = 0.5
# A thesaurus phrase is analyzed followed by a particle, as a noun phrase stands in a sentence:
# alone, Sudachi reads its last 長 as the stem of 長い (「普通地方公共団体の長」 would never match
# the statute's 「普通地方公共団体の長は」).
PHRASE_CONTEXT = "の"
# A question followed by more lines (the choices of a multiple-choice question, items pasted
# under it): the first line says what is asked, the lines under it are candidates, mostly
# wrong ones, so each term of the first line weighs this much more.
FIRST_LINE_WEIGHT = 2.0
# Added to the fused score (each signal scaled to at most its weight): an article cited by
# law and number in the question is looked up directly; a named law and its regulations
# (施行令, 施行規則, …) are preferred.
ARTICLE_BOOST = 1.0
LAW_BOOST = 0.3
# Citation propagation: how many top hits vote, how many cited articles get a boost, the
# smallest summed vote that counts and the boost per unit of vote.
PROPAGATION_DEPTH = 8
PROPAGATED_ARTICLES = 3
MIN_VOTES = 1.0
PROPAGATION_BOOST = 0.3
# Implementing provisions: the regulation lines that carry out a delegation of one of the
# DELEGATION_DEPTH best statute hits (「法第二十四条第一項に規定する政令で定める期間は…」 for
# 金融商品取引法第二十四条) join the second pass as a signal of this weight: what the act
# leaves to 「政令で定める」 is answered there.
DELEGATION_DEPTH = 2
DELEGATION_WEIGHT = 0.5
# Articles that cite an article the question names (the cabinet order's 「法第百六十二条第一項
# …に規定する政令で定める場合」, the act's own 「第十三条の規定に反する特約」): weight of that
# signal, and of citations through the bare abbreviation 「法」, whose parent act the chunk
# alone does not tell.
CITED_BY_WEIGHT = 0.5
PARENT_ACT_WEIGHT = 0.5
# A question asking what a term means (「要配慮個人情報とは」): weight of the passages that
# define it (``knowledge.definitions``).
DEFINITION_WEIGHT = 0.5
# Proximity: the best hits are re-ranked by the share of the question that one of their
# sentences covers (see ``Retriever._rerank_by_sentence``), added with this weight.
# Only questions up to PROXIMITY_MAX_CHARS are re-ranked: a long question (several sentences,
# a list of choices) is not written from one sentence.
RERANKED = 10
SENTENCE_WEIGHT = 0.4
# A question asking for an amount (「何日以内」, 「何人まで」, 「何割」) is answered by a passage
# stating one in the same unit (「十四日以内」, 「二人」, 「百分の三十」 is not one: 「三割」 is):
# the re-rank adds this much to such a passage, and looks at more hits for it.
AMOUNT_WEIGHT = 0.3
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
# Weight of the dense side (the most similar chunks scaled to [0, 1], see ``knowledge.dense``)
# next to the lexical signals (words 1.0, bigrams GRAM_WEIGHT): about an even hybrid. Only
# questions of one line are embedded: the dense side bridges everyday words and statutory ones,
# while a question with lines under it (the choices of a multiple-choice question, pasted
# provisions) brings its own wording, which the lexical side matches precisely, and one vector
# for a question and its candidates blurs them (on lawqa it cost recall@5 0.906 → 0.850).
DENSE_WEIGHT = 1.0


@dataclass(frozen=True)
class AnalyzedQuery:
    """A question turned into weighted terms. ``synonyms``: for a word the user typed, the
    statutory phrases the thesaurus added for it, each as its words (副市長 → 副市町村長;
    何日 → 標準処理期間 as 標準, 処理, 期間). ``typed``: the words the user typed (the rest of
    ``words`` the thesaurus added); ``nouns``: those of them that are nouns. ``amount``: what
    a passage stating the amount the question asks for has (``asked_amount``), or ``None``."""

    text: str
    words: dict[str, float]
    grams: dict[str, float]
    synonyms: Mapping[str, tuple[frozenset[str], ...]] = field(default_factory=dict)
    typed: frozenset[str] = frozenset()
    nouns: frozenset[str] = frozenset()
    amount: re.Pattern[str] | None = None
    # The terms of each common noun of the question's first line (``Analyzer.words``).
    subjects: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Coverage:
    """How much of the words the user typed a passage holds, weighted by idf.

    A typed word counts as held when the passage has it or one of the statutory phrases the
    thesaurus added for it (a passage on 副市町村長 holds 副市長; every word of a phrase must be
    there); an added phrase does not count on its own. A typed word that no chunk has weighs as
    much as the rarest word of its phrases that chunks have (副市長 is in no statute, 副市町村長
    is). A word the thesaurus knows that neither it nor its phrases are in (引っ越し in an index
    without 転入, 転出, 転居) weighs as much as the question's rarest indexed word and is never
    held: the index does not hold the subject, and a passage sharing the question's other words
    is no answer. So does a common noun of the dictionary that no chunk has (「野球」, 「パソコン」
    in a statute corpus): 「プロ野球の試合結果は」 is not answered by a passage on 結果. Other
    unindexed words (a name, a typo) are left out. A passage that holds none
    of the nouns the user typed holds nothing of the question (「パスワードを忘れました」 is not
    about a passage on 怠る, which the thesaurus adds for 忘れる). The words of the name of a
    law the index lacks do not count: a passage mentioning it must hold the rest.
    """

    query: AnalyzedQuery
    weights: Mapping[str, float]
    total: float
    ignored: frozenset[str] = frozenset()

    @classmethod
    def of(
        cls, query: AnalyzedQuery, stats: TermStats, ignored: frozenset[str] = frozenset()
    ) -> Coverage:
        """The typed words' weights, from the document frequencies of ``query.words``;
        ``ignored`` words (the name of a law the index lacks) do not count."""
        idf = {t: _idf(stats.n_docs, stats.df.get(t, 0)) for t in query.words}
        weights: dict[str, float] = {}
        for term in (t for t in query.words if t in query.typed and t not in ignored):
            phrases = query.synonyms.get(term, ())
            weights[term] = idf[term] or min(
                (idf[w] for phrase in phrases for w in phrase if idf.get(w)), default=0.0
            )
        unknown = sum(1 for t, w in weights.items() if not w and query.synonyms.get(t))
        absent = sum(
            1
            for terms in query.subjects
            if not any(idf.get(t) or query.synonyms.get(t) or t in ignored for t in terms)
        )
        rarest = max(weights.values(), default=0.0)
        total = sum(weights.values()) + unknown * rarest
        if absent * 2 >= len(query.subjects):
            total += absent * max(rarest, _idf(stats.n_docs, 1))
        return cls(query, weights, total, ignored)

    def share(self, present: frozenset[str]) -> float:
        """The weighted share of the typed words that a passage with words ``present`` holds;
        0 when the question has nouns and the passage holds none of them."""
        if not self.total:
            return 0.0
        nouns = self.query.nouns - self.ignored
        if nouns and not any(self._holds(term, present) for term in nouns):
            return 0.0
        held = sum(weight for term, weight in self.weights.items() if self._holds(term, present))
        return held / self.total

    def _holds(self, term: str, present: frozenset[str]) -> bool:
        phrases = self.query.synonyms.get(term, ())
        return term in present or any(phrase <= present for phrase in phrases)


@dataclass(frozen=True)
class Retrieved:
    """Hits for a question, and how much of the question the best one holds (``Coverage``).
    ``unindexed_laws``: the laws the question names that the index does not hold (when it
    names none that it holds)."""

    query: AnalyzedQuery
    hits: list[Hit]
    coverage: float = 0.0
    unindexed_laws: tuple[str, ...] = ()

    @property
    def relevant(self) -> bool:
        """The best hit is relevant enough to answer from. A question about a law the index
        lacks (「公選法の…」 without 公職選挙法) is not answered by a passage that does not even
        mention it, however many of the question's other words it shares."""
        if self.unindexed_laws and self.hits and not _mentions(self.hits[0], self.unindexed_laws):
            return False
        return bool(self.hits) and self.coverage >= MIN_COVERAGE

    @property
    def related(self) -> list[Hit]:
        """The hits to show as possibly related when none is an answer: the best ones, when
        they share enough of the question; for a question about a law the index lacks, those
        that mention it."""
        if self.relevant:
            return []
        if self.unindexed_laws:
            return [h for h in self.hits if _mentions(h, self.unindexed_laws)]
        return self.hits if self.coverage >= MIN_RELATED_COVERAGE else []


def cited_articles(hits: list[Hit]) -> list[tuple[tuple[str, str], float]]:
    """Articles of the same law that the top statute hits cite, with score-weighted votes.

    Statutes define a procedure in one article and refer to it from many others (「第二百四十二条
    第一項の規定による請求」); when the best matches all cite one article, that article is
    usually the provision the question is about, even if it shares few words with it.
    """
    if not hits or hits[0].score <= 0:
        return []
    top = hits[0].score
    votes: dict[tuple[str, str], float] = {}
    for hit in hits:
        law_id = hit.meta.law_id
        if not law_id:
            continue
        own = normalize_article_ref(hit.chunk.position) if hit.chunk.position else None
        for citation in find_citations(hit.chunk.text):
            if citation.law in ("", hit.meta.law_title) and citation.article != own:
                key = (law_id, citation.article)
                votes[key] = votes.get(key, 0.0) + hit.score / top
    ranked = sorted(votes.items(), key=lambda kv: -kv[1])
    return [(key, min(v, 1.0)) for key, v in ranked[:PROPAGATED_ARTICLES] if v >= MIN_VOTES]


def delegated_terms(hits: list[Hit]) -> dict[str, float]:
    """Delegation keys of the statute articles among ``hits`` (``knowledge.citations``)."""
    terms: dict[str, float] = {}
    for hit in hits:
        article = article_key(hit.chunk.position) if hit.meta.law_title else None
        if article:
            terms.setdefault(delegation_key(hit.meta.law_title, article), 1.0)
    return terms


def citing_terms(law_query: LawQuery, law_titles: Mapping[str, str]) -> dict[str, float]:
    """Citation keys that articles citing the question's article references carry (of the
    paragraph too, when the question names one)."""
    titles = {law_id: title for title, law_id in law_titles.items()}
    references = [(law, article, None) for law, article in law_query.lookups]
    terms: dict[str, float] = {}
    for law_id, article, paragraph in [*references, *law_query.paragraphs]:
        if title := titles.get(law_id):
            for key in citation_keys(title, article, paragraph):
                terms[key] = 1.0
            for key in citation_keys(PARENT_ACT, article, paragraph):
                terms.setdefault(key, PARENT_ACT_WEIGHT)
    return terms


class Retriever:
    """Turns a question into an ``IndexQuery`` and judges the result.

    With an ``embedder`` (``BAIBAIN_EMBEDDING_*``) the embedding of a one-line question joins
    the lexical signals (``DENSE_WEIGHT``); when the embeddings endpoint fails, the question is
    answered lexically.
    """

    def __init__(
        self, store: IndexStore, analyzer: Analyzer, embedder: Embedder | None = None
    ) -> None:
        self.store = store
        self.analyzer = analyzer
        self.embedder = embedder

    async def _dense(self, text: str) -> Dense | None:
        if self.embedder is None:
            return None
        try:
            vectors = await self.embedder.embed([text])
        except UpstreamUnavailable as exc:
            log.warning("question embedding failed, lexical only: %s", exc.detail)
            return None
        return Dense(tuple(vectors[0].tolist()), self.embedder.model, DENSE_WEIGHT)

    def analyze(self, question: str) -> AnalyzedQuery:
        """Weighted query terms: word and bigram counts of the question (its first line
        weighing more when lines follow), plus the statutory words the thesaurus adds (at
        ``EXPANSION_WEIGHT``)."""
        # Words and bigrams never span lines, so the first line is analyzed once.
        first_line, _, more = question.strip().partition("\n")
        morphemes: list[tuple[str, str, str]] = []
        nouns: set[str] = set()
        subjects: list[tuple[str, ...]] = []
        first_words = self.analyzer.words(
            first_line, drop_stop_words=True, morphemes=morphemes, nouns=nouns, subjects=subjects
        )
        more_words = self.analyzer.words(
            more, drop_stop_words=True, morphemes=morphemes, nouns=nouns
        )
        first_grams = char_bigrams(first_line)
        words = _weights([*first_words, *more_words])
        grams = _weights([*first_grams, *char_bigrams(more)])
        if more.strip():
            for term in set(first_words):
                words[term] += FIRST_LINE_WEIGHT
            for gram in set(first_grams):
                grams[gram] += FIRST_LINE_WEIGHT
        typed = frozenset(words)
        synonyms: dict[str, list[frozenset[str]]] = {}
        for word, phrase in expansions_for(morphemes):
            added = self.analyzer.words(phrase + PHRASE_CONTEXT, drop_stop_words=True)
            for term in added:
                words.setdefault(term, EXPANSION_WEIGHT)
            for term in self.analyzer.words(word, drop_stop_words=True):
                phrase_words = frozenset(added) - {term}
                if phrase_words:
                    synonyms.setdefault(term, []).append(phrase_words)
        return AnalyzedQuery(
            text=question,
            words=words,
            grams=grams,
            synonyms={word: tuple(phrases) for word, phrases in synonyms.items()},
            typed=typed,
            nouns=frozenset(nouns),
            amount=asked_amount(question),
            subjects=tuple(subjects),
        )

    async def retrieve(self, question: str, flt: SearchFilter, k: int = 10) -> Retrieved:
        """Search the index and decide whether the best hit answers the question."""
        law_titles = await self.store.law_titles(flt.viewer_org)
        law_query = analyze_law_references(question, law_titles)
        query = await self._unindexed_to_statutory(self.analyze(law_query.text))
        if not query.words and not query.grams:
            return Retrieved(query=query, hits=[])
        boosts = [Boost(law, ARTICLE_BOOST, (article,)) for law, article in law_query.lookups]
        boosts += [Boost(law, LAW_BOOST) for law in law_query.law_ids]
        boosts += [Boost(law, LAW_BOOST) for law in law_query.regulation_ids]
        signals = [
            Signal(terms=query.words, fields=WORD_FIELDS, weight=1.0),
            Signal(terms=query.grams, fields=GRAM_FIELDS, weight=GRAM_WEIGHT),
        ]
        if citing := citing_terms(law_query, law_titles):
            signals.append(Signal(terms=citing, fields={"refs": 1.0}, weight=CITED_BY_WEIGHT))
        if asked := asked_terms(law_query.text):
            defined = dict.fromkeys(asked, 1.0)
            signals.append(Signal(terms=defined, fields={"refs": 1.0}, weight=DEFINITION_WEIGHT))
        dense = await self._dense(law_query.text) if _one_line(law_query.text) else None
        # Citation votes and the proximity re-rank look at more hits than a small k.
        wanted = max(k, PROPAGATION_DEPTH, _rerank_depth(query))
        hits = await self.store.search(IndexQuery(signals, flt, wanted, tuple(boosts), dense))
        cited = cited_articles(hits[:PROPAGATION_DEPTH])
        delegated = delegated_terms(hits[:DELEGATION_DEPTH])
        if cited or delegated:
            boosts += [Boost(law, PROPAGATION_BOOST * v, (art,)) for (law, art), v in cited]
            if delegated:
                signals = [*signals, Signal(delegated, {"refs": 1.0}, DELEGATION_WEIGHT)]
            hits = await self.store.search(IndexQuery(signals, flt, wanted, tuple(boosts), dense))
        unindexed = () if law_query.law_ids else law_query.unindexed_titles
        if not hits:
            return Retrieved(query=query, hits=[], unindexed_laws=unindexed)
        word_stats = await self.store.term_stats("words", list(query.words))
        law_words = {w for title in unindexed for w in self.analyzer.words(title)}
        coverage = Coverage.of(query, word_stats, frozenset(law_words))
        hits = await self._rerank_by_sentence(query, hits, word_stats, coverage)
        hits = hits[:k]
        return Retrieved(
            query=query,
            hits=hits,
            coverage=coverage.share(hits[0].words),
            unindexed_laws=unindexed,
        )

    async def _unindexed_to_statutory(self, query: AnalyzedQuery) -> AnalyzedQuery:
        """A typed word that no chunk has (引っ越し, 母子手帳 in a statute index) can only be
        found through the statutory words the thesaurus adds for it: they take the typed word's
        full weight instead of ``EXPANSION_WEIGHT``."""
        typed = [t for t in query.synonyms if t in query.typed]
        if not typed:
            return query
        stats = await self.store.term_stats("words", typed)
        words = dict(query.words)
        for term in typed:
            if stats.df.get(term):
                continue
            for phrase in query.synonyms[term]:
                for word in phrase:
                    words[word] = max(words[word], query.words[term])
        return replace(query, words=words)

    async def _rerank_by_sentence(
        self, query: AnalyzedQuery, hits: list[Hit], word_stats: TermStats, coverage: Coverage
    ) -> list[Hit]:
        """Raise the best hits by how much of the question one of their sentences covers.

        A question is usually written from one sentence, and a passage that matches it in one
        place beats one whose matching words are scattered (term proximity). Coverage is the
        idf-weighted share of the question's bigrams in the best sentence plus the title line.
        A passage also rises by how much of the question a sentence topic holds
        (``TOPIC_WEIGHT``), one stating the amount asked for by ``AMOUNT_WEIGHT``, and one
        holding more of the words the user typed by ``COVERAGE_WEIGHT`` (one-line questions).
        """
        if len(hits) < 2 or not query.grams or len(query.text) > PROXIMITY_MAX_CHARS:
            return hits
        depth = _rerank_depth(query)
        head, tail = hits[:depth], hits[depth:]
        bigrams = [g for g in query.grams if len(g) == 2]
        stats = await self.store.term_stats("grams", bigrams)
        weights = {g: _idf(stats.n_docs, stats.df.get(g, 0)) for g in bigrams}
        total = sum(weights.values())
        if total <= 0:
            return hits
        word_weights = {
            t: w * _idf(word_stats.n_docs, word_stats.df.get(t, 0)) for t, w in query.words.items()
        }
        typed_total = sum(w for t, w in word_weights.items() if t in query.typed)
        one_line = _one_line(query.text)
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
            if one_line:
                score += COVERAGE_WEIGHT * coverage.share(hit.words)
            rescored.append(replace(hit, score=score))
        rescored.sort(key=lambda h: -h.score)
        return rescored + tail


_MONTHS = ("か月", "ヶ月", "カ月", "箇月", "月")
_UNITS = (
    *_MONTHS,
    *("週間", "時間", "メートル", "世帯", "日", "年", "人", "名", "割", "枚", "歳", "回", "円"),
    *("件", "倍", "通"),
)
_ASKED_AMOUNT = re.compile(f"何({'|'.join(_UNITS)})")
_NUMERAL = "[〇一二三四五六七八九十百千万0-9０-９]+"
_STARTING_DAY = re.compile("(?:日|月)(?:の翌日)?から|から起算|至つた日|至った日")
_TIME_LIMIT = re.compile(f"{_NUMERAL}(?:日|週間|年|{'|'.join(_MONTHS)})(?:以内|を経過|まで)")


def asked_amount(question: str) -> re.Pattern[str] | None:
    """What a passage stating the amount the question asks for has (「何日以内」 → a numeral
    and 日; 「何か月」 → a numeral and 月, 箇月 or か月; 「何歳」 → 「七十五歳」 or
    「年齢満二十五年」; 「いつまで」 → a time limit, 「十四日以内」 or 「六箇月を経過」;
    「いつから」 → a starting day, 「…に至つた日から」 or 「翌日から起算して」), or ``None``."""
    if asked := _ASKED_AMOUNT.search(question):
        return _amount_in(asked[1])
    if "いつまで" in question:
        return _TIME_LIMIT
    return _STARTING_DAY if "いつから" in question else None


@lru_cache(maxsize=len(_UNITS))
def _amount_in(unit: str) -> re.Pattern[str]:
    units = "|".join(_MONTHS) if unit in _MONTHS else re.escape(unit)
    if unit == "歳":  # statutes also state an age as 「年齢満十八年」
        return re.compile(f"{_NUMERAL}歳|満{_NUMERAL}年")
    return re.compile(f"{_NUMERAL}(?:{units})")


def _mentions(hit: Hit, titles: tuple[str, ...]) -> bool:
    """The passage (or its title) calls one of the laws by its title or an abbreviation."""
    text = unicodedata.normalize("NFKC", f"{hit.meta.title}\n{hit.chunk.text}").lower()
    return any(name in text for title in titles for name in names_of(title))


def _one_line(question: str) -> bool:
    """The question has no lines under it (choices, pasted text)."""
    return "\n" not in question.strip()


def _rerank_depth(query: AnalyzedQuery) -> int:
    """How many of the best hits the re-rank looks at: more when the question asks for an
    amount, whose passage a lexical ranking often puts lower."""
    return AMOUNT_RERANKED if query.amount is not None else RERANKED


def _topic_weight(text: str, weights: Mapping[str, float]) -> float:
    """The largest summed weight of the question's words that one sentence topic of ``text``
    contains (as text: topics are short noun phrases, and Sudachi would cost more than the
    re-rank is worth)."""
    best = 0.0
    for topic in sentence_topics(text):
        normalized = normalize(topic)
        best = max(best, sum(w for t, w in weights.items() if t in normalized))
    return best


def _weights(terms: list[str]) -> dict[str, float]:
    """Query weight of each term: how often the question has it."""
    return {t: float(c) for t, c in Counter(terms).items()}


def _idf(n_docs: int, df: int) -> float:
    """BM25's idf; 0 for a term no chunk has."""
    return math.log1p((n_docs - df + 0.5) / (df + 0.5)) if df else 0.0


RRF_K = 60


def fuse_retrievals(results: list[Retrieved], k: int) -> Retrieved:
    """Reciprocal-rank fusion of several retrievals of one question (multi-query expansion).

    Documents ranked well by several query variants rise; the first variant's analysis is kept
    (it is the user's own wording), and the fused result holds as much of the question as the
    best variant's best hit.
    """
    scores: dict[str, float] = {}
    best: dict[str, Hit] = {}
    for result in results:
        for rank, hit in enumerate(result.hits):
            doc_id = hit.meta.doc_id
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            best.setdefault(doc_id, hit)
    ranked = sorted(scores, key=lambda d: -scores[d])[:k]
    return Retrieved(
        query=results[0].query,
        hits=[best[d] for d in ranked],
        coverage=max(r.coverage for r in results),
        unindexed_laws=results[0].unindexed_laws,
    )
