"""Offline (extractive) answers: the passages' most relevant sentences, each with its citation."""

from __future__ import annotations

import re
from dataclasses import dataclass

from knowledge.analysis import SENTENCE_ENDINGS, Analyzer, char_bigrams, split_sentences
from knowledge.documents import TABLE_CELL, Hit
from knowledge.lists import (
    PARENTHETICAL,
    introduces_list,
    is_item,
    is_label,
    is_numbered,
    keeps_list_open,
)
from knowledge.parsing.base import ARTICLE_LABEL
from knowledge.query import AnalyzedQuery
from knowledge.retrieval import Retrieved

MAX_ANSWER_CHARS = 600
MAX_SENTENCES = 4
MAX_PER_SOURCE = 2
# The best sentence of each of this many top sources is shown before any second sentence.
LEADING_SOURCES = 3
MAX_SENTENCE_CHARS = 320
SOURCES_CONSIDERED = 5
_DUPLICATE_OVERLAP = 0.8
# A list item quoted alone (「指定都市の市長以外の…選任した者」, 「住民票の写し」) does not say
# what it is an item of, so it is shown after the sentence that introduces the list,
# shortened to this many characters at most.
MAX_LEAD_CHARS = 120
# Markdown's list markup (「- 一　当該…」): an item is shown without it.
_MARKUP_BULLET = re.compile(r"^[-*•][ 　]+")
# A line that is an item by its bullet alone.
_BULLETED = re.compile(r"^(?:[-*•][ 　]+|・)")
_SENTENCE_OR_COLON = (*SENTENCE_ENDINGS, "：", ":")
# A proviso (「ただし、…この限りでない。」) limits the sentence before it and misleads alone
# (「投票所は、午前七時に開き、午後八時に閉じる。」 is the answer its proviso qualifies): the two
# are one unit, quoted together.
_PROVISO = ("ただし", "但し")
# A sentence made mostly of quotations (a 読替え provision: 「…中「A」とあるのは「B」と読み替
# える」) shares words with a question through the text it quotes, which says nothing on its
# own: its overlap counts QUOTED_WEIGHT, and it never leads its passage. A 読替え provision
# itself (「…読み替える」, 「…中「A」とあるのは、「B」とする」) is never quoted: it cannot be read
# without the article it rewrites.
QUOTED_SHARE = 0.5
QUOTED_WEIGHT = 0.5
_QUOTATION = re.compile(r"「[^「」]*」")
_READING_SUBSTITUTION = re.compile(r"」とあるのは、?「.*(?:読み替え|」とする)")
# A sentence stating the amount a question asks for (「十四日以内」 for 「何日以内」) is the
# answer more often than one sharing more of its words.
AMOUNT_BONUS = 0.3
# A question on how something changed (「人口の推移は」, 「年度別の増減」) is answered by a
# table's rows together: they are quoted in their order, up to this many, instead of the best
# row and those holding words it lacks.
MAX_TREND_ROWS = 8
# What stands for a parenthetical left out while outer ones are found.
_ELIDED = "\x00"
# A line that only labels an article (「第2条（住民票の写しの交付手数料）」, 「（趣旨）」), as a
# rule typed as text has them: the citation names the article, and a label says nothing.
_ARTICLE_LABEL = re.compile(rf"^(?:{ARTICLE_LABEL})?[ 　]*(?:[（(][^（()）。]{{1,40}}[）)])?$")


@dataclass(frozen=True)
class Quote:
    """One extracted sentence and the hit (by index into the hit list) it came from."""

    text: str
    hit_index: int


@dataclass(frozen=True)
class _Unit:
    """A sentence of a passage. A list item remembers the sentence that introduces its list
    (``lead``); that sentence remembers its items."""

    text: str
    lead: str = ""
    items: tuple[str, ...] = ()
    line: int = 0  # the passage line (paragraph) it stands on
    row: bool = False  # a table's row, with its column names

    @property
    def list_key(self) -> str:
        """The sentence introducing the list this unit belongs to, or ``""``."""
        return self.lead or (self.text if self.items else "")


def _shorten(sentence: str, limit: int) -> str:
    """``sentence`` within ``limit`` characters. A statute's long sentence is long mostly by its
    parentheticals (definitions, cross-references: 「転入（新たに…をいう。以下同じ。）をした者は」),
    so they are left out first, as 「（略）」, keeping the main clause whole; then the end is
    cut."""
    if len(sentence) <= limit:
        return sentence
    elided = sentence
    while (inner := PARENTHETICAL.sub(_ELIDED, elided)) != elided:
        elided = inner
    elided = elided.replace(_ELIDED, "（略）")
    if len(elided) <= limit:
        return elided
    return elided[: limit - 1] + "…"


