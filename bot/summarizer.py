"""Summaries of one document: an indexed document id, an attached file, or a URL."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace

from bot.asker import Asker
from bot.assistant import SUMMARY_CUT_SHORT_NOTICE
from bot.attached import unread_notice
from bot.auditing import Auditor, cancelled_turn, failed_turn, record_while_cancelled
from bot.commands import is_web_address
from bot.fetch import FetchPolicy
from bot.metering import LLMAccess, charged, spent_by, usage_of
from bot.offline import FILTERED_SUMMARY_NOTICE, OFFLINE_SUMMARY_NOTICE
from bot.summary_sources import FilesNamed, Source, SummaryRequest, SummarySources
from bot.turns import EXTRACT_FOOTER, Answer, Outcome, Paced, Progress, Stage
from bot.uploads import LISTED_LEFT_OUT
from knowledge.analysis import Analyzer
from knowledge.errors import (
    BadInput,
    BaibainError,
    ContentFiltered,
    NotFound,
    QuotaExceeded,
    UpstreamUnavailable,
)
from knowledge.extracts import extractive_summary
from knowledge.index import IndexStore
from knowledge.llm import LLMClient
from knowledge.summaries import PartsRead, summarize_document

log = logging.getLogger(__name__)

OFFLINE_SUMMARY_CHARS = 400
LLM_SUMMARY_CHARS = 600
PARTS_SUMMARY_NOTICE = (
    "※全体のまとめを作成できなかったため、文書を分けて要約した部分ごとの要約を、"
    "文書の順に表示しています。"
)


class Summarizer:
    """Summaries through the LLM (map-reduce within a token budget) or, offline, extractive."""

    def __init__(
        self,
        index: IndexStore,
        analyzer: Analyzer,
        auditor: Auditor,
        llm: LLMAccess,
        *,
        token_budget: int,
        fetch_policy: FetchPolicy,
        from_file: FilesNamed | None = None,
    ) -> None:
        self.auditor = auditor
        self.llm = llm
        self.token_budget = token_budget
        self.sources = SummarySources(index, analyzer, fetch_policy, from_file)

    async def summarize(
        self,
        request: SummaryRequest,
        asker: Asker,
        progress: Progress | None = None,
        *,
        note: str = "",
    ) -> Answer:
        """Summarize the requested document for the asker (who must be allowed to see it).
        ``progress`` receives the ``Stage`` of a summary the model writes part by part;
        ``note`` goes above the summary, recorded with it as shown."""
        started = time.perf_counter()
        try:
            source = await self.sources.source(request, asker)
        except BaibainError as exc:
            await self._record(request, asker, failed_turn(exc), started)
            raise
        return await self._summarized(request, source, asker, progress, started, note)

    async def summarize_named(
        self,
        name: str,
        asker: Asker,
        progress: Progress | None = None,
        *,
        max_chars: int | None = None,
    ) -> Answer | None:
        """The summary of what ``name`` names, a URL or one document the asker may see, or
        ``None`` when it names none (or several): a chat message asking for the summary of
        ``name`` is then answered as a question. The document is looked up once."""
        if is_web_address(name):
            by_url = SummaryRequest(url=name.split()[0], max_chars=max_chars)
            return await self.summarize(by_url, asker, progress)
        started = time.perf_counter()
        try:
            source = await self.sources.named(name, asker)
        except (NotFound, BadInput):
            return None
        request = SummaryRequest(doc_id=name, max_chars=max_chars)
        return await self._summarized(request, source, asker, progress, started)

    async def _summarized(
        self,
        request: SummaryRequest,
        source: Source,
        asker: Asker,
        progress: Progress | None,
        started: float,
        note: str = "",
    ) -> Answer:
        """The summary of ``source`` under ``note``, recorded as the answer to ``request``."""
        llm = self.llm.for_org(asker.org_id)
        try:
            answer = await self._summarize(source, asker.org_id, llm, progress, request.max_chars)
            if note:
                answer = replace(answer, text=f"{note}\n\n{answer.text}")
        except BaibainError as exc:
            # Parts summarized before the budget refused one were charged: recorded too.
            await self._record(request, asker, charged(failed_turn(exc), spent_by(llm)), started)
            raise
        except asyncio.CancelledError:  # a shutdown mid-summary: recorded all the same
            cut = charged(cancelled_turn(), spent_by(llm))
            await record_while_cancelled(self._record(request, asker, cut, started))
            raise
        answer = replace(answer, turn_id=uuid.uuid4().hex)
        await self._record(request, asker, answer, started)
        return replace(answer, notice=await self.llm.crossing_notice(llm, asker))

    async def summarize_attached(
        self,
        files: Sequence[tuple[str, bytes]],
        asker: Asker,
        progress: Progress | None = None,
        *,
        max_chars: int | None = None,
    ) -> Answer:
        """Summarize the first attached file (name, bytes); the answer names the files left
        out, as one summary request is about one document."""
        name, data = files[0]
        request = SummaryRequest(filename=name, content=data, max_chars=max_chars)
        if len(files) == 1:
            return await self.summarize(request, asker, progress)
        # The files left out are named up to a few, as in an upload's reply, then counted.
        others = "、".join(f"「{other}」" for other, _ in files[1 : LISTED_LEFT_OUT + 1])
        if (more := len(files) - 1 - LISTED_LEFT_OUT) > 0:
            others += f" ほか {more} 件"
        note = (
            f"添付ファイルが {len(files)} 件あったため、最初の「{name}」だけを要約しました"
            f"（{others}は要約していません）。ほかのファイルは1件ずつ送ってください。"
        )
        return await self.summarize(request, asker, progress, note=note)

    async def _record(
        self, request: SummaryRequest, asker: Asker, answer: Answer, started: float
    ) -> None:
        await self.auditor.turn(
            org_id=asker.org_id,
            platform=asker.platform,
            user_id=asker.user_id,
            conversation=asker.conversation,
            question=request.asked,
            answer=answer,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )

    async def _summarize(
        self,
        source: Source,
        org_id: str | None,
        llm: LLMClient | None,
        progress: Progress | None,
        max_chars: int | None,
    ) -> Answer:
        """The summary of ``source`` by the model, else offline; within ``max_chars`` when
        asked (「3行で」), else ``LLM_SUMMARY_CHARS`` or ``OFFLINE_SUMMARY_CHARS``."""
        # The date said as the citations say it: 「1971-08-11 公布」, not a bare date. The link
        # is left to the citation under the summary, where it ends its line: chat clients take
        # what follows a URL up to a space into the link (「…/a.pdf）。」 opens no page).
        dated = source.citation.dated()
        header = f"{source.note}「{source.title}」の要約です{f'（{dated}）' if dated else ''}。"
        unread = f"\n\n{unread_notice([source.unread], '要約')}" if source.unread else ""
        outcome: Outcome = "answered"
        if llm is not None:
            try:
                # Planned within what the organization has left, so that no call of the plan
                # is refused half-way (the calls before it paid for nothing).
                budget = await self.llm.affordable(org_id, self.token_budget)
                try:
                    written = await summarize_document(
                        llm,
                        source.title,
                        source.chunks,
                        token_budget=budget,
                        max_summary_chars=max_chars or LLM_SUMMARY_CHARS,
                        on_part=_stages(source.title, progress) if progress else None,
                    )
                except ValueError:
                    if budget < self.token_budget:  # the budget left is what is too small
                        await self.llm.check_affordable(org_id, self.token_budget)
                    raise
                notice = f"\n\n{SUMMARY_CUT_SHORT_NOTICE}" if written.cut_short else ""
                text = f"{header}\n\n{written.text} [1]"
                if written.parts:  # the merge failed: the parts already paid for, in order
                    text = f"{PARTS_SUMMARY_NOTICE}\n\n{header}\n\n{_by_part(written.parts)}"
                return Answer(
                    text=f"{text}{notice}{unread}",
                    citations=(source.citation,),
                    usage=usage_of(written.usage),
                )
            except UpstreamUnavailable as exc:
                log.warning("no llm summary, summarizing offline: %s", exc.detail)
                filtered = isinstance(exc, ContentFiltered)
                header = (
                    f"{FILTERED_SUMMARY_NOTICE if filtered else OFFLINE_SUMMARY_NOTICE}\n\n{header}"
                )
                if filtered:
                    outcome = "filtered"
            except ValueError as exc:  # the token budget cannot hold a useful plan
                log.warning("summary budget too small, summarizing offline: %s", exc)
            except QuotaExceeded as exc:  # quoted, as answers are, unless the org refuses
                if not await self.llm.quotes_when_exhausted(org_id):
                    raise
                header = f"※{exc.user_message}資料から抜粋して要約します。\n\n{header}"
                outcome = "quota"
        passages = source.main or source.chunks
        chars = max_chars or OFFLINE_SUMMARY_CHARS
        summary = await asyncio.to_thread(extractive_summary, source.title, passages, chars)
        if not summary:
            raise BadInput(f"「{source.title}」には要約できる本文がありません。")
        quoted = Answer(
            text=f"{header}\n\n{summary} [1]{unread}",
            citations=(source.citation,),
            footer=EXTRACT_FOOTER,
            outcome=outcome,
        )
        # The calls that succeeded before one failed were charged: the reply says so too.
        return charged(quoted, spent_by(llm))


def _by_part(parts: Sequence[str]) -> str:
    """Part summaries in document order, each numbered as the progress stages number them
    and cited, as a merged summary is."""
    return "\n\n".join(f"【{n}/{len(parts)}】{part} [1]" for n, part in enumerate(parts, 1))


def _stages(title: str, progress: Progress) -> PartsRead:
    """The parts of a long document read, told to ``progress`` as stages: at most every
    ``PROGRESS_INTERVAL_S`` (as an answer being written), and always before the merge."""
    paced = Paced(progress)

    async def parts_read(done: int, total: int) -> None:
        if done == total:
            await paced.tell(
                Stage(f"「{title}」の要約をまとめています（{total} の部分をすべて読みました）")
            )
        elif paced.due:
            await paced.tell(
                Stage(f"「{title}」を要約しています（{done}/{total} の部分を読みました）")
            )

    return parts_read
