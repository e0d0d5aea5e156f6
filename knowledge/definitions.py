"""Definitions: which passage defines a term, and which term a question asks to define.

Staff ask 「要配慮個人情報とは」, 「処分庁とは何ですか」; statutes define a term in a few fixed
forms — 「この法律において「要配慮個人情報」とは、…をいう。」, 「処分をした行政庁（以下「処分
庁」という。）」, 「…のための施設（これを公の施設という。）」 — and an encyclopedic article opens
with its subject: 「落語家（らくごか）は、落語を演じることを職業とする人。」. A passage that
defines a term gets the *definition key* ``"定義>要配慮個人情報"`` (in the ``refs`` field, beside
the citation keys), and a question of the form 「Xとは」 asks for the keys of X, so the defining
passage rises over the many that merely use the term.
"""

from __future__ import annotations

import re
import unicodedata

DEFINITION_PREFIX = "定義>"
# 「「X」とは、」, 「以下「X」という。」, 「これをXという。」, and a clause opening with
# 「Xとは」 or 「X（読み）とは」 (「楕円では、軌道長半径とは長軸方向の半径である。」).
_DEFINED = re.compile(
    r"「([^「」]{1,30})」とは|以下「([^「」]{1,30})」と(?:いう|総称する)"
    r"|これを([^、。「」()（）]{1,20})という"
    r"|(?:^|[、。\n])([^、。「」()（）\s]{1,20})(?:[(（][^)）]*[)）])?とは"
)
# 「Xとは」, 「Xって何」, 「Xの定義」: what is asked to be defined comes right before.
_ASKED = re.compile(r"(.+?)(?:とは|って(?:何|なに|どういう|どんな)|の定義)")
# The asked term is the end of what stands before 「とは」 (「地方自治法でいう公の施設とは」):
# every ending of at least this many and at most _LONGEST characters is asked for.
_SHORTEST = 2
_LONGEST = 20


def definition_key(term: str) -> str:
    """The index term of a passage that defines ``term`` (no spaces: terms are space-joined)."""
    return DEFINITION_PREFIX + "".join(unicodedata.normalize("NFKC", term).lower().split())


def definition_keys(text: str, title: str, first: bool) -> list[str]:
    """Definition keys of a passage: the terms it defines, and the document's title when the
    ``first`` passage of the document opens with it and its reading (「落語家（らくごか）は、」),
    as encyclopedic articles do."""
    terms = [next(t for t in match.groups() if t) for match in _DEFINED.finditer(text)]
    if first and title and _opens_with(text, title):
        terms.append(title)
    return list(dict.fromkeys(definition_key(t) for t in terms))


def _opens_with(text: str, title: str) -> bool:
    opening = text.lstrip()
    return opening.startswith(title) and opening[len(title) : len(title) + 1] in ("（", "(")


def asked_terms(question: str) -> list[str]:
    """The definition keys a question of the form 「Xとは」 asks for: every ending of X, so
    whatever stands before the term (「地方自治法でいう」) does not matter. Only the first line
    asks; lines under it (choices) are candidates."""
    first_line = unicodedata.normalize("NFKC", question).strip().partition("\n")[0]
    match = _ASKED.search(first_line)
    if not match:
        return []
    before = "".join(match[1].split())
    endings = [before[-n:] for n in range(_SHORTEST, min(len(before), _LONGEST) + 1)]
    return [definition_key(e) for e in endings]
