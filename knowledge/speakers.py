"""Speakers' turns in meeting records: how a turn is cited, and the reply to a question.

A meeting's record is read turn by turn (``knowledge.parsing.minutes``): every passage of a
turn is headed by its speaker as the minutes name them (「危機管理監（鈴木次郎君）」) and
positioned by the turn's number (「発言12」, in a PDF 「3ページ 発言12」). Staff preparing a
council answer ask what the city replied (「避難所の備蓄について市はどう答弁しましたか」); the
member's question shares the most words with that, so the reply that follows it is what such
a question is answered from.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from knowledge.documents import Chunk, DocumentMeta, Hit
from knowledge.index import IndexStore

_TURN = re.compile(r"(?:^|\s)発言([0-9]+)$")
# A question asks for the executive's reply: 「…どう答弁しましたか」, 「市の答え」, 「回答は」.
_ASKS_REPLY = re.compile(r"答弁|答え|回答|返答")
# Who asks in a council or a committee: a member by seat (「15番（田中一郎君）」) or by name
# (「田中委員」, 「田中一郎議員」); who calls on the speakers: the chair (「議長」, 「委員長」).
_MEMBER = re.compile(r"^[0-9０-９]+番|議員|委員(?!長|会)")
_CHAIR = re.compile(r"^(?:副?議長|副?委員長)")
# How many passages past a member's question are read for the reply to it: the chair's call
# (「危機管理監。」) stands between them.
REPLY_REACH = 6


def turn_position(number: int, page: str = "") -> str:
    """Where a speaker's turn stands in a meeting's record: 「発言12」; in a PDF, after its
    page, 「3ページ 発言12」."""
    return f"{page} 発言{number}" if page else f"発言{number}"


def speaker_of(meta: DocumentMeta, chunk: Chunk) -> str:
    """Who speaks in a passage of a meeting's record (「市長（佐藤花子君）」), else ``""``."""
    turn = meta.records_meeting and chunk.heading and _TURN.search(chunk.position)
    return chunk.heading if turn else ""


def cited_position(meta: DocumentMeta, chunk: Chunk) -> str:
    """Where a citation says a passage is: its position, and for a speaker's turn in a
    meeting's record who spoke (「発言12 危機管理監（鈴木次郎君）」), so that an answer's source
    names whose words it quotes."""
    who = speaker_of(meta, chunk)
    return f"{chunk.position} {who}" if who else chunk.position


async def with_replies(store: IndexStore, question: str, hits: list[Hit]) -> list[Hit]:
    """``hits`` with a member's question in a meeting's record replaced by the reply to it
    (the next turn of a speaker neither member nor chair, before another member speaks),
    when ``question`` asks for a reply (「…どう答弁しましたか」); otherwise as they are."""
    if not _ASKS_REPLY.search(question):
        return hits
    asked = [h for h in hits if _MEMBER.search(speaker_of(h.meta, h.chunk))]
    if not asked:
        return hits
    ranges = [(h.meta.doc_id, h.chunk.ordinal + 1, h.chunk.ordinal + REPLY_REACH) for h in asked]
    reads = await store.get_chunks(ranges)
    replies = {
        h.chunk.chunk_id: reply
        for h, after in zip(asked, reads, strict=True)
        if (reply := _reply(h, after)) is not None
    }
    return [replace(h, chunk=replies.get(h.chunk.chunk_id, h.chunk)) for h in hits]


def _reply(question: Hit, after: Sequence[Chunk]) -> Chunk | None:
    """The first passage of the reply among the passages ``after`` a member's question."""
    asked_in = _TURN.search(question.chunk.position)
    for chunk in after:
        who = speaker_of(question.meta, chunk)
        turn = _TURN.search(chunk.position)
        if not who or (turn and asked_in and turn[1] == asked_in[1]):
            continue  # the question's own later pieces, or a table between the turns
        if _MEMBER.search(who):
            return None  # another member speaks before anyone replies
        if not _CHAIR.match(who):
            return chunk
    return None
