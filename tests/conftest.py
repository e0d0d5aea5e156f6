"""Shared fixtures: databases (SQLite always, PostgreSQL when configured) and shared data."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fakes.openai_server import openai_fake
from sqlalchemy.engine import Engine, make_url
from support import engine_with_tables

__all__ = ["openai_fake"]

REPO = Path(__file__).resolve().parent.parent


def shared_data_dir() -> Path | None:
    """``../shared/data`` of this checkout, ``BAIBAIN_SHARED_DATA``, or the workplace copy."""
    candidates = [os.environ.get("BAIBAIN_SHARED_DATA", "")]
    candidates += [str(p / "shared" / "data") for p in REPO.parents]
    candidates.append("/work/shared/data")
    for candidate in candidates:
        if candidate and Path(candidate, "lawqa_egov").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def shared_data() -> Path:
    found = shared_data_dir()
    if found is None:
        pytest.skip("../shared/data is not available on this machine")
    return found


def _postgres_database(base_url: str) -> Iterator[str]:
    """Create a throw-away database on the configured server; drop it afterwards."""
    import psycopg

    url = make_url(base_url)
    name = f"baibain_test_{uuid.uuid4().hex[:10]}"
    admin_dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("BAIBAIN_TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL: SQLite always; PostgreSQL too when
    ``BAIBAIN_TEST_DATABASE_URL`` is set (``.ci/run`` sets it when a server answers)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
    else:
        yield from _postgres_database(os.environ["BAIBAIN_TEST_DATABASE_URL"])


@pytest.fixture
def db_engine(database_url: str) -> Iterator[Engine]:
    """An engine on a fresh database with every table created."""
    yield from engine_with_tables(database_url)


@pytest.fixture(scope="session")
def sample_data_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose index holds the bundled sample (built once per test session)."""
    from bot.services import open_services
    from bot.settings import Settings

    data_dir = tmp_path_factory.mktemp("sample-data")

    async def build() -> None:
        # An explicit audit key keeps the template free of a generated key file.
        key = base64.b64encode(os.urandom(32)).decode()
        services = await open_services(Settings(data_dir=data_dir, audit_key=key))
        await services.close()

    asyncio.run(build())
    return data_dir


@pytest.fixture
def data_dir(sample_data_template: Path, tmp_path: Path) -> Path:
    """A private copy of the sample data dir."""
    target = tmp_path / "var"
    shutil.copytree(sample_data_template, target)
    return target


@pytest.fixture
def app_database_url(database_url: str, data_dir: Path) -> str:
    """The app's database for tests that must hold on SQLite and PostgreSQL alike: the data
    dir's SQLite file, or a fresh PostgreSQL database (``BAIBAIN_TEST_DATABASE_URL``)."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{data_dir / 'baibain.sqlite3'}"
    return database_url


@pytest.fixture
def app_engine(app_database_url: str) -> Iterator[Engine]:
    """An engine on ``app_database_url``, its tables created before the app starts."""
    yield from engine_with_tables(app_database_url)
