"""Replies that name chat commands or the bot: help, the welcome, hints and refusals, each with
the commands as typed in the conversation where it is read (Slack's /baibain, a mention in a
thread or a Teams channel), and each platform's words for its chats and workspaces.
"""

from __future__ import annotations

import difflib

from bot.commands import (
    ACCESS_LABELS,
    COMMANDS,
    JAPANESE_NAMES,
    Command,
    command_names,
    folded,
)
from bot.turns import ConversationRef, Platform

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


ATTACHMENTS_NOT_RECEIVED = (
    "添付ファイルを受け取れませんでした（20MB を超えるファイルや、チャットから取得できない"
    "ファイルは受け取れません）。もう一度添付して送るか、文書の URL を指定してください。"
)


def unknown_command_text(where: ConversationRef, line: str) -> str:
    """The reply to ``/foo``, with the commands named as typed ``where`` it is read."""
    name = line.split(maxsplit=1)[0] if line.split() else ""
    # Whole names: 「/dataset」 is close to /datasets and /dataset delete, not to itself;
    # 「/データ」 to 「/データセット」, as the user typed it in Japanese.
    names = [" ".join(names) for names, _ in command_names()]
    similar = difflib.get_close_matches(folded(name).lstrip("/"), names, n=2)
    hint = f"（もしかして: {'、'.join(typed(where, s) for s in similar)}）" if similar else ""
    text = (
        f"「{name[:40]}」というコマンドはありません{hint}。"
        f"{typed(where, 'help')} でコマンドの一覧を表示します。"
    )
    if not folded(name).isascii():  # 「/baibain 副市長」: a question, perhaps
        text += f"質問する場合は「{typed(where, 'ask ' + name[:40])}」のように送ってください。"
    return text


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
