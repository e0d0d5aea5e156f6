"""``/api/v1/datasets…``: datasets of the caller's organization (API key = organization admin).

* ``GET /api/v1/datasets`` — datasets the organization may see (shared ones and its own), and
  the bundled sample statutes when the index holds them (``"bundled": true``, ``"id": null``:
  read-only, no route changes them)
* ``POST /api/v1/datasets`` — create: ``{"name", "category", "license"?, "source_url"?,
  "publisher"?, "refresh_hours"?, "attested_by"?}`` (``attested_by`` shares it at once); a
  field of another name is refused, naming it
* ``GET /api/v1/datasets/{id}`` — one dataset
* ``POST /api/v1/datasets/{id}/documents`` — upload files (multipart); a file of the same name
  replaces its previous version
* ``POST /api/v1/datasets/{id}/attest`` — ``{"attested_by"}``: share with every organization
* ``DELETE /api/v1/datasets/{id}`` — delete the dataset and its documents
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from aiohttp.http_exceptions import BadHttpMessage

from admin.dataset_rules import dataset_number
from admin.datasets import DatasetInfo
from admin.orgs import ApiCaller
from bot.api import require_caller, require_org
from bot.app_keys import SERVICES
from bot.fetch import FetchPolicy, check_url
from bot.http import (
    UnsupportedMediaType,
    json_ok,
    optional_text,
    read_json_object,
    refuse_unknown_fields,
    too_large,
)
from bot.refresh_notes import refresh_failure
from bot.sample import SAMPLE_DATASET, SAMPLE_DEFAULTS, sample_documents, sample_in_index
from bot.uploads import UploadFile
from knowledge.dates import as_utc
from knowledge.errors import BadInput, NotFound


def dataset_json(info: DatasetInfo, viewer_org: str | None = None) -> dict[str, Any]:
    """A dataset as its owner sees it, or (``viewer_org`` another organization) without who
    attested its sharing: a person of the owner (a chat user id), not the viewer's business;
    that it was attested, and when, is shown. ``bundled`` is false: an organization's dataset,
    not the sample that ships with Baibain. ``refresh`` tells the owner how the refreshes of
    its source go (``_refresh_json``); ``null`` for others, whose business it is not."""
    own = viewer_org is None or viewer_org == info.org_id
    data = asdict(info)
    for field in ("refreshed_at", "refresh_error", "refresh_failing_since"):
        del data[field]
    data["attested_at"] = _iso(info.attested_at)
    if not own:
        data["attested_by"] = ""
    data["bundled"] = False
    data["refresh"] = _refresh_json(info) if own else None
    return data


def _refresh_json(info: DatasetInfo) -> dict[str, Any]:
    """When the dataset's source URL was last fetched (``refreshed_at``), and, while its
    refreshes fail, since when (``failing_since``), with which error ``code`` (``error``) and
    what its admins read of it in chat (``message``); ``null`` and "" while they work."""
    return {
        "refreshed_at": _iso(info.refreshed_at),
        "failing_since": _iso(info.refresh_failing_since),
        "error": info.refresh_error,
        "message": refresh_failure(info),
    }


def _iso(moment: datetime | None) -> str | None:
    """A stored time for JSON (UTC, ISO 8601); ``None`` for none."""
    return as_utc(moment).isoformat() if moment is not None else None


def sample_json() -> dict[str, Any]:
    """The bundled sample statutes as an entry of the listing, in a dataset's shape: shared with
    every organization, owned by none, and without an id (``null``), as chat and the CLI list
    them without a number: no route uploads to, attests or deletes them; no source refreshes
    them (``refresh`` null)."""
    info = DatasetInfo(
        id=0,
        org_id="",
        name=SAMPLE_DEFAULTS.dataset,
        category=SAMPLE_DEFAULTS.category,
        license=SAMPLE_DEFAULTS.license,
        publisher=SAMPLE_DEFAULTS.publisher,
        source_url="",
        visibility="shared",
        attested_by="",
        attested_at=None,
        refresh_hours=None,
        documents=sample_documents(),
    )
    return {**dataset_json(info), "id": None, "bundled": True, "refresh": None}


def _dataset_id(request: web.Request) -> int:
    raw = request.match_info["dataset_id"]
    number = dataset_number(raw)
    if number is None:
        # The listing's one entry without a number is the bundled sample: a client that put
        # its null id (or its name) into the URL is told why it cannot change it.
        raise NotFound(
            f"データセット「{raw}」が見つかりません。データセットは GET /api/v1/datasets の"
            f"id（番号）で指定してください。id が null の「{SAMPLE_DATASET}」は同梱のデータで、"
            "読み取り専用のため変更・削除できません。"
        )
    return number


async def _owned(request: web.Request, caller: ApiCaller, action: str) -> DatasetInfo:
    """The caller's own dataset of the route, to change by ``action`` (``Uploads.owned``: a
    change of another organization's dataset is refused and recorded)."""
    return await request.app[SERVICES].uploads.owned(
        _dataset_id(request), caller.org.id, who=caller.actor, platform="api", action=action
    )


