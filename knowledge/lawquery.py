"""Law-aware question analysis: law names (and their abbreviations) and article references.

「金商法施行令第2条の12」 becomes the law 金融商品取引法施行令 and the article key ``2-12``, so
retrieval can boost that law and look the article up directly. Abbreviations come from the data
file ``data/law_abbreviations.tsv``; full titles come from the laws present in the index and
from that file. What a question speaks of (「固定資産税」) names the act governing it through
``data/law_subjects.tsv``, so that a question on an act the index lacks says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from knowledge.data import tsv_pairs
from knowledge.numerals import NUMERAL, ArticleRef, find_article_refs, kanji_to_int

_SUFFIXES = ("施行令", "施行規則")
# A name ending in 法 followed by one of these is part of another word (医療法人, 市民法律相談,
# 会社法務), not a law's name.
_NOT_AFTER_LAW = frozenset("人律務案曹廷典学的")
# Characters allowed between a law name and its article reference (「地方自治法の第242条」).
_MAX_GAP = 2
# A law's subject is its title without 法 (児童手当法 → 児童手当) when at least this long:
# shorter ones (会社, 医療, 河川) name everyday things as often as the law.
SUBJECT_CHARS = 4


@dataclass(frozen=True)
class LawMention:
    """A law named in the question; ``law_id`` is empty when the law is not indexed."""

    title: str
    law_id: str
    span: tuple[int, int]


@dataclass(frozen=True)
class LawQuery:
    """The question with abbreviations spelled out, its law mentions and article lookups, and
    the regulations of the named laws: indexed laws whose title begins with a named law's
    title (its 施行令 and 施行規則, an ordinance named after it such as
    「金融商品取引法第二条に規定する定義に関する内閣府令」), where the details of a named
    act usually are."""

    text: str
    mentions: tuple[LawMention, ...]
    lookups: tuple[tuple[str, str], ...]
    regulation_ids: tuple[str, ...] = ()
    # (law id, article key, 項) of the references that name a paragraph.
    paragraphs: tuple[tuple[str, str, int], ...] = ()

    @property
    def rest(self) -> str:
        """The question without the laws it names and its article references: what it asks
        about them (「を見せて」 of 「地方自治法第242条を見せて」)."""
        spans = [m.span for m in self.mentions]
        for ref in find_article_refs(self.text):
            bare = _bare_start(self.text, ref)  # 「第5〜」 of 「第5〜7条」
            spans.append((bare.start() if bare else ref.span[0], ref.span[1]))
        kept = [True] * len(self.text)
        for start, end in spans:
            kept[start:end] = [False] * (end - start)
        return "".join(c for c, keep in zip(self.text, kept, strict=True) if keep)

    @property
    def law_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.law_id for m in self.mentions if m.law_id))

    @property
    def unindexed_titles(self) -> tuple[str, ...]:
        """Titles of the named laws that no indexed document is (「公選法」 in an index
        without 公職選挙法)."""
        return tuple(dict.fromkeys(m.title for m in self.mentions if not m.law_id))


@lru_cache(maxsize=1)
def load_abbreviations() -> dict[str, str]:
    """Abbreviation → full title, from the bundled data file."""
    return dict(tsv_pairs("law_abbreviations.tsv"))


@lru_cache(maxsize=1)
def _names_by_title() -> dict[str, tuple[str, ...]]:
    names: dict[str, list[str]] = {}
    for short, title in load_abbreviations().items():
        names.setdefault(title, [title]).append(short)
    return {title: tuple(n.lower() for n in found) for title, found in names.items()}


def subject_laws(question: str, law_titles: Mapping[str, str]) -> tuple[str, ...]:
    """The laws of the abbreviations table that ``law_titles`` (the index's) lacks and whose
    subject (``SUBJECT_CHARS``) the question speaks of as a word of its own: 「児童手当は誰が
    もらえますか」 asks about 児童手当法; 「国民健康保険」 is no 「健康保険」. So do the subjects
    that ``data/law_subjects.tsv`` names the governing act of (「固定資産税」 → 地方税法). Only an
    index that holds statutes is asked: elsewhere the subject is only a word."""
    if not law_titles:
        return ()
    text = unicodedata.normalize("NFKC", question)
    found: list[str] = []
    for title, subject in _subjects():
        if title in law_titles or title in found:
            continue
        at = text.find(subject)
        while at > 0 and _in_word(text[at - 1]):
            at = text.find(subject, at + 1)
        if at >= 0:
            found.append(title)
    return tuple(found)


@lru_cache(maxsize=1)
def _subjects() -> tuple[tuple[str, str], ...]:
    """(title, subject) of each law of the abbreviations table with a subject long enough,
    then of each subject of the subjects table."""
    titles = dict.fromkeys(load_abbreviations().values())
    pairs = ((title, title.removesuffix("法")) for title in titles if title.endswith("法"))
    named = [(title, subject) for title, subject in pairs if len(subject) >= SUBJECT_CHARS]
    return (*named, *((title, subject) for subject, title in tsv_pairs("law_subjects.tsv")))


def _in_word(char: str) -> bool:
    """A character that continues a word in kanji, katakana or Latin letters."""
    name = unicodedata.name(char, "")
    return name.startswith(("CJK UNIFIED", "KATAKANA", "LATIN")) or char.isdigit()


def names_of(title: str) -> tuple[str, ...]:
    """The lowercased names a text may call a law by: its title and its abbreviations."""
    return _names_by_title().get(title, (title.lower(),))


def _surfaces(law_titles: Mapping[str, str]) -> dict[str, list[tuple[str, str]]]:
    """First character → (lowercased surface, canonical title), longest surface first."""
    abbreviations = load_abbreviations()
    titles = {t: t for t in (*abbreviations.values(), *law_titles)}
    pairs = {**abbreviations, **titles}
    by_first: dict[str, list[tuple[str, str]]] = {}
    for surface, title in pairs.items():
        surface = surface.lower()
        by_first.setdefault(surface[0], []).append((surface, title))
    for candidates in by_first.values():
        candidates.sort(key=lambda c: -len(c[0]))
    return by_first


def analyze_law_references(question: str, law_titles: Mapping[str, str]) -> LawQuery:
    """Find law names (longest match, left to right) and the articles they are cited with."""
    source = unicodedata.normalize("NFKC", question)
    # Names match whatever the case (「dv防止法」); lowercasing keeps every offset here.
    folded = source.lower() if len(source.lower()) == len(source) else source
    by_first = _surfaces(law_titles)
    out: list[str] = []
    mentions: list[LawMention] = []
    i = 0
    while i < len(source):
        match = _match_at(folded, i, by_first, law_titles)
        if match is None:
            if source.startswith("同法", i) and mentions:
                previous = mentions[-1]
                start = len("".join(out))
                out.append("同法")
                mentions.append(LawMention(previous.title, previous.law_id, (start, start + 2)))
                i += 2
                continue
            out.append(source[i])
            i += 1
            continue
        length, title = match
        start = len("".join(out))
        out.append(title)
        mentions.append(LawMention(title, law_titles.get(title, ""), (start, start + len(title))))
        i += length
    text = "".join(out)
    lookups, paragraphs = _lookups(text, mentions)
    return LawQuery(
        text=text,
        mentions=tuple(mentions),
        lookups=lookups,
        regulation_ids=_regulations(mentions, law_titles),
        paragraphs=paragraphs,
    )


def _regulations(mentions: list[LawMention], law_titles: Mapping[str, str]) -> tuple[str, ...]:
    named = {m.title for m in mentions if m.law_id}
    return tuple(
        dict.fromkeys(
            law_id
            for title, law_id in law_titles.items()
            if title not in named and any(title.startswith(n) for n in named)
        )
    )


def _match_at(
    text: str,
    i: int,
    by_first: dict[str, list[tuple[str, str]]],
    law_titles: Mapping[str, str],
) -> tuple[int, str] | None:
    for surface, title in by_first.get(text[i], ()):
        if text.startswith(surface, i):
            end = i + len(surface)
            if surface.endswith("法") and text[end : end + 1] in _NOT_AFTER_LAW:
                continue
            # 「金商法施行令」: an abbreviation followed by 施行令 names the order of that law.
            for suffix in _SUFFIXES:
                if text.startswith(suffix, end) and title + suffix in law_titles:
                    return len(surface) + len(suffix), title + suffix
            return len(surface), title
    return None


def _lookups(
    text: str, mentions: list[LawMention]
) -> tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, int], ...]]:
    """The (law, article) references of the question, and those that name a paragraph."""
    indexed = [m for m in mentions if m.law_id]
    only_law = {m.law_id for m in indexed}
    found: list[tuple[str, str]] = []
    paragraphs: list[tuple[str, str, int]] = []
    previous: ArticleRef | None = None
    for ref in find_article_refs(text):
        start = ref.span[0]
        # 「第5〜7条」: the law is named before the range's first number.
        bare = _bare_start(text, ref)
        named_at = bare.start() if bare and previous is None else start
        law_id = next(
            (m.law_id for m in reversed(indexed) if 0 <= named_at - m.span[1] <= _MAX_GAP), ""
        )
        if not law_id and len(only_law) == 1:
            law_id = next(iter(only_law))
        if not law_id:
            continue
        for article in (*_articles_before(text, ref, previous), ref.article):
            if (law_id, article) not in found:
                found.append((law_id, article))
        previous = ref
        if ref.paragraph and (law_id, ref.article, ref.paragraph) not in paragraphs:
            paragraphs.append((law_id, ref.article, ref.paragraph))
    return tuple(found), tuple(paragraphs)


# What joins the two ends of a range of articles, and the longest range whose articles are all
# looked up (a wider one is more likely a span of a chapter than articles to read).
_RANGE_JOIN = r"\s*(?:から|乃至|ないし|[~〜\-－ー―‐])\s*"
_BARE_START = re.compile(rf"(?:第\s*)?(?P<start>{NUMERAL}){_RANGE_JOIN}$")
_JOINED = re.compile(rf"{_RANGE_JOIN}$")
_MAX_RANGE = 10


def _range_start(text: str, ref: ArticleRef, previous: ArticleRef | None) -> int | None:
    """The first article of a range that ``ref`` ends: the reference before it joined to it
    (「第5条から第7条まで」), or a bare number (「第5〜7条」, 「5から7条」)."""
    if previous is not None and _JOINED.fullmatch(text[previous.span[1] : ref.span[0]]):
        return int(previous.article) if previous.article.isdigit() else None
    bare = _bare_start(text, ref)
    return kanji_to_int(bare["start"]) if bare else None


def _bare_start(text: str, ref: ArticleRef) -> re.Match[str] | None:
    """The bare number a range that ``ref`` ends starts with (「第5〜」 of 「第5〜7条」)."""
    return _BARE_START.search(text[: ref.span[0]])


def _articles_before(text: str, ref: ArticleRef, previous: ArticleRef | None) -> list[str]:
    """The articles of the range that ``ref`` ends, before it: 6 of 「第5条から第7条」, 5 and
    6 of 「第5〜7条」. None when ``ref`` ends no range, names a 条の2 or ends a long one."""
    start = _range_start(text, ref, previous)
    if start is None or not ref.article.isdigit():
        return []
    end = int(ref.article)
    if not 0 < end - start <= _MAX_RANGE:
        return []
    return [str(n) for n in range(start, end)]
