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

from bot.command_replies import AI_NOTE, MENTION
from bot.commands import named_alone, parse
from bot.turns import Platform, starts_as_command

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
    "thanks",
)
# Acknowledgements: nothing to thank for, nothing asked.
_ACKS = (
    "了解",
    "了解です",
    "了解しました",
    "わかりました",
    "分かりました",
    "承知しました",
    "承知いたしました",
    "はい",
    "うん",
    "ok",
    "okです",
    "オッケー",
    "なるほど",
)
_FAREWELLS = ("さようなら", "失礼します", "失礼しました", "お先に失礼します", "おやすみなさい")
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
ACK_REPLY = "ほかにもご質問があれば、いつでもお尋ねください。"
FAREWELL_REPLY = "お疲れさまでした。またいつでもお尋ねください。"
WHAT_I_DO = "法令・例規・計画などの行政資料についてのご質問に、出典を示してお答えします。"
_EXAMPLE = "ご質問をそのまま入力してください（例: 引っ越したら何日以内に届け出ますか）。"
# 「テスト」, 「動いてる？」: someone checking that the bot answers at all.
ALIVE_REPLY = "はい、動いています。" + WHAT_I_DO + _EXAMPLE
# 「すみません、ちょっと聞きたいんですが」: the question comes next.
GO_AHEAD_REPLY = "はい、どうぞ。" + _EXAMPLE
WHO_REPLY = "自治体版バイバインです。" + WHAT_I_DO + _EXAMPLE
GREETING_REPLY = (
    "{greeting}。"
    + WHAT_I_DO
    + "ご質問をそのまま入力してください（「使い方」と送ると使い方を表示します）。"
)
# Where chat commands do not exist (the web page, the REST API); chat shows /help's text.
HOW_TO_USE_REPLY = WHAT_I_DO + _EXAMPLE + AI_NOTE
# Punctuation, symbols, emoji and spaces around and between the words.
NOISE = re.compile(r"[\s\W_ー〜~]+")
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

# Matched against the message's words run together (``NOISE`` removed), whole.
_ALIVE = re.compile(
    r"(?:テスト|てすと|test|testing)(?:です|中|中です|して(?:います|ます))?"
    r"|(?:ちゃんと|きちんと)?(?:動いて|うごいて|生きて|起きて)(?:る|ます|います)(?:か|かな|の)?"
    r"|(?:聞こえ|見え)(?:ますか|てますか|ていますか|る)"
)
_GO_AHEAD = re.compile(
    r"(?:すみません|すいません|あの|あのー|えっと|失礼します)*(?:ちょっと|少し|ひとつ|1つ)?"
    r"(?:(?:質問|相談|お願い|(?:お)?聞きしたいこと|聞きたいこと|教えてほしいこと|確認したいこと)"
    r"(?:です|があります|があるのですが|があるんですが|がありまして|いいですか|よろしいですか)?"
    r"|(?:聞きたい|お聞きしたい|教えてほしい|教えて欲しい|確認したい)"
    r"(?:んですが|のですが|です|ことがあります)?"
    r"|(?:いいですか|よろしいですか))"
)
# What the bot answers from, asked in words (「どんな資料がありますか」, 「検索できるデータは？」):
# the datasets command's listing answers it. Not what a procedure needs (「どんな資料が
# 必要ですか」) nor which law applies (「どの法令が適用されますか」).
# (Matched with ``NOISE`` removed, so データ is written as its letters without ー.)
_DATA = r"(?:資料|デタ|デタセット|文書|ドキュメント|情報源|法令)"
_HOLDS = (
    r"(?:あります|ある|あるの|入って(?:い)?ます|入ってる|入っている|知って(?:い)?ます|知ってる"
    r"|検索できます|検索できる|調べられます|使えます|使える|参照して(?:い)?ます|参照できます"
    r"|使って(?:い)?ます|登録されて(?:い)?ます|答えられます)"
)
_WHAT_DATA = re.compile(
    rf"{_BOT}(?:は|が|で|の)?"
    rf"(?:(?:どんな|どの|どういう|何の|なんの|どのような)(?:種類の)?{_DATA}(?:が|を|に)?{_HOLDS}"
    r"(?:か|の)?"
    r"|(?:検索できる|調べられる|使える|参照できる|登録されている|登録済みの|入っている|入ってる"
    rf"|利用できる){_DATA}(?:は|って|を)?(?:何|なに|どれ|どんなもの|教えて|一覧)?"
    r"(?:ですか|がありますか|か|ください)?"
    rf"|{_DATA}(?:は|って)?(?:何が|なにが|どれが|どんなものが){_HOLDS}(?:か|の)?)"
)
_WHO = re.compile(
    r"(?:あなた|きみ|君|バイバイン)(?:は|って)?(?:誰|だれ|何者|なにもの|何|なに|なん)(?:ですか|なの|です)?"
)