async def list_datasets(request: web.Request) -> web.Response:
    org = await require_org(request)
    services = request.app[SERVICES]
    rows = await asyncio.to_thread(services.datasets.visible, org.id)
    listed = [dataset_json(r, org.id) for r in rows]
    # The bundled statutes answer questions too, though no organization uploaded them.
    if await sample_in_index(services.index):
        # In a thread: the process's first listing counts the sample file's lines (9 MB).
        listed.append(await asyncio.to_thread(sample_json))
    return json_ok({"datasets": listed})


SHARING_UNATTESTED = (
    "共有するには、attested_by に共有が法令上可能であることを確認した担当者を指定してください"
    "（空白だけでは確認になりません）。組織内だけで使う場合は attested_by・visibility・"
    "shareable を省いてください。"
)


_TEXT_FIELDS = ("name", "category", "license", "source_url", "publisher", "attested_by")
# ``visibility`` and ``shareable``, as the listing shows a dataset, are read only to refuse
# sharing without an attestation (``_asks_sharing``).
CREATE_FIELDS = (*_TEXT_FIELDS, "refresh_hours", "visibility", "shareable")


def _asks_sharing(body: Mapping[str, Any]) -> bool:
    """Whether a new dataset's body asks for it to be shared: an ``attested_by`` that is not
    empty (spaces alone attest nothing), or the listing's ``"visibility": "shared"`` or a
    ``"shareable": true`` sent back, which alone share nothing; a client must not get an
    organization-only dataset unawares."""
    return (
        body.get("attested_by") not in (None, "")
        or body.get("visibility") == "shared"
        or body.get("shareable") is True
    )


