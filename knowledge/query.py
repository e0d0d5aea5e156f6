"""Question analysis: weighted query terms, the thesaurus's statutory words, the amount asked
for, and how much of the question a passage holds (``Coverage``)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from knowledge.analysis import Analyzer, char_bigrams, western_years
from knowledge.index import TermStats
from knowledge.thesaurus import expansions_for

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
# A web address as typed in a message: up to a space or a character no URL has unescaped
# (Japanese brackets and punctuation around it). A link pasted beside a question has no words
# to search for: its host and path only match passages by chance.
WEB_ADDRESS = re.compile(r"https?://[^\s<>\"'「」『』（）()、。，．！？]+")


def web_addresses(text: str) -> list[str]:
    """The distinct web addresses in ``text``, in their order (a link sent as its address and
    its label is one)."""
    return list(dict.fromkeys(WEB_ADDRESS.findall(text)))


def without_web_addresses(question: str) -> str:
    """``question`` with each web address in it replaced by a space, and without the lines
    that held nothing else (a link on the first line is not what is asked)."""
    lines = WEB_ADDRESS.sub(" ", question).split("\n")
    return "\n".join(line for line in lines if line.strip())


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
    # The question asks how something changed over time (「人口の推移」): a table of years
    # answers it, row by row.
    trend: bool = False
    # The terms of each common noun of the question's first line (``Analyzer.words``).
    subjects: tuple[tuple[str, ...], ...] = ()
    # The names of people, products, systems and services in the first line (田中, Teams,
    # エクセル, LGWAN): what a question naming one is about.
    names: frozenset[str] = frozenset()


def analyze_question(analyzer: Analyzer, question: str) -> AnalyzedQuery:
    """Weighted query terms: word and bigram counts of the question (its first line weighing
    more when lines follow), plus the statutory words the thesaurus adds (at
    ``EXPANSION_WEIGHT``)."""
    # Words and bigrams never span lines, so the first line is analyzed once.
    first_line, _, more = western_years(question).strip().partition("\n")
    morphemes: list[tuple[str, str, str]] = []
    nouns: set[str] = set()
    subjects: list[tuple[str, ...]] = []
    names: list[str] = []
    first_words = analyzer.words(
        first_line,
        drop_stop_words=True,
        morphemes=morphemes,
        nouns=nouns,
        subjects=subjects,
        names=names,
    )
    more_words = analyzer.words(more, drop_stop_words=True, morphemes=morphemes, nouns=nouns)
    first_grams = char_bigrams(first_line)
    words = _counts([*first_words, *more_words])
    grams = _counts([*first_grams, *char_bigrams(more)])
    if more.strip():
        for term in set(first_words):
            words[term] += FIRST_LINE_WEIGHT
        for gram in set(first_grams):
            grams[gram] += FIRST_LINE_WEIGHT
    typed = frozenset(words)
    synonyms: dict[str, list[frozenset[str]]] = {}
    for word, phrase in expansions_for(morphemes):
        added = analyzer.words(phrase + PHRASE_CONTEXT, drop_stop_words=True)
        for term in added:
            words.setdefault(term, EXPANSION_WEIGHT)
        for term in analyzer.words(word, drop_stop_words=True):
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
        trend=TREND.search(question) is not None,
        subjects=tuple(subjects),
        names=_names(analyzer, first_line, names),
    )


def _names(analyzer: Analyzer, line: str, names: list[str]) -> frozenset[str]:
    """``names`` of ``line`` except those in parentheses: 「子宮頸がんワクチン（HPV）」 asks about
    the vaccine."""
    if names and (glosses := _PARENTHESIZED.findall(line)):
        return frozenset(names) - set(analyzer.words(" ".join(glosses)))
    return frozenset(names)


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
    about a passage on 怠る, which the thesaurus adds for 忘れる). Nor does any passage hold a
    question naming a person, system or product the index lacks (``AnalyzedQuery.names``:
    「Teamsで画面共有するには」, 「Excelの使い方」, 「田中課長の電話番号は」): passages on 共有,
    使い方 or 電話番号 are about something else.
    (A question naming several, one of which the index holds, is about that one: the others
    may be misspelt.)
    The words of the name of a law the index lacks do not count: a passage mentioning it must
    hold the rest.
    """

    query: AnalyzedQuery
    weights: Mapping[str, float]
    total: float
    ignored: frozenset[str] = frozenset()
    lacks_name: bool = False

    @classmethod
    def of(
        cls, query: AnalyzedQuery, stats: TermStats, ignored: frozenset[str] = frozenset()
    ) -> Coverage:
        """The typed words' weights, from the document frequencies of ``query.words``;
        ``ignored`` words (the name of a law the index lacks) do not count."""
        idf = {t: bm25_idf(stats.n_docs, stats.df.get(t, 0)) for t in query.words}
        weights: dict[str, float] = {}
        for term in (t for t in query.words if t in query.typed and t not in ignored):
            phrases = query.synonyms.get(term, ())
            weights[term] = idf[term] or min(
                (idf[w] for phrase in phrases for w in phrase if idf.get(w)), default=0.0
            )
        unknown = sum(1 for t, w in weights.items() if not w and query.synonyms.get(t))
        absent = [terms for terms in query.subjects if not _indexed(terms, idf, query, ignored)]
        rarest = max(weights.values(), default=0.0)
        total = sum(weights.values()) + unknown * rarest
        if len(absent) * 2 >= len(query.subjects):
            # Each word of an absent subject that no chunk has weighs as the rarest one typed.
            unheld = sum(1 for terms in absent for t in terms if not idf.get(t))
            total += unheld * max(rarest, bm25_idf(stats.n_docs, 1))
        lacks_name = bool(query.names) and not any(
            idf[t] or query.synonyms.get(t) for t in query.names
        )
        return cls(query, weights, total, ignored, lacks_name)

    def share(self, present: frozenset[str]) -> float:
        """The weighted share of the typed words that a passage with words ``present`` holds;
        0 when the question has nouns and the passage holds none of them."""
        if not self.total or self.lacks_name:
            return 0.0
        nouns = self.query.nouns - self.ignored
        if nouns and not any(self._holds(term, present) for term in nouns):
            return 0.0
        held = sum(weight for term, weight in self.weights.items() if self._holds(term, present))
        return held / self.total

    def _holds(self, term: str, present: frozenset[str]) -> bool:
        phrases = self.query.synonyms.get(term, ())
        return term in present or any(phrase <= present for phrase in phrases)


