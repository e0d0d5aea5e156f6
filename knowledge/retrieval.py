"""Retrieval: fused lexical (and dense) search for an analyzed question, and a relevance
decision."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import date

from knowledge.analysis import Analyzer
from knowledge.chunking import MAX_CHUNK_CHARS
from knowledge.citation_signals import (
    CITED_BY_WEIGHT,
    DELEGATION_DEPTH,
    DELEGATION_WEIGHT,
    PROPAGATION_BOOST,
    PROPAGATION_DEPTH,
    cited_articles,
    citing_terms,
    delegated_terms,
)
from knowledge.dates import today_in_japan
from knowledge.definitions import asked_terms
from knowledge.documents import Chunk, Hit
from knowledge.embeddings import Embedder
from knowledge.errors import UpstreamUnavailable
from knowledge.index import Boost, Dense, IndexQuery, IndexStore, SearchFilter, Signal
from knowledge.lawquery import LawQuery, analyze_law_references, names_of, subject_laws
from knowledge.lists import is_item, open_lead
from knowledge.numerals import find_article_refs
from knowledge.query import (
    AnalyzedQuery,
    Coverage,
    analyze_question,
    one_line,
    without_web_addresses,
)
from knowledge.rerank import held_words, rerank_by_sentence, rerank_depth
from knowledge.speakers import cited_position, with_replies
from knowledge.terms import article_key
from knowledge.versions import InForce

log = logging.getLogger(__name__)

# Share of the question's (idf-weighted) content words that the best passage must contain
# before we call it relevant; below this the bot says it found nothing.
MIN_COVERAGE = 0.4
# Below that, a best passage holding at least this share still shares much of the question:
# the bot says it found no answer but lists the best passages as possibly related.
MIN_RELATED_COVERAGE = 0.25
# A passage below the best is quoted only when it holds this share of the question, and this
# part of what the best holds: one sharing a single common word of it (「市民」 of
# 「市民プールの休館日は」) answers nothing, and its quote would take the room of the best
# passage's second sentence (on 2026-12-06: jsquad answer_hit_rate 0.942 → 0.952 at 0.7;
# 0.943 with the floor alone, 0.949 at 0.5, 0.950 at 0.9; lawqa 0.049 → 0.039; of 495
# answered everyday questions the gold article is cited for 0.661 before and 0.663 after,
# from 3.2 → 3.0 sources).
MIN_QUOTED_COVERAGE = 0.25
QUOTED_SHARE_OF_BEST = 0.7
# The title line is part of ``words`` too; the title field adds a smaller extra weight.
WORD_FIELDS = {"words": 1.0, "title": 0.3}
GRAM_FIELDS = {"grams": 1.0}
GRAM_WEIGHT = 0.6
# Added to the fused score (each signal scaled to at most its weight): an article cited by
# law and number in the question is looked up directly; a named law and its regulations
# (施行令, 施行規則, …) are preferred.
ARTICLE_BOOST = 1.0
LAW_BOOST = 0.3
# A question asking what a term means (「要配慮個人情報とは」): weight of the passages that
# define it (``knowledge.definitions``).
DEFINITION_WEIGHT = 0.5
# Weight of the dense side (the most similar chunks scaled to [0, 1], see ``knowledge.dense``)
# next to the lexical signals (words 1.0, bigrams GRAM_WEIGHT): about an even hybrid. Only
# questions of one line are embedded: the dense side bridges everyday words and statutory ones,
# while a question with lines under it (the choices of a multiple-choice question, pasted
# provisions) brings its own wording, which the lexical side matches precisely, and one vector
# for a question and its candidates blurs them (on lawqa it cost recall@5 0.906 → 0.850).
DENSE_WEIGHT = 1.0
# The passages answers are made of: offline answers quote from the five best
# (``knowledge.answer.SOURCES_CONSIDERED``), and the LLM reads five.
SHOWN_DEPTH = 5
# A shown passage that is a piece of a section cut in pieces (``knowledge.chunking``) is shown
# whole up to this length. A chunk shorter than PIECE_CHARS that starts its document is a
# whole section (a cut section's first piece is nearly MAX_CHUNK_CHARS long).
WHOLE_SECTION_CHARS = 1600
PIECE_CHARS = MAX_CHUNK_CHARS * 4 // 5
NEIGHBOURS = 2  # chunks read on either side of a shown piece
NAMED_REACH = 10  # chunks read back from a named article's best piece to its first


@dataclass(frozen=True)
class Retrieved:
    """Hits for a question, and how much of the question the best one holds (``Coverage``).
    ``unindexed_laws``: the laws the question names that the index does not hold (when it
    names none that it holds); ``unindexed_subjects``: those a question naming no law speaks
    of by their subject (「児童手当は…」, ``knowledge.lawquery.subject_laws``)."""

    query: AnalyzedQuery
    hits: list[Hit]
    coverage: float = 0.0
    unindexed_laws: tuple[str, ...] = ()
    unindexed_subjects: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()  # per hit, the share of the question it holds
    # The articles a question only names (「地方自治法第242条」, 「…の条文を見せて」), from
    # their beginning: the answer quotes them.
    named_hits: tuple[Hit, ...] = ()
    # An article a question names alone, as typed, without saying which law's (「242条」,
    # 「第5条の内容」): every statute and ordinance has one.
    article_without_law: str = ""

    @property
    def quotable(self) -> list[Hit]:
        """The hits an offline answer quotes: the best, and those below it that hold enough
        of the question (``MIN_QUOTED_COVERAGE``, ``QUOTED_SHARE_OF_BEST``)."""
        if len(self.shares) != len(self.hits) or not self.hits:
            return self.hits
        floor = max(MIN_QUOTED_COVERAGE, QUOTED_SHARE_OF_BEST * self.shares[0])
        return [self.hits[0]] + [
            hit for hit, share in zip(self.hits[1:], self.shares[1:], strict=True) if share >= floor
        ]

    @property
    def grounds(self) -> list[Hit]:
        """The passages a model's answer is written from, best first: the articles the
        question only names, from their beginning, in place of their best pieces."""
        if not self.named_hits:
            return self.hits
        named = {_article_of(h) for h in self.named_hits}
        return [*self.named_hits, *(h for h in self.hits if _article_of(h) not in named)]

    @property
    def relevant(self) -> bool:
        """The best hit is relevant enough to answer from. A question about a law the index
        lacks (「公選法の…」 without 公職選挙法) is not answered by a passage that does not even
        mention it, however many of the question's other words it shares."""
        if self.unindexed_laws and self.hits and not _mentions(self.hits[0], self.unindexed_laws):
            return False
        return bool(self.hits) and self.coverage >= MIN_COVERAGE

    def without(self, passages: Collection[tuple[str, str]]) -> Retrieved:
        """Without the hits at ``passages`` (document id and cited position, as an answer
        cited them): what else there is to answer from."""
        excluded = set(passages)
        kept = [i for i, hit in enumerate(self.hits) if _cited_at(hit) not in excluded]
        shares = tuple(self.shares[i] for i in kept) if len(self.shares) == len(self.hits) else ()
        return replace(
            self,
            hits=[self.hits[i] for i in kept],
            shares=shares,
            coverage=shares[0] if shares else (self.coverage if kept else 0.0),
            named_hits=tuple(h for h in self.named_hits if _cited_at(h) not in excluded),
        )

    def quoting(self, passages: Sequence[tuple[str, str]]) -> Retrieved:
        """With the hits at ``passages`` (as ``without``) quoted from their beginning, in
        that order, as the articles a question only names are; as it is when none is here."""
        at = {_cited_at(hit): hit for hit in self.hits}
        named = tuple(at[p] for p in dict.fromkeys(passages) if p in at)
        return replace(self, named_hits=named) if named else self

    def mentioning_unindexed(self) -> Retrieved:
        """For a question naming a law the index lacks, only the passages that mention it:
        what a model may answer it from (another law sharing the question's other words is no
        answer). Other questions are returned as they are."""
        if not self.unindexed_laws:
            return self
        kept = [i for i, hit in enumerate(self.hits) if _mentions(hit, self.unindexed_laws)]
        shares = tuple(self.shares[i] for i in kept) if len(self.shares) == len(self.hits) else ()
        return replace(
            self,
            hits=[self.hits[i] for i in kept],
            shares=shares,
            coverage=shares[0] if shares else 0.0,
        )

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

    async def retrieve(
        self, question: str, flt: SearchFilter, k: int = 10, today: date | None = None
    ) -> Retrieved:
        """Search the index and decide whether the best hit answers the question. Of versions
        of a statute, the one in force ``today`` (in Japan by default) answers."""
        in_force = InForce(self.store, self.analyzer, today or today_in_japan())
        law_titles = await self.store.law_titles(flt.viewer_org)
        law_query = analyze_law_references(without_web_addresses(question), law_titles)
        query = analyze_question(self.analyzer, law_query.text)
        query = await self._unindexed_to_statutory(query, flt)
        if not query.words and not query.grams:
            return Retrieved(query=query, hits=[])
        besides = _asked_besides(law_query, self.analyzer)
        named = _named_articles(law_query, besides)
        looked_up = dict.fromkeys((*law_query.lookups, *named))
        boosts = [Boost(law, ARTICLE_BOOST, (article,)) for law, article in looked_up]
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
        dense = await self._dense(law_query.text) if one_line(law_query.text) else None
        # Citation votes and the proximity re-rank look at more hits than a small k.
        wanted = max(k, PROPAGATION_DEPTH, rerank_depth(query))
        search = IndexQuery(signals, flt, wanted, tuple(boosts), dense)
        hits = await in_force.search(search)
        cited = cited_articles(hits[:PROPAGATION_DEPTH])
        delegated = delegated_terms(hits[:DELEGATION_DEPTH])
        if cited or delegated:
            boosts += [Boost(law, PROPAGATION_BOOST * v, (art,)) for (law, art), v in cited]
            if delegated:
                signals = [*signals, Signal(delegated, {"refs": 1.0}, DELEGATION_WEIGHT)]
            search = IndexQuery(signals, flt, wanted, tuple(boosts), dense)
            hits = await in_force.search(search)
        unindexed = () if law_query.law_ids else law_query.unindexed_titles
        subjects = () if law_query.mentions else subject_laws(question, law_titles)
        if not hits:
            return Retrieved(
                query=query, hits=[], unindexed_laws=unindexed, unindexed_subjects=subjects
            )
        word_stats = await self.store.term_stats("words", list(query.words), flt)
        law_words = {w for title in unindexed for w in self.analyzer.words(title)}
        coverage = Coverage.of(query, word_stats, frozenset(law_words))
        hits = await rerank_by_sentence(
            self.store, query, hits, word_stats, coverage, flt.viewer_org
        )
        # A question for the city's reply is answered by the reply, not the member's question.
        hits = await with_replies(self.store, question, hits[:k])
        hits = await self._shown(hits[:SHOWN_DEPTH]) + hits[SHOWN_DEPTH:]
        shares = tuple(coverage.share(held_words(query, hit)) for hit in hits)
        return Retrieved(
            query=query,
            hits=hits,
            coverage=shares[0],
            unindexed_laws=unindexed,
            unindexed_subjects=subjects,
            shares=shares,
            named_hits=await self._from_beginning(named, hits),
            article_without_law=_article_without_law(law_query, besides),
        )

    async def _from_beginning(
        self, articles: tuple[tuple[str, str], ...], hits: list[Hit]
    ) -> tuple[Hit, ...]:
        """The first passage of each of ``articles`` (law id, article key) found among
        ``hits``, in the order given: a long article's best passage may be a later one."""
        found = [
            hit
            for article in articles
            if (hit := next((h for h in hits if _article_of(h) == article), None)) is not None
        ]
        if not found:
            return ()
        ranges = [(h.meta.doc_id, h.chunk.ordinal - NAMED_REACH, h.chunk.ordinal) for h in found]
        pieces = await self.store.get_chunks(ranges)
        return tuple(
            replace(hit, chunk=_section_of(before, hit.chunk)[0])
            for hit, before in zip(found, pieces, strict=True)
        )

    async def _shown(self, hits: list[Hit]) -> list[Hit]:
        """The hits as answers show them. A passage that is one piece of a section cut in
        pieces (a long article) is shown with the other pieces when the whole section fits in
        ``WHOLE_SECTION_CHARS``: its answer may be in another piece (「…十四日以内にしなけれ
        ばならない」 of 生活保護法第二十四条). A longer section's piece that starts inside a list
        is shown after the sentence introducing the list, from the piece before it."""
        # A section of its own (not cut) starts its document and is short; the neighbours of
        # the others are read together.
        ranges = {
            h.chunk.chunk_id: (
                h.meta.doc_id,
                h.chunk.ordinal - NEIGHBOURS,
                h.chunk.ordinal + NEIGHBOURS,
            )
            for h in hits
            if h.chunk.ordinal > 0 or len(h.chunk.text) >= PIECE_CHARS
        }
        reads = await self.store.get_chunks(list(ranges.values())) if ranges else []
        around = dict(zip(ranges, reads, strict=True))
        shown: list[Hit] = []
        for hit in hits:
            chunk = hit.chunk
            if chunk.chunk_id not in ranges:
                shown.append(hit)
                continue
            _doc_id, low, high = ranges[chunk.chunk_id]
            pieces = _section_of(around[chunk.chunk_id], chunk)
            # A section reaching past what was read is longer than can be shown whole.
            cut_off = pieces[0].ordinal == low > 0 or pieces[-1].ordinal == high
            whole = _joined(pieces)
            # Without a position (「第二十四条」, a page) sections cannot be told apart.
            joins = len(pieces) > 1 and chunk.position and not cut_off
            if joins and len(whole) <= WHOLE_SECTION_CHARS:
                shown.append(replace(hit, chunk=replace(chunk, text=whole)))
                continue
            first = chunk.text.split("\n", 1)[0]
            at = pieces.index(chunk)
            before = pieces[at - 1] if at > 0 else None
            lead = open_lead(before.text.split("\n")) if before and is_item(first) else None
            if lead is None or lead in chunk.text:
                shown.append(hit)
            else:
                shown.append(replace(hit, chunk=replace(chunk, text=f"{lead}\n{chunk.text}")))
        return shown

    async def _unindexed_to_statutory(
        self, query: AnalyzedQuery, flt: SearchFilter
    ) -> AnalyzedQuery:
        """A typed word that no chunk has (引っ越し, 母子手帳 in a statute index) can only be
        found through the statutory words the thesaurus adds for it: they take the typed word's
        full weight instead of ``knowledge.query.EXPANSION_WEIGHT``."""
        typed = [t for t in query.synonyms if t in query.typed]
        if not typed:
            return query
        stats = await self.store.term_stats("words", typed, flt)
        words = dict(query.words)
        for term in typed:
            if stats.df.get(term):
                continue
            for phrase in query.synonyms[term]:
                for word in phrase:
                    words[word] = max(words[word], query.words[term])
        return replace(query, words=words)


