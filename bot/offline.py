"""Answers without the model: quotes of the best passages, the related documents when none
answers, or a polite 「見つかりませんでした」; and the citations every answer lists."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.turns import EXTRACT_FOOTER, Answer, Citation
from knowledge.analysis import Analyzer
from knowledge.answer import EXTRACTIVE_INTRO, answer_from
from knowledge.documents import DocumentMeta, Hit
from knowledge.retrieval import Retrieved
from knowledge.speakers import cited_position

RELATED_SOURCES = 3
# How much of the sources 「もっと詳しく」 quotes whole.
WHOLE_QUOTE_CHARS = 1500

NOT_FOUND_TEXT = (
    "該当する資料が見つかりませんでした。"
    "言葉を言い換えるか、法令名・資料名・条番号などを含めてもう一度お試しください。"
)
RELATED_HEADING = "関連する可能性のある資料"
NOT_ANSWERED_TEXT = (
    "質問に直接答える箇所は見つかりませんでした。関連する可能性のある資料を下に示します。"
    "言葉を言い換えるか、法令名・資料名・条番号などを含めてもう一度お試しください。"
)
UNINDEXED_TEXT = (
    "お尋ねの{laws}は、検索できる資料に含まれていません。"
    "資料の登録については管理者にご相談ください。"
)
UNINDEXED_RELATED_TEXT = (
    "お尋ねの{laws}は、検索できる資料に含まれていません。この法令に触れている資料を下に示します。"
)
UNINDEXED_NOTICE = (
    "※お尋ねの{laws}の本文は検索できる資料に含まれていないため、"
    "ほかの資料をもとにお答えしています。"
)
SUBJECT_NOTICE = (
    "※{laws}は検索できる資料に含まれていないため、この回答には反映されていません。"
    "条文はe-Gov法令検索などでご確認ください。"
)
# Over a question typed in hiragana only, offline: its words rarely meet the kanji of the
# documents (Sudachi reads 「じゅうみんひょう」 as じゅう, 見る and ひょう, not 住民票).
KANA_NOTICE = (
    "※ひらがなだけの質問は資料の言葉（漢字）と照らし合わせにくく、関係の薄い資料が表示される"
    "ことがあります。漢字を含めて入力すると見つかりやすくなります（例：「じゅうみんひょう」→"
    "「住民票」）。"
)
# A question that is hiragana only, besides spaces, digits and punctuation, and long enough
# to be a question rather than a word the dictionary knows in kana (「ごみ」).
_BESIDE_KANA = r"[\sー0-9０-９、。，．！？!?「」…・〜~]*"
_KANA_ONLY = re.compile(rf"{_BESIDE_KANA}(?:[ぁ-ゖ]{_BESIDE_KANA}){{6,}}")
OFFLINE_NOTICE = "※AIモデルに接続できなかったため、資料の該当箇所を抜粋して表示しています。"
OFFLINE_SUMMARY_NOTICE = "※AIモデルに接続できなかったため、資料から抜粋して要約します。"
# The model was reached, but its content filter (Azure OpenAI) refused the prompt or withheld
# the reply: saying it could not be reached would send staff to IT for nothing.
FILTERED_NOTICE = (
    "※AIモデルの安全フィルターにより回答が差し控えられたため、資料の該当箇所を抜粋して"
    "表示しています。AIによる回答が必要な場合は、質問の表現を変えてもう一度お試しください。"
)
FILTERED_SUMMARY_NOTICE = (
    "※AIモデルの安全フィルターにより要約の作成が差し控えられたため、資料から抜粋して要約します。"
)


def offline_answer(retrieved: Retrieved, analyzer: Analyzer, notice: str = "") -> Answer:
    """The answer quoting the sources (``notice`` above it), the related documents when none of
    them answers, or that nothing was found."""
    laws = quoted_titles(retrieved.unindexed_laws)
    subjects = _subject_notice(retrieved)
    kana = KANA_NOTICE if _KANA_ONLY.fullmatch(retrieved.query.text.strip()) else ""
    if related := retrieved.related:
        text = UNINDEXED_RELATED_TEXT.format(laws=laws) if laws else NOT_ANSWERED_TEXT
        return Answer(
            text=noted(text, kana, subjects),
            citations=related_citations(related),
            outcome="not_found",
            related_heading=RELATED_HEADING,
            footer="",  # a list of documents to read, nothing written or quoted
        )
    if not retrieved.relevant:
        text = UNINDEXED_TEXT.format(laws=laws) if laws else NOT_FOUND_TEXT
        return Answer(text=noted(text, kana, subjects), outcome="not_found", footer="")
    composed = answer_from(retrieved, analyzer)
    return Answer(
        text=noted(composed.text, notice, kana, *unindexed_notices(retrieved)),
        citations=tuple(citation_for(n, hit) for n, hit in enumerate(composed.sources, 1)),
        footer=EXTRACT_FOOTER,
    )


def quoted_whole(hits: Sequence[Hit], limit: int = WHOLE_QUOTE_CHARS) -> Answer:
    """The passages quoted whole, in their order, within ``limit`` characters (the last cut
    short): what 「もっと詳しく」 asks of the sources an answer quoted sentences of."""
    lines: list[str] = []
    left = limit
    for hit in hits:
        if left <= 0:
            break
        text = hit.chunk.text.strip()
        text = text if len(text) <= left else text[: left - 1] + "…"
        lines.append(f"・{text} [{len(lines) + 1}]")
        left -= len(text)
    return Answer(
        text=EXTRACTIVE_INTRO + "\n\n" + "\n".join(lines),
        citations=tuple(citation_for(n, hit) for n, hit in enumerate(hits[: len(lines)], 1)),
        footer=EXTRACT_FOOTER,
    )


def citation_for(n: int, hit: Hit) -> Citation:
    """The numbered citation of a hit, naming the speaker of a turn in a meeting's record."""
    return citation_of(n, hit.meta, cited_position(hit.meta, hit.chunk))


