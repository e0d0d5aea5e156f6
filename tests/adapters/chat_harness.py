"""The harness of the chat tests: the application under test and what it recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp.test_utils import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from admin import links
from admin.audit_models import RECORD
from admin.orgs import create_org
from bot.chat import CHAT

SAMPLE_QUESTION = "引っ越したら何日以内に届け出ますか"


async def eventually(condition: Callable[[], object], pause: float = 0.05) -> None:
    """Wait until ``condition()`` holds (for work the app does in the background), checking
    every ``pause`` seconds for at most 30 s (generous: a loaded machine is slow, and a condition
    that comes costs no more); the caller asserts on what it then sees."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 30
    while not condition() and loop.time() < give_up:
        await asyncio.sleep(pause)


@dataclass
class Chat:
    """The application under test and what it recorded."""

    client: TestClient
    engine: Engine

    async def drain(self) -> None:
        """Wait until every answer scheduled after an acknowledgement has been delivered."""
        await self.client.app[CHAT].tasks.join()

    def security_events(self) -> list[tuple[str, str | None]]:
        """``(platform, org_id)`` of the security records in the audit log."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RECORD.c.platform, RECORD.c.org_id)
                .where(RECORD.c.kind == "security")
                .order_by(RECORD.c.seq)
            ).all()
        return [(r[0], r[1]) for r in rows]

    def turn_outcomes(self) -> list[str]:
        """Outcomes of the question turns in the audit log, in order."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(RECORD.c.outcome).where(RECORD.c.kind == "turn").order_by(RECORD.c.seq)
            ).all()
        return [r[0] for r in rows]

    def link(
        self,
        org: str,
        platform: str,
        workspace_id: str,
        *,
        admins: tuple[str, ...] = (),
        operator: bool = False,
    ) -> str:
        """Create an organization linked to a workspace; returns its id."""
        info = create_org(self.engine, org)
        links.link_workspace(self.engine, org, platform, workspace_id)
        for admin in admins:
            links.add_admin(self.engine, org, platform, admin)
        if operator:
            links.set_operator(self.engine, org)
        return info.id


MakeChat = Callable[..., Awaitable[Chat]]
