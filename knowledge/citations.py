"""Citations between statute articles, resolved to the law they point into.

Statutes refer to each other constantly: an article of 地方自治法施行令 cites 「地方自治法第二百
四十二条第一項」, an article of 金融商品取引法施行令 cites 「法第百六十二条第一項第一号に規定する
政令で定める場合」 (法 being the act it implements), an act cites its own 「第十三条」. Every
reference becomes a *citation key* ``"<law>:<article key>"``:

* a reference after a law name uses that name (「地方自治法第二百四十二条」 → ``地方自治法:242``);
* the bare abbreviations that orders and ordinances define for their parent laws stay as written
  (「法第百六十二条」 → ``法:162``, 「令第九条の四」 → ``令:9-4``);
* a reference without a law is to the citing law itself (``<own title>:13``);
* a reference that names a paragraph (項) also gets the finer key ``"<law>:<article>/<項>"``
  (「法第百七十三条第五項」 → ``法:173`` and ``法:173/5``), so a question citing that
  paragraph prefers the articles citing the same paragraph;
* in a list (「法第二十七条の三第一項、第二十七条の六第二項及び第二十七条の十三第一項」) every
  member belongs to the law of the first one.

A reference to 「同法」 or 「同令」 (the said law) is into the law the last named reference
pointed into, unless another law may have been named in between (「恩給法による増加恩給、同法
第七十五条」 after a reference into 国民年金法): then, like a 「同法」 with no named reference
before it, it is left out.

Delegations are keyed apart: an act leaves details to its regulations (「政令で定める」), and a
line of a regulation that opens with the provision it carries out (「法第二十四条第一項…に規定す
る政令で定める期間は、六月とする。」) gets the *delegation key* ``"委任>金融商品取引法:24"`` —
the act resolved from the regulation's own title (``parent_act``) — so retrieval can bring
the implementing provisions of the act articles it found (the 三段表 of act, order and
ordinance).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from knowledge.numerals import find_article_refs

# The abbreviation that subordinate legislation defines for its parent act (「以下「法」という。」).
PARENT_ACT = "法"
# A law name right before a reference: a run of kanji and katakana ending like a law title.
_KANJI = "\u4e00-\u9fff\u30a0-\u30ff々ヶ"
_NAME_CHAR = re.compile(f"[{_KANJI}]")
_LAW_ENDINGS = ("法律", "法", "令", "規則", "規程", "条例")
# Words written partly in kana that titles use like kanji words (「子ども・子育て支援法」).
_KANA_IN_WORDS = ("子ども", "子育て", "こども", "取扱い", "手続き", "づくり")
_WORD_RUN = f"(?:[{_KANJI}]|{'|'.join(_KANA_IN_WORDS)})+"
# The heads of titles that never stand alone (「…に関する法律」, 「…に関する内閣府令」): only
# these are read back past kana; 「処分に係る行政手続法」 names 行政手続法.
_TITLE_HEADS = ("法律", "措置法", "府令", "省令", "政令", "規則", "命令")
# Most titles of acts and ordinances join their words with kana (「個人情報の保護に関する法律」,
# 「行政手続における特定の個人を識別するための番号の利用等に関する法律」, 「障害者の日常生活及び
# 社会生活を総合的に支援するための法律」, 「地方自治法の一部を改正する法律」), and a few list
# short nouns, the last with 等 or 及び (「社債、株式等の振替に関する法律」, 「医薬品、医療機器等の
# 品質、有効性及び安全性の確保等に関する法律」). A title is words and such joiners; a word
# neither starts inside a run nor with a conjunction (「…第一項及び協同組合による金融事業に関する
# 法律」) or 「当該」, and the words of the citing sentence (「において準用する」, 「改正前の」)
# join nothing.
_JOINERS = (
    "に関する|における|のための|するための|ための|(?<!規定)による|に係る|に対する|した|な"
    "|(?<!改正前)(?<!改正後)(?<!以外)の|を|(?<!準用)(?<!適用)(?<!規定)する"
    "|(?<=及)び|(?<=的)に"
)
_WORD = (
    f"(?<![{_KANJI}])(?![及又並若]|当該|規定)"
    f"(?:[{_KANJI}]{{1,4}}(?:、[{_KANJI}]{{1,5}})*、[{_KANJI}]{{0,5}}[等及]|{_WORD_RUN})"
)
_HEAD = f"(?:{_WORD_RUN})?(?:{'|'.join(_TITLE_HEADS)})"
_TITLE_WITH_KANA = re.compile(f"(?:{_WORD}(?:{_JOINERS}))+{_HEAD}$")
# What may stand between two members of one list of references: punctuation, conjunctions
# and a parenthetical (「（法第二十七条において準用する場合を含む。）」).
_LIST_GAP = re.compile(r"(?:[（(][^（()）]{0,80}[）)])?(?:、|及び|又は|並びに|若しくは|から|まで)+")
# 「同法」, 「同令」: the law named before; a word that may name another law in between.
_SAID = ("同法", "同法律", "同令", "同規則", "同府令", "同省令")
_SAID_WORD = re.compile("|".join(sorted(_SAID, key=len, reverse=True)))
_LAW_WORD = re.compile(f"(?:法|法律|令|規則)(?![{_KANJI}])")
# How a title citing an article goes on (「金融商品取引法第二条に規定する定義に関する内閣府令」).
_CITED_IN_TITLE = "に規定する"
# How far before a reference its law's name may start (the longest titles run to 60 letters).
_LOOKBEHIND = 64
# A parenthetical between a law name and its reference: 「地方自治法（昭和二十二年法律第六十七号）
# 第二条」, 「…法律（以下「法」という。）第二条」.
_TRAILING_PARENTHETICAL = re.compile(r"[（(][^（()）]*[）)]$")
# A line carrying out a delegation: 「法第二条第一号の政令で定める施設は」, 「法第二十四条第一項
# …に規定する政令で定める期間は」, 「…に規定する厚生労働省令で定める」.
_DELEGATION = re.compile(r"(?:に規定する|の)(?:政令|内閣府令|[^、。]{0,12}省令|規則)で定める")
# Or a line that opens with the provision and defines what it leaves open: 「地方自治法第二百
# 三十四条第二項の規定により随意契約によることができる場合は、次に掲げる場合とする。」
_DEFINED_FOR = re.compile(
    r"[^、。]{0,60}?(?=の規定により[^。]*?(?:場合|もの|者|事項)は、[^。]*とする。)"
)
# The act a regulation belongs to, from its title: 「金融商品取引法施行令」, 「金融商品取引法第二
# 条に規定する定義に関する内閣府令」 → 金融商品取引法.
_PARENT_IN_TITLE = re.compile(r"(.+?(?:法律|法))(?:施行令|施行規則|第)")
DELEGATION_PREFIX = "委任>"


@dataclass(frozen=True)
class Citation:
    """One resolved reference: ``law`` is a law title, an abbreviation or ``""`` (own law)."""

    law: str
    article: str
    span: tuple[int, int]
    paragraph: int | None = None


def citation_key(law: str, article: str) -> str:
    """The index term of a citation (no spaces: terms are space-joined)."""
    return f"{''.join(law.split())}:{article}"


def citation_keys(law: str, article: str, paragraph: int | None) -> list[str]:
    """The article's key, then the paragraph's when a paragraph is named."""
    key = citation_key(law, article)
    return [key, f"{key}/{paragraph}"] if paragraph else [key]


@lru_cache(maxsize=8192)
def find_citations(text: str) -> tuple[Citation, ...]:
    """Every article reference of ``text`` with the law it points into (cached: the same
    articles come up for many questions)."""
    if "条" not in text and "條" not in text:
        return ()  # most text cites nothing, and looking costs a regular expression scan
    found: list[Citation] = []
    previous: Citation | None = None
    named: Citation | None = None  # the last reference that named its law
    end_of_last = 0  # a law's name never reaches back into the reference before it
    for ref in find_article_refs(text):
        start = ref.span[0]
        before = text[max(end_of_last, start - _LOOKBEHIND) : start]
        end_of_last = ref.span[1]
        law: str | None
        if previous is not None and _LIST_GAP.fullmatch(text[previous.span[1] : start]):
            law = previous.law
        else:
            law = _law_before(before)
            if previous is not None and law and before == _CITED_IN_TITLE + law:
                # 「金融商品取引法第二条に規定する定義に関する内閣府令第三条」: a title that
                # itself cites an article.
                law = previous.law + text[previous.span[0] : start]
        if law in _SAID:
            law = named.law if named and _said_law(text[named.span[1] : start]) else None
        if law is None:
            previous = None
            continue
        previous = Citation(law, ref.article, ref.span, ref.paragraph)
        found.append(previous)
        if law:
            named = previous
    return tuple(found)


def _said_law(gap: str) -> bool:
    """Whether 「同法」 at the end of ``gap`` can only be the law named at its start: no other
    word in between may be a law's name (「方法」 may be taken for one; then nothing is told)."""
    return _LAW_WORD.search(_SAID_WORD.sub("", gap)) is None


