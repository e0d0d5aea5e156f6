"""Messages that are only a greeting or thanks get a short reply instead of a search.

Staff thank the bot in the thread of an answer (「ありがとうございます！」) or greet it first
(「お疲れ様です」). Searched, such a message finds nothing, or worse, in a thread, is read as a
follow-up and repeats the previous answer. A message counts only when nothing but such words
is in it: 「ありがとうございます。住民票の写しは誰が請求できますか」 is a question.
"""

from __future__ import annotations

import re
import unicodedata

_THANKS = (
    "ありがとう",
    "ありがとうございます",
    "ありがとうございました",
    "どうもありがとう",
    "どうもありがとうございます",
    "どうもありがとうございました",
    "どうも",
    "助かりました",
    "助かります",
    "了解",
    "了解です",
    "了解しました",
    "わかりました",
    "分かりました",
    "承知しました",
    "承知いたしました",
    "thanks",
)
_GREETINGS = {
    "おはよう": "おはようございます",
    "おはようございます": "おはようございます",
    "こんにちは": "こんにちは",
    "こんにちわ": "こんにちは",
    "こんばんは": "こんばんは",
    "こんばんわ": "こんばんは",
    "お疲れ様です": "お疲れさまです",
    "お疲れさまです": "お疲れさまです",
    "おつかれさまです": "お疲れさまです",
    "お疲れ様でした": "お疲れさまです",
    "お疲れさまでした": "お疲れさまです",
    "よろしくお願いします": "よろしくお願いいたします",
    "よろしくお願いいたします": "よろしくお願いいたします",
    "はじめまして": "はじめまして",
}
THANKS_REPLY = "どういたしまして。ほかにもご質問があれば、いつでもお尋ねください。"
GREETING_REPLY = (
    "{greeting}。法令・例規・計画などの行政資料についてのご質問に、出典を示してお答えします。"
    "ご質問をそのまま入力してください（使い方は /help で表示します）。"
)
# Punctuation, symbols, emoji and spaces around and between the words.
_NOISE = re.compile(r"[\s\W_ー〜~]+")


def small_talk_reply(text: str) -> str | None:
    """The reply to a message that is only thanks or a greeting, else ``None``."""
    words = unicodedata.normalize("NFKC", text).lower()
    if len(words) > 40:
        return None
    parts = [p for p in _NOISE.split(words) if p]
    if not parts:
        return None
    if all(p in _THANKS for p in parts):
        return THANKS_REPLY
    if all(p in _GREETINGS or p in _THANKS for p in parts):
        greeting = next(_GREETINGS[p] for p in parts if p in _GREETINGS)
        return GREETING_REPLY.format(greeting=greeting)
    return None
