"""Fetching a document by URL (``summarize``, dataset refresh) with size, type and time limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import aiohttp

from knowledge.errors import BadDocument, UpstreamUnavailable
from knowledge.parsing import SUPPORTED_SUFFIXES

FETCH_TIMEOUT_S = 20.0
_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/csv": ".csv",
    "application/pdf": ".pdf",
    "application/json": ".json",
    "application/xml": ".xml",
    "text/xml": ".xml",
    "application/zip": ".zip",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
}


@dataclass(frozen=True)
class Fetched:
    """A fetched document; ``data`` is empty when the server said it had not changed (304)."""

    name: str
    data: bytes
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def _file_name(url: str, content_type: str) -> str:
    """A file name whose suffix tells the parser the format."""
    path = PurePosixPath(urlsplit(url).path)
    if path.suffix.lower() in SUPPORTED_SUFFIXES:
        return path.name
    suffix = _TYPES.get(content_type)
    if suffix is None:
        raise BadDocument(
            f"URL の内容の種類（{content_type or '不明'}）には対応していません。"
            "HTML・PDF・Word・Excel・CSV・テキストの URL を指定してください。"
        )
    return (path.stem or "document") + suffix


async def fetch(url: str, max_bytes: int, *, etag: str = "", last_modified: str = "") -> Fetched:
    """The document at ``url`` (http or https only), conditionally when validators are given."""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise BadDocument("URL は http:// または https:// で始まる形で指定してください。")
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    limit_mb = max_bytes // (1024 * 1024) or 1
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers, max_redirects=5) as response,
        ):
            etag_now = response.headers.get("ETag", "")
            modified_now = response.headers.get("Last-Modified", "")
            if response.status == 304:
                return Fetched("", b"", etag_now, modified_now, not_modified=True)
            if response.status >= 400:
                raise BadDocument(
                    f"URL の取得に失敗しました（HTTP {response.status}）。URL を確認してください。"
                )
            if (response.content_length or 0) > max_bytes:
                raise BadDocument(f"URL の文書が大きすぎます（上限 {limit_mb}MB）。")
            body = bytearray()
            async for piece in response.content.iter_chunked(64 * 1024):
                body += piece
                if len(body) > max_bytes:
                    raise BadDocument(f"URL の文書が大きすぎます（上限 {limit_mb}MB）。")
            name = _file_name(url, response.content_type)
            return Fetched(name, bytes(body), etag_now, modified_now)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UpstreamUnavailable(
            "URL の文書を取得できませんでした。URL と相手先のサーバーの状態を確認してください。",
            detail=f"fetch failed: {type(exc).__name__}",
        ) from exc


async def fetch_document(url: str, max_bytes: int) -> tuple[str, bytes]:
    """``(file name, bytes)`` of the document at ``url``."""
    fetched = await fetch(url, max_bytes)
    return fetched.name, fetched.data