async def create_dataset(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    org = caller.org
    body = await read_json_object(request)
    refuse_unknown_fields(body, CREATE_FIELDS)
    text = {k: optional_text(body, k) for k in _TEXT_FIELDS}
    if _asks_sharing(body) and not text["attested_by"].strip():
        raise BadInput(SHARING_UNATTESTED)
    refresh = body.get("refresh_hours")
    if refresh is not None and (not isinstance(refresh, int) or isinstance(refresh, bool)):
        raise BadInput("refresh_hours は整数（時間）で指定してください。")
    services = request.app[SERVICES]
    if text["source_url"]:
        check_url(text["source_url"], FetchPolicy.of(services.settings))
    info = await services.uploads.create(
        lambda datasets: datasets.create(
            org.id,
            text["name"],
            text["category"],
            license=text["license"],
            publisher=text["publisher"] or org.name,
            source_url=text["source_url"],
            attested_by=text["attested_by"],
            refresh_hours=refresh,
        ),
        who=caller.actor,
        platform="api",
    )
    return json_ok(dataset_json(info), status=201)


async def get_dataset(request: web.Request) -> web.Response:
    """One dataset, with the title and id of each of its documents (to summarize one)."""
    org = await require_org(request)
    datasets = request.app[SERVICES].datasets
    info = await asyncio.to_thread(datasets.get, _dataset_id(request), org.id)
    titles = await asyncio.to_thread(datasets.titles, info.id)
    documents = [{"doc_id": doc_id, "title": title} for title, doc_id in titles]
    return json_ok({**dataset_json(info, org.id), "document_list": documents})


async def upload_documents(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    dataset = await _owned(request, caller, "dataset.upload")
    if not request.content_type.startswith("multipart/"):
        raise UnsupportedMediaType("ファイルは multipart/form-data で送信してください。")
    files: list[UploadFile] = []
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.filename:
                # Clients send non-ASCII names percent-encoded (RFC 5987 ``filename*``).
                name = unquote(part.filename)
                files.append(UploadFile(name, bytes(await part.read(decode=True))))
            elif "filename" in part.headers.get("Content-Disposition", ""):
                # A file whose name aiohttp could not decode (「filename*=UTF-8''%ff」): dropped,
                # the upload would have been told it holds no file.
                raise BadInput(
                    "ファイル名を読み取れないファイルがあります。filename* は UTF-8 を"
                    "パーセントエンコードして指定してください"
                    "（例: filename*=UTF-8''%E8%A6%8F%E5%89%87.pdf）。"
                )
    except web.HTTPRequestEntityTooLarge as exc:
        raise too_large() from exc
    # No boundary, a truncated part, a bad encoding; a part's header no HTTP parser reads (a
    # raw NUL in a file name); RuntimeError: a Content-Transfer-Encoding aiohttp does not know.
    except (ValueError, LookupError, BadHttpMessage, RuntimeError) as exc:
        raise BadInput(
            "multipart/form-data として読めません。送信内容を確認してください。"
        ) from exc
    report = await request.app[SERVICES].uploads.upload(
        dataset, files, publisher=caller.org.name, uploader=caller.actor, platform="api"
    )
    return json_ok(
        {
            "dataset": dataset_json(report.dataset),
            "written": report.written,
            "unchanged": report.unchanged,
            "removed": report.removed,
            "left_out": list(report.left_out),
            "message": report.message(),
        }
    )


async def attest_dataset(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    body = await read_json_object(request)
    refuse_unknown_fields(body, ("attested_by",))
    who = body.get("attested_by")
    if not isinstance(who, str) or not who.strip():
        raise BadInput(
            "attested_by（共有が法的に可能であることを確認した担当者）を指定してください。"
        )
    dataset = await _owned(request, caller, "dataset.attest")
    shared = await request.app[SERVICES].uploads.attest(
        dataset, who=caller.actor, platform="api", attested_by=who.strip()
    )
    return json_ok(dataset_json(shared))


async def delete_dataset(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    dataset = await _owned(request, caller, "dataset.delete")
    removed = await request.app[SERVICES].uploads.delete(dataset, who=caller.actor, platform="api")
    return json_ok({"deleted": dataset.id, "documents": removed})


async def delete_document(request: web.Request) -> web.Response:
    caller = await require_caller(request)
    dataset = await _owned(request, caller, "document.delete")
    doc_id, title = await request.app[SERVICES].uploads.delete_document(
        dataset, request.match_info["doc_id"], who=caller.actor, platform="api"
    )
    return json_ok({"deleted": doc_id, "title": title, "dataset": dataset.id})


def add_routes(app: web.Application) -> None:
    """Mount the dataset routes."""
    app.router.add_get("/api/v1/datasets", list_datasets)
    app.router.add_post("/api/v1/datasets", create_dataset)
    app.router.add_get("/api/v1/datasets/{dataset_id}", get_dataset)
    app.router.add_delete("/api/v1/datasets/{dataset_id}", delete_dataset)
    app.router.add_delete("/api/v1/datasets/{dataset_id}/documents/{doc_id:.+}", delete_document)
    app.router.add_post("/api/v1/datasets/{dataset_id}/documents", upload_documents)
    app.router.add_post("/api/v1/datasets/{dataset_id}/attest", attest_dataset)
