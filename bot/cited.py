"""Summaries of what the previous answer cited: 「この条文を要約して」, 「[2]を要約して」,
「2番目の資料の要点を教えて」 or only 「要約して」, sent after a cited answer in its thread (or
direct message), summarize that answer's source instead of searching for the words; so do
``/summarize この条文``, ``/summarize [2]`` and ``/summarize 2番目の資料``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from admin.conversations import CitedSource
from bot import commands
from bot.attached import ATTACHED_DATASET
from bot.summary_sources import SummaryRequest
from bot.turns import shown_position
from knowledge.numerals import kanji_to_int
from knowledge.terms import article_key

NO_CITED_ANSWER_TEXT = (
    "要約する資料が分かりませんでした。"
    "「地方自治法第242条を要約して」のように文書名や URL を付けて送るか、"
    "資料のファイルを添付して「要約して」と送ってください。"
    "出典つきの回答に続けて同じスレッドで「この条文を要約して」「[2]を要約して」のように送ると、"
    "その回答の出典を要約します。"
)

_DEMONSTRATIVE = r"(?:この|その|あの|上の|上記の?|さっきの|先ほどの|前の|前回の|今の)"
_NOUN = r"(?:条文|条|資料|文書|記事|ページ|回答|内容|出典|法令|法律)"
# Up to nine digits, far more than any answer cites: a longer number is taken as a name.
_DIGITS = r"[0-9一二三四五六七八九十]{1,9}"
_NUMBER = rf"(?:\[(?P<bracketed>{_DIGITS})\]|(?P<counted>{_DIGITS})(?:番目?|つ目))"
# A demonstrative alone: 「これを要約して」, and 「この内容を要約して」 or 「上記の内容の要点は」,
# whose 「の内容を」 belongs to the request (``commands.summary_target`` leaves 「こ」, 「上記」).
_ALONE = r"(?:これ|それ|あれ|こ|そ|あ|上記|前記|上|さっき|先ほど|前回|前|今)"
# What a summary request names when it means a source of the previous answer (after NFKC, so
# 「［２］」 and 「２番目」 are read too, and without spaces).
_CITED = re.compile(
    rf"{_DEMONSTRATIVE}?(?:出典の?)?{_NUMBER}(?:の?{_NOUN})?"
    rf"|出典の?(?P<plain>{_DIGITS})"
    rf"|{_DEMONSTRATIVE}{_NOUN}|{_ALONE}"
)


@dataclass(frozen=True)
class CitedRequest:
    """A request for the summary of a source of the previous answer: the source's number
    when the message gives one (「[2]を要約して」)."""

    number: int | None = None


def cited_request(text: str) -> CitedRequest | None:
    """The request when a message asks to summarize what the previous answer cited
    (「この条文を要約して」, 「[2]の要点を教えて」, 「要約して」), else ``None``
    (「地方自治法第242条を要約して」 names a document; 「その期限は？」 asks no summary)."""
    if commands.asks_summary_alone(text):
        return CitedRequest()
    target = commands.summary_target(text)
    return None if target is None else cited_target(target)


def cited_target(target: str) -> CitedRequest | None:
    """The request when what a summary is asked of (the words before 「を要約して」, or
    ``/summarize``'s argument) means a source of the previous answer (「この条文」, 「[2]」,
    「2番目の資料」), else ``None`` (a document's name or id, a URL, nothing)."""
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", target))
    named = _CITED.fullmatch(folded)
    if named is None:
        return None
    digits = named["bracketed"] or named["counted"] or named["plain"]
    if digits is None:
        return CitedRequest()
    return CitedRequest(int(digits) if digits.isdigit() else kanji_to_int(digits))


def choose(sources: list[CitedSource], request: CitedRequest) -> CitedSource | str:
    """The source to summarize, or what to tell the user instead: that there is no cited
    answer to refer to, or which sources there are when the message must pick one."""
    if not sources:
        return NO_CITED_ANSWER_TEXT
    if request.number is None:
        if len(sources) == 1:
            return sources[0]
        return _listed(
            sources,
            f"前の回答には出典が{len(sources)}件あります。"
            "どれを要約するか、番号で指定してください（例: 「[2]を要約して」）。",
        )
    for source in sources:
        if source.n == request.number:
            return source
    return _listed(
        sources,
        f"前の回答に出典[{request.number}]はありません。"
        f"次の中から番号で指定してください（例: 「[{sources[0].n}]を要約して」）。",
    )


def summary_request(source: CitedSource) -> SummaryRequest:
    """What the summarizer is asked for a cited source: its document, and the article cited
    when the position names one (for a statute stored whole, only that article is summarized);
    a linked page, read for its answer only, is read again from its address."""
    if source.url and source.doc_id.startswith(f"{ATTACHED_DATASET}/"):
        return SummaryRequest(url=source.url)
    return SummaryRequest(cited_id=source.doc_id, article=article_key(source.position) or "")


def _listed(sources: list[CitedSource], heading: str) -> str:
    lines = [heading]
    for source in sources:
        position = shown_position(source.title, source.position).strip()
        lines.append(f"[{source.n}] {source.title}{' ' + position if position else ''}")
    return "\n".join(lines)
