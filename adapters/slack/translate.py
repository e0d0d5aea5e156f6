"""Slack payloads ↔ neutral values (pure functions, no I/O).

``to_turn`` takes what bolt parsed from the request body: an Events API envelope
(``event_callback`` with ``app_mention`` or a direct ``message``) or a slash command form.
``thread_reply`` says which thread's opening message to read for such an event, and
``read_opening`` translates what ``conversations.replies`` returned for it.
``render`` builds Block Kit: the answer in sections, numbered sources as links, the footer and
👍/👎 buttons whose ``value`` is the answer's turn id.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import emoji

from adapters.common import as_command, citation_details, is_web_link
from adapters.markdown import plain_text
from adapters.openings import Opening
from adapters.outbound import split_text
from adapters.progress import progress_text
from adapters.slack.mrkdwn import escape, link_label, to_mrkdwn
from bot.turns import Answer, Attachment, ConversationRef, Feedback, Rating, Stage, Turn

ACTION_UP = "baibain_feedback_up"
ACTION_DOWN = "baibain_feedback_down"
SECTION_LIMIT = 3000  # Slack's limit for the text of a section block
_SECTION_RAW = 2000  # raw characters per section before escaping (escaping only grows text)
FALLBACK_LIMIT = 1000
# Subtypes that are still a person writing to the bot; every other subtype (edits, deletions,
# joins, bot messages) is ignored.
_USER_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})

_USER_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|[^>]*)?>")
_LEADING_MENTIONS = re.compile(r"^(?:\s*<@[A-Z0-9]+(?:\|[^>]*)?>)+")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_CHANNEL = re.compile(r"<#[A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!([a-z]+)(?:\^[^|>]*)?(?:\|[^>]*)?>")
# An emoji as Slack writes it in a message's text (「:pray:」, 「:man-bowing:」, 「:+1:」), or
# markup (a link, a mention), whose address or label is no place for one (「<https://a/b:c:d>」).
_SHORTCODE = re.compile(r"<[^>]*>|:([a-z0-9_+'-]+):")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _bot_user_id(payload: Mapping[str, Any]) -> str:
    for authorization in payload.get("authorizations") or ():
        if isinstance(authorization, Mapping) and authorization.get("is_bot"):
            return str(authorization.get("user_id") or "")
    return ""


def clean_text(text: str, bot_user_id: str = "", *, urls: bool = False) -> str:
    """Slack markup to plain text: mentions of the bot (and leading mentions) removed, other
    mentions as ``@ID``, links as their label (``urls``: web links as their address, which a
    command such as ``summarize`` needs; Slack shows a typed address without its scheme),
    emoji shortcodes as their emoji (「ありがとうございます:bow:」 thanks, as typed with 🙇),
    entities unescaped."""
    text = _SHORTCODE.sub(_emoji, text)
    text = _LEADING_MENTIONS.sub("", text)
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _USER_MENTION.sub(lambda m: f"@{m.group(1)}", text)
    text = _LINK.sub(lambda m: _link_text(m, urls), text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1) or ''}", text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()


def _emoji(match: re.Match[str]) -> str:
    """The emoji a Slack shortcode shows (its names are GitHub's, some with hyphens for
    underscores); a skin tone (「:skin-tone-2:」 after the emoji it colors) is dropped, and a
    workspace's own emoji, which has no character, stays as typed."""
    name = match.group(1)
    if name is None:  # markup, as it is
        return match.group(0)
    if name.startswith("skin-tone-"):
        return ""
    for alias in (name, name.replace("-", "_")):
        shown = emoji.emojize(f":{alias}:", language="alias")
        if shown != f":{alias}:":
            return shown
    return match.group(0)


def _link_text(match: re.Match[str], urls: bool) -> str:
    address, label = match.group(1), match.group(2)
    if urls and address.startswith(("http://", "https://")):
        return address
    return label or address


def _attachments(event: Mapping[str, Any]) -> tuple[Attachment, ...]:
    files = event.get("files") or ()
    return tuple(
        Attachment(
            name=str(f.get("name") or f.get("title") or ""),
            mime_type=str(f.get("mimetype") or ""),
            size=int(f.get("size") or 0),
            url=str(f.get("url_private_download") or f.get("url_private") or ""),
        )
        for f in files
        if isinstance(f, Mapping)
    )


