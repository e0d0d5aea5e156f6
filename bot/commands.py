"""Chat commands: their definitions, parsing, and the Japanese help generated from them.

A command is typed after the mention as ``/name args`` (Slack: ``/baibain name args``; LoGo
Chat: a ``command`` event). Commands whose back end is not built yet are marked
``ready=False``: help lists them as 準備中 and running them says so.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from bot.turns import ConversationRef, Platform, starts_as_command

Access = Literal["everyone", "admin", "operator"]

# The bot as examples mention it (the app's display name).
MENTION = "@バイバイン"
NOT_READY_TEXT = "この機能は準備中です。公開までしばらくお待ちください。"
# What each platform calls a chat with the bot alone, where no mention is needed.
_DIRECT_CHAT: dict[str, str] = {"teams": "個人チャット", "logo": "1対1のトーク"}


def direct_chat(platform: Platform) -> str:
    """The platform's word for a chat with the bot alone (Slack's ダイレクトメッセージ)."""
    return _DIRECT_CHAT.get(platform, "ダイレクトメッセージ")


# What each platform calls what is linked to an organization (``baibain org link``).
_WORKSPACE: dict[str, str] = {"teams": "テナント（組織）", "logo": "団体"}


def workspace_word(platform: Platform) -> str:
    """The platform's word for what is linked to an organization (Slack's ワークスペース)."""
    return _WORKSPACE.get(platform, "ワークスペース")


def unknown_workspace_text(platform: Platform) -> str:
    """The reply in a workspace, tenant or LoGo organization not linked to any organization."""
    return (
        f"申し訳ありません。この{workspace_word(platform)}はまだ自治体版バイバインの利用登録がされていません。"
        "ご利用を希望される場合は、組織のご担当者から運用窓口へお問い合わせください。"
    )


def usage_hint(where: ConversationRef) -> str:
    """The reply to a message that is only a mention of the bot, or nothing: in a channel,
    where a message without one never reaches the bot, to ask after a mention; in a chat
    with the bot alone, to ask as it is."""
    if where.direct:
        return (
            "ご質問をそのまま入力してください（例: 引っ越したら何日以内に届け出ますか）。"
            "「使い方」と送ると、使い方とコマンドの一覧を表示します。"
        )
    return (
        "ご質問をメンションに続けて入力してください"
        f"（例: {MENTION} 引っ越したら何日以内に届け出ますか）。"
        f"{direct_chat(where.platform)}ではそのまま質問を書けます。"
        f"「{MENTION} 使い方」と送ると、使い方とコマンドの一覧を表示します。"
    )


# Under the first answer in a channel's thread: a question sent there without a mention
# never reaches the bot.
FOLLOW_UP_TIP = (
    f"※続けて質問するときは、このスレッドで「{MENTION}」をつけて送ってください"
    "（前のやり取りをふまえて回答します）。"
)
WELCOME_INTRO = (
    "はじめまして。自治体版バイバインです。"
    "法令・例規・会議録などの行政資料にもとづいて、出典つきでお答えします。"
)
WELCOME_DIRECT = (
    "このチャットでは、質問をそのまま書いて送ってください"
    "（例: 引っ越したら何日以内に届け出ますか）。"
    "「その期限は？」のように続けて聞くと、前のやり取りをふまえて回答します。"
    "資料のファイルを添付して「要約して」と送ると、その資料を要約します。"
)
WELCOME_SHARED = (
    "質問は「@バイバイン」とメンションしてから書いてください"
    "（例: @バイバイン 引っ越したら何日以内に届け出ますか）。"
    "チャネルでは回答をその投稿のスレッドに返します。"
    "同じスレッドでもう一度メンションして質問すると、前のやり取りをふまえて回答します。"
)
# The closing line of help and of the welcome.
AI_NOTE = "回答はAIが資料をもとに作成するか、資料から抜粋します。必ず出典の原文を確認してください。"
ACCESS_LABELS: dict[Access, str] = {
    "everyone": "",
    "admin": "組織の管理者のみ",
    "operator": "運用組織の管理者のみ",
}


@dataclass(frozen=True)
class Command:
    """One chat command."""

    name: str
    args: str
    summary: str
    access: Access = "everyone"
    ready: bool = True

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    @property
    def usage(self) -> str:
        """``/name args`` as users type it."""
        return f"/{self.name} {self.args}".rstrip()


COMMANDS: tuple[Command, ...] = (
    Command("help", "", "使い方とコマンドの一覧を表示します"),
    Command(
        "ask", "質問", "資料をもとに質問に回答します（メンションに続けて質問を書いても同じです）"
    ),
    Command(
        "summarize",
        "<文書名|文書ID|URL|添付>",
        "文書を要約します（例: 地方自治法第242条）",
    ),
    Command(
        "upload",
        "<添付またはURL> データセット=名前 分類=… ライセンス=… 共有=可",
        "組織のデータセットに資料を取り込みます",
        access="admin",
    ),
    Command(
        "datasets",
        "[番号]",
        "利用できるデータセットを一覧表示します（番号を付けると、そのデータセットの文書の一覧）",
    ),
    Command(
        "dataset delete",
        "<データセットID> すべて|<文書ID>",
        "組織のデータセットを、その文書とともに削除します（文書ID・文書名を付けると、その文書だけ）",
        access="admin",
    ),
    Command("quota", "", "組織の今月のトークン上限と使用量を表示します", access="admin"),
    Command(
        "quota set",
        "<組織> <トークン数>",
        "組織の月間トークン上限を設定します",
        access="operator",
    ),
    Command("usage", "", "組織の利用状況を表示します", access="admin"),
)

# The Japanese names staff type for the commands (「/データセット」, 「/baibain 使い方」), the
# only place they are listed: a name of two words is typed with a space or without one.
JAPANESE_NAMES: dict[str, tuple[str, ...]] = {
    "help": ("ヘルプ", "使い方", "使いかた", "コマンド一覧"),
    "ask": ("質問",),
    "summarize": ("要約",),
    "upload": ("アップロード", "取り込み", "取込"),
    "datasets": ("データセット", "データセット一覧"),
    "dataset delete": ("データセット削除", "データセット 削除", "削除"),
    "quota": ("上限", "トークン上限", "クォータ"),
    "quota set": ("上限設定", "上限 設定", "クォータ設定", "クォータ 設定"),
    "usage": ("利用状況", "使用状況", "利用実績"),
}


ATTACHMENTS_NOT_RECEIVED = (
    "添付ファイルを受け取れませんでした（20MB を超えるファイルや、チャットから取得できない"
    "ファイルは受け取れません）。もう一度添付して送るか、文書の URL を指定してください。"
)


def find(name: str) -> Command:
    """The command called ``name`` (``KeyError`` if there is none)."""
    for command in COMMANDS:
        if command.name == name:
            return command
    raise KeyError(name)


def _folded(word: str) -> str:
    """A typed command word as names are spelled: full-width letters (typed with the Japanese
    input method on, 「ｈｅｌｐ」) as ASCII, lower case."""
    return unicodedata.normalize("NFKC", word).lower()


# Slack's slash command, typed before a command out of habit elsewhere too (「/baibain help」 in
# LoGo Chat or Teams, 「@バイバイン /baibain quota」, 「/baibain baibain help」 on Slack).
BOT_COMMAND = "baibain"


def command_line(line: str) -> str:
    """A command line as the user means it: without a slash before the command, or the
    name of Slack's slash command (「/baibain /help」, 「／ｂａｉｂａｉｎ　help」 → 「help」)."""
    line = line.strip().removeprefix("/").removeprefix("／").lstrip()
    first, *rest = line.split(maxsplit=1) or [""]
    if _folded(first) == BOT_COMMAND:
        return command_line(rest[0]) if rest else ""
    return line


