"""Fetching a document by URL for ``summarize``, with size, type and time limits."""

from __future__ import annotations

from pathlib import PurePosixPath
from urllib.parse import urlsplit

import aiohttp

from baibain.knowledge.errors import BadDocument, UpstreamUnavailable
from baibain.knowledge.parsing import SUPPORTED_SUFFIXES

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


async def fetch_document(url: str, max_bytes: int) -> tuple[str, bytes]:
    """``(file name, bytes)`` of the document at ``url`` (http or https only)."""
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        raise BadDocument("URL は http:// または https:// で始まる形で指定してください。")
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    limit_mb = max_bytes // (1024 * 1024) or 1
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, max_redirects=5) as response,
        ):
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
            return _file_name(url, response.content_type), bytes(body)
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise UpstreamUnavailable(
            "URL の文書を取得できませんでした。URL と相手先のサーバーの状態を確認してください。",
            detail=f"fetch failed: {type(exc).__name__}",
        ) from exc
