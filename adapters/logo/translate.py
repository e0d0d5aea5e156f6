"""LoGo Chat payload ↔ neutral values (pure functions, no I/O)."""

from __future__ import annotations

import re

from adapters.common import as_command, citation_details
from adapters.logo.models import LogoEvent
from adapters.markdown import restyle
from bot.turns import Answer, Attachment, ConversationRef, Turn

_LEADING_AT_NAME = re.compile(r"^\s*[@＠]\S+\s*")
# The bot's name before a command, also in a one-to-one talk (where no mention is needed but
# staff type one out of habit) and also a name with a space (「@自治体版 バイバイン /quota」).
_AT_NAME_BEFORE_COMMAND = re.compile(r"^\s*[@＠][^\n/／]{1,40}?\s+(?=[/／])")


def _strip_mentions(event: LogoEvent, text: str) -> str:
    assert event.message is not None
    for mention in event.message.mentions:
        text = text.replace(f"<@{mention.user_id}>", " ")
    if before := _AT_NAME_BEFORE_COMMAND.match(text):
        return text[before.end() :].strip()
    # The mention in front; in a 1:1 talk the bot's name typed out of habit (「@バイバイン」
    # alone is a mention with nothing asked, not a search for the name).
    return _LEADING_AT_NAME.sub("", text, count=1).strip()


def _attachments(event: LogoEvent) -> tuple[Attachment, ...]:
    """The files of the event's message (a command event may carry one, as ``/upload`` or
    ``/summarize`` with files attached)."""
    if event.message is None:
        return ()
    return tuple(
        Attachment(
            name=f.name,
            mime_type=f.mime_type,
            size=f.size,
            url=str(f.download_url) if f.download_url else "",
        )
        for f in event.message.files
    )


def reply_thread(event: LogoEvent) -> str | None:
    """The thread to answer in: a mention is answered in the thread of its message."""
    if event.thread_id:
        return event.thread_id
    if event.type == "mention" and event.message is not None:
        return event.message.id
    return None


def to_turn(event: LogoEvent) -> Turn:
    """The turn of a validated webhook event."""
    conversation = ConversationRef(
        platform="logo",
        workspace_id=event.org_id,
        channel_id=event.talk_id,
        thread_id=reply_thread(event) or "",
        direct=event.type == "message",  # a 1:1 talk's
    )
    if event.command is not None and event.type == "command":
        name = event.command.name.strip().lstrip("/／")
        text = event.command.text.strip()
        line = text if name.lower() == "baibain" else f"{name} {text}".strip()
        return Turn(
            conversation=conversation,
            user_id=event.user.id,
            user_name=event.user.display_name,
            text=line,
            event_id=event.event_id,
            is_command=True,
            attachments=_attachments(event),
        )
    assert event.message is not None
    is_command, text = as_command(_strip_mentions(event, event.message.text))
    return Turn(
        conversation=conversation,
        user_id=event.user.id,
        user_name=event.user.display_name,
        text=text,
        event_id=event.event_id,
        is_command=is_command,
        attachments=_attachments(event),
        opens_thread=event.type == "mention" and not event.thread_id,
    )


def render(answer: Answer) -> dict[str, str]:
    """The reply text: the answer (a model's Markdown as plain text, each link's address
    after its name, between spaces: a chat client takes what follows an address up to a space
    into the link, as 「）を」 of 「（https://…）をご覧ください」), numbered sources with links,
    then the footer and the notice."""
    blocks = [restyle(answer.text.strip(), mark="", link=lambda name, url: f"{name} {url} ")]
    if answer.citations:
        lines = [f"{answer.citations_heading}:"]
        for c in answer.citations:
            details = citation_details(c)
            lines.append(f"[{c.n}] {c.title}" + (f"（{details}）" if details else ""))
            if c.url:
                lines.append(f"    {c.url}")
        blocks.append("\n".join(lines))
    blocks += (answer.footer, answer.notice)
    return {"text": "\n\n".join(b for b in blocks if b)}