def _slash_turn(payload: Mapping[str, Any]) -> Turn | None:
    user = str(payload.get("user_id") or "")
    if not user:
        return None
    conversation = ConversationRef(
        platform="slack",
        workspace_id=str(payload.get("team_id") or ""),
        channel_id=str(payload.get("channel_id") or ""),
        # A slash command's reply is seen by its user alone: so is its conversation (the
        # follow-ups it continues, the sources 「要約して」 chooses from), not the channel's.
        member=user,
    )
    return Turn(
        conversation=conversation,
        user_id=user,
        user_name=str(payload.get("user_name") or ""),
        # Escaped as Slack escapes every text it sends (「&amp;」 in a URL's query).
        text=clean_text(str(payload.get("text") or ""), urls=True),
        # Slack never sends a slash command twice: its trigger id seen again is a replay.
        event_id=f"trigger:{payload['trigger_id']}" if payload.get("trigger_id") else "",
        is_command=True,
    )


def to_turn(payload: Mapping[str, Any]) -> Turn | None:
    """The turn of an ``app_mention``, a direct message or a slash command; ``None`` for
    anything else (the bot's own messages, edits, other channels' messages, other events)."""
    if payload.get("command"):
        return _slash_turn(payload)
    if payload.get("type") != "event_callback":
        return None
    event = payload.get("event")
    if not isinstance(event, Mapping):
        return None
    bot_user = _bot_user_id(payload)
    user = str(event.get("user") or "")
    if (
        not user
        or user == bot_user
        or event.get("bot_id")
        or event.get("subtype") not in _USER_SUBTYPES
        or "edited" in event
    ):
        return None
    workspace = str(payload.get("team_id") or event.get("team") or "")
    if event.get("user_team") and event.get("user_team") != workspace:
        # A member of another workspace in a Slack Connect channel: they are not of the
        # organization this workspace is linked to, and must not get its data.
        return None
    if event.get("type") == "app_mention":
        thread = str(event.get("thread_ts") or event.get("ts") or "")
    elif event.get("type") == "message" and event.get("channel_type") == "im":
        thread = str(event.get("thread_ts") or "")
    else:
        return None
    raw = str(event.get("text") or "")
    is_command, text = as_command(clean_text(raw, bot_user))
    if is_command:
        _, text = as_command(clean_text(raw, bot_user, urls=True))
    return Turn(
        conversation=ConversationRef(
            platform="slack",
            workspace_id=workspace,
            channel_id=str(event.get("channel") or ""),
            thread_id=thread,
            direct=event.get("type") == "message",  # only a DM's messages are read
        ),
        user_id=user,
        text=text,
        event_id=str(payload.get("event_id") or ""),
        is_command=is_command,
        attachments=_attachments(event),
        # A Slack Connect channel: other organizations' members read the thread.
        external_audience=payload.get("is_ext_shared_channel") is True,
        opens_thread=event.get("type") == "app_mention" and not event.get("thread_ts"),
    )


@dataclass(frozen=True)
class ThreadReply:
    """A mention or direct message that replies in a thread: the thread, and who the bot is
    (a thread the bot opened holds its own answer, which is history, not an opening)."""

    channel: str
    thread_ts: str
    bot_user_id: str = ""
    bot_id: str = ""


def thread_reply(payload: Mapping[str, Any], bot_id: str = "") -> ThreadReply | None:
    """The thread an event's message replies in, when its ``thread_ts`` is not its own ``ts``
    (the message is no thread's opening); ``None`` for anything else. ``bot_id``: the bot's
    (bolt's ``context.bot_id``), which its own messages carry."""
    if payload.get("type") != "event_callback":
        return None
    event = _map(payload.get("event"))
    thread_ts, ts = str(event.get("thread_ts") or ""), str(event.get("ts") or "")
    channel = str(event.get("channel") or "")
    if not thread_ts or thread_ts == ts or not channel:
        return None
    return ThreadReply(channel, thread_ts, _bot_user_id(payload), bot_id)


def read_opening(replies: Mapping[str, Any], reply: ThreadReply) -> Opening:
    """The thread's opening message in a ``conversations.replies`` response (``ts`` = the
    thread, ``inclusive``: the opening comes first), translated as a turn's text and files are;
    empty when it is not there, was deleted (a tombstone), or is the bot's own."""
    messages = replies.get("messages")
    if not isinstance(messages, list) or not messages:
        return Opening()
    opening = _map(messages[0])
    user, bot = str(opening.get("user") or ""), str(opening.get("bot_id") or "")
    if (
        str(opening.get("ts") or "") != reply.thread_ts
        or opening.get("subtype") == "tombstone"
        or (reply.bot_user_id and user == reply.bot_user_id)
        or (reply.bot_id and bot == reply.bot_id)
    ):
        return Opening()
    raw = str(opening.get("text") or "")
    links = tuple(m[1] for m in _LINK.finditer(raw) if m[1].startswith(("http://", "https://")))
    return Opening(clean_text(raw, reply.bot_user_id), _attachments(opening), links)