@cache
def _names() -> list[tuple[tuple[str, ...], Command]]:
    """Every name of every command as words (its own and its Japanese names), longest first."""
    names = [(c.words, c) for c in COMMANDS]
    for name, japanese in JAPANESE_NAMES.items():
        names += [(tuple(n.split()), find(name)) for n in japanese]
    return sorted(names, key=lambda pair: -len(pair[0]))


def parse(line: str) -> tuple[Command | None, str]:
    """The command a line starts with (longest name first, English or Japanese) and the rest
    of the line (see ``command_line`` for what may come before it)."""
    line = command_line(line)
    lowered = tuple(_folded(w) for w in line.split())
    for names, command in _names():
        size = len(names)
        if lowered[:size] == names:
            parts = line.strip().split(maxsplit=size)
            return command, parts[size] if len(parts) > size else ""
    return None, ""


# Commands that messages ask for in words already (「質問です」, 「要約して」).
FOR_WORDS = frozenset({"ask", "summarize"})


def named_alone(text: str) -> Command | None:
    """The command a message without a slash is nothing but the name of (「データセット一覧」,
    「利用状況」, 「datasets」), as staff who never read a manual send it; ``None`` for anything
    more, and for ask and summarize, whose names alone are read as the messages that mean
    the same are (「質問」 announces a question, 「要約」 asks for the summary of what came
    before)."""
    command, args = parse(text)
    if command is None or args or command.name in FOR_WORDS or starts_as_command(text):
        return None
    return command


