"""Neutral values that cross the boundary between platform adapters and the bot.

Adapters build a ``Turn`` from a platform payload and render an ``Answer`` back; both are
plain frozen dataclasses with no platform objects or callbacks inside. An adapter that can show
an answer while it is written passes a ``Progress`` callback beside the turn.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

Platform = Literal["slack", "teams", "logo", "api", "invoke", "web", "cli"]
# ``filtered``: the model's content filter refused the prompt or withheld the reply, and the
# turn was answered with quotes instead (or not at all).
Outcome = Literal[
    "answered", "not_found", "unclear", "filtered", "quota", "error", "refused", "command"
]
Rating = Literal["up", "down"]


@dataclass(frozen=True)
class Stage:
    """What the bot is doing while no text of its reply is written yet, said as it is
    (「「…」を要約しています（3/8 の部分を読みました）」)."""

    text: str


# Receives the text of an answer so far while a model writes it, or the ``Stage`` of a reply
# written in steps (a summary's parts read): a few times, seconds apart.
Progress = Callable[[str | Stage], Awaitable[None]]

# Chat platforms show the progress by editing a message: Slack allows about 50 edits a minute
# per workspace (chat.update, Tier 3), and a reply being written makes at most 30 a minute.
PROGRESS_INTERVAL_S = 2.0


class Paced:
    """A ``Progress`` told at most every ``PROGRESS_INTERVAL_S``; the first report goes at once.
    The caller asks ``due`` before it builds a report, and may ``tell`` one that must go now
    (a summary's last stage)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._last = float("-inf")

    @property
    def due(self) -> bool:
        """Whether the interval since the last report has passed."""
        return time.monotonic() - self._last >= PROGRESS_INTERVAL_S

    async def tell(self, report: str | Stage) -> None:
        """Report now, due or not."""
        self._last = time.monotonic()
        await self._progress(report)


AI_FOOTER = "※この回答はAIが資料をもとに作成したものです。必ず出典の原文を確認してください。"
# An offline answer or summary quotes the sources (the model wrote nothing): the footer says
# so, and still asks to check the quotes in context.
EXTRACT_FOOTER = "※この回答はAIが資料から抜粋したものです。必ず出典の原文を確認してください。"


@dataclass(frozen=True)
class ConversationRef:
    """Where a turn happened: enough to reply in the same place and to find the thread."""

    platform: Platform
    workspace_id: str = ""
    channel_id: str = ""
    thread_id: str = ""
    # The one member whose conversation this is in a channel others share, when the replies
    # are seen by that member alone (a Slack slash command's).
    member: str = ""
    # A chat with the bot alone (a Slack DM, a Teams personal chat, a LoGo 1:1 talk), where a
    # message reaches the bot without a mention; not part of ``key``.
    direct: bool = False

    @property
    def needs_mention(self) -> bool:
        """Whether a message here reaches the bot only when it mentions the bot (a chat
        platform's channel, group chat or talk)."""
        return self.platform in ("slack", "teams", "logo") and not self.direct

    @property
    def key(self) -> str:
        """A stable string naming the conversation (used for thread history)."""
        key = "/".join((self.platform, self.workspace_id, self.channel_id, self.thread_id))
        return f"{key}/@{self.member}" if self.member else key


@dataclass(frozen=True)
class Attachment:
    """A file that came with a turn; ``content`` is filled once downloaded."""

    name: str
    mime_type: str = ""
    size: int = 0
    url: str = ""
    content: bytes | None = None


# Characters nobody sees in a message: control characters (C0 but tab and line breaks, and
# DEL), which a paste from another program can carry and PostgreSQL refuses (a NUL), and the
# zero-width space, word joiner and byte order mark that come with text copied from web pages
# and PDFs (「/\u200bhelp」 is /help).
_UNSEEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u2060\ufeff]")


