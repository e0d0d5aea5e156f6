"""Replies in a conversation that ask nothing new of the documents but move the conversation
on: 「他には？」 (the other sources), 「もっと詳しく」 (more of the same), 「違います」 (that
answer is not it). Searched as questions of their own, or with the earlier question's words
and their own, they found unrelated passages (「他」, 「詳しく」) or the same answer again; read
as moves, they search the earlier question's words and leave out, or quote more of, what the
previous answer cited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from admin.conversations import CitedSource
from bot.smalltalk import NOISE
from bot.turns import Answer, ConversationRef
from knowledge.retrieval import Retrieved

Move = Literal["others", "more", "dispute"]

_ENDING = r"(?:ください|下さい|ほしい|欲しい|お願いします|お願い)?(?:ね|よ|か)?"
_MOVES: tuple[tuple[Move, re.Pattern[str]], ...] = (
    (
        "others",
        re.compile(
            r"(?:では|じゃあ|それでは)?(?:他|ほか|それ以外|その他)(?:に|の)?(?:は|も)?"
            r"(?:資料|条文|規定|根拠|出典|情報|もの)?(?:は|も|が)?"
            rf"(?:ありますか|ある|あります|ない|ないですか|ありませんか|教えて|見せて)?{_ENDING}"
        ),
    ),
    (
        "more",
        re.compile(
            r"(?:もっと|もう少し|もうすこし|さらに|より)?(?:詳しく|くわしく|詳細|具体的)(?:に|を|は)?"
            rf"(?:教えて|説明して|知りたい|見せて|書いて)?{_ENDING}"
        ),
    ),
    (
        "dispute",
        re.compile(
            r"(?:いや|いえ|えっ|え|でも|うん)?(?:それは|その回答は|回答が|答えが)?"
            r"(?:違います|ちがいます|違う|ちがう|違うと思います|違いませんか|違うのでは"
            r"|間違っています|間違ってます|間違い|まちがい|間違っていませんか|間違ってない"
            r"|おかしいです|おかしい|正しくないです|正しくない|そうじゃない|そうではありません"
            r"|聞きたいのはそれではありません|聞きたいことと違います|的外れです|見当違いです)"
            r"(?:よ|ね|よね|けど|が|と思います|のでは)?"
        ),
    ),
)

OTHERS_NOTICE = "前の回答で示した資料のほかに見つかった資料です。"
NOTHING_ELSE_TEXT = (
    "前の回答で示した資料のほかには、該当する資料が見つかりませんでした。"
    "法令名・条番号や資料の名前を含めて質問し直すと、見つかることがあります。"
)
_DISPUTED = "ご指摘ありがとうございます。"
_BUTTON = (
    "回答が役に立たなかったときは、回答の下の「👎 役に立たなかった」を押してください"
    "（管理者が回答の改善に使います）。"
)


def conversation_move(message: str) -> Move | None:
    """The move a reply in a conversation is, when it is nothing else (「他にはありますか？」,
    「もっと詳しく教えてください」, 「違います」); ``None`` for a question
    (「他に必要な書類は？」, 「詳しい手続きの流れは？」)."""
    words = "".join(NOISE.split(unicodedata.normalize("NFKC", message)))
    if not words or len(words) > 30:
        return None
    return next((move for move, pattern in _MOVES if pattern.fullmatch(words)), None)


def moved(move: Move, retrieved: Retrieved, cited: Sequence[CitedSource]) -> Retrieved:
    """The passages a move is answered from: for 「他には」 and 「違います」 those the previous
    answer did not cite; for 「詳しく」 the ones it cited, quoted from their beginning."""
    passages = [(c.doc_id, c.position) for c in cited]
    if move == "more":
        return retrieved.quoting(passages)
    return retrieved.without(passages)


def told_of_move(answer: Answer, move: Move, where: ConversationRef) -> Answer:
    """``answer`` to a move, saying what it is: the other sources, or that there are none;
    to 「違います」, thanks for saying so first (and where answers have 👍/👎, to press 👎).
    More of the same is what it is."""
    if move == "more":
        return answer
    found = answer.outcome == "answered"
    text = f"{OTHERS_NOTICE}\n\n{answer.text}" if found else NOTHING_ELSE_TEXT
    if move == "dispute":
        button = _BUTTON if where.platform in ("slack", "teams") else ""
        text = f"{_DISPUTED}{button}\n\n{text}"
    return replace(answer, text=text) if found else replace(answer, text=text, citations=())
