"""Numbers as Excel shows them under a cell's number format (「0.0%」, 「#,##0"円"」,
「#,##0;△#,##0」), so that an answer quotes 「85.3%」 where the sheet shows it, not 「0.853」.

Only the formats that tables of figures use are rendered: digits, thousands separators,
fixed or optional decimals, percent, thousands scaling (「#,##0,」 for 千円), literal text and
currency symbols around the number, colours, and sections for negatives and zero. Dates are
read as dates by openpyxl already; anything else (fractions, scientific notation, conditions,
text placeholders, literals between digits such as 「000-0000」) is left to the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

# Colours in English and as the Japanese UI writes them (「[赤]」), and 「[Color10]」, 「[色10]」.
_COLOUR = re.compile(
    r"black|blue|cyan|green|magenta|red|white|yellow|黒|青|水|緑|紫|赤|白|黄|(?:color|色)\d+",
    re.IGNORECASE,
)
# One piece of a section: a quoted or escaped literal, a bracket, padding or fill (the
# character after 「_」 or 「*」 only takes up room), or a single character.
_TOKEN = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|[_*].|.', re.DOTALL)
_PLACEHOLDERS = frozenset("0#?")
# Letters are date and time codes, 「E」 scientific notation, 「@」 text, 「/」 a fraction.
_UNSUPPORTED = re.compile(r"[A-Za-z@/]")


@dataclass(frozen=True)
class _Section:
    prefix: str
    suffix: str
    digits: bool  # False for a section of literals only (「"-"」 for zero)
    min_integers: int  # 「0」s before the point: 「000」 pads to three digits
    grouped: bool  # 「#,##0」
    point: bool  # the format shows a decimal point
    decimals: int  # placeholders after the point
    min_decimals: int  # of them 「0」s: shown even when zero
    scale: int  # a power of ten: +2 per 「%」, -3 per comma after the last digit


def _literal(token: str) -> str | None:
    """The text a non-digit token shows, or None when the section is beyond this reader."""
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1]
    if token[0] in "_*" and len(token) == 2:
        return ""
    if token.startswith("["):
        inner = token[1:-1]
        if _COLOUR.fullmatch(inner):
            return ""
        if inner.startswith("$"):  # 「[$¥-411]」: a currency symbol and its locale
            return inner[1:].split("-", 1)[0]
        return None  # conditions (「[>=1000]」), 「[DBNum1]」, elapsed time
    return None if _UNSUPPORTED.match(token) else token


def _section(code: str) -> _Section | None:
    prefix: list[str] = []
    suffix: list[str] = []
    integer: list[str] = []  # placeholders and commas before the point
    fraction: list[str] = []
    point = False
    scale = 0
    for token in _TOKEN.findall(code):
        if token in _PLACEHOLDERS or (token == "," and integer and not point):
            if suffix:
                return None  # a literal between digits (「000-0000」)
            (fraction if point else integer).append(token)
        elif token == "." and not point and not suffix:
            point = True
        elif (text := _literal(token)) is None:
            return None
        else:
            scale += 2 * token.count("%") if not token.startswith(('"', "\\")) else 0
            (suffix if integer or fraction or point else prefix).append(text)
    trailing = len(integer) - len("".join(integer).rstrip(","))
    body = "".join(integer[: len(integer) - trailing])
    if "," in "".join(fraction):
        return None
    return _Section(
        prefix="".join(prefix),
        suffix="".join(suffix),
        digits=bool(integer or fraction),
        min_integers=body.count("0"),
        grouped="," in body,
        point=point,
        decimals=len(fraction),
        min_decimals=len(fraction) - len("".join(fraction).lstrip("0")),
        scale=scale - 3 * trailing,
    )


def _split(number_format: str) -> list[str]:
    """The sections between 「;」 outside quotes and brackets."""
    sections = [""]
    for token in _TOKEN.findall(number_format):
        if token == ";":
            sections.append("")
        else:
            sections[-1] += token
    return sections


@lru_cache(maxsize=256)
def _compiled(number_format: str) -> tuple[_Section | None, ...] | None:
    codes = _split(number_format)
    if len(codes) > 4:
        return None
    # The fourth section formats text, not numbers.
    sections = tuple(_section(code) if code else None for code in codes[:3])
    if any(s is None and code for s, code in zip(sections, codes, strict=False)):
        return None
    return sections


def _digits(section: _Section, magnitude: int | float) -> str:
    if isinstance(magnitude, int) and section.scale >= 0:
        whole, fraction = magnitude * 10**section.scale, ""
    else:
        # Rounded half away from zero on the decimal the cell holds, as Excel does
        # (2.675 under 「0.00」 is 2.68, though the float is a hair below it).
        rounded = (
            Decimal(repr(magnitude))
            .scaleb(section.scale)
            .quantize(Decimal(1).scaleb(-section.decimals), rounding=ROUND_HALF_UP)
        )
        whole_text, _, fraction = f"{rounded:f}".partition(".")
        whole = int(whole_text)
        keep = section.min_decimals
        fraction = fraction[:keep] + fraction[keep:].rstrip("0")
    fraction = fraction.ljust(section.min_decimals, "0")
    integer = (f"{whole:,}" if section.grouped else str(whole)) if whole else ""
    return integer.zfill(section.min_integers) + ("." + fraction if section.point else "")


def general(value: int | float) -> str:
    """A number under 「General」 (標準): whole numbers without 「.0」, others to the 15
    significant digits Excel keeps (0.1+0.2 is 「0.3」, not 「0.30000000000000004」)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = f"{value:.15g}" if isinstance(value, float) else str(value)
    return str(value) if "e" in text else text


def displayed(value: int | float, number_format: str) -> str | None:
    """``value`` as Excel shows it under ``number_format``; None for a format this module
    does not render (the caller then shows the value plainly)."""
    if number_format.lower() in ("general", "", "@"):
        return general(value)
    sections = _compiled(number_format)
    if sections is None:
        return None
    if value < 0 and len(sections) > 1:
        chosen, sign = sections[1], ""  # the section writes its own sign (「△」, 「(…)」)
    elif value == 0 and len(sections) > 2:
        chosen, sign = sections[2], ""
    else:
        chosen, sign = sections[0], "-" if value < 0 else ""
    if chosen is None:
        return ""  # an empty section (「#,##0;;」) hides the value
    number = _digits(chosen, abs(value)) if chosen.digits else ""
    return (sign + chosen.prefix + number + chosen.suffix).strip()