def _law_before(before: str) -> str | None:
    """The law a reference preceded by ``before`` points into; ``None`` when it cannot be told."""
    before = _TRAILING_PARENTHETICAL.sub("", before)
    start = len(before)
    while start:
        if _NAME_CHAR.match(before, start - 1):
            start -= 1
        elif kana := next((w for w in _KANA_IN_WORDS if before.endswith(w, 0, start)), None):
            start -= len(kana)
        else:
            break
    name = before[start:]
    if not name.endswith(_LAW_ENDINGS):
        # 「附則第三条」 numbers the supplementary provisions anew: not an article of the law.
        return None if name.endswith("附則") else ""
    if name.startswith("同"):
        # 「同法」 is resolved by the caller; 「同条」-like names of no law are left out.
        return name if name in _SAID else None
    if name.endswith(_TITLE_HEADS) and (title := _TITLE_WITH_KANA.search(before)):
        return title[0]
    return name


def chunk_citation_keys(text: str, own_law: str, own_article: str | None) -> list[str]:
    """Citation keys of a statute chunk; a chunk citing itself is left out."""
    keys: list[str] = []
    for citation in find_citations(text):
        law = citation.law or own_law
        if not law or (law == own_law and citation.article == own_article):
            continue
        keys += citation_keys(law, citation.article, citation.paragraph)
    return keys


