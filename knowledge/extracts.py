"""Offline summaries of a document: its lead sentence and its most central ones, in order."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from knowledge.analysis import char_bigrams, split_sentences
from knowledge.documents import TABLE_CELL
from knowledge.summaries import clip_summary

_MIN_SENTENCE_CHARS = 8
_HEADER_CELL_CHARS = 25
_MAX_SENTENCE_CHARS = 200
_DUPLICATE_OVERLAP = 0.6
# A sentence ends with its full stop, possibly inside closing brackets (「…という。）」);
# 「出席議員（20名）」 or a speaker's line in minutes, 「○議長（山田太郎君）」, does not.
_SENTENCE_END = re.compile(r"[。！？!?][」』）)]*$")


# An entry of a table of contents: 「第2章 基本構想 ・・・・・・ 5」.
_CONTENTS_ENTRY = re.compile(r"(?:[・･.．…‥][ 　]*){3,}[0-9０-９]+[ 　]*$")


def _is_heading(sentence: str, title: str) -> bool:
    """A title, heading, date line, table header, speaker's name or an entry of the 目次: not
    summary material."""
    bare = sentence.strip()
    if bare == title.strip() or _CONTENTS_ENTRY.search(bare):
        return True
    return not _SENTENCE_END.search(bare) and len(bare) < 30


# A sentence that leans on the one before it: a statute's 「前項の…」, 「同条の…」, 「前各号…」,
# 「この場合において、…」, a proviso 「ただし、…」, and an item of a list 「一　…」, 「イ　…」.
_REFERS_BACK = re.compile(
    r"^\s*(?:[0-9０-９一二三四五六七八九十]+\s*)?"
    r"(?:(?:前|同)[各二三四五]*(?:項|条|号)|この場合|ただし)"
    r"|^\s*(?:[一二三四五六七八九十]+|[イロハニホヘトチリヌルヲ])[\s　]"
)
# A sentence that only announces the list after it: 「…とは、次に掲げるものをいう。」 says
# nothing without its items.
_POINTS_AHEAD = re.compile(r"次(?:に掲げる|の各号|のいずれか|のとおり)")


def extractive_summary(title: str, sentences_by_chunk: Sequence[str], max_chars: int = 400) -> str:
    """Offline summary: the lead sentence plus the most central sentences, in original order.

    ``sentences_by_chunk`` are the document's chunk texts in order. The lead is the first real
    sentence (headings and the title itself are skipped). Centrality is the character-bigram
    overlap of a sentence with all the others, per bigram of the sentence: summing document
    frequencies gives exactly the pairwise overlaps in linear time. Near-duplicates are skipped
    and the result stays within ``max_chars``. A table's rows (「総務費 | 3,210,000」) are
    material however short, and each run of them is shown under its header row.
    """
    sentences: list[str] = []
    headers: list[str] = []  # the header row of a table row's chunk, else ""
    for chunk in sentences_by_chunk:
        header: str | None = None  # the header of the table being read; None between tables
        for line in chunk.splitlines():
            row = TABLE_CELL in line
            if not row:
                header = None
            elif header is None:
                header = line.strip() if _heads_columns(line) else ""
            for sentence in split_sentences(line):
                # A row under its header is material however short (「中央公民館 | 200」).
                under = (header or "") if row and header != sentence else ""
                if len(sentence) >= _MIN_SENTENCE_CHARS and (
                    under or not _is_heading(sentence, title)
                ):
                    sentences.append(sentence)
                    headers.append(under)
    if not sentences:
        return ""
    grams = [set(char_bigrams(s)) for s in sentences]
    frequency: Counter[str] = Counter(g for gs in grams for g in gs)
    title_grams = set(char_bigrams(title))
    scores = []
    for index, gs in enumerate(grams):
        overlap = sum(frequency[g] - 1 for g in gs) / max(1, len(gs))
        scores.append(overlap + 0.5 * len(gs & title_grams) / max(1, len(title_grams)))
        if len(sentences[index]) > _MAX_SENTENCE_CHARS:
            scores[index] *= 0.5  # long sentences are costly and rarely summary material
    chosen = [0]
    shown = {headers[0]}  # the headers the rows chosen so far are shown under
    used = len(headers[0]) + len(sentences[0])
    if used > max_chars:
        return clip_summary(sentences[0], max_chars)
    for index in sorted(range(1, len(sentences)), key=lambda i: (-scores[i], i)):
        length = len(sentences[index]) + 1  # 1: a line break, when it needs one
        header = headers[index]
        length += len(header) + 1 if header not in shown else 0
        if used + length > max_chars:
            continue
        if any(
            len(grams[index] & grams[c]) / max(1, len(grams[index] | grams[c]))
            >= _DUPLICATE_OVERLAP
            for c in chosen
        ):
            continue
        if _REFERS_BACK.match(sentences[index]) and index - 1 not in chosen:
            # 「前項の規定による…」 after another paragraph would read as about that one.
            continue
        if _POINTS_AHEAD.search(sentences[index]):
            continue
        chosen.append(index)
        shown.add(header)
        used += length
    return _joined(_under_headers([(headers[i], sentences[i]) for i in sorted(chosen)]))


def _under_headers(rows: list[tuple[str, str]]) -> list[str]:
    """The sentences, a table's rows after the header of their columns (「款 | 予算額」) once
    for each run of rows under it: a row of figures alone does not say what they are."""
    lines: list[str] = []
    above = ""
    for header, sentence in rows:
        if header and header != above:
            lines.append(header)
        above = header or sentence  # a header chosen for itself heads the rows after it
        lines.append(sentence)
    return lines


def _heads_columns(line: str) -> bool:
    """Whether the first row of a table names its columns (「款 | 予算額 令和8年度」), not
    data: short cells, no sentence (a statute's 別表 starts with its first item)."""
    cells = line.split(TABLE_CELL)
    return "。" not in line and all(len(cell.strip()) <= _HEADER_CELL_CHARS for cell in cells)


def _joined(sentences: list[str]) -> str:
    """Sentences run on; a line that ends without a full stop (a table row, a list entry)
    keeps its line break, so it is not glued to the next (「主な事業議会費」)."""
    return "".join(
        s if _SENTENCE_END.search(s) or n == len(sentences) else f"{s}\n"
        for n, s in enumerate(sentences, 1)
    )
