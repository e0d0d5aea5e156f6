"""Chat commands: their definitions and how a typed line is read as one (the replies that
name them are ``bot.command_replies``).

A command is typed after the mention as ``/name args`` (Slack: ``/baibain name args``; LoGo
Chat: a ``command`` event). Commands whose back end is not built yet are marked
``ready=False``: help lists them as 準備中 and running them says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Literal

from bot.turns import starts_as_command
from knowledge.query import web_addresses, without_web_addresses

Access = Literal["everyone", "admin", "operator"]

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


def find(name: str) -> Command:
    """The command called ``name`` (``KeyError`` if there is none)."""
    for command in COMMANDS:
        if command.name == name:
            return command
    raise KeyError(name)


def folded(word: str) -> str:
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
    if folded(first) == BOT_COMMAND:
        return command_line(rest[0]) if rest else ""
    return line


@cache
def command_names() -> list[tuple[tuple[str, ...], Command]]:
    """Every name of every command as words (its own and its Japanese names), longest first."""
    names = [(c.words, c) for c in COMMANDS]
    for name, japanese in JAPANESE_NAMES.items():
        names += [(tuple(n.split()), find(name)) for n in japanese]
    return sorted(names, key=lambda pair: -len(pair[0]))


def parse(line: str) -> tuple[Command | None, str]:
    """The command a line starts with (longest name first, English or Japanese) and the rest
    of the line (see ``command_line`` for what may come before it)."""
    line = command_line(line)
    lowered = tuple(folded(w) for w in line.split())
    for names, command in command_names():
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
    if folded(words[0]).isascii():
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


# What a summary request calls text the message carries (「次の文章」, 「以下」, 「上記の内容」,
# 「この条文」 above a pasted provision) or the document it links to (「このPDF」, 「以下のURL
# の資料」).
_PASTE_POINTER = re.compile(
    r"(?:次|以下|下記|上記|以上|上|この|これ|こちら|リンク先)?"
    r"(?:の?(?:文章|文|内容|通知|メール|記事|お知らせ|資料|テキスト|条文|規定|案内|文書|ファイル"
    r"|PDF|pdf|URL|url|リンク先|リンク|ページ|サイト))*"
)
# How long a summary is asked to be, just before the word asking for it (「3行で要約して」,
# 「200字以内でまとめて」, 「三行で要点を」): lines, sentences and points are counted as
# ``LINE_CHARS`` characters each, and what is asked is kept within ``SUMMARY_CHARS``.
_HOW_LONG = re.compile(
    r"(?P<n>[0-9０-９]+|[一二三四五六七八九十])(?P<unit>行|文|点|文字|字)"
    r"(?:程度|くらい|ぐらい|以内|前後)?で(?:簡単に|簡潔に|短く)?"
    r"(?=(?:を|の)?(?:要約|まとめ|要点|概要|要旨))"
)
_KANJI_DIGITS = {c: n for n, c in enumerate("一二三四五六七八九十", start=1)}
LINE_CHARS = 60
SUMMARY_CHARS = (60, 1500)
_COLONS = ("：", ":")
# Pasted text shorter than this is no document to summarize (「要約して\n住民票」).
MIN_PASTED_CHARS = 40


def summary_length(text: str) -> tuple[str, int | None]:
    """A message without the length it asks its summary to have, and that length in
    characters (「地方自治法第242条を3行で要約して」 → 「地方自治法第242条を要約して」, 180);
    ``None`` when it asks for none."""
    asked = _HOW_LONG.search(text)
    if asked is None:
        return text, None
    digits = unicodedata.normalize("NFKC", asked["n"])
    count = int(digits) if digits.isdigit() else _KANJI_DIGITS[digits]
    chars = count if asked["unit"] in ("字", "文字") else count * LINE_CHARS
    low, high = SUMMARY_CHARS
    return text[: asked.start()] + text[asked.end() :], min(max(chars, low), high)


def asks_summary_pointing(line: str) -> bool:
    """Whether a line asks for the summary of text beside it, or of what it points at, and
    names nothing else
    (「次の文章を要約してください。」, 「以下の要点を教えて：」, 「上記を3行で要約して」,
    「要約して」)."""
    line = _HOW_LONG.sub("", line.strip().rstrip("：:"))
    if asks_summary_alone(line):
        return True
    asked = _SUMMARY_ASKED.match(line)
    if asked is None or not _REQUEST_WORDS.fullmatch(asked["rest"]):
        return False
    return _PASTE_POINTER.fullmatch(asked["name"].strip().rstrip("、，,")) is not None


def linked_summary(message: str) -> str | None:
    """The one web address a message asks to have summarized, before or after the request
    (「このPDFを要約してください https://…」, 「https://… この資料の要点を教えて」); ``None``
    for anything else."""
    found = web_addresses(message)
    if len(found) != 1 or not asks_summary_pointing(without_web_addresses(message)):
        return None
    return found[0]


def pasted_text(message: str) -> str | None:
    """The text a message asks to have summarized when it carries it (a notice or e-mail
    pasted into the chat): under a first line asking for it (「次の文章を要約してください。\n…」),
    above a last line asking for it (「…\n上記を要約して」), or after a colon (「以下の要点を
    教えて：…」); ``None`` for any other message, and for text too short to summarize."""
    text = message.strip()
    body = None
    if "\n" in text:
        first, rest = text.split("\n", 1)
        above, last = text.rsplit("\n", 1)
        if asks_summary_pointing(first):
            body = rest
        elif asks_summary_pointing(last):
            body = above
    for colon in _COLONS if body is None else ():
        head, found, tail = text.partition(colon)
        if found and "\n" not in head and asks_summary_pointing(head):
            body = tail
            break
    if body is None or len(body.strip()) < MIN_PASTED_CHARS:
        return None
    return body.strip()


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


def takes_nothing_more(command: Command) -> bool:
    """Whether words typed after ``command`` mean the user meant something else (「/quota
    横浜市」, 「/usage 先月」): a command with no arguments other than help, which shows
    everything whatever follows (「/help upload」)."""
    return not command.args and command.name != "help"
