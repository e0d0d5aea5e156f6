"""Messages that are not questions for the documents: greetings, thanks, asking how to use
the bot.

Staff thank the bot in the thread of an answer (「ありがとうございます！」) or greet it first
(「お疲れ様です」). Searched, such a message finds nothing, or worse, in a thread, is read as a
follow-up and repeats the previous answer. A message counts only when nothing but such words
is in it: 「ありがとうございます。住民票の写しは誰が請求できますか」 is a question.

Staff who never read a manual ask the bot itself how to use it (「使い方を教えて」,
「何ができますか」), since 「/help」 cannot be sent everywhere (Slack takes a message starting
with / as one of its own commands); searched, 「使い方」 quotes a statute on how to use words.
"""

from __future__ import annotations

import re
import unicodedata

from bot.commands import AI_NOTE

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
WHAT_I_DO = "法令・例規・計画などの行政資料についてのご質問に、出典を示してお答えします。"
GREETING_REPLY = (
    "{greeting}。"
    + WHAT_I_DO
    + "ご質問をそのまま入力してください（「使い方」と送ると使い方を表示します）。"
)
# Where chat commands do not exist (the web page, the REST API); chat shows /help's text.
HOW_TO_USE_REPLY = (
    WHAT_I_DO
    + "ご質問をそのまま入力してください（例: 引っ越したら何日以内に届け出ますか）。"
    + AI_NOTE
)
# Punctuation, symbols, emoji and spaces around and between the words.
_NOISE = re.compile(r"[\s\W_ー〜~]+")
# The bot itself, as staff may name it before asking how to use it.
_BOT = r"(?:この|その)?(?:バイバイン|ボット|bot|チャットボット|アプリ|あなた|きみ|君)?"
_HOW_TO_USE = re.compile(
    rf"{_BOT}(?:の|は)?(?:help|ヘルプ|使い方|使いかた|つかいかた|使用方法|利用方法|操作方法"
    r"|コマンド|コマンド一覧|できること)(?:は|を|が)?"
    r"(?:教えて|おしえて|知りたい|わからない|分からない|ありますか|ありません|なに|何)?"
    r"(?:ください|下さい|くれ|ほしい|欲しい|です|ですか|か|の)?"
    rf"|{_BOT}(?:は|って)?(?:何|なに)が(?:でき|出来)(?:ますか|るの|る|ますでしょうか)?"
    r"|(?:どう|どのように|どうやって)(?:使|つか)(?:えば|う|います|えます)(?:いい|よい)?(?:の|ですか|か)?"
)


def asks_how_to_use(text: str) -> bool:
    """Whether a message only asks how to use the bot (「使い方を教えてください」, 「ヘルプ」,
    「何ができますか？」), not how to use something else (「公用車の使い方を教えて」)."""
    words = unicodedata.normalize("NFKC", text).lower()
    if len(words) > 40:
        return False
    return _HOW_TO_USE.fullmatch("".join(p for p in _NOISE.split(words) if p)) is not None


def small_talk_reply(text: str) -> str | None:
    """The reply to a message that is only thanks or a greeting, or only asks how to use the
    bot, else ``None``."""
    if asks_how_to_use(text):
        return HOW_TO_USE_REPLY
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
