"""The answer core: a question in, a cited Japanese ``Answer`` out (same for every route).

With an LLM configured the model writes the answer from numbered sources and its citations are
checked; without one, or when the model is unavailable, the answer quotes the sources
(extractive) and says so. Every turn is audited, and threads keep an encrypted history so that
follow-up questions are understood.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from dataclasses import replace

from admin.conversations import CitedSource, ConversationStore
from bot.asker import Asker, validate_question
from bot.auditing import Auditor, cancelled_turn, failed_turn, record_while_cancelled
from bot.calendar_asked import calendar_reply
from bot.followups import (
    conversation_key,
    follows_up,
    history_keys,
    points_back,
    speaks_of,
    standalone,
    subjects_of,
    thread_opening,
    unresolved_pronoun,
)
from bot.metering import LLMAccess, added, charged, spent_by, usage_of
from bot.moves import Move, conversation_move, moved, told_of_move
from bot.offline import (
    FILTERED_NOTICE,
    OFFLINE_NOTICE,
    RELATED_HEADING,
    citation_for,
    noted,
    offline_answer,
    quoted_whole,
    related_citations,
    unindexed_notices,
)
from bot.smalltalk import command_elsewhere_reply, small_talk_reply
from bot.turns import Answer, Paced, Progress, notice
from bot.writing_asked import WRITING_REPLY, asks_to_write
from knowledge.analysis import Analyzer
from knowledge.documents import Hit
from knowledge.errors import (
    BadInput,
    BaibainError,
    ContentFiltered,
    QuotaExceeded,
    UpstreamUnavailable,
)
from knowledge.generation import (
    GeneratedAnswer,
    SourceText,
    build_grounded_messages,
    expand_queries,
    generate_answer,
    remap_citations,
    stream_answer,
    strip_citations,
)
from knowledge.index import SearchFilter
from knowledge.llm import LLMClient, LLMUsage, TextDelta, estimate_message_tokens
from knowledge.retrieval import Retrieved, Retriever, fuse_retrievals
from knowledge.speakers import cited_position

log = logging.getLogger(__name__)

SEARCH_K = 10
LLM_SOURCES = 5

UNCITED_NOTICE = "※この回答は出典を示していません。下記の資料で内容を確認してください。"
CUT_SHORT_NOTICE = "※回答は途中までです。続きは下記の資料で確認してください。"
SUMMARY_CUT_SHORT_NOTICE = "※要約は途中までです。文書の内容は下記の資料で確認してください。"
UNCLEAR_REPLY = (
    "「{pronoun}」が何を指しているのか分かりませんでした。"
    "お手数ですが、何についての質問かを書き添えて、もう一度お送りください"
    "（例：「情報公開請求の開示決定は何日以内ですか」）。"
)

# 「242条」 alone: which law's article is asked is not said.
NO_LAW_REPLY = (
    "どの法令の「{article}」かが分かりませんでした。"
    "「地方自治法第242条」のように法令名（条例・規則の名前）を付けて、もう一度お送りください。"
)


class Assistant:
    """Retrieval plus answer generation, shared by chat, REST, ``/invoke`` and the CLI."""

    def __init__(
        self,
        retriever: Retriever,
        analyzer: Analyzer,
        auditor: Auditor,
        conversations: ConversationStore,
        llm: LLMAccess,
        *,
        answer_max_tokens: int = 1024,
        query_variants: int = 2,
        files_at_hand: bool = False,
        files_note: str = "",
    ) -> None:
        self.retriever = retriever
        self.analyzer = analyzer
        self.auditor = auditor
        self.conversations = conversations
        self.llm = llm
        self.answer_max_tokens = answer_max_tokens
        self.query_variants = query_variants
        # Answering from files sent with the question: 「これは何ですか」 asks about them.
        self.files_at_hand = files_at_hand
        # Said under every answer from those files: what of them could not be read.
        self.files_note = files_note

    def for_files(self, retriever: Retriever, note: str = "") -> Assistant:
        """The same assistant answering from the files sent with a question (in an index of
        their own), with ``note`` under each answer (``bot.attached.unread_notice``)."""
        return Assistant(
            retriever,
            self.analyzer,
            self.auditor,
            self.conversations,
            self.llm,
            answer_max_tokens=self.answer_max_tokens,
            query_variants=self.query_variants,
            files_at_hand=True,
            files_note=note,
        )

    async def search(self, query: str, asker: Asker, k: int = SEARCH_K) -> list[Hit]:
        """Retrieval only, filtered by what the asker may see."""
        query = validate_question(query)
        found = await self.retriever.retrieve(query, SearchFilter(viewer_org=asker.viewer_org), k)
        return found.hits

    async def ask(
        self,
        question: str,
        asker: Asker,
        *,
        flt: SearchFilter | None = None,
        on_progress: Progress | None = None,
    ) -> Answer:
        """Answer a question from the documents the asker may see.

        A message that is only thanks or a greeting gets a short reply (``bot.smalltalk``),
        one asking for a text to be written what the bot does instead
        (``bot.writing_asked``), and one asking only the calendar (「令和8年は西暦何年？」)
        the year or date (``bot.calendar_asked``).
        ``flt`` narrows the search further (its ``viewer_org`` is always the asker's).
        ``on_progress`` receives the growing answer text while an LLM streams it, without
        citation markers (their numbers change once the answer is checked).
        """
        started = time.perf_counter()
        try:
            question = validate_question(question)
        except BadInput as exc:
            if question.strip():  # too long, or unreadable: in the audit log as it was sent,
                # but for what no encoding holds (lone surrogates, kept as 「?」)
                readable = question.encode("utf-8", "replace").decode("utf-8")
                if asks_to_write(readable):  # a long text to rewrite: not a question's limit
                    return await self.replied(readable, asker, notice(WRITING_REPLY), started)
                await self.record_failure(readable, asker, exc, started)
            raise
        turn_id = uuid.uuid4().hex
        mention = asker.where.needs_mention
        reply = small_talk_reply(question, mention=mention) or command_elsewhere_reply(
            question, asker.platform
        )
        if reply is None and asks_to_write(question):  # 「お知らせ文を作成してください」
            reply = WRITING_REPLY
        if reply:
            return await self.replied(question, asker, notice(reply), started)
        if (dated := calendar_reply(question)) is not None:  # 「令和8年は西暦何年？」
            return await self.replied(question, asker, notice(dated, "answered"), started)
        search_filter = replace(flt or SearchFilter(), viewer_org=asker.viewer_org)
        llm = self.llm.for_org(asker.org_id)
        opening = ""  # the thread's opening the question was read with, recorded with it
        try:
            history, opening = await self._earlier(question, asker)
            # A reply after the bot's answers that only moves the conversation on (「他には？」,
            # 「違います」): answered from the earlier questions' search (``bot.moves``).
            asked_before = any(conversation_move(q) is None for q, _ in history)
            move = conversation_move(question) if asked_before else None
            answer = await self._answer(
                question, asker, llm, search_filter, on_progress, history, opening, move
            )
            if move is not None:
                answer = told_of_move(answer, move, asker.where)
        except BaibainError as exc:
            # A turn refused after some calls (variants, then a budget too small for the
            # answer) was charged for them: its record says so, as the budget does.
            failed = charged(failed_turn(exc, turn_id), spent_by(llm))
            await self._record(question, asker, failed, started, opening)
            raise
        except asyncio.CancelledError:
            # Stopped mid-answer (a shutdown): the question is in the audit log all the same.
            cut = charged(cancelled_turn(turn_id), spent_by(llm))
            await record_while_cancelled(self._record(question, asker, cut, started, opening))
            raise
        answer = replace(answer, turn_id=turn_id)
        if self.files_note:  # recorded and kept in the thread as shown
            answer = replace(answer, text=f"{answer.text}\n\n{self.files_note}")
        # The audit record first: a turn that cannot be recorded is not shown, so it must not
        # shape the thread's follow-ups either.
        await self._record(question, asker, answer, started, opening)
        sources = [
            CitedSource(n=c.n, title=c.title, doc_id=c.doc_id, position=c.position, url=c.url)
            for c in answer.citations
            if c.doc_id
        ]
        for key in history_keys(asker):
            try:
                await asyncio.to_thread(
                    self.conversations.append, key, question, answer.text, sources
                )
            except Exception as exc:  # the history is a convenience; the answer stands
                log.warning("thread history not saved: %s", type(exc).__name__)
        return replace(answer, notice=await self.llm.crossing_notice(llm, asker))

    async def cited_sources(self, asker: Asker) -> list[CitedSource]:
        """The numbered sources the conversation's previous answer cited (「この条文を要約して」
        refers to them); empty outside a conversation that keeps history (a thread, a direct
        message) or when that answer cited nothing."""
        key = conversation_key(asker)
        if key is None:
            return []
        return await asyncio.to_thread(self.conversations.last_sources, key)

    async def replied(self, question: str, asker: Asker, reply: Answer, started: float) -> Answer:
        """``reply`` to ``question`` when it is no answer from the documents (small talk, or
        which source of the previous answer a message asks to summarize), recorded under a
        turn id of its own as shown. Not a turn of the thread: the thread's next question is
        read after the answer before it (the sources it cited stay the ones to choose from)."""
        reply = replace(reply, turn_id=uuid.uuid4().hex)
        await self._record(question, asker, reply, started)
        return reply

    async def record_failure(
        self, question: str, asker: Asker, exc: BaibainError, started: float
    ) -> None:
        """Record a question that failed before it could be answered (its attached file cannot
        be read): every question is in the audit log, answered or not."""
        await self._record(question, asker, failed_turn(exc, uuid.uuid4().hex), started)

    async def _record(
        self, question: str, asker: Asker, answer: Answer, started: float, opening: str = ""
    ) -> None:
        latency_ms = int((time.perf_counter() - started) * 1000)
        await self.auditor.turn(
            org_id=asker.org_id,
            platform=asker.platform,
            user_id=asker.user_id,
            conversation=asker.conversation,
            question=question,
            answer=answer,
            latency_ms=latency_ms,
            thread_opening=opening,
        )
        log.info(
            "turn turn_id=%s platform=%s org=%s outcome=%s latency_ms=%d tokens=%d",
            answer.turn_id or "-",
            asker.platform,
            asker.org_id or "-",
            answer.outcome,
            latency_ms,
            answer.usage.total_tokens,
        )

    async def _earlier(self, question: str, asker: Asker) -> tuple[list[tuple[str, str]], str]:
        """What a question continues: the conversation's earlier turns, and, in a thread that
        holds none, the message someone else opened it with when the question points back at
        it (``followups.thread_opening``); beside attached files, 「これ」 is the files."""
        key = conversation_key(asker)
        history = []
        # A move (「違います」) is about the answer before it, wherever it is sent.
        if key is not None and (follows_up(asker, question) or conversation_move(question)):
            history = await asyncio.to_thread(self.conversations.recent, key)
        if history or self.files_at_hand:
            return history, ""
        return history, thread_opening(asker, question)

    async def _answer(
        self,
        question: str,
        asker: Asker,
        llm: LLMClient | None,
        flt: SearchFilter,
        on_progress: Progress | None,
        history: list[tuple[str, str]],
        opening: str,
        move: Move | None,
    ) -> Answer:
        # The opening is the thread's earlier question, which the bot never answered.
        earlier = history or ([(opening, "")] if opening else [])
        pronoun = (
            None if earlier or self.files_at_hand else unresolved_pronoun(self.analyzer, question)
        )
        if pronoun is not None:  # a turn of the thread: the asker's reply there completes it
            return notice(UNCLEAR_REPLY.format(pronoun=pronoun), "unclear")
        retrieved: Retrieved | None = None
        # What the turn's other model calls cost (rewriting, expansion): charged to the
        # budget when they ran, so reported with the answer whatever happens after them.
        spent: LLMUsage | None = None
        try:
            if llm is not None:  # an answer that cannot be paid for is not prepared either
                await self.llm.check_affordable(asker.org_id, self.answer_max_tokens)
            if move is not None:  # the model reads the move with the turns it follows
                asked, retrieved = question, await self._moved(move, asker, flt, history)
            else:
                # Moves asked nothing the rewrite needs, and their words are no terms.
                turns = [(q, a) for q, a in earlier if conversation_move(q) is None]
                query, spent = await standalone(llm, self.analyzer, question, turns)
                # Read with the opening alone, the question is answered as made standalone:
                # the model is not shown a colleague's message as a turn it answered.
                asked = question if history else query
                retrieved = await self.retriever.retrieve(query, flt, SEARCH_K)
                if retrieved.article_without_law and not earlier:  # 「242条」
                    article = retrieved.article_without_law
                    return charged(notice(NO_LAW_REPLY.format(article=article), "unclear"), spent)
                # A follow-up that points back (「その期限は？」) is about the earlier
                # questions' subject whatever its own words find alone.
                if query != question and llm is None and not points_back(question):
                    retrieved = await self._own_words(question, retrieved, flt)
            if llm is not None and retrieved.hits:  # the answer's prompt holds its sources
                cost = self._answer_cost(asked, retrieved, history)
                await self.llm.check_affordable(asker.org_id, cost)
            if llm is not None and self.query_variants:
                retrieved, expand_usage = await self._expanded(llm, query, retrieved, flt)
                spent = added(spent, expand_usage)
            # A question on a law the index lacks is answered only from passages that
            # mention it; when none does, the reply says the law is not in the data.
            grounds = retrieved.mentioning_unindexed()
            if move == "more" and llm is None and retrieved.named_hits:
                return quoted_whole(retrieved.named_hits)  # the last answer's sources, whole
            if llm is None or not grounds.hits:
                return charged(offline_answer(retrieved, self.analyzer), spent)
            answer = await self._generate(llm, asked, grounds, history, on_progress)
            if answer.outcome == "answered":
                answer = replace(answer, text=noted(answer.text, *unindexed_notices(retrieved)))
        except UpstreamUnavailable as exc:
            log.warning("no llm answer, answering offline: %s", exc.detail)
            retrieved = retrieved or await self.retriever.retrieve(question, flt, SEARCH_K)
            filtered = isinstance(exc, ContentFiltered)
            above = FILTERED_NOTICE if filtered else OFFLINE_NOTICE
            quoted = offline_answer(retrieved, self.analyzer, notice=above)
            if filtered:  # counted apart: the model was reached, and would not answer
                quoted = replace(quoted, outcome="filtered")
            return charged(quoted, added(spent, exc.billed))
        except QuotaExceeded as exc:
            if not await self.llm.quotes_when_exhausted(asker.org_id):
                raise
            retrieved = retrieved or await self.retriever.retrieve(question, flt, SEARCH_K)
            above = f"※{exc.user_message}資料の該当箇所を抜粋して表示します。"
            quoted = offline_answer(retrieved, self.analyzer, notice=above)
            return charged(replace(quoted, outcome="quota"), spent)
        return charged(answer, spent)

    async def _moved(
        self, move: Move, asker: Asker, flt: SearchFilter, history: list[tuple[str, str]]
    ) -> Retrieved:
        """What a move is answered from: the search for the conversation's last question
        (made standalone from those before it), without what the answers since cited
        (「他には？」 twice leaves out both answers' sources), or quoting what the last one
        cited (``moves.moved``)."""
        questions = [q for q, _ in history]
        last = max(i for i, q in enumerate(questions) if conversation_move(q) is None)
        before = [(q, "") for q in questions[:last] if conversation_move(q) is None]
        query, _ = await standalone(None, self.analyzer, questions[last], before)
        found = await self.retriever.retrieve(query, flt, SEARCH_K)
        key = conversation_key(asker)
        # 「詳しく」: the last answer; otherwise that question's and every move's since.
        turns = 1 if move == "more" else len(questions) - last
        cited = []
        if key is not None:
            cited = await asyncio.to_thread(self.conversations.last_sources, key, turns)
        return moved(move, found, cited)

    async def _own_words(self, question: str, carried: Retrieved, flt: SearchFilter) -> Retrieved:
        """For a follow-up searched offline with the earlier questions' words: the question
        searched alone instead, when what those words found does not speak of what it names
        and what it finds alone does (a new topic in the thread)."""
        subjects = subjects_of(self.analyzer, question)
        if speaks_of(subjects, carried):
            return carried
        alone = await self.retriever.retrieve(question, flt, SEARCH_K)
        return alone if alone.relevant and speaks_of(subjects, alone) else carried

    def _answer_cost(
        self, question: str, retrieved: Retrieved, history: list[tuple[str, str]]
    ) -> int:
        """What the answer's call reserves: its estimated prompt and its longest reply."""
        messages = build_grounded_messages(question, _sources(retrieved), history)
        return estimate_message_tokens(messages) + self.answer_max_tokens

    async def _expanded(
        self, llm: LLMClient, query: str, first: Retrieved, flt: SearchFilter
    ) -> tuple[Retrieved, LLMUsage | None]:
        """Add retrievals for model-written variants of the question (administrative wording)
        and fuse them; an unavailable model keeps the first retrieval."""
        try:
            variants, usage = await expand_queries(llm, query, self.query_variants)
        except UpstreamUnavailable as exc:
            log.warning("llm unavailable for query expansion: %s", exc.detail)
            return first, exc.billed
        results = [first]
        for variant in variants:
            results.append(await self.retriever.retrieve(variant, flt, SEARCH_K))
        return fuse_retrievals(results, SEARCH_K), usage

    async def _generate(
        self,
        llm: LLMClient,
        question: str,
        retrieved: Retrieved,
        history: list[tuple[str, str]],
        on_progress: Progress | None,
    ) -> Answer:
        hits = retrieved.grounds[:LLM_SOURCES]
        sources = _sources(retrieved)
        if on_progress is None:
            generated = await generate_answer(
                llm, question, sources, history, max_tokens=self.answer_max_tokens
            )
        else:
            generated = await self._stream(llm, question, sources, history, on_progress)
        usage = usage_of(generated.usage)
        if generated.cut_short:
            generated = replace(generated, text=f"{generated.text}\n\n{CUT_SHORT_NOTICE}")
        # A partial answer that cites sources and says the rest is not in them lists what it
        # cites, like any other answer; only an answer citing nothing falls back to related.
        if generated.uncited:
            text = (
                generated.text if generated.not_found else f"{generated.text}\n\n{UNCITED_NOTICE}"
            )
            # When the model found nothing, the sources are listed as possibly related only
            # when they share enough of the question, as offline (「来週の天気は」 is not
            # followed by statutes on 天井 or 週休).
            shared = retrieved.relevant or bool(retrieved.related)
            return Answer(
                text=text,
                citations=related_citations(hits) if shared or not generated.not_found else (),
                usage=usage,
                outcome="not_found" if generated.not_found else "answered",
                related_heading=RELATED_HEADING,
            )
        mapping = {old: new for new, old in enumerate(generated.cited, 1)}
        citations = tuple(citation_for(mapping[n], hits[n - 1]) for n in generated.cited)
        return Answer(
            text=remap_citations(generated.text, mapping), citations=citations, usage=usage
        )

    async def _stream(
        self,
        llm: LLMClient,
        question: str,
        sources: list[SourceText],
        history: list[tuple[str, str]],
        on_progress: Progress,
    ) -> GeneratedAnswer:
        written = ""
        paced = Paced(on_progress)
        stream = stream_answer(llm, question, sources, history, max_tokens=self.answer_max_tokens)
        async for event in stream:
            if isinstance(event, TextDelta):
                written += event.text
                if paced.due and (shown := strip_citations(_OPEN_MARKER.sub("", written))):
                    await paced.tell(shown)
            else:
                return event
        raise UpstreamUnavailable(detail="llm stream ended without an answer")


# A citation marker still being written at the end of a streamed answer (「…できます[1」).
# Its brackets, digits and separators are those ``generation`` reads as markers.
_OPEN_MARKER = re.compile(r"[\[［【][\s0-9０-９,，、\-‐–—~〜～－]*$")


def _sources(retrieved: Retrieved) -> list[SourceText]:
    """The numbered sources the model answers from: the best hits (``Retrieved.grounds``),
    a turn of a meeting's record named by its speaker."""
    return [
        SourceText(
            n=n, title=h.meta.title, position=cited_position(h.meta, h.chunk), text=h.chunk.text
        )
        for n, h in enumerate(retrieved.grounds[:LLM_SOURCES], 1)
    ]