def starts_as_command(text: str) -> bool:
    """Whether a message starts as a command does: with a slash, half or full width (the
    Japanese input method types 「／」)."""
    return text.lstrip()[:1] in ("/", "／")


def without_unseen(text: str) -> str:
    """``text`` without the characters nobody sees (as a ``Turn`` holds it)."""
    return _UNSEEN.sub("", text)


@dataclass(frozen=True)
class Turn:
    """One user message to the bot, platform-neutral. Its ``text`` holds no control
    characters but tab and line breaks, and no zero-width spaces, word joiners or byte order
    marks: they are dropped as the turn is built, so a message that carries one is answered and
    recorded as the same message without it."""

    conversation: ConversationRef
    user_id: str
    text: str
    event_id: str = ""
    user_name: str = ""
    is_command: bool = False
    attachments: tuple[Attachment, ...] = ()
    # Members of other organizations read the reply (a Slack Connect channel): it may draw on
    # shared datasets only, never on the organization's own.
    external_audience: bool = False
    # The message that will show the answer, when replies to it form a thread of their own (a
    # Slack direct message answered outside a thread): a question asked in that thread
    # continues this turn.
    answer_thread: str = ""
    # The answer starts a thread under a channel's message (a mention outside a thread),
    # where a later question reaches the bot only with a mention again.
    opens_thread: bool = False
    # The text of the message that opened the thread this turn replies in, when someone else
    # opened it (a colleague's 「来月から住民票の写しの交付手数料が変わるそうです」 under which
    # 「@バイバイン これの根拠は？」 is asked): the conversation's context while the thread holds
    # no turn of the bot's own. Empty when the turn opens no thread reply, when the bot wrote
    # the opening (its answers are the thread's history), or when it could not be read (Slack
    # and Teams read it; LoGo Chat, whose webhook does not carry it, leaves it empty).
    thread_opening: str = ""
    # The one web address that opening linked to, when the turn asks about it (「要約して」
    # under a colleague's 「通知が出ました https://…/tsuchi.pdf」): what it is about.
    opening_link: str = ""

    def __post_init__(self) -> None:
        # One place for every platform; frozen, so set the way dataclasses do.
        object.__setattr__(self, "text", without_unseen(self.text))
        object.__setattr__(self, "thread_opening", without_unseen(self.thread_opening))

    @property
    def actor(self) -> str:
        """The sender as audit records of administrative and refused actions name who acted:
        ``<platform>:<user id>``, like ``cli:<OS account>`` and ``api:<key id>``."""
        return f"{self.conversation.platform}:{self.user_id}"


@dataclass(frozen=True)
class Citation:
    """A numbered source shown under an answer."""

    n: int
    title: str
    dataset: str = ""
    organization: str = ""
    position: str = ""
    url: str = ""
    published: str | None = None  # ISO: a statute's 公布日, a meeting's 開催日, else 公表日
    doc_id: str = ""
    category: str = ""
    statute: bool = False  # a statute (law id or title known): its date is its promulgation
    enforced: str | None = None  # ISO: the 施行日 of the statute version cited (e-Gov XML)
    meeting: bool = False  # a meeting's record (会議録): its date is the day the meeting met

    def details(self) -> list[str]:
        """What is shown after the title: position (unless the title ends with it), dataset,
        publishing organization, date and the version's 施行日 (「2025-06-06 施行」, as a
        summary names the version), the empty ones left out."""
        parts = (
            shown_position(self.title, self.position),
            self.dataset,
            self.organization,
            self.dated(),
            f"{self.enforced} 施行" if self.enforced else "",
        )
        return [p.strip() for p in parts if p and p.strip()]

    def dated(self) -> str:
        """The date with what it is, as a summary's 「（2023-06-07 施行）」 says it:
        「1971-08-11 公布」 (a statute), 「2026-03-05 開催」 (a meeting's record),
        「2024-04-01 公表」; ``""`` without a date."""
        if not self.published:
            return ""
        return f"{self.published} {'公布' if self.statute else '開催' if self.meeting else '公表'}"


