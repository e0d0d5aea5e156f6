"""Fetching a document by URL (``summarize``, dataset refresh) with size, type and time limits,
from public addresses only unless the operator allows a network (``fetch_allowed_networks``):
a URL typed by a user must not reach the server's own network (cloud metadata endpoints,
internal services)."""

from __future__ import annotations

import codecs
import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import ResolveResult
from aiohttp.resolver import ThreadedResolver

from admin.datasets import SourceState
from bot.settings import Settings
from knowledge.errors import BadDocument, BadInput, UpstreamUnavailable
from knowledge.parsing import SUPPORTED_SUFFIXES
from knowledge.parsing.charset import JAPANESE_CODECS, declared_encoding, decoded

FETCH_TIMEOUT_S = 20.0
MAX_REDIRECTS = 5
_REDIRECTS = (301, 302, 303, 307, 308)
Networks = Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
_PRIVATE = (
    "内部ネットワークのアドレスの URL は取得できません。公開されている URL を指定してください。"
)
_TYPES = {
    "text/html": ".html",
    "application/xhtml+xml": ".html",
    "text/plain": ".txt",
    "text/markdown": ".md",
    "text/csv": ".csv",
    "text/tab-separated-values": ".tsv",
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

    @property
    def state(self) -> SourceState:
        """What a dataset remembers of this fetch for the next one (validators, file name)."""
        return SourceState(self.etag, self.last_modified, self.name)


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


@dataclass(frozen=True)
class FetchPolicy:
    """How much may be fetched, and from which non-public networks besides public addresses."""

    max_bytes: int
    allowed: Networks = ()

    @classmethod
    def of(cls, settings: Settings) -> FetchPolicy:
        return cls(settings.fetch_max_bytes, settings.fetch_networks)


class _NotPublic(OSError):
    """A host that resolves to no address a URL may be fetched from."""


# IPv6 prefixes whose last 32 bits are the IPv4 address a connection reaches: NAT64's
# well-known prefix (IPv6-only cloud networks translate it), IPv4-compatible and
# IPv4-translated addresses. Python counts them global whatever IPv4 address they carry.
_IPV4_INSIDE = tuple(
    ipaddress.IPv6Network(prefix) for prefix in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96")
)


def _reached(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address that an IPv6 address stands for (mapped, 6to4, NAT64 …), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None or ip.sixtofour is not None:
        return ip.ipv4_mapped or ip.sixtofour
    if any(ip in prefix for prefix in _IPV4_INSIDE):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _permitted(address: str, allowed: Networks) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    inner = _reached(ip)
    reached = (ip,) if inner is None else (ip, inner)
    if any(candidate in network for candidate in reached for network in allowed):
        return True
    return reached[-1].is_global


class _PublicResolver(ThreadedResolver):
    """Name resolution that keeps only permitted addresses: the connection goes to what was
    checked (no window for DNS rebinding between check and connect)."""

    def __init__(self, allowed: Networks) -> None:
        super().__init__()
        self._allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        resolved = await super().resolve(host, port, family)
        found = [r for r in resolved if _permitted(r["host"], self._allowed)]
        if not found:
            raise _NotPublic(f"{host} has no permitted address")
        return found


_MALFORMED = "URL の形式が正しくありません。半角で、http:// または https:// から入力してください。"
_NOT_IN_HOSTS = re.compile(r'[\s\x00-\x1f\x7f%<>"{}|\\^`]')


def check_url(url: str, policy: FetchPolicy) -> str:
    """``url`` when its scheme is http(s) and a literal IP host is permitted (names are checked
    when they are resolved); else ``BadInput`` saying why. A refused URL is the request's
    fault, not a document's: ``bad_input``, as any other field the caller must change."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range or not a number raises here
    except ValueError as exc:  # 「／」「：」 typed in full width, an unclosed [ …
        raise BadInput(_MALFORMED) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadInput("URL は http:// または https:// で始まる形で指定してください。")
    if _NOT_IN_HOSTS.search(parts.hostname):  # 「exa mple.jp」, 「127.0.0.1%09」: no host
        raise BadInput(_MALFORMED)
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if not _permitted(str(literal), policy.allowed):
        raise BadInput(_PRIVATE)
    return url


async def fetch(
    url: str, policy: FetchPolicy, *, etag: str = "", last_modified: str = ""
) -> Fetched:
    """The document at ``url`` (http or https only, public addresses and the policy's
    networks; every redirect checked again), conditionally when validators are given."""
    url = check_url(url, policy)
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    connector = aiohttp.TCPConnector(resolver=_PublicResolver(policy.allowed))
    try:
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
            for _ in range(MAX_REDIRECTS + 1):
                async with session.get(url, headers=headers, allow_redirects=False) as response:
                    location = response.headers.get("Location")
                    if response.status in _REDIRECTS and location:
                        url = check_url(urljoin(url, location), policy)
                        continue
                    return await _read(url, response, policy.max_bytes)
            raise BadDocument("URL の転送（リダイレクト）が多すぎます。URL を確認してください。")
    except aiohttp.ClientConnectorError as exc:
        if isinstance(exc.os_error, _NotPublic):  # a name for an internal address
            raise BadInput(_PRIVATE) from exc
        raise _unavailable(exc) from exc
    except aiohttp.InvalidURL as exc:  # a host no URL can name (「127.0.0.1%09」), unsent
        raise BadInput(_MALFORMED) from exc
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _unavailable(exc) from exc


def _unavailable(exc: Exception) -> UpstreamUnavailable:
    return UpstreamUnavailable(
        "URL の文書を取得できませんでした。URL と相手先のサーバーの状態を確認してください。",
        detail=f"fetch failed: {type(exc).__name__}",
    )


async def _read(url: str, response: aiohttp.ClientResponse, max_bytes: int) -> Fetched:
    """The fetched document of a final (not redirecting) response."""
    limit_mb = max_bytes // (1024 * 1024) or 1
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
    return Fetched(name, _as_sent(name, bytes(body), response.charset), etag_now, modified_now)


# Only Japanese character sets are followed: a Western one (ISO-8859-1, a server's old
# default) decodes any bytes, and UTF-8 needs nothing (every text parser tries it first).
_TEXT_SUFFIXES = (".html", ".htm", ".txt", ".md", ".csv", ".tsv")


def _as_sent(name: str, body: bytes, charset: str | None) -> bytes:
    """A text in the character set the server named (HTTP ``charset``) as UTF-8 with a byte
    order mark, which every text parser reads first, when the text says nothing itself: an
    EUC-JP page without ``<meta charset>`` is read as EUC-JP, not guessed at. A page's own
    declaration, a BOM, another format, or bytes that do not decode in that set leave the
    body as it is."""
    codec = JAPANESE_CODECS.get((charset or "").lower())
    if codec is None or not name.lower().endswith(_TEXT_SUFFIXES):
        return body
    if declared_encoding(body, html=name.lower().endswith((".html", ".htm"))):
        return body
    text = decoded(body, codec)
    return body if text is None else codecs.BOM_UTF8 + text.encode("utf-8")


async def fetch_document(url: str, policy: FetchPolicy) -> tuple[str, bytes]:
    """``(file name, bytes)`` of the document at ``url``."""
    fetched = await fetch(url, policy)
    return fetched.name, fetched.data
