"""In-process fakes of external services that speak the real wire protocol, for tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass(frozen=True)
class Failure:
    """A scripted HTTP error answer (``429`` with ``Retry-After``, a 5xx), or, with ``error``,
    a refusal in the body as the Slack Web API gives one (HTTP 200, ``"ok": false``)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    error: str = ""


class FakeServer:
    """An aiohttp application served on 127.0.0.1 at a random port (subclasses fill ``app``)."""

    def __init__(self) -> None:
        self.app = web.Application()
        self._server: TestServer | None = None

    async def start(self) -> None:
        self._server = TestServer(self.app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        assert self._server is not None, "start() the fake first"
        return str(self._server.make_url("")).rstrip("/")