def shown_position(title: str, position: str) -> str:
    """The position as shown next to the title: ``""`` when the title already ends with it
    (「地方自治法 第二百四十二条」 at 第二百四十二条)."""
    return "" if title.endswith(position.strip()) else position


@dataclass(frozen=True)
class Usage:
    """LLM tokens spent on a turn (zero for extractive answers)."""

    model: str = "extractive"
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class Answer:
    """What the bot says back: Japanese text, citations, a footer, a notice and bookkeeping."""

    text: str
    citations: tuple[Citation, ...] = ()
    footer: str = AI_FOOTER
    usage: Usage = field(default_factory=Usage)
    turn_id: str = ""
    outcome: Outcome = "answered"
    related_heading: str = ""
    feedback: bool = True
    # About the service rather than the answer (the month's AI budget nearly used), shown
    # last, after the footer; not part of ``text``, so not in the thread's history either.
    notice: str = ""

    @property
    def citations_heading(self) -> str:
        """What the citations are listed under: 出典, or ``related_heading`` when they are not
        the sources of an answer but possibly related documents."""
        return self.related_heading or "出典"


@dataclass(frozen=True)
class Feedback:
    """A 👍/👎 click on an answer (``turn_id`` names the answer)."""

    turn_id: str
    rating: Rating
    platform: Platform
    workspace_id: str = ""
    user_id: str = ""


class ChatBot(Protocol):
    """The bot as platform adapters see it (implemented by ``bot.router.ChatRouter``).

    Adapters verify and translate; everything that needs the database, the answer core or the
    audit log goes through these calls. None of them raises for bad user input: a turn
    always yields an ``Answer`` to show (refusals, hints and errors included).
    """

    async def claim_event(self, platform: Platform, event_id: str) -> bool:
        """Claim a platform event id before processing it; ``False`` when it was already
        claimed (a retry or a duplicate delivery, possibly to another process)."""
        ...

    async def handle(self, turn: Turn, progress: Progress | None = None) -> Answer:
        """Answer one turn: a question, a command, or a polite refusal or hint. ``progress``
        receives the answer's text while a model writes it, or the ``Stage`` of a summary a model
        writes in parts (never anything for other replies)."""
        ...

    async def asks_about_opening(self, turn: Turn) -> bool:
        """Whether a turn that brings no files of its own, in a thread someone opened with
        files (a colleague's PDF) or a link, asks about them (「これを要約して」, 「この資料の
        提出期限は？」): the adapter then fetches the files as if attached to the turn, or
        gives the link as its ``opening_link``."""
        ...

    async def welcome(
        self, conversation: ConversationRef, *, direct: bool, user_id: str = ""
    ) -> Answer | None:
        """What to say when the bot is added to a conversation (``direct``: a chat with the
        bot alone): how to ask there, or that the workspace must be registered first. With
        ``user_id``, once per user: ``None`` when that user was greeted already (or is being
        greeted: the greeting is claimed before it is sent)."""
        ...

    async def greeting_undelivered(self, conversation: ConversationRef, user_id: str) -> None:
        """The greeting ``welcome`` gave for ``user_id`` could not be sent: greet that user
        at their next opening."""
        ...

    async def record_feedback(self, feedback: Feedback) -> str:
        """Store a 👍/👎 click (a later click by the same user replaces the earlier one) and
        say what to tell that user: thanks when it was stored, otherwise why it was not (an
        unknown answer, an unregistered workspace) or that it could not be just now."""
        ...

    async def record_security_event(
        self, platform: Platform, reason: str, details: Mapping[str, str] | None = None
    ) -> None:
        """Record a rejected request (bad signature, invalid token) in the audit log."""
        ...


def notice(text: str, outcome: Outcome = "command") -> Answer:
    """A reply that is not an AI answer: no footer, no sources, no feedback buttons."""
    return Answer(text=text, outcome=outcome, footer="", feedback=False)
