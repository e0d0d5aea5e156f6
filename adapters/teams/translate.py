"""Bot Framework activities (Microsoft Teams) ↔ neutral values (pure functions, no I/O).

The workspace of a turn is the tenant; the user is the Entra ID object id (``aadObjectId``,
what ``baibain org add-admin ORG teams USER_ID`` expects), or the channel account id when
Teams does not send one. In a channel the thread is the root message id carried in the
conversation id (``19:…@thread.tacv2;messageid=…``); replies to that conversation stay in it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from adapters.common import as_command, citation_details, is_web_link
from adapters.markdown import bold_headings, flat_tables, plain_text
from adapters.progress import progress_text
from bot.turns import Answer, Attachment, ConversationRef, Feedback, Stage, Turn

FEEDBACK_KIND = "baibain.feedback"
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
_LEADING_AT = re.compile(r"^\s*<at>[^<]*</at>")
_AT_TAGS = re.compile(r"</?at>")


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def tenant_of(activity: Mapping[str, Any]) -> str:
    """The tenant id (``channelData.tenant.id``, else ``conversation.tenantId``)."""
    tenant = _map(_map(activity.get("channelData")).get("tenant")).get("id")
    return str(tenant or _map(activity.get("conversation")).get("tenantId") or "")


def user_of(activity: Mapping[str, Any]) -> str:
    """The sender's Entra ID object id, else the channel account id."""
    sender = _map(activity.get("from"))
    return str(sender.get("aadObjectId") or sender.get("id") or "")


def split_conversation_id(conversation_id: str) -> tuple[str, str]:
    """``(channel, root message id)`` of a conversation id (the id is empty outside threads)."""
    base, _, message_id = conversation_id.partition(";messageid=")
    return base, message_id


def _strip_mentions(activity: Mapping[str, Any], text: str) -> str:
    """The text without the bot's own mentions (the mention entities naming the recipient);
    other people's mentions stay, as their names (「田中 太郎さんの担当業務は」). Only an
    activity without any mention entity has a leading mention taken for the bot's."""
    bot_id = _map(activity.get("recipient")).get("id")
    mentions = [_map(e) for e in activity.get("entities") or () if _map(e).get("type") == "mention"]
    for entity in mentions:
        tag = str(entity.get("text") or "")
        if tag and bot_id and _map(entity.get("mentioned")).get("id") == bot_id:
            text = text.replace(tag, " ")
    if not mentions:
        text = _LEADING_AT.sub("", text)
    return html.unescape(_AT_TAGS.sub("", text)).strip()


def _attachments(activity: Mapping[str, Any]) -> tuple[Attachment, ...]:
    found = []
    for item in activity.get("attachments") or ():
        item = _map(item)
        kind = str(item.get("contentType") or "")
        if kind.startswith("image/"):  # pasted into the chat: named, never read
            subtype = kind.removeprefix("image/").split("+")[0] or "png"
            name = str(item.get("name") or f"画像.{subtype}")
            found.append(
                Attachment(name=name, mime_type=kind, url=str(item.get("contentUrl") or ""))
            )
            continue
        if kind != FILE_DOWNLOAD_INFO:
            continue  # Teams also attaches an HTML copy of the message
        content = _map(item.get("content"))
        found.append(
            Attachment(
                name=str(item.get("name") or ""),
                mime_type=str(content.get("fileType") or ""),
                url=str(content.get("downloadUrl") or ""),
            )
        )
    return tuple(found)


def _is_feedback(activity: Mapping[str, Any]) -> bool:
    return _map(activity.get("value")).get("kind") == FEEDBACK_KIND


