"""Japanese text analysis: normalization, morphological terms and character bigrams.

The same functions analyze documents at index time and questions at query time, so both sides
always see identical terms. Sudachi's normalized forms merge spelling variants (附属/付属) and
turn kanji numerals into digits (二百四十二 → 242).
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from sudachipy import Dictionary, SplitMode

from knowledge.dates import wareki_year_to_western
from knowledge.numerals import kanji_to_int

# Parts of speech that carry no topic (particles, auxiliaries, symbols, blanks).
_SKIP_POS = frozenset({"助詞", "助動詞", "補助記号", "空白", "記号", "感動詞", "接続詞", "連体詞"})
# Very common content words that only add noise to questions.
_STOP_WORDS = frozenset(
    {
        "為る",
        "有る",
        "成る",
        "居る",
        "出来る",
        "こと",
        "もの",
        "ため",
        "よう",
        "これ",
        "それ",
        "誰",
        "何",
        # 「何人ですか」 asks how many; statutes' 「何人も」 means anyone.
        "何人",
        "どう",
        "どの",
        "どこ",
        "いつ",
        "何故",
        "なぜ",
        "教える",
        "下さる",
        "知る",
        "所",
        "場合",
        "等",
        "的",
        "方",
        "際",
        "頂く",
        "いただく",
        "欲しい",
        "思う",
        "言う",
        "御",
        "お",
        "ご",
        "件",
        "について",
        "次",
        "うち",
        "正しい",
        "遣る",
        "良い",
        "行く",
        "来る",
        "貰う",
        "そう",
        "時",
        "いる",
        "必要",
    }
)
_MAX_SUDACHI_CHARS = 4000
# Terms remembered per dictionary word (and per surface outside it); a corpus has tens of
# thousands.
_KNOWN_MORPHEMES = 500_000
# Sudachi numbers the words it made up for text outside the dictionary (OOV) from here on
# (the dictionary id 0xF in the top bits).
_FIRST_OOV_ID = 0xF000_0000
_WORD_RUN = re.compile(r"[\w々〆ヵヶー]+")


# An era year: by the era's name, or by its initial as municipal documents abbreviate it
# (「R6年度」, 「H31年」; not inside a word or a number: 「ISR6年」).
_ERA_YEAR = re.compile(
    r"(明治|大正|昭和|平成|令和|(?<![A-Za-z0-9])[MTSHRmtshr])(元|[0-9〇一二三四五六七八九十百]{1,4})年"
)


def _western_year(match: re.Match[str]) -> int | None:
    year = 1 if match[2] == "元" else kanji_to_int(match[2])
    try:
        return wareki_year_to_western(match[1], year)
    except ValueError:
        return None


def _with_western_year(match: re.Match[str]) -> str:
    western = _western_year(match)
    return match[0] if western is None else f"{match[0]} {western}年"


def _as_western_year(match: re.Match[str]) -> str:
    western = _western_year(match)
    return match[0] if western is None else f"{western}年"


def western_years(text: str) -> str:
    """``text`` with each Japanese-era year written as its Western year (「令和8年度の予算」 →
    「2026年度の予算」, 「R8年度」 → 「2026年度」). A question is read this way so that an era year
    weighs what its Western year does: passages hold both (``normalize``), and the era's name and
    number would otherwise count as three words of the question for one."""
    return _ERA_YEAR.sub(_as_western_year, unicodedata.normalize("NFKC", text))


# Statutes written before 1988 spell the geminate っ as a full-size つ (「あつた」, 「よつて」,
# 「知つた」), which Sudachi misreads (「知つた」 → 知 and 蔦); before た or て after a kana or a
# kanji it is read as っ. 「かつて」 (formerly) stays unless a kanji or か precedes it
# (「向かつて」, 「かかつて」 are verbs).
_OLD_GEMINATE = re.compile(r"(?<=[\u3041-\u3096\u4e00-\u9fff々])つ(?=[たて])")
_KANJI_OR_KA = re.compile(r"[\u4e00-\u9fff々か]")


def _modern_geminate(match: re.Match[str]) -> str:
    at, text = match.start(), match.string
    formerly = text[at - 1] == "か" and text[at + 1] == "て"
    if formerly and (at < 2 or not _KANJI_OR_KA.match(text[at - 2])):
        return match[0]
    return "っ"


# The honorific さん after a word of two or more kanji is read apart from it: Sudachi joins it
# into a wrong word after some titles (「保健師さん」 → 保, 健師, さん).
_HONORIFIC = re.compile(r"(?<=[\u4e00-\u9fff][\u4e00-\u9fff])さん")


def normalize(text: str) -> str:
    """NFKC (full-width ASCII and half-width kana folded), lowercased, whitespace collapsed;
    the old spelling of っ read as っ (「知つた」 → 「知った」); a Japanese-era year, also by its
    initial, gets its Western year (「令和8年」 → 「令和8年 2026年」, 「R8年度」 →
    「r8年 2026年度」), so 令和8年, R8年 and 2026年 match each other; さん set apart from
    the title it follows (「保健師さん」 → 「保健師 さん」). Used for analysis only, never for
    display."""
    text = unicodedata.normalize("NFKC", text)
    text = _OLD_GEMINATE.sub(_modern_geminate, text)
    text = _ERA_YEAR.sub(_with_western_year, text)
    text = _HONORIFIC.sub(" さん", text)
    return re.sub(r"[ \t\u3000]+", " ", text).lower().strip()


_OPENING = "（「『(［【"
_CLOSING = "）」』)］】"
# Characters that end a sentence.
SENTENCE_ENDINGS = "。！？!?"


def split_sentences(text: str) -> list[str]:
    """Split Japanese text into sentences, keeping the closing punctuation.

    A full stop inside brackets (「（以下「怠る事実」という。）」) does not end the sentence;
    a line break always does.
    """
    sentences: list[str] = []
    current: list[str] = []
    depth = 0
    for char in text:
        if char == "\n":
            depth = 0
            sentences.append("".join(current))
            current = []
            continue
        current.append(char)
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            depth = max(depth - 1, 0)
        elif char in SENTENCE_ENDINGS and depth == 0:
            sentences.append("".join(current))
            current = []
    sentences.append("".join(current))
    return [s.strip() for s in sentences if s.strip()]


def char_bigrams(text: str, *, normalized: bool = False) -> list[str]:
    """Character bigrams within runs of word characters of the normalized text
    (``normalized``: ``text`` already went through ``normalize``)."""
    grams: list[str] = []
    for run in _WORD_RUN.findall(text if normalized else normalize(text)):
        if len(run) == 1:
            grams.append(run)
        else:
            grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


_SENTENCE_END = re.compile(r"[。！？!?\n]")


def best_sentence_weight(
    text: str, weights: Mapping[str, float], given: Iterable[str] = ()
) -> float:
    """The largest summed weight of the distinct ``weights`` bigrams that one sentence of the
    text has (sentences cut at every full stop, brackets ignored), ``given`` bigrams counting
    for every sentence. Each bigram is looked for with ``str.find``, so a long passage costs
    little more than a short one."""
    normalized = normalize(text)
    ends = [m.start() for m in _SENTENCE_END.finditer(normalized)]
    fixed = set(given)
    found: dict[int, set[str]] = {}
    for gram in weights.keys() - fixed:
        at = normalized.find(gram)
        while at != -1:
            found.setdefault(bisect.bisect_right(ends, at), set()).add(gram)
            at = normalized.find(gram, at + 1)
    base = sum(weights[g] for g in fixed if g in weights)
    return base + max((sum(weights[g] for g in grams) for grams in found.values()), default=0.0)


# Statutes state a rule as 「主題は、述語」 (「市町村道の管理は、その路線の存する市町村が行う」):
# the topic of a sentence is what comes before its first 「は、」, when that is short enough to be
# a noun phrase and not a whole clause.
TOPIC_MAX_CHARS = 60


def sentence_topics(text: str) -> list[str]:
    """The topic of each sentence of ``text`` that has one (「出生の届出は、十四日以内に…」 →
    「出生の届出」)."""
    topics = []
    for sentence in split_sentences(text):
        topic, marker, _ = sentence.partition("は、")
        if marker and topic and len(topic) <= TOPIC_MAX_CHARS:
            topics.append(topic)
    return topics


def _pieces(text: str) -> Iterator[str]:
    """Sudachi refuses very long inputs; feed it line by line in bounded pieces."""
    for line in text.split("\n"):
        for start in range(0, len(line), _MAX_SUDACHI_CHARS):
            piece = line[start : start + _MAX_SUDACHI_CHARS]
            if piece.strip():
                yield piece


class Analyzer:
    """Morphological analysis with SudachiPy (core dictionary).

    The dictionary is opened on first use, not at import. Sudachi tokenizers are not safe to
    share between threads, so each thread gets its own.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dictionary: Dictionary | None = None
        self._local = threading.local()
        self._known: dict[int | tuple[int, str], tuple[str, ...]] = {}

    def _tokenizer(self) -> Any:
        tokenizer = getattr(self._local, "tokenizer", None)
        if tokenizer is None:
            with self._lock:
                if self._dictionary is None:
                    self._dictionary = Dictionary(dict="core")
                tokenizer = self._dictionary.tokenizer(mode=SplitMode.C)
            self._local.tokenizer = tokenizer
        return tokenizer

    def words(
        self,
        text: str,
        *,
        drop_stop_words: bool = False,
        normalized: bool = False,
        morphemes: list[tuple[str, str, str]] | None = None,
        nouns: set[str] | None = None,
        subjects: list[tuple[str, ...]] | None = None,
        names: list[str] | None = None,
    ) -> list[str]:
        """Content words as Sudachi normalized forms; compounds also yield their short units.

        ``drop_stop_words`` removes question boilerplate (「教えてください」, 「誰」) and keeps a
        compound verb whole (受け付ける, not also 受ける and 付ける); it is meant for queries, and
        documents keep every content word so their lengths stay comparable.
        ``normalized``: ``text`` already went through ``normalize`` (analyzing it once more would
        add its era years twice). ``morphemes`` receives every morpheme of the same analysis as
        ``(surface, dictionary form, normalized form)``, particles included (「入ら」 →
        ``("入ら", "入る", "入る")``, 「たたい」 → ``("たたい", "たたく", "叩く")``). ``nouns``
        receives the terms of the nouns among them that say what rather than which year or how
        many (not 令和, 7, 年度, 件). ``subjects`` receives the terms of each
        common noun that the dictionary knows (「野球」, 「パソコン」; not names, typos, time
        words or counters): words that name what a question is about. ``names`` receives the
        names of products, systems and services (``_is_name``), and of people addressed by a
        title or an honorific (「田中課長」, 「佐藤さん」).
        """
        tokenizer = self._tokenizer()
        known = self._known
        terms: list[str] = []
        for piece in _pieces(text if normalized else normalize(text)):
            deputy = False  # the previous morpheme was the prefix 副
            person = ""  # the previous morpheme's term, when it was a person's name
            addressed = ""  # a person's name followed by a title or an honorific
            for morpheme in tokenizer.tokenize(piece):
                if morphemes is not None:
                    morphemes.append(
                        (
                            morpheme.surface(),
                            morpheme.dictionary_form(),
                            morpheme.normalized_form(),
                        )
                    )
                # A dictionary word always yields the same terms, and asking Sudachi for its
                # part of speech and split costs more than the lookup; a word outside the
                # dictionary is told apart by its surface too.
                word_id: int = morpheme.word_id()
                key = word_id if word_id < _FIRST_OOV_ID else (word_id, morpheme.surface())
                found = known.get(key)
                if found is None:
                    found = _terms_of(morpheme)
                    if len(known) >= _KNOWN_MORPHEMES:
                        known.clear()
                    known[key] = found
                if names is not None and (pos := morpheme.part_of_speech())[0] != "空白":
                    if addressed and morpheme.surface() in _ABOUT_PERSON:
                        names.append(addressed)
                    addressed = person if person and _addresses(pos, morpheme.surface()) else ""
                    person = found[0] if found and pos[1:3] == ("固有名詞", "人名") else ""
                if deputy:
                    deputy = False
                    if found and morpheme.part_of_speech()[0] == "名詞":
                        found = (_DEPUTY + found[0], *found[1:])
                    else:
                        terms.append(_DEPUTY)
                if found == (_DEPUTY,) and morpheme.part_of_speech()[0] == "接頭辞":
                    deputy = True
                    continue
                if not found or (drop_stop_words and found[0] in _STOP_WORDS):
                    continue
                if drop_stop_words and len(found) > 1 and morpheme.part_of_speech()[0] == "動詞":
                    found = found[:1]
                if nouns is not None or subjects is not None or names is not None:
                    pos, oov = morpheme.part_of_speech(), morpheme.is_oov()
                    if nouns is not None and _says_what(pos, morpheme.surface()):
                        nouns.update(found)
                    if subjects is not None and _is_subject(pos, oov):
                        subjects.append(found)
                    if names is not None and _is_name(pos, oov, morpheme.surface()):
                        names.append(found[0])
                terms.extend(found)
            if deputy:
                terms.append(_DEPUTY)
            if names is not None and addressed:  # 「田中課長」 alone
                names.append(addressed)
        return terms


