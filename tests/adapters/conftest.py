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
from fakes.logo import logo_fake
from fakes.slack_api import slack_fake
from sqlalchemy.engine import Engine

from admin.db import create_db_engine, init_db
from bot.app import create_app
from bot.settings import Settings

__all__ = ["botframework_fake", "logo_fake", "slack_fake"]


@pytest.fixture
def chat_data_dir(data_dir: Path) -> Path:
    """The private sample data dir the chat app runs on."""
    return data_dir


@pytest.fixture
def app_database_url(database_url: str, chat_data_dir: Path) -> str:
    """The app's database for chat tests that must hold on SQLite and PostgreSQL alike: the
    data dir's SQLite file, or a fresh PostgreSQL database (``BAIBAIN_TEST_DATABASE_URL``)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{chat_data_dir / 'baibain.sqlite3'}"
    return database_url


@pytest.fixture
def app_engine(app_database_url: str) -> Iterator[Engine]:
    """An engine on ``app_database_url``, its tables created before the app starts."""
    engine = create_db_engine(app_database_url)
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db(chat_data_dir: Path) -> Iterator[Engine]:
    """An engine on the data dir's database (the one the app uses)."""
    engine = create_db_engine(f"sqlite:///{chat_data_dir / 'baibain.sqlite3'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def make_chat(aiohttp_client: Any, chat_data_dir: Path, db: Engine) -> MakeChat:
    """``await make_chat(**settings)``: the app on the private data dir, messages unpaced."""

    async def make(**overrides: Any) -> Chat:
        settings = Settings(data_dir=chat_data_dir, **{"chat_send_interval": 0, **overrides})
        client = await aiohttp_client(create_app(settings))
        return Chat(client=client, engine=db)

    return make