def _feedback_data(activity: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """What a 👍/👎 button sent: the ``data`` of an ``Action.Execute`` (an
    ``adaptiveCard/action`` invoke), or the value of an ``Action.Submit`` message (cards
    posted before the buttons became ``Action.Execute``)."""
    if activity.get("type") == "invoke" and activity.get("name") == ADAPTIVE_CARD_ACTION:
        data = _map(_map(_map(activity.get("value")).get("action")).get("data"))
        return data if data.get("kind") == FEEDBACK_KIND else None
    if activity.get("type") == "message" and _is_feedback(activity):
        return _map(activity.get("value"))
    return None


def to_turn(activity: Mapping[str, Any]) -> Turn | None:
    """The turn of a message activity; ``None`` for other activities, card submits and the
    bot's own messages."""
    if activity.get("type") != "message" or _is_feedback(activity):
        return None
    sender = _map(activity.get("from"))
    if not sender.get("id") or sender.get("id") == _map(activity.get("recipient")).get("id"):
        return None
    conversation = _map(activity.get("conversation"))
    conversation_id = str(conversation.get("id") or "")
    if not conversation_id:
        return None
    channel, thread = split_conversation_id(conversation_id)
    opens = not thread and conversation.get("conversationType") == "channel"
    if opens:
        opens = not activity.get("replyToId")  # a new post, not a reply in its thread
        thread = str(activity.get("replyToId") or activity.get("id") or "")
    is_command, text = as_command(_strip_mentions(activity, str(activity.get("text") or "")))
    return Turn(
        conversation=ConversationRef(
            platform="teams",
            workspace_id=tenant_of(activity),
            channel_id=channel,
            thread_id=thread,
            direct=is_personal(activity),
        ),
        user_id=user_of(activity),
        user_name=str(sender.get("name") or ""),
        text=text,
        event_id=f"{conversation_id}|{activity.get('id') or ''}" if activity.get("id") else "",
        is_command=is_command,
        attachments=_attachments(activity),
        opens_thread=opens,
    )


def added_to(activity: Mapping[str, Any]) -> ConversationRef | None:
    """The conversation of a ``conversationUpdate`` that adds the bot itself (the app was
    installed in a personal chat, a team or a group chat); ``None`` for other activities,
    such as a colleague joining a team the bot is already in."""
    if activity.get("type") != "conversationUpdate":
        return None
    bot_id = _map(activity.get("recipient")).get("id")
    added = (_map(member).get("id") for member in activity.get("membersAdded") or ())
    conversation_id = str(_map(activity.get("conversation")).get("id") or "")
    if not bot_id or bot_id not in added or not conversation_id:
        return None
    channel, thread = split_conversation_id(conversation_id)
    return ConversationRef(
        platform="teams",
        workspace_id=tenant_of(activity),
        channel_id=channel,
        thread_id=thread,
        direct=is_personal(activity),
    )


def is_personal(activity: Mapping[str, Any]) -> bool:
    """Whether the activity is from a personal chat with the bot (no mention needed there)."""
    return _map(activity.get("conversation")).get("conversationType") == "personal"


def to_feedback(activity: Mapping[str, Any]) -> Feedback | None:
    """The 👍/👎 of a button on one of our cards, if it is one (see ``_feedback_data``)."""
    value = _feedback_data(activity)
    if value is None:
        return None
    rating = value.get("rating")
    turn_id = str(value.get("turn_id") or "")
    user = user_of(activity)
    if rating not in ("up", "down") or not turn_id or not user:
        return None
    return Feedback(
        turn_id=turn_id,
        rating="up" if rating == "up" else "down",
        platform="teams",
        workspace_id=tenant_of(activity),
        user_id=user,
    )


def _md(text: str) -> str:
    # Adaptive Card text is a small markdown dialect; keep brackets from forming links.
    return text.replace("[", "［").replace("]", "］")


def _citation_text(n: int, title: str, url: str, details: str) -> str:
    label = f"[{_md(title)}]({url})" if is_web_link(url) and ")" not in url else _md(title)
    return f"［{n}］ {label}" + (f"（{details}）" if details else "")


def _text_block(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def render(answer: Answer) -> dict[str, Any]:
    """A message activity with one Adaptive Card: answer, numbered sources, footer, 👍/👎."""
    # Adaptive Card Markdown has bold, lists and links, but no headings.
    body: list[dict[str, Any]] = [_text_block(bold_headings(flat_tables(answer.text), "**"))]
    if answer.citations:
        body.append(_text_block(answer.citations_heading, weight="Bolder", spacing="Medium"))
        body += [
            _text_block(_citation_text(c.n, c.title, c.url, citation_details(c)), spacing="Small")
            for c in answer.citations
        ]
    # A line of its own each (the follow-up tip under the AI note): Teams joins the lines of
    # one TextBlock's Markdown.
    for n, line in enumerate(answer.footer.splitlines()):
        spacing = "Small" if n else "Medium"
        body.append(_text_block(line, size="Small", isSubtle=True, spacing=spacing))
    if answer.notice:
        body.append(_text_block(answer.notice, spacing="Medium"))
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": body,
    }
    if answer.feedback and answer.turn_id:
        card["actions"] = [
            _execute("👍 役に立った", answer.turn_id, "up"),
            _execute("👎 役に立たなかった", answer.turn_id, "down"),
        ]
    return {
        "type": "message",
        "summary": plain_text(answer.text)[:100],  # notifications show it as typed
        "attachments": [{"contentType": ADAPTIVE_CARD, "content": card}],
    }


def render_progress(progress: str | Stage, limit: int) -> dict[str, Any]:
    """The placeholder while the model writes: the answer so far as plain text (a partial
    answer's Markdown may be unbalanced) of at most ``limit`` characters, then a mark that
    more is coming; or a summary's stage."""
    return {"type": "message", "text": progress_text(progress, limit), "textFormat": "plain"}


def _execute(title: str, turn_id: str, rating: str) -> dict[str, Any]:
    # Action.Execute, unlike Action.Submit, is an invoke whose response Teams shows to the
    # person who pressed the button alone (see ``TeamsAdapter``).
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": FEEDBACK_KIND,
        "data": {"kind": FEEDBACK_KIND, "turn_id": turn_id, "rating": rating},
    }