# What makes a lone Japanese word a sentence: kana that inflect or join words, or a question mark.
_SENTENCE = re.compile("[ぁ-ゖ？?]")


def looks_like_question(line: str) -> bool:
    """Whether a line that names no command reads as a question, not as a command name:
    ``/baibain 住民監査請求は誰ができますか`` and ``/副市長 任期`` ask; ``/baibain foo`` and
    ``/クォータ一覧`` (one word, no sentence in it) are unknown commands."""
    words = line.split()
    if not words:
        return False
    if len(words) > 3:
        return True
    if _folded(words[0]).isascii():
        return False
    return len(words) > 1 or _SENTENCE.search(line) is not None


# A message asking for the summary of something it names (「地方自治法第242条を要約して」,
# 「https://…/計画.pdf の要点を教えてください」, 「総合計画の概要」): the name, a word asking for a
# summary, then nothing but the request's own words (「…を教えてください」, 「…をお願いします」).
_SUMMARY_WORDS = r"(?:要約|要点|概要|要旨|あらまし|まとめ)"
_SUMMARY_ASKED = re.compile(
    r"^[「『]?(?P<name>.+?)[」』]?\s*(?:を|の(?:内容|全体)?を?|について)?\s*"
    rf"{_SUMMARY_WORDS}(?P<rest>.*)$",
    re.DOTALL,
)
# 「要約して」, 「要点を教えてください」: a summary asked for with nothing named.
_SUMMARY_ALONE = re.compile(rf"^{_SUMMARY_WORDS}(?P<rest>.*)$", re.DOTALL)
_REQUEST_WORDS = re.compile(r"(?:[ぁ-ゖー]|教え|見せ|作成|作|下さ|願|頼|欲)*[。．！!？?\s]*")


def is_web_address(text: str) -> bool:
    """Whether ``text`` starts as a web address does (what ``fetch`` may get)."""
    return text.startswith(("http://", "https://"))


def summary_target(text: str) -> str | None:
    """What a message asks to have summarized, when it asks for nothing else: 「地方自治法第
    242条を要約して」 → 「地方自治法第242条」, a message that is only a URL → that URL (a link
    pasted alone, as a file sent alone is summarized); None for 「手話通訳と要約筆記の違いは」."""
    words = text.split()
    if len(words) == 1 and is_web_address(words[0]):
        return words[0]
    asked = _SUMMARY_ASKED.match(text.strip())
    if asked is None or not _REQUEST_WORDS.fullmatch(asked["rest"]):
        return None
    return asked["name"].strip() or None