def parent_act(law_title: str) -> str | None:
    """The act a regulation implements, when its title tells (「地方自治法施行令」 → 地方自治法)."""
    match = _PARENT_IN_TITLE.match(law_title)
    return match[1] if match else None


def delegation_key(act: str, article: str) -> str:
    """The index term of a provision that carries out a delegation of ``act``'s ``article``."""
    return DELEGATION_PREFIX + citation_key(act, article)


def delegation_keys(text: str, own_law: str) -> list[str]:
    """Delegation keys of a statute chunk: per line that opens with the provision it carries
    out (「…に規定する政令で定める期間は」, or in a regulation 「…の規定により…場合は、…とす
    る。」), the first article it cites, in the parent act (「法」, or the act's name ending
    like the title: 「…に関する法律（以下「法」という。）第二条」) or in a named law."""
    parent = parent_act(own_law)
    if "で定める" not in text and not (parent and "とする" in text):
        return []
    keys: list[str] = []
    for line in text.splitlines():
        delegation = _DELEGATION.search(line)
        end = delegation.start() if delegation else None
        if end is None and parent and (defined := _DEFINED_FOR.match(line)):
            end = defined.end()
        cited = find_citations(line[:end]) if end is not None else ()
        if not cited:
            continue
        named = cited[0].law
        of_parent = named == PARENT_ACT or bool(parent and named and parent.endswith(named))
        law = parent if of_parent else named
        if law and law != own_law:
            keys.append(delegation_key(law, cited[0].article))
    return list(dict.fromkeys(keys))
