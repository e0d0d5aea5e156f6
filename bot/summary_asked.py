"""A message that asks something of one document rather than of the index: its summary
(「地方自治法第242条を要約して」, 「この条文を要約して」, 「[2]を要約して」, 「要約して」, a pasted
notice), or, linking to a document, an answer from it (``bot.linked``); read alike by chat,
the web page and REST (``POST /api/v1/ask``), 源内's ``/invoke`` and ``baibain ask``."""

from __future__ import annotations

import time
from dataclasses import replace

from admin.conversations import CitedSource
from bot import cited, commands
from bot.asker import Asker
from bot.assistant import Assistant
from bot.linked import ask_about_link
from bot.summarizer import Summarizer
from bot.summary_sources import SummaryRequest
from bot.turns import Answer, Progress, notice
from knowledge.query import WEB_ADDRESS


async def summarize_cited(
    summarizer: Summarizer,
    assistant: Assistant,
    request: cited.CitedRequest,
    asker: Asker,
    progress: Progress | None = None,
    sources: list[CitedSource] | None = None,
    *,
    question: str,
    max_chars: int | None = None,
) -> Answer:
    """The summary of the source of the conversation's previous answer that ``request`` means,
    or which sources there are to choose from, or that there is no cited answer to refer to
    (``sources``: that answer's, when already read). Asked back, ``question`` is recorded
    with the reply as a question about 「それ」 is (outcome ``unclear``). ``max_chars``: the
    summary's length, when asked (「3行で」)."""
    started = time.perf_counter()
    if sources is None:
        sources = await assistant.cited_sources(asker)
    chosen = cited.choose(sources, request)
    if isinstance(chosen, str):
        return await assistant.replied(question, asker, notice(chosen, "unclear"), started)
    asked = replace(cited.summary_request(chosen), max_chars=max_chars)
    return await summarizer.summarize(asked, asker, progress)


async def document_asked(
    summarizer: Summarizer,
    assistant: Assistant,
    question: str,
    asker: Asker,
    progress: Progress | None = None,
    *,
    link: str = "",
) -> Answer | None:
    """The reply to a message about one document: the summary it asks for instead of an
    answer (of the text pasted into it, of what the previous answer cited, of the document or
    URL it names), or the answer from the document it links to (``ask_about_link``); ``None``
    for a question to answer from the index (also one asking for the summary of something
    that names nothing the asker may see). ``link``: the document the message is about when
    it links to none itself (its thread's opening's link, ``Turn.opening_link``)."""
    text, chars = commands.summary_length(question)  # 「3行で要約して」
    if (pasted := commands.pasted_text(text)) is not None:
        of_pasted = SummaryRequest(pasted=pasted, question=question, max_chars=chars)
        return await summarizer.summarize(of_pasted, asker, progress)
    policy = summarizer.sources.fetch_policy
    if link and not WEB_ADDRESS.search(text):
        if commands.asks_summary_pointing(text):  # 「要約して」, 「これを3行で要約して」
            of_link = SummaryRequest(url=link, question=question, max_chars=chars)
            return await summarizer.summarize(of_link, asker, progress)
        return await ask_about_link(assistant, policy, question, asker, progress, address=link)
    if (request := cited.cited_request(text)) is not None:
        sources = await assistant.cited_sources(asker)
        opening = asker.thread_opening.strip()
        # A colleague's notice pasted as the thread's opening, before any answer cited
        # anything: 「要約して」 is about it.
        pointing = commands.asks_summary_pointing(text)
        if not sources and pointing and len(opening) >= commands.MIN_PASTED_CHARS:
            of_opening = SummaryRequest(pasted=opening, question=question, max_chars=chars)
            return await summarizer.summarize(of_opening, asker, progress)
        return await summarize_cited(
            summarizer,
            assistant,
            request,
            asker,
            progress,
            sources,
            question=question,
            max_chars=chars,
        )
    if linked := commands.linked_summary(text):  # 「このPDFを要約して https://…」
        by_url = SummaryRequest(url=linked, question=question, max_chars=chars)
        return await summarizer.summarize(by_url, asker, progress)
    target = commands.summary_target(text)
    if target and (
        named := await summarizer.summarize_named(target, asker, progress, max_chars=chars)
    ):
        return named
    return await ask_about_link(assistant, policy, question, asker, progress)