# What a question that only names an article may say besides (「…を見せて」, 「…の条文」,
# 「…について」, 「…には何が書いてありますか」).
_MAX_SHOWING_CHARS = 30
_SHOWING_WORDS = frozenset(
    {"見せる", "条文", "全文", "内容", "規定", "表示", "つく", "書く", "読む", "知る", "確認"}
)


# What a question that only names a law may ask of it besides: its purpose or outline, which
# its 第一条 states (「地方自治法の目的」, 「個情法の概要」).
_OUTLINE_WORDS = frozenset({"目的", "概要", "趣旨"})


def _asked_besides(law_query: LawQuery, analyzer: Analyzer) -> frozenset[str] | None:
    """The words of what a question says besides the laws and articles it names (「を見せて」
    of 「地方自治法第242条を見せて」); ``None`` when that is more than a request to show them."""
    rest = law_query.rest
    if len(rest) > _MAX_SHOWING_CHARS:
        return None
    return frozenset(analyzer.words(rest, drop_stop_words=True))


def _article_without_law(law_query: LawQuery, asked: frozenset[str] | None) -> str:
    """The article a question names and asks nothing else about (``asked``: its other
    words), as typed, when it names no law (「242条」, 「第5条を見せて」); empty otherwise."""
    if law_query.mentions or asked is None or not asked <= _SHOWING_WORDS:
        return ""
    refs = find_article_refs(law_query.text)
    return law_query.text[refs[0].span[0] : refs[0].span[1]] if refs else ""