def citation_of(n: int, meta: DocumentMeta, position: str = "") -> Citation:
    """The numbered citation of a document (at ``position``): a statute version with its
    施行日."""
    return Citation(
        n=n,
        title=meta.title,
        dataset=meta.dataset,
        organization=meta.publisher,
        position=position,
        url=meta.source_url,
        published=meta.published.isoformat() if meta.published else None,
        doc_id=meta.doc_id,
        category=meta.category,
        # An e-Gov file saved under another name has no law id, but its law title.
        statute=bool(meta.law_id or meta.law_title),
        enforced=meta.version or None,
        meeting=meta.records_meeting,
    )


def _subject_notice(retrieved: Retrieved) -> str:
    """The line saying which laws a question speaks of by their subject (「児童手当は…」) are
    not in the index, so the answer cannot reflect them; empty when there are none."""
    laws = retrieved.unindexed_subjects
    return SUBJECT_NOTICE.format(laws=quoted_titles(laws)) if laws else ""


def unindexed_notices(retrieved: Retrieved) -> tuple[str, str]:
    """The lines above an answer on the laws the index lacks: those the question names
    (answered from other passages) and those it speaks of by their subject; each empty when
    there are none."""
    laws = quoted_titles(retrieved.unindexed_laws)
    return UNINDEXED_NOTICE.format(laws=laws) if laws else "", _subject_notice(retrieved)


def quoted_titles(titles: tuple[str, ...]) -> str:
    """「公職選挙法」、「地方税法」"""
    return "、".join(f"「{title}」" for title in titles)


def noted(text: str, *notices: str) -> str:
    """``text`` under the notices that are not empty, one per line."""
    present = [n for n in notices if n]
    return "\n".join([*present, "", text]) if present else text


def related_citations(hits: list[Hit]) -> tuple[Citation, ...]:
    """The best hits as possibly related documents, when none of them is an answer."""
    return tuple(citation_for(n, hit) for n, hit in enumerate(hits[:RELATED_SOURCES], 1))