# A row whose first cell is empty, as its line stripped reads (「| 4月 | 5月」: the header of a
# table whose top left corner is blank).
_EMPTY_FIRST_CELL = TABLE_CELL.lstrip()


def _cells(line: str) -> list[str]:
    """A table row's cells, the empty first one too when stripping the line cut its space."""
    if line.startswith(_EMPTY_FIRST_CELL):
        return ["", *line.removeprefix(_EMPTY_FIRST_CELL).split(TABLE_CELL)]
    return line.split(TABLE_CELL)


def _table_rows(lines: list[str]) -> list[str] | None:
    """The rows of a passage that is a pipe table with its header first (a group of
    spreadsheet rows, ``knowledge.parsing.tabular``), each as 「列名: 値、…」; else ``None``.
    A line of one cell above the header is the table's title (「令和8年度 歳出予算 単位：千円」),
    which every group repeats: it is not a row."""
    if lines and TABLE_CELL not in lines[0] and not lines[0].startswith(_EMPTY_FIRST_CELL):
        lines = lines[1:]
    header = _cells(lines[0]) if lines else []
    if len(header) < 2 or len(lines) < 2:
        return None
    rows = [_cells(line) for line in lines[1:]]
    if any(not 1 < len(cells) <= len(header) for cells in rows):
        return None  # prose, or a table without its header
    named = (zip(header, cells, strict=False) for cells in rows)  # trailing blanks are cut
    return ["、".join(f"{n}: {c}" if n else c for n, c in pairs if c) for pairs in named]


def passage_units(text: str) -> list[_Unit]:
    """The sentences of a passage in order. The lines of a list (after a sentence such as
    「次に掲げる者を構成員として加えることができる。」) are one unit each, tied to that sentence;
    so are the lines under a numbered label (「十　固定資産税」, a statute's table read out line
    by line) up to the next numbered line, tied to the label. A table's rows are one unit each,
    with the column names of its header."""
    filled = [line.strip() for line in text.split("\n") if line.strip()]
    if (rows := _table_rows(filled)) is not None:
        return [_Unit(row, line=number, row=True) for number, row in enumerate(rows, 1)]
    sentences: list[str] = []
    leads: list[int | None] = []  # per sentence, the index of its list's introducing sentence
    lines: list[int] = []
    items: dict[int, list[str]] = {}
    lead: int | None = None
    labelled = False  # whether the open list is what a numbered label names
    for number, line in enumerate(line.strip() for line in text.split("\n")):
        if not line or _ARTICLE_LABEL.match(line):
            continue
        if labelled and is_numbered(_MARKUP_BULLET.sub("", line)):
            # The next numbered line is the label's sibling, or nested in a way the passage
            # cannot tell (it may start in the middle of a table): never the label's item.
            lead, labelled = None, False
        if (
            lead is None
            and _BULLETED.match(line)
            and sentences
            and leads[-1] is None
            and (
                sentences[-1].endswith(_SENTENCE_OR_COLON)
                or not is_numbered(_MARKUP_BULLET.sub("", line))
            )
        ):
            # Bullets under a sentence list what it speaks of, whatever its words
            # (「次の手順に従ってください。」), and so do a guide's under a heading (「持ち物」).
            # Numbered ones under a line that is no sentence are rows of a statute's table read
            # out line by line, that line a cell of the row before (「…課税標準等の数値」 above
            # 「- 十　固定資産税」): as their lead it would read 「…数値：十　固定資産税」.
            lead = len(sentences) - 1
            items[lead] = []
        if lead is not None and is_item(line):
            item = _MARKUP_BULLET.sub("", line)
            sentences.append(item)
            leads.append(lead)
            lines.append(number)
            items[lead].append(item)
            continue
        for sentence in split_sentences(_MARKUP_BULLET.sub("", line)):
            if sentence.startswith(_PROVISO) and sentences and leads[-1] is None:
                sentences[-1] += sentence
                continue
            sentences.append(sentence)
            leads.append(None)
            lines.append(number)
        if introduces_list(sentences[-1]) or (lead is None and is_label(sentences[-1])):
            labelled = not introduces_list(sentences[-1])
            lead = len(sentences) - 1
            items[lead] = []
        elif lead is None or items[lead] or not keeps_list_open(sentences[-1]):
            lead = None
    return [
        _Unit(sentence, sentences[at] if at is not None else "", tuple(items.get(i, ())), line)
        for i, (sentence, at, line) in enumerate(zip(sentences, leads, lines, strict=True))
    ]