def _indexed(
    subject: tuple[str, ...], idf: Mapping[str, float], query: AnalyzedQuery, known: frozenset[str]
) -> bool:
    """Whether the index holds a subject of the question (a noun, or a compound and its
    parts): the word itself, or every part of a compound (「根拠法令」 as 根拠 and 法令), or a word
    the thesaurus or ``known`` (a law's name) stands for. A compound one of whose parts no chunk
    has is not held for its other part: 「印鑑登録」 is not in an index without 印鑑, whatever it
    says of 登録."""
    if any(query.synonyms.get(t) or t in known for t in subject):
        return True
    whole, *parts = subject
    return bool(idf.get(whole)) or (bool(parts) and all(idf.get(t) for t in parts))


_MONTHS = ("か月", "ヶ月", "カ月", "箇月", "月")
_UNITS = (
    *_MONTHS,
    *("週間", "時間", "メートル", "世帯", "日", "年", "人", "名", "割", "枚", "歳", "回", "円"),
    *("件", "倍", "通"),
)
_PARENTHESIZED = re.compile(r"[（(]([^）)]*)[）)]")
_ASKED_AMOUNT = re.compile(f"何({'|'.join(_UNITS)})")
_NUMERAL = "[〇一二三四五六七八九十百千万0-9０-９]+"
_STARTING_DAY = re.compile("(?:日|月)(?:の翌日)?から|から起算|至つた日|至った日")
# Words with which a question asks how something changed over time (not 「何年ごと」, an
# interval).
TREND = re.compile(
    r"推移|移り変わり|変化|増減|経年|年別|年度別|月別|年々|ここ数年|増えて|増えた|減って|減った"
)
# Words with which a question asks for a time limit (「開示の決定期限は」, 「届出の締め切りは」).
_ASKS_TIME_LIMIT = ("いつまで", "期限", "締め切り", "締切")
# A question that ends asking how long a period is (「審査請求ができる期間は」, 「試用期間は
# どのくらいですか」); not one that only mentions a period (「保存期間が終わった文書は」,
# 「選挙期間中」).
_ASKS_PERIOD = re.compile(r"期間(?:は|って)(?:どのくらい|どれくらい|いつ|[?？。]|$)")
# A parenthetical may stand between the period and what makes it a limit: 「三月（当該処分に
# ついて再調査の請求をしたときは、…一月）を経過したときは」.
_TIME_LIMIT = re.compile(
    f"{_NUMERAL}(?:日|週間|年|{'|'.join(_MONTHS)})(?:[（(][^（()）]*[）)])?(?:以内|を経過|まで)"
)


def asked_amount(question: str) -> re.Pattern[str] | None:
    """What a passage stating the amount the question asks for has, or ``None``:
    「何日以内」 → a numeral and 日; 「何か月」 → a numeral and 月, 箇月 or か月;
    「何歳」 → 「七十五歳」 or 「年齢満二十五年」; 「いつまで」, 「期限」 or 「…の期間は」 →
    a time limit, 「十四日以内」 or 「六箇月を経過」; 「いつから」 → a starting day,
    「…に至つた日から」 or 「翌日から起算して」."""
    if asked := _ASKED_AMOUNT.search(question):
        return _amount_in(asked[1])
    if any(word in question for word in _ASKS_TIME_LIMIT) or _ASKS_PERIOD.search(question.strip()):
        return _TIME_LIMIT
    return _STARTING_DAY if "いつから" in question else None


@lru_cache(maxsize=len(_UNITS))
def _amount_in(unit: str) -> re.Pattern[str]:
    units = "|".join(_MONTHS) if unit in _MONTHS else re.escape(unit)
    if unit == "歳":  # statutes also state an age as 「年齢満十八年」
        return re.compile(f"{_NUMERAL}歳|満{_NUMERAL}年")
    return re.compile(f"{_NUMERAL}(?:{units})")


def one_line(question: str) -> bool:
    """The question has no lines under it (choices, pasted text)."""
    return "\n" not in question.strip()


def bm25_idf(n_docs: int, df: int) -> float:
    """BM25's idf; 0 for a term no chunk has."""
    return math.log1p((n_docs - df + 0.5) / (df + 0.5)) if df else 0.0


def _counts(terms: list[str]) -> dict[str, float]:
    """Query weight of each term: how often the question has it."""
    return {t: float(c) for t, c in Counter(terms).items()}
