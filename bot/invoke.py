"""``POST /invoke``: the 源内 (GenAI) Web ExApp protocol.

Request: header ``x-api-key``; body ``{"inputs": {"question": …, "files": [{"key": …, "files":
[{"filename": …, "content": base64}]}], "tags": "a,b"}}``. A question alone is answered from the
index (``tags`` narrow it to datasets or categories; 「、」 and 「，」 separate them too); a
question with files is answered from the files; files without a question, or with one asking
for a summary (「要約して」), are summarized. Reply ``{"outputs": "<text>", "usageMetadata":
[{"modelVersion", "requestCount", "tokens": {"inputTokens", "outputTokens", "totalTokens"}}]}``;
errors ``{"error": "<message>"}`` with 400/401/429/500.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from aiohttp import web

from admin.dataset_rules import CATEGORIES
from bot import commands
from bot.api import caller_of, decode_file, unknown_datasets
from bot.app_keys import SERVICES
from bot.asker import Asker
from bot.attached import ask_about_files, wants_summary
from bot.http import json_ok, optional_text, read_json_object, with_retry_after
from bot.services import Services
from bot.summary_asked import document_asked
from bot.turns import Answer
from bot.uploads import MAX_FILES
from knowledge.errors import BadInput, BaibainError, Unauthorized
from knowledge.index import SearchFilter

log = logging.getLogger(__name__)


def render_text(answer: Answer) -> str:
    """The answer as one plain text: body, numbered sources, footer, notice."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append(f"【{answer.citations_heading}】")
        for c in answer.citations:
            details = "、".join(c.details())
            lines.append(f"[{c.n}] {c.title}" + (f"（{details}）" if details else ""))
            if c.url:
                lines.append(f"    {c.url}")
    for closing in (answer.footer, answer.notice):
        if closing:
            lines += ["", closing]
    return "\n".join(lines)


def _reply(answer: Answer) -> dict[str, Any]:
    usage = answer.usage
    return {
        "outputs": render_text(answer),
        "usageMetadata": [
            {
                "modelVersion": usage.model,
                "requestCount": usage.requests,
                "tokens": {
                    "inputTokens": usage.input_tokens,
                    "outputTokens": usage.output_tokens,
                    "totalTokens": usage.total_tokens,
                },
            }
        ],
    }


def _files(inputs: dict[str, Any]) -> list[tuple[str, bytes]]:
    """The attached files, decoded; counted first, so that no file is decoded (nor read later)
    of a request that sends more than an upload may hold. Their total size is bounded by the
    body's (``MAX_BODY_BYTES``)."""
    groups = inputs.get("files")
    if groups is None:
        return []
    # Another type (an object, "", false) is refused, not taken as no files: the question
    # would be answered from the index instead of from the files the caller meant to send.
    if not isinstance(groups, list):
        raise BadInput("inputs.files は配列で指定してください。")
    items: list[object] = []
    for group in groups:
        # A group without its "files" list (a file put in directly) is refused, not dropped.
        if not isinstance(group, dict) or not isinstance(group.get("files"), list):
            raise BadInput('inputs.files の各要素は {"key", "files": [...]} の形にしてください。')
        items.extend(group["files"])
    if len(items) > MAX_FILES:
        raise BadInput(
            f"一度に送れるファイルは {MAX_FILES} 件までです（{len(items)} 件あります）。"
            "ファイルを分けて送ってください。"
        )
    files: list[tuple[str, bytes]] = []
    for item in items:
        if not isinstance(item, dict):
            raise BadInput('ファイルは {"filename", "content"} の形で指定してください。')
        files.append(decode_file(item.get("filename"), item.get("content")))
    return files


MAX_TAGS_CHARS = 2000