# Common nouns that say when or how many rather than what (昨日, 毎年; 回, 件).
_NOT_SUBJECTS = frozenset({"副詞可能", "助数詞可能"})


# Nouns that say which year a question is about even though the dictionary lists them as names
# or things: a passage holding only 令和七年度 of 「令和7年度の予算」 holds nothing of what is
# asked.
_YEAR_NOUNS = frozenset(
    {"明治", "大正", "昭和", "平成", "令和", "年度", "今年度", "本年度", "来年度", "昨年度"}
    | {"前年度", "翌年度", "四半期", "上半期", "下半期"}
)


def _says_what(pos: Sequence[str], surface: str) -> bool:
    """Whether a morpheme is a noun that says what rather than which year or how many (a
    number, a counter, an era); 「何日」, 「以内」 and 「期限」 say what is asked of a passage."""
    return (
        pos[0] == "名詞"
        and pos[1] != "数詞"
        and pos[2] != "助数詞可能"
        and surface not in _YEAR_NOUNS
    )


def _is_subject(pos: Sequence[str], oov: bool) -> bool:
    """Whether a morpheme (its part of speech, and whether the dictionary lacks it) is a common
    noun of the dictionary that names a thing or a matter."""
    return pos[0] == "名詞" and pos[1] == "普通名詞" and pos[2] not in _NOT_SUBJECTS and not oov


