"""Word's automatic numbering: the label a numbered paragraph shows (「1.」, 「(2)」, 「第3条」,
「④」, 「イ」, 「・」), which its text does not hold.

A rule whose articles Word numbers itself is cut by article only when 「第3条」 is in the text,
and the steps of a procedure are asked for by their numbers. Counting follows one list (a
``w:num``) through the document, a level restarting below a higher one; the number format
and label come from the list's level (``w:lvl``) in the numbering part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from docx.document import Document as WordDocument
from docx.oxml.xmlchemy import BaseOxmlElement

from knowledge.numerals import int_to_kanji

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_VAL = _W + "val"
_AIUEO = (
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
)
_IROHA = (
    "イロハニホヘトチリヌルヲワカヨタレソツネナラムウヰノオクヤマケフコエテアサキユメミシヱヒモセス"
)
_LABEL_FIELD = re.compile(r"%([1-9])")


@dataclass(frozen=True)
class _Level:
    start: int
    format: str
    text: str
    space: str


def _number(value: int, number_format: str) -> str:
    """``value`` in a Word number format (``w:numFmt``)."""
    if number_format in ("decimalFullWidth", "decimalFullWidth2"):
        return str(value).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    if number_format.startswith("decimalEnclosedCircle") and 1 <= value <= 20:
        return chr(0x2460 + value - 1)  # ①
    if number_format == "decimalEnclosedParen" and 1 <= value <= 20:
        return chr(0x2474 + value - 1)  # ⑴
    if number_format in ("aiueoFullWidth", "aiueo", "irohaFullWidth", "iroha"):
        # Half-width forms (ｱ) are read as the full-width ones they stand for.
        letters = _AIUEO if number_format.startswith("aiueo") else _IROHA
        return letters[(value - 1) % len(letters)]
    if number_format in ("japaneseCounting", "ideographTraditional", "chineseCounting"):
        return int_to_kanji(value) if value >= 0 else str(value)  # a list started below 0
    if number_format in ("upperLetter", "lowerLetter") and value >= 1:
        letter = chr(ord("A") + (value - 1) % 26)
        return letter if number_format == "upperLetter" else letter.lower()
    if number_format in ("upperRoman", "lowerRoman") and 1 <= value < 4000:
        roman = _roman(value)
        return roman if number_format == "upperRoman" else roman.lower()
    if number_format == "none":
        return ""
    return str(value)


_ROMAN = (
    (1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"),
    (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I"),
)  # fmt: skip


def _roman(value: int) -> str:
    digits: list[str] = []
    for size, letters in _ROMAN:
        count, value = divmod(value, size)
        digits.append(letters * count)
    return "".join(digits)


def _int(element: BaseOxmlElement | None, default: int) -> int:
    raw = element.get(_VAL) if element is not None else None
    return int(raw) if raw is not None and raw.lstrip("-").isdigit() else default


class Numbering:
    """The labels of one document's numbered paragraphs, counted in reading order."""

    def __init__(self, document: WordDocument) -> None:
        self._lists: dict[str, dict[int, _Level]] = {}
        self._counts: dict[str, dict[int, int]] = {}
        self._styles: dict[str, BaseOxmlElement] = {}
        try:
            numbering = document.part.numbering_part.element
        except (KeyError, NotImplementedError):  # a document without numbered paragraphs
            return
        abstract = {
            a.get(_W + "abstractNumId"): a for a in numbering.iterchildren(_W + "abstractNum")
        }
        for num in numbering.iterchildren(_W + "num"):
            source = abstract.get(_child_val(num, "abstractNumId"))
            if source is not None:
                self._lists[num.get(_W + "numId", "")] = _levels(source, num)
        self._styles = {
            style.get(_W + "styleId", ""): style
            for style in document.styles.element.iterchildren(_W + "style")
        }

    def _reference(self, paragraph: BaseOxmlElement) -> tuple[str, int] | None:
        """The list and level of a paragraph, set on it or on its style (or one that style
        is based on)."""
        properties = paragraph.find(_W + "pPr")
        style_id = _child_val(properties, "pStyle") if properties is not None else ""
        seen: set[str] = set()
        while True:
            numbered = properties.find(_W + "numPr") if properties is not None else None
            if numbered is not None and (num_id := _child_val(numbered, "numId")):
                return num_id, _int(numbered.find(_W + "ilvl"), 0)
            style = self._styles.get(style_id) if style_id not in seen else None
            if style is None:
                return None
            seen.add(style_id)
            properties = style.find(_W + "pPr")
            style_id = _child_val(style, "basedOn")

    def label(self, paragraph: BaseOxmlElement) -> str:
        """The label a paragraph shows before its text, with the space after it, or ``""``;
        counts it."""
        if not self._lists:
            return ""
        reference = self._reference(paragraph)
        if reference is None:
            return ""
        num_id, level = reference
        levels = self._lists.get(num_id, {})
        shown = levels.get(level)
        if shown is None:
            return ""
        counts = self._counts.setdefault(num_id, {})
        counts[level] = counts.get(level, shown.start - 1) + 1
        for deeper in [n for n in counts if n > level]:
            del counts[deeper]
        if shown.format == "bullet":
            return "・"

        def field(found: re.Match[str]) -> str:
            at = int(found[1]) - 1
            other = levels.get(at)
            if other is None:
                return ""
            return _number(counts.get(at, other.start), other.format)

        text = _LABEL_FIELD.sub(field, shown.text)
        return f"{text}{shown.space}" if text else ""


def _child_val(element: BaseOxmlElement, tag: str) -> str:
    child = element.find(_W + tag)
    return (child.get(_VAL) or "") if child is not None else ""


def _levels(abstract: BaseOxmlElement, num: BaseOxmlElement) -> dict[int, _Level]:
    starts = {
        int(override.get(_W + "ilvl", "0")): _int(override.find(_W + "startOverride"), -1)
        for override in num.iterchildren(_W + "lvlOverride")
    }
    levels: dict[int, _Level] = {}
    for lvl in abstract.iterchildren(_W + "lvl"):
        index = int(lvl.get(_W + "ilvl", "0"))
        start = starts.get(index, -1)
        suffix = _child_val(lvl, "suff") or "tab"
        levels[index] = _Level(
            start=start if start >= 0 else _int(lvl.find(_W + "start"), 1),
            format=_child_val(lvl, "numFmt") or "decimal",
            text=_child_val(lvl, "lvlText"),
            space="" if suffix == "nothing" else " ",
        )
    return levels
