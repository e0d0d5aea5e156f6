"""Everyday words → the vocabulary of statutes, from the data file ``data/thesaurus.tsv``.

Staff type 副市長, 避難所, 火事, 引っ越し; statutes say 副市町村長, 指定避難所, 火災, 転入.
The thesaurus adds the statutory words to the question with a lower weight than the words
the user typed.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from functools import lru_cache

from knowledge.data import tsv_pairs


@lru_cache(maxsize=1)
def load_thesaurus() -> dict[str, tuple[str, ...]]:
    """Word → expansions, from the bundled data file."""
    table: dict[str, tuple[str, ...]] = {}
    for word, expansions in tsv_pairs("thesaurus.tsv"):
        words = tuple(e.strip() for e in expansions.split(",") if e.strip())
        if words:
            # Questions are matched lowercased (``analysis.normalize``): 「NPO役員」 → npo役員.
            key = unicodedata.normalize("NFKC", word).lower()
            table[key] = tuple(dict.fromkeys(table.get(key, ()) + words))
    return table


def expansions_for(morphemes: Sequence[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """The statutory expansions of every thesaurus word in a question, as ``(thesaurus word,
    expansion)`` pairs.

    ``morphemes`` are the question's ``(surface, dictionary form, normalized form)`` triples. A
    word matches a run of whole morphemes, the last one also in its dictionary or normalized
    form (「書かれます」 matches 書かれる, 「入らなければ」 matches 入る, 「たたいて」 matches 叩く,
    「こども」 matches 子供); so 国 does not match inside 国民年金 and 市長 does not match inside
    副市長.
    """
    table = load_thesaurus()
    prefixes = _prefixes()
    found: list[tuple[str, str]] = []
    for start in range(len(morphemes)):
        prefix = ""
        for surface, lemma, normalized in morphemes[start:]:
            forms = (surface, lemma.lower(), normalized.lower())
            for candidate in dict.fromkeys(prefix + form for form in forms):
                for expansion in table.get(candidate, ()):
                    if (candidate, expansion) not in found:
                        found.append((candidate, expansion))
            prefix += surface
            if prefix not in prefixes:
                break  # no word of the thesaurus starts like this
    return found


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    """Every proper prefix of every thesaurus word."""
    return frozenset(w[:i] for w in load_thesaurus() for i in range(1, len(w)))