def asks_how_to_use(text: str) -> bool:
    """Whether a message only asks how to use the bot (「使い方を教えてください」, 「ヘルプ」,
    「何ができますか？」), not how to use something else (「公用車の使い方を教えて」)."""
    joined = _run_together(text)
    return joined is not None and _HOW_TO_USE.fullmatch(joined) is not None


def asks_what_data(text: str) -> bool:
    """Whether a message only asks what documents the bot answers from (「どんな資料があり
    ますか」, 「データセットは何がある？」, 「検索できる資料は」)."""
    joined = _run_together(text)
    return joined is not None and _WHAT_DATA.fullmatch(joined) is not None


def _run_together(text: str) -> str | None:
    """A short message's words run together, as the patterns here are matched (``NOISE``
    removed, lowercased); ``None`` for a message too long to be only that."""
    words = unicodedata.normalize("NFKC", text).lower()
    if len(words) > 40:
        return None
    return "".join(p for p in NOISE.split(words) if p)


def small_talk_reply(text: str, *, mention: bool = False) -> str | None:
    """The reply to a message that is only thanks, an acknowledgement, a greeting or a
    farewell, a check that the bot answers (「テスト」), an opening before the question
    (「すみません、ちょっと聞きたいんですが」), or only asks how to use the bot or what it
    is, else ``None``. A message of symbols alone gets how to use it (「？」) or, if it asks
    nothing, an acknowledgement (「👍」). ``mention``: a message reaches the bot only with a
    mention where the reply is read (a channel), so the reply asks for the question after one
    (a question sent as it is there goes unseen)."""
    reply = _small_talk_reply(text)
    if reply is None or not mention:
        return reply
    return reply.replace("ご質問をそのまま", "ご質問をメンションに続けて").replace(
        "「使い方」", f"「{MENTION} 使い方」"
    )


def _small_talk_reply(text: str) -> str | None:
    if asks_how_to_use(text):
        return HOW_TO_USE_REPLY
    words = unicodedata.normalize("NFKC", text).lower()
    if len(words) > 40:
        return None
    parts = [p for p in NOISE.split(words) if p]
    if not parts:
        if not words.strip():
            return None
        return HOW_TO_USE_REPLY if "?" in words else ACK_REPLY
    joined = "".join(parts)
    for pattern, reply in ((_ALIVE, ALIVE_REPLY), (_GO_AHEAD, GO_AHEAD_REPLY), (_WHO, WHO_REPLY)):
        if pattern.fullmatch(joined):
            return reply
    if all(p in _THANKS or p in _ACKS for p in parts):
        return THANKS_REPLY if any(p in _THANKS for p in parts) else ACK_REPLY
    if all(p in _FAREWELLS or p in _THANKS for p in parts):
        return FAREWELL_REPLY
    if all(p in _GREETINGS or p in _THANKS or p in _ACKS for p in parts):
        greeting = next(_GREETINGS[p] for p in parts if p in _GREETINGS)
        return GREETING_REPLY.format(greeting=greeting)
    if len(joined) == 1:  # 「あ」: nothing to search for
        return HOW_TO_USE_REPLY
    return None


DATASETS_ELSEWHERE_REPLY = (
    "検索できる資料（データセット）の一覧は、Slack・Teams・LoGoチャットでバイバインに"
    "「データセット一覧」と送ると表示されます（管理者は「baibain dataset list」でも確認できます）。"
    + WHAT_I_DO
)
# Where no chat command runs: the web page, the REST API, 源内 and the CLI's ask.
_COMMANDLESS: frozenset[Platform] = frozenset({"web", "api", "invoke", "cli"})


def command_elsewhere_reply(text: str, platform: Platform) -> str | None:
    """On a platform without chat commands, the reply to one typed out of habit
    (「/datasets」, 「/summarize 地方自治法第242条」, 「/データセット」, 「データセット一覧」),
    or to one asking what documents the bot answers from: where commands work and what to
    type here; ``None`` for anything else. Searched, a
    command's name finds nothing or an unrelated statute. (「/help」 asks how to use the bot:
    ``asks_how_to_use``.)"""
    stripped = text.strip()
    if platform not in _COMMANDLESS:
        return None
    if asks_what_data(stripped):  # 「どんな資料がありますか」: in chat, the datasets listed
        return DATASETS_ELSEWHERE_REPLY
    command = parse(stripped)[0] if starts_as_command(stripped) else named_alone(stripped)
    if command is None:
        return None
    return (
        f"「/{command.name}」などのコマンドは、Slack・Teams・LoGoチャットでバイバインに送ると"
        f"使えます。ここでは、{_EXAMPLE}"
    )
