"""REST API for outside clients: ``POST /api/v1/ask``."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from typing import Any

from aiohttp import web

from adapters.common import from_this_machine
from admin.dataset_rules import CATEGORIES
from admin.orgs import ApiCaller, OrgInfo, authenticate_api_key, key_id_of
from admin.quotas import period_bounds
from admin.usage import report_csv
from bot.app_keys import SERVICES
from bot.asker import Asker
from bot.http import (
    bearer_token,
    json_ok,
    optional_text,
    read_json_object,
    refuse_unknown_fields,
)
from bot.sample import SAMPLE_DATASET
from bot.services import Services
from bot.summary_asked import document_asked
from bot.summary_sources import MAX_NAME_CHARS, SummaryRequest
from bot.turns import Answer, ConversationRef, Platform
from knowledge.dates import parse_date
from knowledge.errors import BadInput, Unauthorized
from knowledge.index import SearchFilter

KEY_REQUIRED = "APIキーが必要です。Authorization: Bearer <APIキー> を指定してください。"


def answer_json(answer: Answer) -> dict[str, Any]:
    """The REST (and ``ask --json``) shape of an answer."""
    return {
        "answer": answer.text,
        "citations": [
            {
                "n": c.n,
                "title": c.title,
                "dataset": c.dataset,
                "organization": c.organization,
                "position": c.position,
                "url": c.url,
                "published": c.published,
                "enforced": c.enforced,
                # What chat shows after the title: 「第一条・…・1955-12-19 公布・2025-06-06 施行」.
                "details": "・".join(c.details()),
                "doc_id": c.doc_id,
            }
            for c in answer.citations
        ],
        "citations_heading": answer.citations_heading,
        "footer": answer.footer,
        "notice": answer.notice,
        "outcome": answer.outcome,
        "usage": {**asdict(answer.usage), "total_tokens": answer.usage.total_tokens},
        "turn_id": answer.turn_id,
    }


def is_local_demo(request: web.Request) -> bool:
    """The keyless local demo: the server is bound to a loopback address, the request names a
    loopback host (which also defeats DNS rebinding) and no proxy forwarded it."""
    return request.app[SERVICES].settings.bound_to_loopback and from_this_machine(request)


async def authenticate(request: web.Request) -> ApiCaller | None:
    """The caller (its organization and key id) from its API key.

    Without a key, only the local demo is allowed (``is_local_demo``). The client's address is
    never trusted, since a reverse proxy makes every client look local. Returns ``None`` for the
    local demo (shared data only).
    """
    token = bearer_token(request)
    if token is None:
        # Credentials of another form (Basic, a bare key) are wrong, not absent.
        if "Authorization" not in request.headers and is_local_demo(request):
            return None
        raise Unauthorized(KEY_REQUIRED)
    return await caller_of(request, token, platform="api")


async def caller_of(request: web.Request, key: str, *, platform: str) -> ApiCaller:
    """The caller a presented API key stands for; a wrong or revoked key is ``Unauthorized``
    and recorded as a security event (by the key's id, never its secret)."""
    services = request.app[SERVICES]
    try:
        return await asyncio.to_thread(authenticate_api_key, services.engine, key)
    except Unauthorized:
        await services.auditor.security(
            org_id=None,
            platform=platform,
            user_id="",
            reason="bad_api_key",
            details={"path": request.path, "key_id": key_id_of(key)},
        )
        raise


async def require_caller(request: web.Request) -> ApiCaller:
    """The caller; routes for organization admins need a key even locally."""
    caller = await authenticate(request)
    if caller is None:
        raise Unauthorized(KEY_REQUIRED)
    return caller


async def require_org(request: web.Request) -> OrgInfo:
    """The caller's organization (``require_caller``)."""
    return (await require_caller(request)).org


def _asker(caller: ApiCaller | None, thread: str | None = None) -> Asker:
    """Who asks over REST: the key's organization, the turn recorded under the key (usage
    counts it as one user); without a key, the local demo (shared data only). ``thread``: the
    conversation a question continues."""
    org = caller.org if caller else None
    platform: Platform = "api" if org else "web"
    conversation = None
    if thread is not None:
        workspace = org.id if org else ""
        conversation = ConversationRef(platform=platform, workspace_id=workspace, thread_id=thread)
    return Asker(
        org_id=org.id if org else None,
        platform=platform,
        user_id=caller.actor if caller else "",
        conversation=conversation,
    )


async def ask(request: web.Request) -> web.Response:
    """``POST /api/v1/ask``: ``{"question", "thread"?}`` → answer, citations, usage, turn id.
    A question asking for a summary (「…を要約して」) gets the summary, as in chat."""
    caller = await authenticate(request)
    body = await read_json_object(request)
    refuse_unknown_fields(body, ("question", "thread", "filters"))
    question = body.get("question")
    if not isinstance(question, str):
        raise BadInput("question（質問の文字列）を指定してください。")
    thread = optional_text(body, "thread")
    if len(thread) > 200:
        raise BadInput("thread は200文字以内の文字列で指定してください。")
    asker = _asker(caller, thread)
    services = request.app[SERVICES]
    flt = await parse_filters(body.get("filters"), services, asker.org_id)
    # 「地方自治法第242条を要約して」, 「[2]を要約して」, a question on a linked PDF: as in chat.
    summary = await document_asked(services.summarizer, services.assistant, question, asker)
    answer = summary or await services.assistant.ask(question, asker, flt=flt)
    return json_ok(answer_json(answer))


FILTER_KEYS = ("categories", "datasets", "laws", "published_from", "published_to")


def _names(filters: dict[str, Any], key: str) -> tuple[str, ...]:
    value = filters.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(
        isinstance(v, str) and len(v) <= MAX_NAME_CHARS for v in value
    ):
        raise BadInput(
            f"filters.{key} は {MAX_NAME_CHARS} 文字以内の文字列の配列で指定してください。"
        )
    return tuple(v.strip() for v in value if v.strip())


async def parse_filters(raw: object, services: Services, viewer_org: str | None) -> SearchFilter:
    """``{"categories", "datasets", "laws" (titles or law ids), "published_from",
    "published_to" (和暦 accepted)}`` as a search filter (law titles as ``viewer_org`` sees
    them). A key, category or dataset it does not know is refused, so that a mistyped filter
    does not look like a question nothing answers."""
    if raw is None:
        return SearchFilter()
    if not isinstance(raw, dict):
        raise BadInput("filters はオブジェクトで指定してください。")
    refuse_unknown_fields(raw, FILTER_KEYS, "filters に")
    categories = _names(raw, "categories")
    if unknown := [c for c in categories if c not in CATEGORIES]:
        raise BadInput(
            f"分類「{'」「'.join(unknown)[:200]}」はありません。"
            f"分類は {'、'.join(CATEGORIES)} のいずれかで指定してください。"
        )
    datasets = _names(raw, "datasets")
    if unknown := await unknown_datasets(services, viewer_org, datasets):
        raise BadInput(
            f"データセット「{'」「'.join(unknown)[:200]}」は見つかりません。"
            "利用できるデータセットの名前を指定してください。"
        )
    start, end = _date(raw, "published_from"), _date(raw, "published_to")
    if start and end and start > end:  # nothing is found in no time, whatever was asked
        raise BadInput(
            f"filters.published_from（{start}）が published_to（{end}）より後になっています。"
            "期間の始まりと終わりを確認してください。"
        )
    laws = _names(raw, "laws")
    titles = await services.index.law_titles(viewer_org) if laws else {}
    return SearchFilter(
        categories=categories,
        datasets=datasets,
        law_ids=tuple(titles.get(law, law) for law in laws),
        published_from=start,
        published_to=end,
    )


async def unknown_datasets(
    services: Services, viewer_org: str | None, names: Sequence[str]
) -> list[str]:
    """Those of ``names`` that name no dataset the viewer may use (shared ones, its own and the
    bundled sample)."""
    if not names:
        return []
    visible = await asyncio.to_thread(services.datasets.visible, viewer_org)
    known = {d.name for d in visible} | {SAMPLE_DATASET}
    return [name for name in names if name not in known]


def _date(filters: dict[str, Any], key: str) -> date | None:
    value = filters.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise BadInput(f"filters.{key} は日付の文字列で指定してください。")
    return parse_date(value)


def decode_file(filename: object, content: object) -> tuple[str, bytes]:
    """A base64 file from a JSON body; ``BadInput`` naming the problem otherwise."""
    if not isinstance(filename, str) or not filename.strip():
        raise BadInput("ファイル名（filename）を指定してください。")
    if len(filename) > MAX_NAME_CHARS:
        raise BadInput(f"ファイル名（filename）は {MAX_NAME_CHARS} 文字以内で指定してください。")
    if not isinstance(content, str):
        raise BadInput(f"{filename} の内容（content）を base64 の文字列で指定してください。")
    # As browsers and mail tools write it too: a data URL (「data:application/pdf;base64,…」)
    # or lines of 76 characters.
    encoded = "".join(_DATA_URL.sub("", content, count=1).split())
    try:
        return filename.strip(), base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInput(
            f"{filename} の内容が base64 として読めません（base64 の文字以外が含まれています）。"
        ) from exc


_DATA_URL = re.compile(r"^\s*data:[^,]{0,200};base64,")


async def summarize(request: web.Request) -> web.Response:
    """``POST /api/v1/summarize``: ``{"doc_id"}`` | ``{"url"}`` | ``{"file": {"filename",
    "content"(base64)}}`` → summary, citation, usage, turn id."""
    caller = await authenticate(request)
    body = await read_json_object(request)
    refuse_unknown_fields(body, ("doc_id", "url", "file"))
    doc_id, url, file = optional_text(body, "doc_id"), optional_text(body, "url"), body.get("file")
    summary_request = SummaryRequest(doc_id=doc_id.strip(), url=url.strip())
    if file is not None:
        if not isinstance(file, dict):
            raise BadInput('file は {"filename", "content"} の形で指定してください。')
        name, data = decode_file(file.get("filename"), file.get("content"))
        summary_request = SummaryRequest(
            doc_id=summary_request.doc_id, url=summary_request.url, filename=name, content=data
        )
    asker = _asker(caller)
    answer = await request.app[SERVICES].summarizer.summarize(summary_request, asker)
    return json_ok(answer_json(answer))


async def quota(request: web.Request) -> web.Response:
    """``GET /api/v1/quota``: the caller's organization's budget, used, reserved, the percent
    used and the threshold (80, 100) it reached, reset date."""
    org = await require_org(request)
    status = await asyncio.to_thread(request.app[SERVICES].quotas.status, org.id)
    return json_ok(
        {
            "organization": org.name,
            "period": status.period,
            "budget": status.budget,
            "used": status.used,
            "reserved": status.reserved,
            "remaining": status.remaining,
            "percent_used": status.percent_used,
            "threshold_reached": status.threshold_reached,
            "reset_on": status.reset_on.isoformat(),
            "offline_when_exhausted": status.offline_when_exhausted,
        }
    )


async def usage(request: web.Request) -> web.Response:
    """``GET /api/v1/usage[?period=YYYY-MM][&format=csv]``: the organization's usage figures."""
    org = await require_org(request)
    # 「?perod=2026-04」 answered with this month's figures would pass for April's.
    refuse_unknown_fields(request.query, ("period", "format"), "クエリに")
    period = request.query.get("period") or None
    if period is not None and not re.fullmatch(r"20\d{2}-(0[1-9]|1[0-2])", period):
        raise BadInput("period は 2026-04 のような年-月の形で指定してください。")
    shape = request.query.get("format", "json")
    if shape not in ("json", "csv"):
        raise BadInput("format は json か csv を指定してください。")
    services = request.app[SERVICES]
    report = await asyncio.to_thread(services.usage.report, org.id, period)
    if shape == "csv" or "text/csv" in request.headers.get("Accept", ""):
        return web.Response(
            text=report_csv(report),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="usage-{report.period}.csv"'},
        )
    # The report's month in Japan time, as its figures: not later months, not 9 hours off.
    start, end = period_bounds(report.period)
    signals = await asyncio.to_thread(services.auditor.log.misuse_signals, org.id, start, end)
    return json_ok(
        {"organization": org.name, **asdict(report), "misuse_signals": [asdict(s) for s in signals]}
    )
