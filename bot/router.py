"""Chat turns to answers: organization, role checks, commands or the answer core.

``ChatRouter`` is the ``ChatBot`` the platform adapters talk to. Every turn yields an
``Answer`` to show: the workspace must be linked to an organization (``baibain org link``),
otherwise the user gets a polite refusal and the attempt is recorded as a security event; a
message that is only a mention gets a usage hint; commands are checked against the user's role
(``baibain org add-admin``) and refusals are recorded; everything else is a question for the
``Assistant``, with the conversation passed along so that thread follow-ups have context.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from admin import links
from admin.dataset_rules import ListedNotFound
from admin.orgs import OrgInfo
from bot import cited, command_replies, commands
from bot.asker import Asker
from bot.assistant import Assistant
from bot.attached import (
    ATTACHED_DATASET,
    about_files,
    ask_about_files,
    is_picture,
    points_at_files,
    wants_summary,
)
from bot.auditing import Auditor
from bot.commands import Command
from bot.feedback import record as feedback_record
from bot.metering import LLMAccess, threshold_notice
from bot.smalltalk import asks_how_to_use, asks_what_data
from bot.summarizer import Summarizer
from bot.summary_asked import document_asked, summarize_cited
from bot.summary_sources import SummaryRequest
from bot.turns import (
    Answer,
    ConversationRef,
    Feedback,
    Outcome,
    Platform,
    Progress,
    Turn,
    notice,
)
from knowledge.errors import BaibainError, QuotaExceeded
from knowledge.parsing import format_refused, is_document

log = logging.getLogger(__name__)

# Unauthenticated requests must not flood the audit log: one record per reason and minute.
SECURITY_WINDOW_S = 60.0

SUMMARIZE_EXAMPLE = "summarize 地方自治法第242条"
QUOTA = commands.find("quota")
DATASETS = commands.find("datasets")

CommandHandler = Callable[[Turn, OrgInfo, str], Awaitable[Answer]]


def _greeting_kind(org: OrgInfo | None) -> str:
    """What a user's greeting told them: how to ask, or that the workspace is not registered
    (a user told that is welcomed again once it is)."""
    return "welcome" if org else "unregistered"


def _chat_message(exc: BaibainError, where: ConversationRef) -> str:
    """What a chat user is told of ``exc``: where a missing dataset or document number is
    listed is the chat command alone, as typed ``where`` (not the CLI's or REST's)."""
    if isinstance(exc, ListedNotFound):
        return f"{exc.what}{exc.subject} {command_replies.typed(where, exc.chat)} で確認できます。"
    return exc.user_message


def _with_follow_up_tip(turn: Turn, answer: Answer) -> Answer:
    """``answer`` to a question that opens a thread in a channel, with how to ask on there
    under its footer (a reply without a mention never reaches the bot, and staff who never
    read the welcome wait for an answer that does not come)."""
    if not turn.opens_thread or answer.outcome not in ("answered", "not_found"):
        return answer
    return replace(
        answer, footer="\n".join(filter(None, (answer.footer, command_replies.FOLLOW_UP_TIP)))
    )


@dataclass
class _Window:
    started: float
    suppressed: int = 0


class ChatRouter:
    """The bot behind every chat platform (implements ``bot.turns.ChatBot``)."""

    def __init__(
        self,
        engine: Engine,
        assistant: Assistant,
        auditor: Auditor,
        clock: Callable[[], float] = time.monotonic,
        summarizer: Summarizer | None = None,
        metering: LLMAccess | None = None,
    ) -> None:
        self.engine = engine
        self.metering = metering
        self.assistant = assistant
        self.auditor = auditor
        self.summarizer = summarizer
        self._clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        # ``ask`` and ``summarize`` are not among them: they are answered as the messages that
        # ask the same are (``_command``), as a model writes them.
        self.handlers: dict[str, CommandHandler] = {"help": self._help}

    # -- ChatBot --------------------------------------------------------------------------

    async def claim_event(self, platform: Platform, event_id: str) -> bool:
        """First claim of a platform event id wins, across processes (database)."""
        return await asyncio.to_thread(links.claim_event, self.engine, platform, event_id)

    async def handle(self, turn: Turn, progress: Progress | None = None) -> Answer:
        """The answer to a turn; errors become their short Japanese message. ``progress``
        receives a question's answer while the model writes it."""
        started = time.perf_counter()
        platform = turn.conversation.platform
        org = await asyncio.to_thread(
            links.org_for_workspace, self.engine, platform, turn.conversation.workspace_id
        )
        kind = "command" if turn.is_command else "question"
        try:
            if org is None:
                kind = "unknown_workspace"
                await self.auditor.security(
                    org_id=None,
                    platform=platform,
                    user_id=turn.actor,
                    reason="unknown_workspace",
                    details={"workspace_id": turn.conversation.workspace_id},
                )
                answer = notice(command_replies.unknown_workspace_text(platform), "refused")
            elif turn.is_command:
                answer = await self._command(turn, org, progress)
            elif commands.named_alone(turn.text) is not None:  # 「データセット一覧」
                kind = "command"
                answer = await self._command(replace(turn, is_command=True), org, progress)
            elif asks_what_data(turn.text):  # 「どんな資料がありますか」: the datasets listed
                kind = "command"
                answer = await self._run(DATASETS, "", turn, org, progress)
            elif about_files(turn.text, turn.attachments):
                answer = await self._about_files(turn, org, progress)
            elif not turn.text.strip():
                kind = "hint"
                answer = await self._said(turn, org, command_replies.usage_hint(turn.conversation))
            elif asks_how_to_use(turn.text):
                kind = "help"
                answer = await self._said(turn, org, command_replies.help_text(turn.conversation))
            else:
                answer = await self._ask(turn, org, turn.text, progress)  # the Assistant logs it
                return await self._told_admin(turn, org, _with_follow_up_tip(turn, answer))
        except QuotaExceeded as exc:
            answer = notice(exc.user_message, "quota")
        except BaibainError as exc:
            if exc.status >= 500:
                log.warning("chat turn failed code=%s detail=%s", exc.code, exc.detail)
            answer = notice(_chat_message(exc, turn.conversation), "error")
        log.info(
            "chat turn platform=%s org=%s kind=%s outcome=%s latency_ms=%d",
            platform,
            org.id if org else "-",
            kind,
            answer.outcome,
            int((time.perf_counter() - started) * 1000),
        )
        if org is None:
            return answer
        # The quota command's reply says how much is used: that tells an admin already.
        shows_quota = kind == "command" and commands.parse(turn.text)[0] == QUOTA
        answer = _with_follow_up_tip(turn, answer)
        return await self._told_admin(turn, org, answer, told=shows_quota)

    async def asks_about_opening(self, turn: Turn) -> bool:
        """Whether the turn points at the files or the link its thread was opened with
        (``points_at_files``) and the thread's last answer cited none but attached files:
        after an answer from the index, 「この条文を要約して」 is about what that answer cited."""
        if not points_at_files(turn.text):
            return False
        platform, workspace = turn.conversation.platform, turn.conversation.workspace_id
        org = await asyncio.to_thread(links.org_for_workspace, self.engine, platform, workspace)
        if org is None:
            return False
        cited_before = await self.assistant.cited_sources(Asker.of(turn, org.id))
        return all(s.doc_id.startswith(f"{ATTACHED_DATASET}/") for s in cited_before)

    async def welcome(
        self, conversation: ConversationRef, *, direct: bool, user_id: str = ""
    ) -> Answer | None:
        """How to ask in a conversation the bot was just added to; in a workspace that is not
        linked to an organization, that it must be registered first (nothing is recorded:
        installing the app is not an attempt to use it). With ``user_id`` (a direct chat the
        user opened, which platforms report every time) each user is greeted once: ``None``
        when this one was already (told of the registration: until it is linked)."""
        platform, workspace = conversation.platform, conversation.workspace_id
        org = await asyncio.to_thread(links.org_for_workspace, self.engine, platform, workspace)
        if user_id:
            kind = _greeting_kind(org)
            claim = links.claim_greeting
            if not await asyncio.to_thread(claim, self.engine, platform, workspace, user_id, kind):
                return None
        log.info("chat welcome platform=%s org=%s", platform, org.id if org else "-")
        if org is None:
            return notice(command_replies.unknown_workspace_text(platform), "refused")
        return notice(command_replies.welcome_text(conversation, direct=direct))

    async def greeting_undelivered(self, conversation: ConversationRef, user_id: str) -> None:
        """Forget that ``user_id`` was greeted (``welcome`` claimed it) when the greeting could
        not be sent: they are greeted at their next opening."""
        platform, workspace = conversation.platform, conversation.workspace_id
        org = await asyncio.to_thread(links.org_for_workspace, self.engine, platform, workspace)
        release = links.release_greeting
        kind = _greeting_kind(org)
        await asyncio.to_thread(release, self.engine, platform, workspace, user_id, kind)

    async def record_feedback(self, feedback: Feedback) -> str:
        """Store a click on an answer of a linked workspace; what to tell the user who
        clicked (``bot.feedback``)."""
        return await feedback_record(self.engine, feedback)

    async def record_security_event(
        self, platform: Platform, reason: str, details: Mapping[str, str] | None = None
    ) -> None:
        """Audit a rejected request, at most once per platform, reason and minute."""
        key = (platform, reason)
        now = self._clock()
        window = self._windows.get(key)
        if window is not None and now - window.started < SECURITY_WINDOW_S:
            window.suppressed += 1
            return
        suppressed = window.suppressed if window else 0
        self._windows[key] = _Window(started=now)
        log.warning("rejected request platform=%s reason=%s", platform, reason)
        extra = {"suppressed_since_last_record": str(suppressed)} if suppressed else {}
        await self.auditor.security(
            org_id=None,
            platform=platform,
            user_id="",
            reason=reason,
            details={**(details or {}), **extra},
        )

    # -- turns -------------------------------------------------------------------------------

    async def _told_admin(
        self, turn: Turn, org: OrgInfo, answer: Answer, *, told: bool = False
    ) -> Answer:
        """``answer``, with the notice of the month's budget past 80 % or 100 % when its user
        is an admin of the organization not told of it yet (once per threshold and month, on
        each platform they are admin on): the crossing is said under the answer that crossed
        it, to whoever asked, and admins must not learn it only when the budget is gone
        (``told``: ``answer`` says it in its own words). Never where other organizations read
        along; a database failure only leaves it for later."""
        if self.metering is None or self.metering.llm is None or turn.external_audience:
            return answer
        platform, workspace = turn.conversation.platform, turn.conversation.workspace_id
        try:
            admin = links.is_admin
            if not await asyncio.to_thread(admin, self.engine, org.id, platform, turn.user_id):
                return answer  # most turns: one query
            status = await self.metering.reached(org.id)
            if status is None or status.threshold_reached is None:
                return answer
            # A claim as a greeting is (「quota80@2026-12」): the told admin is not told again,
            # by any process; one who saw it under their own answer counts as told.
            percent = status.threshold_reached
            kind = f"quota{percent}@{status.period}"
            claim = links.claim_greeting
            if not await asyncio.to_thread(
                claim, self.engine, platform, workspace, turn.user_id, kind
            ):
                return answer
        except SQLAlchemyError as exc:
            log.warning("budget notice for admins not checked: %s", type(exc).__name__)
            return answer
        if answer.notice or told:
            return answer
        return replace(answer, notice=threshold_notice(percent, status, turn.conversation))

    async def _ask(
        self, turn: Turn, org: OrgInfo, question: str, progress: Progress | None
    ) -> Answer:
        """The answer to a question; a message asking for the summary of a document it names
        (「地方自治法第242条を要約して」) gets the summary, as ``/summarize`` would give it, and
        one asking for the summary of what the previous answer cited (「この条文を要約して」,
        「[2]を要約して」) that source's summary, and one linking to a document the answer
        from that document (``document_asked``)."""
        summarizer = self.summarizer
        if summarizer:
            asker = Asker.of(turn, org.id)
            summary = await document_asked(
                summarizer, self.assistant, question, asker, progress, link=turn.opening_link
            )
            if summary is not None:
                return summary
        try:
            return await self.assistant.ask(question, Asker.of(turn, org.id), on_progress=progress)
        except QuotaExceeded as exc:
            return notice(exc.user_message, "quota")
        except BaibainError as exc:
            if exc.status >= 500:
                log.warning("answer failed code=%s detail=%s", exc.code, exc.detail)
            return notice(exc.user_message, "error")

    async def _summarize(
        self, turn: Turn, org: OrgInfo, target: str, progress: Progress | None
    ) -> Answer:
        """The summary ``/summarize`` gives: of the first attached file, else of the source of
        the previous answer (「この条文」, 「[2]」), the URL or the document (its id or name)
        ``target`` names, or with nothing named the previous answer's source as 「要約して」
        would; as long as the message asks (「3行で要約して」). ``progress`` receives its
        stages."""
        summarizer = self.summarizer
        if summarizer is None:
            return await self._said(turn, org, command_replies.NOT_READY_TEXT)
        asker = Asker.of(turn, org.id)
        target = target.strip()
        _, chars = commands.summary_length(turn.text)
        # A document first, a picture last: a file the message is about is the one named.
        files = sorted(turn.attachments, key=lambda a: (not is_document(a.name), is_picture(a)))
        attached = [(a.name, a.content) for a in files if a.content is not None]
        if attached:
            return await summarizer.summarize_attached(attached, asker, progress, max_chars=chars)
        if files and not is_document(files[0].name):
            # Only files Baibain cannot read, not even fetched (a picture pasted into Teams):
            # which formats it reads is the answer, as if they had been.
            return await self._said(turn, org, format_refused(files[0].name).user_message, "error")
        target = target or turn.opening_link  # 「/summarize」 under a colleague's link
        asked = f"summarize {target}".strip()  # as the summarizer records a summary's request
        if (cited_request := cited.cited_target(target)) is not None:
            return await summarize_cited(
                summarizer,
                self.assistant,
                cited_request,
                asker,
                progress,
                question=asked,
                max_chars=chars,
            )
        if commands.is_web_address(target):
            request = SummaryRequest(url=target.split()[0], max_chars=chars)
        elif target:
            request = SummaryRequest(doc_id=target, max_chars=chars)
        elif turn.attachments:
            return await self._said(turn, org, command_replies.ATTACHMENTS_NOT_RECEIVED)
        elif sources := await self.assistant.cited_sources(asker):  # as 「要約して」 would
            return await summarize_cited(
                summarizer,
                self.assistant,
                cited.CitedRequest(),
                asker,
                progress,
                sources,
                question=asked,
                max_chars=chars,
            )
        else:
            where = turn.conversation
            named = command_replies.typed(where, "summarize")
            example = command_replies.typed(where, SUMMARIZE_EXAMPLE)
            return await self._said(
                turn,
                org,
                f"要約する文書の名前・文書ID・URL を「{named}」"
                f"に続けて指定してください（例: {example}）。",
            )
        return await summarizer.summarize(request, asker, progress)

    async def _about_files(self, turn: Turn, org: OrgInfo, progress: Progress | None) -> Answer:
        """A message about its files: their summary when it asks for one (or says nothing),
        else the answer to it from its documents. Files of no format Baibain reads go to the
        summary too, whose reply names the format and what to do."""
        documents = [a for a in turn.attachments if is_document(a.name)]
        files = [(a.name, a.content) for a in documents if a.content is not None]
        if documents and not files:
            return await self._said(turn, org, command_replies.ATTACHMENTS_NOT_RECEIVED)
        if wants_summary(turn.text) or not documents:
            return await self._summarize(turn, org, "", progress)
        asker = Asker.of(turn, org.id)
        return await ask_about_files(self.assistant, turn.text, files, asker, progress)

    async def _command(self, turn: Turn, org: OrgInfo, progress: Progress | None) -> Answer:
        where = turn.conversation
        line = commands.command_line(turn.text)
        if not line:
            return await self._said(turn, org, command_replies.help_text(where))
        command, args = commands.parse(line)
        if command is None:
            if commands.looks_like_question(line):
                return await self._ask(turn, org, line, progress)
            return await self._said(turn, org, command_replies.unknown_command_text(where, line))
        return await self._run(command, args, turn, org, progress)

    async def _run(
        self, command: Command, args: str, turn: Turn, org: OrgInfo, progress: Progress | None
    ) -> Answer:
        """Run a command the turn names (or means: 「どんな資料がありますか」), where and by whom
        it may run."""
        platform, where = turn.conversation.platform, turn.conversation
        if turn.external_audience and command.name not in commands.FOR_EXTERNAL_AUDIENCE:
            refusal = command_replies.external_audience_text(where, command)
            return await self._said(turn, org, refusal, "refused")
        if not await self._allowed(command, turn, org):
            await self.auditor.security(
                org_id=org.id,
                platform=platform,
                user_id=turn.actor,
                reason="command_refused",
                details={"command": command.name, "required": command.access},
            )
            return notice(command_replies.refusal_text(where, command), "refused")
        if args.strip() and commands.takes_nothing_more(command):
            return await self._said(turn, org, command_replies.extra_words_text(where, command))
        if command.name == "ask":
            if not args.strip():
                asked = command_replies.typed(where, "ask")
                return await self._said(turn, org, f"「{asked}」に続けて質問を入力してください。")
            return await self._ask(turn, org, args, progress)
        if command.name == "summarize":
            return await self._summarize(turn, org, args, progress)
        handler = self.handlers.get(command.name)
        if handler is None or not command.ready:
            return await self._said(turn, org, command_replies.NOT_READY_TEXT)
        started = time.perf_counter()
        answer = await handler(turn, org, args)
        # The command's message and what it was told, as every message to the bot is (an
        # upload or a deletion is recorded as the admin action it is, too).
        return await self.assistant.replied(turn.text, Asker.of(turn, org.id), answer, started)

    async def _allowed(self, command: Command, turn: Turn, org: OrgInfo) -> bool:
        if command.access == "everyone":
            return True
        platform = turn.conversation.platform
        admin = await asyncio.to_thread(links.is_admin, self.engine, org.id, platform, turn.user_id)
        if command.access == "admin" or not admin:
            return admin
        return await asyncio.to_thread(links.is_operator, self.engine, org.id)

    async def _help(self, turn: Turn, _org: OrgInfo, _args: str) -> Answer:
        return notice(command_replies.help_text(turn.conversation))

    async def _said(
        self, turn: Turn, org: OrgInfo, text: str, outcome: Outcome = "command"
    ) -> Answer:
        """``text``, the bot's reply to a message that asks nothing of the documents (a mention
        alone, how to use it, a command it cannot run as typed), recorded as the turn's answer:
        every message to the bot is in the audit log with what it was told, not only the
        questions answered and the administrative actions (recorded as such)."""
        asker = Asker.of(turn, org.id)
        return await self.assistant.replied(
            turn.text, asker, notice(text, outcome), time.perf_counter()
        )