def _named_articles(
    law_query: LawQuery, asked: frozenset[str] | None
) -> tuple[tuple[str, str], ...]:
    """The articles a question only names, asking nothing else about them (``asked``: its
    other words), to be shown from their beginning: those it cites (「地方自治法第242条」,
    「…の条文を見せて」), or of the one law it names alone (「地方自治法」, 「個情法とは」,
    「地方自治法の目的」) its 第一条, where a statute states its purpose (rather than the
    articles of other acts that cite it)."""
    if asked is None:
        return ()
    if law_query.lookups:
        return law_query.lookups if asked <= _SHOWING_WORDS else ()
    if len(law_query.law_ids) == 1 and asked <= _SHOWING_WORDS | _OUTLINE_WORDS:
        return ((law_query.law_ids[0], "1"),)
    return ()


def _section_of(chunks: Sequence[Chunk], chunk: Chunk) -> list[Chunk]:
    """The pieces of the section ``chunk`` was cut from among ``chunks`` (a document's, in
    order): the run of chunks around it with its position."""
    at = next((i for i, c in enumerate(chunks) if c.chunk_id == chunk.chunk_id), None)
    if at is None:
        return [chunk]
    start = end = at
    while start > 0 and chunks[start - 1].position == chunk.position:
        start -= 1
    while end + 1 < len(chunks) and chunks[end + 1].position == chunk.position:
        end += 1
    return list(chunks[start : end + 1])