def asks_summary_alone(text: str) -> bool:
    """Whether a message asks for a summary and names nothing to summarize (「要約して」,
    「要点を教えてください」)."""
    asked = _SUMMARY_ALONE.match(text.strip())
    return asked is not None and _REQUEST_WORDS.fullmatch(asked["rest"]) is not None


def unknown_command_text(where: ConversationRef, line: str) -> str:
    """The reply to ``/foo``, with the commands named as typed ``where`` it is read."""
    name = line.split(maxsplit=1)[0] if line.split() else ""
    # Whole names: 「/dataset」 is close to /datasets and /dataset delete, not to itself;
    # 「/データ」 to 「/データセット」, as the user typed it in Japanese.
    names = [" ".join(names) for names, _ in _names()]
    similar = difflib.get_close_matches(_folded(name).lstrip("/"), names, n=2)
    hint = f"（もしかして: {'、'.join(typed(where, s) for s in similar)}）" if similar else ""
    text = (
        f"「{name[:40]}」というコマンドはありません{hint}。"
        f"{typed(where, 'help')} でコマンドの一覧を表示します。"
    )
    if not _folded(name).isascii():  # 「/baibain 副市長」: a question, perhaps
        text += f"質問する場合は「{typed(where, 'ask ' + name[:40])}」のように送ってください。"
    return text


# A number as typed: ASCII or full-width digits (the Japanese input method), grouped by commas
# or not; not 「²」, 「1e6」, 「-5」 or 「100万」.
_TYPED_NUMBER = re.compile("[0-9０-９][0-9０-９,，]*")


def typed_digits(text: str) -> str | None:
    """The digits of a whole number as staff type it (「12」, 「１２」, 「500,000」,
    「５００，０００」), ASCII and without leading zeros; ``None`` for anything else. Digits, not
    an ``int``: what the number is for bounds it (``admin.dataset_rules.dataset_number``,
    ``cli_quota.parse_tokens``), and ``int`` refuses more than 4,300 digits."""
    text = text.strip()
    if not _TYPED_NUMBER.fullmatch(text):
        return None
    return unicodedata.normalize("NFKC", text).replace(",", "").lstrip("0") or "0"


# Commands whose replies show nothing of the organization's own data, so they may be used
# where members of other organizations read along (``Turn.external_audience``).
FOR_EXTERNAL_AUDIENCE = frozenset({"help", "ask", "summarize"})


def external_audience_text(where: ConversationRef, command: Command) -> str:
    """The reply to a command that would show the organization's data to other organizations."""
    return (
        "このチャンネルには他の組織のメンバーも参加しているため、"
        f"「{typed(where, command.name)}」は使えません。"
        f"{direct_chat(where.platform)}でお試しください。"
    )


def _after_mention(where: ConversationRef) -> bool:
    """Whether a command where the reply is read must follow a mention of the bot: in a
    Slack thread (Slack runs no slash command there) and in a Teams channel or group chat
    (only a mention reaches the bot); not in LoGo Chat, which sends commands from anywhere."""
    if where.platform == "slack":
        return bool(where.thread_id)
    return where.platform == "teams" and where.needs_mention


def typed(where: ConversationRef, line: str) -> str:
    """A command as the user types it in the conversation ``where`` the reply is read
    (「/datasets 3」): after a mention of the bot where it must follow one
    (「@バイバイン /datasets 3」); elsewhere on Slack after /baibain, as Slack takes a message
    that starts with / as one of its own commands."""
    if _after_mention(where):
        return f"{MENTION} /{line}"
    return f"/baibain {line}" if where.platform == "slack" else f"/{line}"


def takes_nothing_more(command: Command) -> bool:
    """Whether words typed after ``command`` mean the user meant something else (「/quota
    横浜市」, 「/usage 先月」): a command with no arguments other than help, which shows
    everything whatever follows (「/help upload」)."""
    return not command.args and command.name != "help"


