"""Kanji numerals and references to statute articles (第二百四十二条の二第一項).

Article keys are the canonical form used across Baibain to match a question's article
reference with a parsed statute: the article number and its branch numbers joined by ``-``
(「第二百四十二条の二」 → ``"242-2"``), the e-Gov ``Article/@Num`` attribute with ``_`` replaced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = {
    "〇": 0, "零": 0, "一": 1, "壱": 1, "二": 2, "弐": 2, "三": 3, "参": 3, "四": 4,
    "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip
_SMALL_UNITS = {"十": 10, "拾": 10, "百": 100, "千": 1000}
_LARGE_UNITS = {"万": 10**4, "億": 10**8, "兆": 10**12}
_KANJI_DIGITS = "〇一二三四五六七八九"
# Full-width digits map one-to-one onto ASCII digits, so spans stay valid after translation.
_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")

# A number as written in statutes and questions: ASCII digits or kanji numerals.
NUMERAL = r"[0-9〇零一二三四五六七八九十百千万]+"
_ARTICLE_RE = re.compile(
    rf"(?P<prefix>第\s*)?(?P<article>{NUMERAL})\s*[条條](?![件例約文理])"
    rf"(?P<branches>(?:\s*の\s*{NUMERAL})*)"
    rf"(?:\s*第\s*(?P<paragraph>{NUMERAL})\s*項)?"
    rf"(?:\s*第\s*(?P<item>{NUMERAL})\s*号)?"
)
_BRANCH_RE = re.compile(NUMERAL)


@dataclass(frozen=True)
class ArticleRef:
    """An article reference found in text.

    ``article`` is the canonical key (``"242-2"``); ``paragraph`` (項) and ``item`` (号) are the
    numbers when the reference names them; ``span`` is ``(start, end)`` in the searched text.
    """

    article: str
    paragraph: int | None
    item: int | None
    span: tuple[int, int]


def kanji_to_int(text: str) -> int:
    """The value of a number written in kanji, digits or a mix of both.

    Accepts positional kanji (「二〇二六」), unit notation (「二百四十二」, 「十」), large units
    (「三万五千」), digits mixed with units (「1万2千」), full-width digits and thousands
    separators. Raises ``ValueError`` when ``text`` is not a number.
    """
    cleaned = text.strip().translate(_FULLWIDTH_DIGITS).replace(",", "").replace("，", "")
    if not cleaned:
        raise ValueError(f"not a number: {text!r}")
    total = 0  # value of the completed 万/億/兆 groups
    group = 0  # value below the current large unit
    current: int | None = None  # digits read since the last unit
    for char in cleaned:
        if char.isascii() and char.isdigit():
            current = (current or 0) * 10 + int(char)
        elif char in _DIGITS:
            current = (current or 0) * 10 + _DIGITS[char]
        elif char in _SMALL_UNITS:
            group += (1 if current is None else current) * _SMALL_UNITS[char]
            current = None
        elif char in _LARGE_UNITS:
            group += current or 0
            total += (group or 1) * _LARGE_UNITS[char]
            group, current = 0, None
        else:
            raise ValueError(f"not a number: {text!r}")
    return total + group + (current or 0)


def int_to_kanji(number: int) -> str:
    """Kanji numeral in the style of e-Gov article titles: 242 → 「二百四十二」, 10 → 「十」."""
    if number < 0:
        raise ValueError(f"negative number: {number}")
    if number == 0:
        return "〇"
    parts: list[str] = []
    for unit_value, unit in ((10**12, "兆"), (10**8, "億"), (10**4, "万"), (1, "")):
        group, number = divmod(number, unit_value)
        if group:
            parts.append(_below_10000(group) + unit)
    return "".join(parts)


def _below_10000(number: int) -> str:
    out: list[str] = []
    for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十")):
        digit, number = divmod(number, unit_value)
        if digit:
            out.append(("" if digit == 1 else _KANJI_DIGITS[digit]) + unit)
    if number:
        out.append(_KANJI_DIGITS[number])
    return "".join(out)


def _article_key(article: str, branches: str) -> str:
    numbers = [kanji_to_int(article)]
    numbers += [kanji_to_int(n) for n in _BRANCH_RE.findall(branches)]
    return "-".join(str(n) for n in numbers)


def normalize_article_ref(text: str) -> str | None:
    """Canonical key of an article reference, or ``None`` when ``text`` is not one.

    「第二百四十二条の二」, 「242条の2」 and 「第２４２条の２」 all give ``"242-2"``;
    「第十条」 gives ``"10"``. A trailing 第N項 / 第N号 is allowed and ignored. The whole
    text must be the reference.
    """
    candidate = text.strip().translate(_FULLWIDTH_DIGITS)
    match = _ARTICLE_RE.fullmatch(candidate)
    if match is None:
        return None
    return _article_key(match["article"], match["branches"])


def find_article_refs(text: str) -> list[ArticleRef]:
    """Every article reference in ``text``, in order, with its 項 and 号 when given.

    「地方自治法第二百四十二条第一項の規定により」 yields
    ``ArticleRef(article="242", paragraph=1, item=None, span=(5, 15))``. References without an
    article number (「同条」, 「前条第二項」) are not returned.
    """
    found: list[ArticleRef] = []
    for match in _ARTICLE_RE.finditer(text.translate(_FULLWIDTH_DIGITS)):
        paragraph = match["paragraph"]
        item = match["item"]
        found.append(
            ArticleRef(
                article=_article_key(match["article"], match["branches"]),
                paragraph=kanji_to_int(paragraph) if paragraph else None,
                item=kanji_to_int(item) if item else None,
                span=match.span(),
            )
        )
    return found


def article_label(key: str) -> str:
    """The e-Gov article title for a key: ``"242-2"`` → 「第二百四十二条の二」.

    Raises ``ValueError`` when ``key`` is not a canonical article key.
    """
    parts = key.split("-")
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise ValueError(f"not an article key: {key!r}")
    numbers = [int_to_kanji(int(part)) for part in parts]
    return "第" + numbers[0] + "条" + "".join("の" + n for n in numbers[1:])
