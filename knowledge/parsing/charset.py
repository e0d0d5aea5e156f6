"""The character set of a text file or page: the one it names (BOM, ``<meta charset>``), else
UTF-8, Shift_JIS or EUC-JP as its bytes decode."""

from __future__ import annotations

import codecs
import re
from functools import cache

from bs4.dammit import EncodingDetector

from knowledge.errors import BadDocument

# Python codecs of the character set labels a Japanese text is declared in: every Shift_JIS
# label means Windows-31J (CP932) to browsers (WHATWG Encoding), whose NEC and IBM characters
# (①, Ⅱ, ㈱, 髙) Python's shift_jis codec stops at.
JAPANESE_CODECS = {
    **dict.fromkeys(
        (
            "shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis",
            "windows-31j", "cp932", "ms932",
        ),
        "cp932",
    ),
    **dict.fromkeys(("euc-jp", "eucjp", "x-euc-jp"), "euc_jp"),
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp"), "iso2022_jp"),
}  # fmt: skip
_BOMS = {codecs.BOM_UTF8: "utf-8", codecs.BOM_UTF16_LE: "utf-16", codecs.BOM_UTF16_BE: "utf-16"}


def declared_encoding(data: bytes, *, html: bool) -> str | None:
    """The character set a text names itself, lower-case: its byte order mark's, or for an
    HTML page the ``<meta charset>`` (or XML declaration) near its start; ``None`` when it
    names none and its reader has to tell."""
    bom = next((name for bom, name in _BOMS.items() if data.startswith(bom)), None)
    if bom is not None or not html:
        return bom
    return EncodingDetector.find_declared_encoding(data, is_html=True)


_NOT_SJIS = re.compile("[\x80-\x9f\uf8f0-\uf8f3]")


@cache
def _common_characters() -> frozenset[str]:
    """What Japanese text is mostly made of, as CP932 and EUC-JP decode it: JIS X 0208's
    rows 1-5 (punctuation, full-width letters, kana) and its level-1 kanji, and half-width
    katakana letters. A text read in the wrong one of the two turns into others: EUC-JP read
    as CP932 into half-width 「､」 「･」 and level-2 kanji, Shift_JIS read as EUC-JP into
    rare kanji."""
    leads = [*range(0xA1, 0xA6), *range(0xB0, 0xD0)]
    found = {chr(code) for code in range(0xFF66, 0xFFA0)}
    for lead in leads:
        for trail in range(0xA1, 0xFF):
            char = bytes((lead, trail)).decode("euc_jp", errors="ignore")
            found.add(char)  # and as CP932 spells it (－ ～ ∥ differ)
            found.add(char.encode("shift_jis", errors="ignore").decode("cp932", errors="ignore"))
    found.discard("")
    return frozenset(found)


# Enough of a text's non-ASCII characters to tell the two readings apart.
_SAMPLE_CHARS = 20_000
_ASCII = re.compile("[\x00-\x7f]+")


def _rarities(text: str) -> int:
    """How many of the text's first non-ASCII characters are not common in Japanese."""
    common = _common_characters()
    return sum(char not in common for char in _ASCII.sub("", text)[:_SAMPLE_CHARS])


def decoded(data: bytes, codec: str) -> str | None:
    """``data`` in ``codec`` (a value of ``JAPANESE_CODECS``), or ``None`` when it does not
    decode. EUC-JP written on Windows (eucJP-ms) holds NEC's characters (①, Ⅱ, ㈱), which
    JIS X 0213 (``euc_jis_2004``) has at the same codes and Python's ``euc_jp`` lacks."""
    for name in (codec, "euc_jis_2004") if codec == "euc_jp" else (codec,):
        try:
            return data.decode(name)
        except UnicodeDecodeError:
            continue
    return None


def _japanese(data: bytes) -> str | None:
    """``data`` read as CP932 or EUC-JP, the one that reads as Japanese (CP932 when both do
    equally), or ``None`` when neither decodes it.

    CP932 counts only when every byte decodes to real text: Python's cp932 maps stray single
    bytes to C1 controls and private-use characters, which Shift_JIS text never has.
    """
    cp932, euc = decoded(data, "cp932"), decoded(data, "euc_jp")
    if cp932 is not None and _NOT_SJIS.search(cp932):
        cp932 = None
    if cp932 is None or euc is None:
        return cp932 or euc
    return min((cp932, euc), key=_rarities)  # the first, CP932, on a tie


def sniffed_text(data: bytes) -> str | None:
    """Text of bytes that do not name their character set, or ``None``: UTF-8 (BOM allowed),
    UTF-16 with a BOM, else Shift_JIS (as CP932, the Windows flavour) or EUC-JP, whichever
    reads as Japanese. Only full decodes count, so text in another encoding is not turned
    into garbage."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return _japanese(data)


def decode_text(data: bytes, label: str) -> str:
    """Text of a plain-text file (``sniffed_text``); a file in another encoding is refused."""
    text = sniffed_text(data)
    if text is None:
        raise BadDocument(
            f"{label}は UTF-8・Shift_JIS・EUC-JP のいずれのテキストでもありません。"
            "文字コードを UTF-8 にして保存し直してから、もう一度アップロードしてください。",
            detail="undecodable text",
        )
    return text