async def _tag_filter(services: Services, org_id: str, tags: object) -> SearchFilter:
    """The filter ``tags`` stand for: a tag naming a seed category narrows by category, any
    other by dataset. A tag naming neither a category nor a dataset the organization can use is
    refused, so that a mistyped tag does not look like a question nothing answers."""
    if tags in (None, ""):
        return SearchFilter()
    if not isinstance(tags, str) or len(tags) > MAX_TAGS_CHARS:
        raise BadInput(
            f"inputs.tags は {MAX_TAGS_CHARS} 文字以内のカンマ区切りの文字列で指定してください。"
        )
    names = await _tag_names(services, org_id, tags)
    datasets = [t for t in names if t not in CATEGORIES]
    if unknown := await unknown_datasets(services, org_id, datasets):
        raise BadInput(
            f"タグ「{'」「'.join(unknown)}」に一致する分類・データセットがありません。"
            f"分類（{'、'.join(CATEGORIES)}）か、利用できるデータセットの名前を指定してください。"
        )
    return SearchFilter(
        categories=tuple(t for t in names if t in CATEGORIES), datasets=tuple(datasets)
    )


# Japanese text separates a list by these, as 源内 does by 「,」.
_WIDE_SEPARATORS = re.compile("[，、]")


async def _tag_names(services: Services, org_id: str, tags: str) -> list[str]:
    """The tags of ``tags``, separated by 「,」 and also by 「，」 and 「、」 (「法令、例規」),
    except where the words between commas name a dataset as they are: a dataset's name may
    hold 「、」 (never 「,」)."""
    pieces = [t.strip() for t in tags.split(",") if t.strip()]
    joined = [p for p in pieces if p not in CATEGORIES and _WIDE_SEPARATORS.search(p)]
    if not joined:
        return pieces
    split = set(await unknown_datasets(services, org_id, joined))
    return [
        part.strip()
        for piece in pieces
        for part in (_WIDE_SEPARATORS.split(piece) if piece in split else [piece])
        if part.strip()
    ]


async def _handle(request: web.Request) -> Answer:
    services = request.app[SERVICES]
    key = request.headers.get("x-api-key", "").strip()
    if not key:
        raise Unauthorized("x-api-key ヘッダーに APIキーを指定してください。")
    caller = await caller_of(request, key, platform="invoke")
    body = await read_json_object(request)
    inputs = body.get("inputs")
    if not isinstance(inputs, dict):
        raise BadInput("inputs オブジェクトを指定してください。")
    question = optional_text(inputs, "question", "inputs.question")
    files = _files(inputs)
    asker = Asker(org_id=caller.org.id, platform="invoke", user_id=caller.actor)
    if files and wants_summary(question):
        _, chars = commands.summary_length(question)  # 「3行で要約して」
        return await services.summarizer.summarize_attached(files, asker, max_chars=chars)
    if files:
        return await ask_about_files(services.assistant, question, files, asker)
    flt = await _tag_filter(services, caller.org.id, inputs.get("tags"))
    # 「地方自治法第242条を要約して」, a question on a linked PDF: as in chat and REST.
    summary = await document_asked(services.summarizer, services.assistant, question, asker)
    return summary or await services.assistant.ask(question, asker, flt=flt)


async def invoke(request: web.Request) -> web.Response:
    """The ExApp endpoint; errors are ``{"error": message}`` as 源内 expects (also a request
    of another method than POST, which the route takes too, to answer it so)."""
    try:
        if request.method != "POST":
            raise BadInput("POST で送信してください。")
        return json_ok(_reply(await _handle(request)))
    except BaibainError as exc:
        # 源内 expects 400/401/429/500 only: other client errors are reported as 400.
        status = exc.status if exc.status in (401, 429) else 400 if exc.status < 500 else 500
        if status == 500:
            log.warning("invoke failed code=%s detail=%s", exc.code, exc.detail)
        return with_retry_after(json_ok({"error": exc.user_message}, status=status), exc)
    except Exception:  # the contract's error shape even for the unforeseen
        log.exception("invoke failed unexpectedly")
        return json_ok({"error": BaibainError.default_message}, status=500)
