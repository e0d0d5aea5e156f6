"""Signals from citations between statute articles, for the second search pass."""

from __future__ import annotations

from collections.abc import Mapping

from knowledge.citations import PARENT_ACT, citation_keys, delegation_key, find_citations
from knowledge.documents import Hit
from knowledge.lawquery import LawQuery
from knowledge.numerals import normalize_article_ref
from knowledge.terms import article_key

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
