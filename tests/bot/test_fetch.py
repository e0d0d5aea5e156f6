"""URLs typed by users are fetched from public addresses only: the server's own network (cloud
metadata, internal services) stays out of reach unless the operator allows a network."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.fetch import FetchPolicy, check_url, fetch
from knowledge.errors import BadInput
from knowledge.parsing import parse_file

LIMIT = 1024 * 1024
LOOPBACK = FetchPolicy(LIMIT, (ipaddress.ip_network("127.0.0.1/32"),))


class Internal:
    """A service on the server's own network, and what it was asked."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.path)
        if request.path == "/hop":  # a redirect to another internal address
            raise web.HTTPFound(f"http://127.0.0.2:{self.port}/secret.txt")
        return web.Response(text="AccessKeyId=AKIA-TEST", content_type="text/plain")


@pytest.fixture
async def internal() -> AsyncIterator[Internal]:
    state = Internal()
    app = web.Application()
    app.router.add_get("/{name}", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    state.port = server.port or 0
    yield state
    await server.close()


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "169.254.169.254", "10.0.0.5"]
)
async def test_internal_addresses_are_refused_before_any_request(internal, host) -> None:
    with pytest.raises(BadInput) as refused:
        await fetch(f"http://{host}:{internal.port}/secret.txt", FetchPolicy(LIMIT))
    assert "内部ネットワーク" in refused.value.user_message
    assert internal.seen == []


async def test_an_allowed_network_is_fetched_and_every_redirect_checked_again(internal) -> None:
    fetched = await fetch(f"http://127.0.0.1:{internal.port}/rule.txt", LOOPBACK)
    assert fetched.data == b"AccessKeyId=AKIA-TEST" and fetched.name == "rule.txt"
    with pytest.raises(BadInput) as refused:
        await fetch(f"http://127.0.0.1:{internal.port}/hop", LOOPBACK)
    assert "内部ネットワーク" in refused.value.user_message
    assert internal.seen == ["/rule.txt", "/hop"]  # 127.0.0.2 was never asked


@pytest.mark.parametrize(
    "url",
    [
        "https://www.city.example.lg.jp／kurashi／a.pdf",
        "https://example.jp:abc/a.pdf",
        "http://[::1",
        "http://127.0.0.1%09:8080/",  # hosts no request can name
        "http://exa mple.jp/a.pdf",
        "http://2130706433:8080/",
        "http://city\x00.example.jp/a.pdf",  # a NUL or another control character in the host
        "http://city\x7f.example.jp/a.pdf",
    ],
)
async def test_a_malformed_url_is_refused_saying_so(url) -> None:
    with pytest.raises(BadInput) as refused:
        await fetch(url, FetchPolicy(LIMIT))
    assert "URL の形式が正しくありません" in refused.value.user_message


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254 (an IPv6-only cloud network)
        "[64:ff9b::a00:5]",  # NAT64 of 10.0.0.5
        "[2002:a9fe:a9fe::1]",  # 6to4
        "[::a9fe:a9fe]",  # IPv4-compatible
        "[::ffff:0:7f00:1]",  # IPv4-translated 127.0.0.1
    ],
)
def test_an_internal_ipv4_address_inside_an_ipv6_one_is_refused(host) -> None:
    # Checked before any connection: nothing is sent to these addresses.
    with pytest.raises(BadInput) as refused:
        check_url(f"http://{host}/latest/meta-data/", FetchPolicy(LIMIT))
    assert "内部ネットワーク" in refused.value.user_message


def test_a_public_ipv4_address_inside_an_ipv6_one_is_still_allowed() -> None:
    for host in ("[64:ff9b::808:808]", "[2002:808:808::1]", "[::ffff:8.8.8.8]"):
        url = f"http://{host}/a.pdf"
        assert check_url(url, FetchPolicy(LIMIT)) == url
    allowed = FetchPolicy(LIMIT, (ipaddress.ip_network("10.20.0.0/16"),))
    assert check_url("http://[64:ff9b::a14:1]/a.pdf", allowed) == "http://[64:ff9b::a14:1]/a.pdf"
    loopback6 = FetchPolicy(LIMIT, (ipaddress.ip_network("::1/128"),))
    assert check_url("http://[::1]:8080/a.pdf", loopback6) == "http://[::1]:8080/a.pdf"


@pytest.fixture
async def city_site() -> AsyncIterator[int]:
    """An old municipal site: pages in EUC-JP and Shift_JIS, the set named only by the server."""
    page = (
        "<html><head><title>ごみの出し方</title></head>"
        "<body><p>燃やすごみは月曜日と木曜日です。</p></body></html>"
    )

    async def handle(request: web.Request) -> web.Response:
        kind = request.match_info["name"]
        if kind == "euc.html":  # the server names the set; the page does not
            body = page.encode("euc_jp")
            return web.Response(body=body, headers={"Content-Type": "text/html; charset=EUC-JP"})
        if kind == "meta.html":  # the page names its own set, the server a wrong default
            body = page.replace("<head>", '<head><meta charset="shift_jis">').encode("cp932")
            return web.Response(body=body, headers={"Content-Type": "text/html; charset=EUC-JP"})
        body = "品目,曜日\n燃やすごみ,月曜日\n".encode("euc_jp")  # a CSV in EUC-JP
        return web.Response(body=body, headers={"Content-Type": "text/csv; charset=euc-jp"})

    app = web.Application()
    app.router.add_get("/{name}", handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server.port or 0
    await server.close()


@pytest.mark.parametrize("name", ["euc.html", "meta.html", "list.csv"])
async def test_a_page_is_read_in_the_character_set_the_server_or_the_page_names(
    city_site: int, name: str
) -> None:
    fetched = await fetch(f"http://127.0.0.1:{city_site}/{name}", LOOPBACK)
    (parsed,) = parse_file(fetched.name, fetched.data)
    text = "\n".join(section.text for section in parsed.sections)
    assert "燃やすごみ" in text and "月曜日" in text