def _joined(pieces: list[Chunk]) -> str:
    """The pieces' text as one, without the sentence each piece repeats from the one before
    (``knowledge.chunking.OVERLAP_SENTENCES``)."""
    lines: list[str] = []
    for piece in pieces:
        more = piece.text.split("\n")
        if lines and more[0] == lines[-1]:
            more = more[1:]
        lines += more
    return "\n".join(lines)


def _cited_at(hit: Hit) -> tuple[str, str]:
    """The document id and position an answer citing the passage names."""
    return hit.meta.doc_id, cited_position(hit.meta, hit.chunk)


def _article_of(hit: Hit) -> tuple[str, str | None]:
    """The (law id, article key) a passage belongs to."""
    return hit.meta.law_id, article_key(hit.chunk.position)


def _mentions(hit: Hit, titles: tuple[str, ...]) -> bool:
    """The passage (or its title) calls one of the laws by its title or an abbreviation."""
    text = unicodedata.normalize("NFKC", f"{hit.meta.title}\n{hit.chunk.text}").lower()
    return any(name in text for title in titles for name in names_of(title))


RRF_K = 60


def fuse_retrievals(results: list[Retrieved], k: int) -> Retrieved:
    """Reciprocal-rank fusion of several retrievals of one question (multi-query expansion).

    Documents ranked well by several query variants rise; the first variant's analysis and
    the articles it only names are kept (it is the user's own wording), and the fused result
    holds as much of the question as the best variant's best hit.
    """
    scores: dict[str, float] = {}
    best: dict[str, Hit] = {}
    shares: dict[str, float] = {}
    for result in results:
        for rank, hit in enumerate(result.hits):
            doc_id = hit.meta.doc_id
            scores[doc_id] = scores.get(doc_id, 0.0) + 1.0 / (RRF_K + rank + 1)
            best.setdefault(doc_id, hit)
            if rank < len(result.shares):
                shares[doc_id] = max(shares.get(doc_id, 0.0), result.shares[rank])
    ranked = sorted(scores, key=lambda d: -scores[d])[:k]
    return Retrieved(
        query=results[0].query,
        hits=[best[d] for d in ranked],
        coverage=max(r.coverage for r in results),
        unindexed_laws=results[0].unindexed_laws,
        unindexed_subjects=results[0].unindexed_subjects,
        shares=tuple(shares.get(d, 0.0) for d in ranked),
        named_hits=results[0].named_hits,
    )
