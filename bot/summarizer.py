"""Summaries of one document: an indexed document id, an attached file, or a URL."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from bot.assistant import OFFLINE_NOTICE, Asker, usage_of
from bot.auditing import Auditor
from bot.fetch import FetchPolicy, fetch_document
from bot.metering import LLMAccess
from bot.turns import Answer, Citation
from knowledge.chunking import chunk_sections
from knowledge.errors import BadInput, BaibainError, NotFound, UpstreamUnavailable
from knowledge.index import IndexStore, SearchFilter
from knowledge.llm import LLMClient
from knowledge.parsing import parse_file
from knowledge.summaries import extractive_summary, summarize_document

log = logging.getLogger(__name__)

OFFLINE_SUMMARY_CHARS = 400
LLM_SUMMARY_CHARS = 600


@dataclass(frozen=True)
class SummaryRequest:
    """Exactly one of: an indexed document id, a URL, or a file (name and bytes)."""

    doc_id: str = ""
    url: str = ""
    filename: str = ""
    content: bytes | None = None

    @property
    def label(self) -> str:
        """What was asked for, for the audit record (never the file's content)."""
        return self.doc_id or self.url or self.filename


@dataclass(frozen=True)
class _Source:
    title: str
    chunks: list[str]
    citation: Citation


class Summarizer:
    """Summaries through the LLM (map-reduce within a token budget) or, offline, extractive."""

    def __init__(
        self,
        index: IndexStore,
        auditor: Auditor,
        llm: LLMAccess,
        *,
        token_budget: int,
        fetch_policy: FetchPolicy,
    ) -> None:
        self.index = index
        self.auditor = auditor
        self.llm = llm
        self.token_budget = token_budget
        self.fetch_policy = fetch_policy

    async def summarize(self, request: SummaryRequest, asker: Asker) -> Answer:
        """Summarize the requested document for the asker (who must be allowed to see it)."""
        started = time.perf_counter()
        turn_id = uuid.uuid4().hex
        try:
            source = await self._source(request, asker)
            answer = await self._summarize(source, self.llm.for_org(asker.org_id))
        except BaibainError as exc:
            await self._record(
                request, asker, Answer(text=exc.user_message, outcome="error"), started
            )
            raise
        answer = Answer(
            text=answer.text, citations=answer.citations, usage=answer.usage, turn_id=turn_id
        )
        await self._record(request, asker, answer, started)
        return answer

    async def _record(
        self, request: SummaryRequest, asker: Asker, answer: Answer, started: float
    ) -> None:
        await self.auditor.turn(
            org_id=asker.org_id,
            platform=asker.platform,
            user_id=asker.user_id,
            conversation=asker.conversation,
            question=f"summarize {request.label}",
            answer=answer,
            latency_ms=int((time.perf_counter() - started) * 1000),
        )

    async def _source(self, request: SummaryRequest, asker: Asker) -> _Source:
        given = [bool(request.doc_id), bool(request.url), request.content is not None]
        if sum(given) != 1:
            raise BadInput(
                "要約する文書を、文書ID・URL・添付ファイルのいずれか1つで指定してください。"
            )
        if request.doc_id:
            document = await self.index.get_document(request.doc_id)
            if document is None or not SearchFilter(viewer_org=asker.org_id).allows(document.meta):
                raise NotFound(f"文書ID「{request.doc_id}」の文書が見つかりませんでした。")
            meta = document.meta
            citation = Citation(
                n=1,
                title=meta.title,
                dataset=meta.dataset,
                organization=meta.publisher,
                url=meta.source_url,
                published=meta.published.isoformat() if meta.published else None,
                doc_id=meta.doc_id,
                category=meta.category,
            )
            return _Source(meta.title, [c.text for c in document.chunks], citation)
        if request.url:
            name, data = await fetch_document(request.url, self.fetch_policy)
            url = request.url
        else:
            name, data, url = request.filename or "添付ファイル", request.content or b"", ""
        parsed = parse_file(name, data)
        first = parsed[0]
        sections = [s for p in parsed for s in p.sections]
        chunks = [c.text for c in chunk_sections(name, sections)]
        if not chunks:
            raise BadInput(f"{name} には要約できる本文がありません。")
        citation = Citation(
            n=1,
            title=first.title or name,
            url=url,
            published=first.published.isoformat() if first.published else None,
        )
        return _Source(first.title or name, chunks, citation)

    async def _summarize(self, source: _Source, llm: LLMClient | None) -> Answer:
        header = f"「{source.title}」の要約です。"
        details = " / ".join(x for x in (source.citation.published or "", source.citation.url) if x)
        if details:
            header += f"（{details}）"
        if llm is not None:
            try:
                text, usage = await summarize_document(
                    llm,
                    source.title,
                    source.chunks,
                    token_budget=self.token_budget,
                    max_summary_chars=LLM_SUMMARY_CHARS,
                )
                return Answer(
                    text=f"{header}\n\n{text} [1]",
                    citations=(source.citation,),
                    usage=usage_of(usage),
                )
            except UpstreamUnavailable as exc:
                log.warning("llm unavailable, summarizing offline: %s", exc.detail)
                header = f"{OFFLINE_NOTICE}\n\n{header}"
            except ValueError as exc:  # the token budget cannot hold a useful plan
                log.warning("summary budget too small, summarizing offline: %s", exc)
        summary = extractive_summary(source.title, source.chunks, OFFLINE_SUMMARY_CHARS)
        if not summary:
            raise BadInput(f"「{source.title}」には要約できる本文がありません。")
        return Answer(text=f"{header}\n\n{summary} [1]", citations=(source.citation,))