def _shown(units: list[_Unit]) -> str:
    """The text of one quote: a sentence, or a list as 「…加えることができる：A／B」 (all its
    items when the introducing sentence was chosen and they fit, else the chosen items)."""
    head = next((u for u in units if u.items), None)
    if head is None and not units[0].lead:
        return _shorten(units[0].text, MAX_SENTENCE_CHARS)
    lead = _shorten((head.text if head else units[0].lead).rstrip("。：: "), MAX_LEAD_CHARS)
    chosen = tuple(u.text for u in units if u.lead)
    whole = lead + "：" + "／".join(head.items) if head else ""
    if whole and (len(whole) <= MAX_SENTENCE_CHARS or not chosen):
        return _shorten(whole, MAX_SENTENCE_CHARS)
    return _shorten(lead + "：" + "／".join(chosen), MAX_SENTENCE_CHARS)


def _quoted_share(sentence: str) -> float:
    """Share of the sentence's characters inside (innermost) 「」 quotations."""
    return sum(len(m) for m in _QUOTATION.findall(sentence)) / max(len(sentence), 1)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def extract_quotes(
    query: AnalyzedQuery, hits: list[Hit], analyzer: Analyzer, *, from_start: bool = False
) -> list[Quote]:
    """Pick the sentences of the top hits that share most terms with the question.

    The best sentence of each of the first ``LEADING_SOURCES`` passages comes first, so the
    answer shows more than one source; then the best remaining sentences while the answer
    stays within ``MAX_ANSWER_CHARS``, at most ``MAX_PER_SOURCE`` per passage (a sentence mostly
    of quotations never leads: ``QUOTED_SHARE``; a 読替え provision is never quoted). Sentences
    are scored by word and bigram overlap with the question plus a small prior for
    better-ranked passages; near-duplicates are skipped; the quotes keep reading order (by
    passage rank, then position). ``from_start``: the passages' sentences in reading order
    instead, as many of each as fit (the articles a question only names).
    """
    qwords = set(query.words)
    qgrams = set(query.grams)
    n_words, n_grams = max(len(qwords), 1), max(len(qgrams), 1)
    scored: list[tuple[float, int, int, _Unit, set[str]]] = []
    quoted: set[tuple[int, int]] = set()
    asked: dict[tuple[int, int], set[str]] = {}  # the question's words each sentence holds
    for rank, hit in enumerate(hits[:SOURCES_CONSIDERED]):
        for position, unit in enumerate(passage_units(hit.chunk.text)):
            if _READING_SUBSTITUTION.search(unit.text):
                continue
            grams = set(char_bigrams(unit.text))
            words = set(analyzer.words(unit.text))
            asked[rank, position] = qwords & words
            overlap = len(qwords & words) / n_words + 0.5 * len(qgrams & grams) / n_grams
            if from_start:
                overlap = -position
            if query.amount is not None and query.amount.search(unit.text):
                overlap += AMOUNT_BONUS
            if _quoted_share(unit.text) > QUOTED_SHARE:
                overlap *= QUOTED_WEIGHT
                quoted.add((rank, position))
            score = overlap + 0.3 / (rank + 1) + (0.05 if position == 0 else 0.0)
            scored.append((score, rank, position, unit, grams))
    scored.sort(key=lambda s: (-s[0], s[1], s[2]))
    # A passage leads with its best sentence that is not mostly quotation.
    leading = [s for s in scored if (s[1], s[2]) not in quoted]
    leaders = [next(s for s in leading if s[1] == r) for r in sorted({s[1] for s in leading})]
    leaders = leaders[:LEADING_SOURCES]
    # Another row of a table is quoted only for words of the question its best row lacks
    # (「中央図書館と市民プールの…」): every row holds the column names, so the next best
    # (「燃やすごみ」 for 「粗大ごみの6月は」) is otherwise a row the question did not ask about.
    best_row: dict[int, int] = {}  # per passage, the position of its best row
    for _, rank, position, unit, _ in scored:  # best first
        if unit.row:
            best_row.setdefault(rank, position)
    # A question on a trend: the rows of the best passage that is a table, in their order.
    table = next((s[1] for s in leaders if s[3].row), None) if query.trend else None
    rows = sorted((s for s in scored if s[1] == table and s[3].row), key=lambda s: s[2])
    scored = rows + [
        s
        for s in scored
        if s[1] != table and (not s[3].row or _asked_anew(s[1], s[2], best_row, asked))
    ]
    chosen: list[tuple[int, int, _Unit, set[str]]] = []
    per_source: dict[int, int] = {}
    most_per_source = MAX_SENTENCES if from_start else MAX_PER_SOURCE
    most = MAX_SENTENCES if table is None else MAX_TREND_ROWS
    used = 0
    for number, (_score, rank, position, unit, grams) in enumerate(leaders + scored):
        if len(chosen) >= most:
            break
        shown = len(_shown([unit]))
        # The leaders are always shown (the best passages' sentences); the rest as room allows.
        if number >= len(leaders) and used + shown > MAX_ANSWER_CHARS:
            continue
        if per_source.get(rank, 0) >= (MAX_TREND_ROWS if rank == table else most_per_source):
            continue
        if any(_jaccard(grams, g) >= _DUPLICATE_OVERLAP for _, _, _, g in chosen):
            continue
        chosen.append((rank, position, unit, grams))
        per_source[rank] = per_source.get(rank, 0) + 1
        used += shown
    chosen.sort(key=lambda c: (c[0], c[1]))
    # What one passage's list contributes is shown as one quote, and so are sentences that
    # follow one another in a paragraph (「…漏らしてはならない。」「その職を退いた後も、また、
    # 同様とする。」 read as one).
    groups: list[tuple[int, list[_Unit]]] = []
    previous = (-1, -1)  # (rank, position) of the last chosen unit
    for rank, position, unit, _ in chosen:
        units = groups[-1][1] if groups and groups[-1][0] == rank else None
        last = units[-1] if units else None
        if units and unit.list_key and units[0].list_key == unit.list_key:
            units.append(unit)
        elif (
            units
            and last is not None
            and not unit.list_key
            and not last.list_key
            and previous == (rank, position - 1)
            and last.line == unit.line  # one paragraph, not a heading and its text
            and len(last.text + unit.text) <= MAX_SENTENCE_CHARS
        ):
            units[-1] = _Unit(last.text + unit.text, line=unit.line)
        else:
            groups.append((rank, [unit]))
        previous = (rank, position)
    return [Quote(text=_shown(units), hit_index=rank) for rank, units in groups]


