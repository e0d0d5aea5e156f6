"""PostgreSQL statements have bounds: a request or command blocked behind a lock (a stuck
migration, a long administrative transaction) ends with the database-unavailable message
instead of hanging, and leaves nothing changed; migrations are not cut by those bounds."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy.engine import make_url
from support import org_with_key

from admin.db import TIMED_OUT, create_db_engine, init_db
from bot.app import create_app

# Statements bounded at half a second, through the URL as an operator would set it.
BOUNDED = {"options": "-c statement_timeout=500"}


@pytest.fixture
def postgres_url(app_database_url: str) -> str:
    if not app_database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (BAIBAIN_TEST_DATABASE_URL)")
    return app_database_url


def bounded(url: str) -> str:
    return make_url(url).update_query_dict(BOUNDED).render_as_string(hide_password=False)


@contextmanager
def held(url: str, statement: str) -> Iterator[psycopg.Connection]:
    """Another session's open transaction that ran ``statement`` (a lock it keeps until the
    block ends)."""
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as connection:
        connection.execute(statement)
        yield connection
        connection.rollback()


def test_connections_are_bounded_unless_the_url_says_otherwise(postgres_url: str) -> None:
    names = ("statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout")
    for url, bounds in (
        (postgres_url, ("30s", "10s", "1min")),
        (bounded(postgres_url), ("500ms", "10s", "1min")),
    ):
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                shown = tuple(connection.exec_driver_sql(f"SHOW {name}").scalar() for name in names)
            assert shown == bounds
        finally:
            engine.dispose()


def test_a_command_writing_a_locked_table_ends_with_the_message(run, postgres_url: str) -> None:
    url = bounded(postgres_url)
    assert run("org", "create", "横浜市", BAIBAIN_DATABASE_URL=url).exit_code == 0
    with held(postgres_url, "LOCK TABLE organization IN ACCESS EXCLUSIVE MODE"):
        blocked = run("org", "create", "川崎市", BAIBAIN_DATABASE_URL=url)
    assert blocked.exit_code == 1, blocked.output
    assert TIMED_OUT in blocked.stderr
    listed = run("org", "list", BAIBAIN_DATABASE_URL=url)
    assert "横浜市" in listed.stdout and "川崎市" not in listed.stdout  # nothing half-done


async def test_an_api_request_writing_a_locked_table_is_a_503(
    aiohttp_client, make_settings, postgres_url: str
) -> None:
    url = bounded(postgres_url)
    settings = make_settings(host="0.0.0.0", sample_data=False, database_url=url)
    auth = {"Authorization": f"Bearer {org_with_key(settings.data_dir, 'テスト市', url)}"}
    client = await aiohttp_client(create_app(settings))
    body = {"name": "ごみ規則", "category": "条例・規則・例規"}
    with held(postgres_url, "LOCK TABLE dataset IN ACCESS EXCLUSIVE MODE"):
        response = await client.post("/api/v1/datasets", json=body, headers=auth)
        error = (await response.json())["error"]
    assert response.status == 503, error
    assert error == {"code": "database_unavailable", "message": TIMED_OUT}
    listed = await (await client.get("/api/v1/datasets", headers=auth)).json()
    assert "ごみ規則" not in str(listed)
    assert (await client.post("/api/v1/datasets", json=body, headers=auth)).status == 201


def test_a_migration_waits_past_the_bounds_for_another_processs_migration(
    postgres_url: str,
) -> None:
    from admin.db import _PG_MIGRATION_LOCK

    engine = create_db_engine(bounded(postgres_url))
    outcome: list[BaseException | None] = []

    def migrate() -> None:
        try:
            init_db(engine)
            outcome.append(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    try:
        with held(postgres_url, f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})") as other:
            upgrade = threading.Thread(target=migrate)
            upgrade.start()
            # The upgrade queues behind the other process's migration lock, longer than its
            # statement bound, and is still waiting.
            waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            while other.execute(waiting).fetchone() != (1,):
                assert upgrade.is_alive(), outcome
            other.execute("SELECT pg_sleep(1)")
            assert upgrade.is_alive(), outcome
        upgrade.join(timeout=30)
        assert outcome == [None]
        with engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT count(*) FROM organization").scalar()
        assert rows == 0
    finally:
        engine.dispose()