def welcome_target(payload: Mapping[str, Any]) -> tuple[ConversationRef, str] | None:
    """Where to greet, and whom: the channel the bot itself just joined
    (``member_joined_channel``, no user), or the direct chat a user opened with the bot
    (``app_home_opened`` on the Messages tab, sent at every opening: that user, to greet
    once); ``None`` for anything else, such as a colleague joining a channel."""
    if payload.get("type") != "event_callback":
        return None
    event = _map(payload.get("event"))
    user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
    workspace = str(payload.get("team_id") or event.get("team") or "")
    if event.get("type") == "member_joined_channel" and user and user == _bot_user_id(payload):
        user = ""
    elif not (event.get("type") == "app_home_opened" and event.get("tab") == "messages"):
        return None
    if not channel:
        return None
    where = ConversationRef("slack", workspace, channel, direct=bool(user))  # a DM's user
    return where, user


def to_feedback(payload: Mapping[str, Any]) -> Feedback | None:
    """The 👍/👎 of a ``block_actions`` payload from one of our buttons, if it is one."""
    if payload.get("type") != "block_actions":
        return None
    user = _map(payload.get("user"))
    team = _map(payload.get("team"))
    ratings: dict[str, Rating] = {ACTION_UP: "up", ACTION_DOWN: "down"}
    for action in payload.get("actions") or ():
        action = _map(action)
        rating = ratings.get(str(action.get("action_id")))
        turn_id = str(action.get("value") or "")
        if rating and turn_id and user.get("id"):
            return Feedback(
                turn_id=turn_id,
                rating=rating,
                platform="slack",
                workspace_id=str(team.get("id") or user.get("team_id") or ""),
                user_id=str(user["id"]),
            )
    return None


def _sections(text: str) -> list[dict[str, Any]]:
    blocks = []
    for part in split_text(text, _SECTION_RAW):
        escaped = to_mrkdwn(part)
        while len(escaped) > SECTION_LIMIT:  # only with text made of & < > (never in practice)
            blocks.append(_section(escaped[:SECTION_LIMIT]))
            escaped = escaped[SECTION_LIMIT:]
        blocks.append(_section(escaped))
    return blocks


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}}


def citation_line(n: int, title: str, url: str, details: str) -> str:
    """``[n] <url|title>（details）`` in mrkdwn."""
    label = f"<{url}|{link_label(title)}>" if is_web_link(url) else escape(title)
    return f"[{n}] {label}" + (f"（{escape(details)}）" if details else "")


def _citation_blocks(answer: Answer) -> list[dict[str, Any]]:
    lines = [f"*{answer.citations_heading}*"] + [
        citation_line(c.n, c.title, c.url, citation_details(c)) for c in answer.citations
    ]
    blocks, current = [], ""
    for line in lines:
        if current and len(current) + 1 + len(line) > SECTION_LIMIT:
            blocks.append(_section(current))
            current = ""
        current = f"{current}\n{line}" if current else line[:SECTION_LIMIT]
    blocks.append(_section(current))
    return blocks


def _fallback(text: str) -> str:
    """The message's ``text`` (notifications, previews), which Slack reads as mrkdwn: escaped,
    so that a ``<!channel>`` or ``<https://…|…>`` in an answer or a quoted document is shown
    as typed and notifies no one."""
    text = text if len(text) <= FALLBACK_LIMIT else text[: FALLBACK_LIMIT - 1] + "…"
    return escape(text)


def render(answer: Answer) -> dict[str, Any]:
    """One Slack message (``text`` for notifications, ``blocks`` for display)."""
    blocks = _sections(answer.text)
    if answer.citations:
        blocks += _citation_blocks(answer)
    if answer.footer:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(answer.footer)}]}
        )
    if answer.notice:  # full size: unlike the footer it is news, said once
        blocks.append(_section(escape(answer.notice)))
    if answer.feedback and answer.turn_id:
        blocks.append(
            {
                "type": "actions",
                "block_id": "baibain_feedback",
                "elements": [
                    _button("👍 役に立った", ACTION_UP, answer.turn_id),
                    _button("👎 役に立たなかった", ACTION_DOWN, answer.turn_id),
                ],
            }
        )
    return {"text": _fallback(plain_text(answer.text)), "blocks": blocks}


def render_progress(progress: str | Stage) -> dict[str, Any]:
    """The placeholder while the model writes: the answer so far as plain text (a partial
    answer's Markdown may be unbalanced), then a mark that more is coming; or a summary's
    stage."""
    shown = progress_text(progress, SECTION_LIMIT)
    section = {"type": "section", "text": {"type": "plain_text", "text": shown, "emoji": False}}
    return {"text": _fallback(shown), "blocks": [section]}


def _button(label: str, action_id: str, turn_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": label, "emoji": True},
        "action_id": action_id,
        "value": turn_id,
    }