def _asked_anew(
    rank: int, position: int, best_row: dict[int, int], asked: dict[tuple[int, int], set[str]]
) -> bool:
    """Whether a table's row is its passage's best row, or holds words of the question that
    the best row does not."""
    best = best_row[rank]
    return position == best or bool(asked[rank, position] - asked[rank, best])


EXTRACTIVE_INTRO = "資料の該当箇所を抜粋しました（AIによる文章生成は行っていません）。"


@dataclass(frozen=True)
class ExtractiveAnswer:
    """Answer text with ``[n]`` markers and the hits cited, ``sources[n-1]`` for marker n."""

    text: str
    sources: tuple[Hit, ...]


def answer_from(retrieved: Retrieved, analyzer: Analyzer) -> ExtractiveAnswer:
    """The offline answer to a question: its quotable passages' best sentences, or the
    articles it only names (「地方自治法第242条」) quoted from their beginning."""
    if named := retrieved.named_hits:
        return compose_extractive_answer(retrieved.query, list(named), analyzer, from_start=True)
    return compose_extractive_answer(retrieved.query, retrieved.quotable, analyzer)


def compose_extractive_answer(
    query: AnalyzedQuery, hits: list[Hit], analyzer: Analyzer, *, from_start: bool = False
) -> ExtractiveAnswer:
    """The offline answer: quoted sentences, each followed by the number of its source
    (``from_start``: see ``extract_quotes``)."""
    numbers: dict[str, int] = {}
    sources: list[Hit] = []
    lines: list[str] = []
    for quote in extract_quotes(query, hits, analyzer, from_start=from_start):
        hit = hits[quote.hit_index]
        n = numbers.get(hit.meta.doc_id)
        if n is None:
            n = numbers[hit.meta.doc_id] = len(numbers) + 1
            sources.append(hit)
        lines.append(f"・{quote.text.removeprefix('・')} [{n}]")
    return ExtractiveAnswer(
        text=EXTRACTIVE_INTRO + "\n\n" + "\n".join(lines), sources=tuple(sources)
    )
