"""The answer core: a question in, a cited Japanese ``Answer`` out (same for every route)."""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass

from baibain.bot.auditing import Auditor
from baibain.bot.turns import Answer, Citation, ConversationRef, Platform
from baibain.knowledge.analysis import Analyzer
from baibain.knowledge.answer import compose_extractive_answer
from baibain.knowledge.documents import Hit
from baibain.knowledge.errors import BadInput
from baibain.knowledge.index import SearchFilter
from baibain.knowledge.retrieval import AnalyzedQuery, Retriever

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
SEARCH_K = 10

NOT_FOUND_TEXT = (
    "該当する資料が見つかりませんでした。"
    "言葉を言い換えるか、法令名・資料名・条番号などを含めてもう一度お試しください。"
)


@dataclass(frozen=True)
class Asker:
    """Who asks: organization (``None`` = shared data only), platform and user."""

    org_id: str | None
    platform: Platform
    user_id: str = ""
    conversation: ConversationRef | None = None


def validate_question(text: str) -> str:
    """The question stripped; ``BadInput`` with a Japanese message when empty or too long."""
    question = text.strip()
    if not question:
        raise BadInput("質問を入力してください。")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(
            f"質問が長すぎます（{len(question)}文字）。{MAX_QUESTION_CHARS}文字以内にしてください。"
        )
    return question


def citation_for(n: int, hit: Hit) -> Citation:
    """The numbered citation of a hit."""
    meta = hit.meta
    return Citation(
        n=n,
        title=meta.title,
        dataset=meta.dataset,
        organization=meta.publisher,
        position=hit.chunk.position,
        url=meta.source_url,
        published=meta.published.isoformat() if meta.published else None,
        doc_id=meta.doc_id,
    )


class Assistant:
    """Retrieval plus answer generation, shared by chat, REST and the CLI."""

    def __init__(self, retriever: Retriever, analyzer: Analyzer, auditor: Auditor) -> None:
        self.retriever = retriever
        self.analyzer = analyzer
        self.auditor = auditor

    async def search(self, query: str, asker: Asker, k: int = SEARCH_K) -> list[Hit]:
        """Retrieval only, filtered by what the asker may see."""
        query = validate_question(query)
        return (await self.retriever.retrieve(query, SearchFilter(viewer_org=asker.org_id), k)).hits

    async def ask(self, question: str, asker: Asker) -> Answer:
        """Answer a question from the documents the asker may see."""
        question = validate_question(question)
        turn_id = uuid.uuid4().hex
        started = time.perf_counter()
        retrieved = await self.retriever.retrieve(
            question, SearchFilter(viewer_org=asker.org_id), SEARCH_K
        )
        if not retrieved.relevant:
            answer = Answer(text=NOT_FOUND_TEXT, turn_id=turn_id, outcome="not_found")
        else:
            answer = self._extractive(retrieved.query, retrieved.hits, turn_id)
        latency_ms = int((time.perf_counter() - started) * 1000)
        await self.auditor.turn(
            org_id=asker.org_id,
            platform=asker.platform,
            user_id=asker.user_id,
            conversation=asker.conversation,
            question=question,
            answer=answer,
            latency_ms=latency_ms,
        )
        log.info(
            "turn turn_id=%s platform=%s org=%s outcome=%s latency_ms=%d tokens=%d",
            turn_id,
            asker.platform,
            asker.org_id or "-",
            answer.outcome,
            latency_ms,
            answer.usage.total_tokens,
        )
        return answer

    def _extractive(self, query: AnalyzedQuery, hits: list[Hit], turn_id: str) -> Answer:
        composed = compose_extractive_answer(query, hits, self.analyzer)
        return Answer(
            text=composed.text,
            citations=tuple(citation_for(n, hit) for n, hit in enumerate(composed.sources, 1)),
            turn_id=turn_id,
        )
