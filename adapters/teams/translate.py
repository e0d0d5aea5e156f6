"""Bot Framework activities (Microsoft Teams) ↔ neutral values (pure functions, no I/O).

The workspace of a turn is the tenant; the user is the Entra ID object id (``aadObjectId``,
what ``baibain org add-admin ORG teams USER_ID`` expects), or the channel account id when
Teams does not send one. In a channel the thread is the root message id carried in the
conversation id (``19:…@thread.tacv2;messageid=…``); replies to that conversation stay in it.
``channel_reply`` says which thread's root message to read for a reply in a channel thread,
and ``read_channel_message`` translates the chatMessage Microsoft Graph returned for it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

from adapters.common import as_command, citation_details, is_web_link
from adapters.markdown import bold_headings, flat_tables, plain_text
from adapters.openings import Opening
from adapters.progress import progress_text
from bot.turns import Answer, Attachment, ConversationRef, Feedback, Stage, Turn

FEEDBACK_KIND = "baibain.feedback"
FILE_DOWNLOAD_INFO = "application/vnd.microsoft.teams.file.download.info"
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
_LEADING_AT = re.compile(r"^\s*<at>[^<]*</at>")
_AT_TAGS = re.compile(r"</?at>")
# A web address in a message's text, as ``knowledge.query.WEB_ADDRESS`` reads one (ending
# before Japanese brackets and punctuation); adapters do not import the knowledge layer.
_WEB_ADDRESS = re.compile(r"https?://[^\s<>\"'「」『』（）()、。，．！？]+")
# HTML elements after which a chatMessage's text goes on on a new line.
_BLOCKS = frozenset({"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})


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


@dataclass(frozen=True)
class ChannelReply:
    """A message replying in a channel thread, and where Microsoft Graph finds the thread's
    root message: the tenant, the team's Entra ID group id (``channelData.team.aadGroupId``;
    empty when the activity does not carry it, as message activities mostly do not: the Bot
    Connector then tells it for ``team_id`` at ``service_url``), the channel and the root
    message's id."""

    tenant: str
    team: str
    channel: str
    root_id: str
    team_id: str = ""  # the team's Teams id (``channelData.team.id``, 19:…@thread.tacv2)
    service_url: str = ""


def channel_reply(activity: Mapping[str, Any]) -> ChannelReply | None:
    """The channel thread a message replies in: its conversation id names a root message
    (``;messageid=``, or ``replyToId`` without one) that is not the message itself (a mention
    in the root post is the opening); ``None`` for anything else, personal and group chats
    included."""
    conversation = _map(activity.get("conversation"))
    if activity.get("type") != "message" or conversation.get("conversationType") != "channel":
        return None
    base, root = split_conversation_id(str(conversation.get("id") or ""))
    root = root or str(activity.get("replyToId") or "")
    tenant = tenant_of(activity)
    if not root or root == str(activity.get("id") or "") or not tenant:
        return None
    data = _map(activity.get("channelData"))
    channel = str(_map(data.get("channel")).get("id") or base)
    team = _map(data.get("team"))
    if not channel:
        return None
    return ChannelReply(
        tenant,
        str(team.get("aadGroupId") or ""),
        channel,
        root,
        team_id=str(team.get("id") or ""),
        service_url=str(activity.get("serviceUrl") or ""),
    )


class _HtmlBody(HTMLParser):
    """The text of a chatMessage's HTML body (tags dropped, a mention's ``<at>`` as its name,
    an emoji as the character it shows, lines broken where Teams shows them) and the web
    addresses it links to, in their order: a link's ``href``, and an address typed in the
    text outside links (a typed address Teams made a link is its ``href``, which may differ
    from what was typed by a trailing slash)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self._in_link = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "br":
            self.parts.append("\n")
        elif tag == "a":
            self._in_link += 1
            if is_web_link(found.get("href") or ""):
                self.links.append(str(found["href"]))
        elif tag == "emoji":
            self.parts.append(found.get("alt") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a":
            self._in_link = max(self._in_link - 1, 0)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        if not self._in_link:
            self.links += _WEB_ADDRESS.findall(data)


def _message_text(text: str) -> str:
    """Lines without the spaces around them, at most one empty line between paragraphs."""
    lines = (line.strip() for line in text.replace("\xa0", " ").split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def read_channel_message(message: Mapping[str, Any]) -> Opening:
    """A channel thread's root message as Microsoft Graph gives it (a ``chatMessage``), read
    as a turn reads its text: its subject (when it was posted with one) and body, with the web
    addresses it links to; empty when it was deleted, is a bot's or another app's post (the
    bot's own answers are the thread's history, not a question), or is no message (a system
    event). Files stay out: in a channel they are SharePoint references, which need other
    permissions than reading the message."""
    sender = _map(message.get("from"))
    if (
        message.get("deletedDateTime")
        or sender.get("application")
        or message.get("messageType") != "message"
    ):
        return Opening()
    body = _map(message.get("body"))
    content = str(body.get("content") or "")
    if body.get("contentType") == "html":
        parser = _HtmlBody()
        try:
            parser.feed(content)
            parser.close()
        except AssertionError:  # how HTMLParser refuses a marked section it does not know
            return Opening()
        text, links = "".join(parser.parts), parser.links
    else:
        text, links = content, _WEB_ADDRESS.findall(content)
    subject = str(message.get("subject") or "").strip()
    text = _message_text(f"{subject}\n{text}" if subject else text)
    return Opening(text, links=tuple(dict.fromkeys(links)))


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