def extra_words_text(where: ConversationRef, command: Command) -> str:
    """The reply to ``command`` typed with words it does not take: what it does alone, and
    the commands that start with its name (``/quota set``)."""
    named = typed(where, command.name)
    lines = [f"「{named}」のあとには何も指定できません。"]
    lines.append(f"「{named}」とだけ送ると、{command.summary}。")
    for longer in COMMANDS:
        if longer.name.startswith(f"{command.name} "):
            who = ACCESS_LABELS[longer.access]
            lines.append(
                f"「{typed(where, longer.usage[1:])}」で{longer.summary}"
                + (f"（{who}）。" if who else "。")
            )
    return "".join(lines)


def refusal_text(where: ConversationRef, command: Command) -> str:
    """The reply to a command the user may not run, the command as typed ``where``."""
    who = ACCESS_LABELS[command.access]
    ask = "運用窓口" if command.access == "operator" else "組織の管理者"
    named = typed(where, command.name)
    return f"「{named}」は{who}が実行できます。必要な場合は{ask}にご相談ください。"


def welcome_text(where: ConversationRef, *, direct: bool) -> str:
    """What the bot says when it is added to a conversation: what it does and how to ask
    there (``direct``: a chat with the bot alone, where no mention is needed), help named as
    typed there (after a mention Slack leaves 「/help」 to the bot)."""
    how = WELCOME_DIRECT if direct else WELCOME_SHARED
    command = typed(where, "help") if direct else f"{MENTION} /help"
    more = f"使い方とコマンドの一覧は「{command}」で表示します。{AI_NOTE}"
    return "\n\n".join((WELCOME_INTRO, how, more))


def _how_to_command(where: ConversationRef) -> str:
    """How commands are sent where help is read, and their Japanese names."""
    japanese = "、".join(names[0] for names in JAPANESE_NAMES.values())
    example = JAPANESE_NAMES["datasets"][0]
    if _after_mention(where):
        # 「@バイバイン データセット」: a name alone after the mention works too
        if where.platform == "slack":
            here, outside = "このスレッドでは", "スレッドの外では「/baibain help」"
        else:
            here, outside = "ここでは", f"{direct_chat(where.platform)}では「/help」"
        return (
            f"{here}、コマンドは「{typed(where, 'help')}」のようにメンションに続けて"
            f"送ってください（{outside}）。"
            f"コマンド名は「{MENTION} {example}」のように日本語でも送れます（{japanese}）。"
        )
    if where.platform == "slack":
        how = "コマンドは「/baibain help」のように送ってください"
        how += f"（スレッドの中では「{MENTION} /help」）。"
    else:
        how = "コマンドは「/help」のように / に続けて送ってください"
        how += f"（チャンネルでは「{MENTION} /help」）。"
    named = typed(where, example)
    return how + f"コマンド名は「{named}」のように日本語でも送れます（{japanese}）。"


def help_text(where: ConversationRef) -> str:
    """The help message, generated from ``COMMANDS``, with the commands as typed in the
    conversation ``where`` it is read and its platform's word for a chat with the bot alone."""
    platform = where.platform
    how = _how_to_command(where)
    lines = [
        "自治体版バイバインの使い方です。",
        f"質問はメンションに続けて書いてください（{direct_chat(platform)}ではそのまま書けます）。"
        "スレッドで続けて質問すると、前のやり取りをふまえて回答します。",
        "資料のファイルを添付して質問すると、その資料から回答します"
        "（「要約して」とだけ書くと要約します）。"
        "「地方自治法第242条を要約して」のように書くと、その文書を要約します。"
        "回答に続けて同じスレッドで「この条文を要約して」「[2]を要約して」と書くと、"
        "その回答の出典を要約します。",
        how,
        "",
        "コマンド一覧:",
    ]
    for command in COMMANDS:
        notes = [n for n in (ACCESS_LABELS[command.access],) if n]
        if not command.ready:
            notes.append("準備中")
        suffix = f"（{'・'.join(notes)}）" if notes else ""
        lines.append(f"・{typed(where, command.usage[1:])} — {command.summary}{suffix}")
    lines += ["", AI_NOTE]
    return "\n".join(lines)
