"""Fixtures for the chat platforms: a data dir with the sample indexed, the platform fakes, and
a harness around ``create_app(settings)`` that waits for background answers and reads what
the database and the audit log recorded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chat_harness import Chat, MakeChat
from fakes.botframework import botframework_fake
from fakes.graph import graph_fake
from fakes.logo import logo_fake
from fakes.slack_api import slack_fake
from sqlalchemy.engine import Engine
from support import engine_with_tables

from bot.app import create_app
from bot.settings import Settings

__all__ = ["botframework_fake", "graph_fake", "logo_fake", "slack_fake"]


@pytest.fixture
def chat_data_dir(data_dir: Path) -> Path:
    """The private sample data dir the chat app runs on."""
    return data_dir


@pytest.fixture
def db(chat_data_dir: Path) -> Iterator[Engine]:
    """An engine on the data dir's database (the one the app uses)."""
    yield from engine_with_tables(f"sqlite:///{chat_data_dir / 'baibain.sqlite3'}")


@pytest.fixture
def make_chat(aiohttp_client: Any, chat_data_dir: Path, db: Engine) -> MakeChat:
    """``await make_chat(**settings)``: the app on the private data dir, messages unpaced."""

    async def make(**overrides: Any) -> Chat:
        settings = Settings(data_dir=chat_data_dir, **{"chat_send_interval": 0, **overrides})
        client = await aiohttp_client(create_app(settings))
        return Chat(client=client, engine=db)

    return make