def _is_name(pos: Sequence[str], oov: bool, surface: str) -> bool:
    """Whether a morpheme names a product, system or service (エクセル, Teams, LGWAN): a proper
    noun in katakana that is not a person's or a place's name, or a word in Latin letters that
    is a proper noun or unknown to the dictionary (OK, SNS and PDF are common nouns of it)."""
    if pos[0] != "名詞":
        return False
    if pos[1] == "固有名詞" and pos[2] == "一般" and _KATAKANA_WORD.fullmatch(surface):
        return True
    return (oov or pos[1] == "固有名詞") and _LATIN_WORD.fullmatch(surface) is not None


def _addresses(pos: Sequence[str], surface: str) -> bool:
    """Whether a morpheme after a person's name addresses them (さん, 様; 課長, 議員): the name
    is then someone's, not a word the dictionary happens to list as one (何川)."""
    return surface in _HONORIFICS or (
        pos[0] == "名詞" and (surface.endswith("長") or surface in _POSTS)
    )


_HONORIFICS = frozenset({"さん", "様", "さま", "氏", "君", "くん", "殿", "ちゃん"})
# What follows a person addressed when the question is about them (「田中課長の電話番号」,
# 「佐藤さんって誰」); not when they are who asks, is asked or is told about the question
# (「佐藤課長から質問です」, 「山田さん、住民票の写しについて」, 「佐藤さんが言うには」).
_ABOUT_PERSON = frozenset({"の", "って"})
_POSTS = frozenset({"議員", "先生", "主任", "主査", "主事", "係員", "職員", "委員", "担当"})
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]+")
_KATAKANA_WORD = re.compile(r"[ァ-ヺー]{2,}")


# A deputy holds an office of its own, which statutes treat in articles of its own (副市町村長,
# 副知事, 副議長): 副 and the title it precedes make one term, without the title alone, so a
# question about the mayor (市長, 市町村長) does not land on the deputy mayor's articles.
_DEPUTY = "副"


def _terms_of(morpheme: Any) -> tuple[str, ...]:
    """``()`` for a skipped part of speech, else the normalized form and its short units
    (none for a deputy's title, 副市長).

    A few dictionary words contain spaces (「World Wide Web」); a term never does, as the
    stores keep terms space-joined, so those words yield one term per space-separated part.
    """
    if morpheme.part_of_speech()[0] in _SKIP_POS:
        return ()
    parts = morpheme.split(SplitMode.A)
    terms: tuple[str, ...] = (morpheme.normalized_form(),)
    if len(parts) > 1 and parts[0].surface() == _DEPUTY:
        return terms
    if len(parts) > 1:
        terms += tuple(
            p.normalized_form()
            for p in parts
            if p.part_of_speech()[0] not in _SKIP_POS and len(p.surface()) > 1
        )
    if any(" " in t for t in terms):
        return tuple(word for t in terms for word in t.split())
    return terms
