"""A PostgreSQL host that takes connections and never answers (a hung server, a firewall holding
the replies) ends a command with the clear message after the connect timeout, not after
minutes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from admin.db import create_db_engine


@contextmanager
def silent_database_host() -> Iterator[tuple[int, threading.Event]]:
    """A port that accepts connections and never answers; after a minute it gives up (closes),
    so a process waiting on it without a bound comes back too, and the event tells it did."""
    server = socket.create_server(("127.0.0.1", 0))
    gave_up = threading.Event()

    def give_up() -> None:
        gave_up.set()
        server.close()

    timer = threading.Timer(60, give_up)
    timer.start()
    try:
        yield server.getsockname()[1], gave_up
    finally:
        timer.cancel()
        server.close()


def test_a_database_host_that_never_answers_ends_a_command_with_the_clear_message(run) -> None:
    with silent_database_host() as (port, gave_up):
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/baibain"
        result = run("org", "list", BAIBAIN_DATABASE_URL=url)
        assert not gave_up.is_set()  # the connect timeout ended the wait, not the host
    assert result.exit_code == 1, result.output
    assert "データベースに接続できませんでした。BAIBAIN_DATABASE_URL" in result.output


def test_a_connect_timeout_written_in_the_url_is_kept(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    written = make_url(database_url).update_query_dict({"connect_timeout": "3"})
    for url, timeout in ((database_url, "10"), (written.render_as_string(False), "3")):
        engine = create_db_engine(url)
        try:
            with engine.connect() as connection:
                driver = connection.connection.driver_connection
                assert driver is not None
                assert driver.info.get_parameters()["connect_timeout"] == timeout
        finally:
            engine.dispose()


def test_a_migration_run_by_hand_against_a_host_that_never_answers_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic.config import main

    from admin.db import MIGRATIONS

    ini = tmp_path / "alembic.ini"
    ini.write_text(f"[alembic]\nscript_location = {MIGRATIONS}\n", "utf-8")
    with silent_database_host() as (port, gave_up):
        url = f"postgresql://postgres@127.0.0.1:{port}/baibain"
        with pytest.raises(SystemExit) as exited:
            main(["-c", str(ini), "-x", f"url={url}", "upgrade", "head"])
        assert not gave_up.is_set()  # the connect timeout ended the wait, not the host
    assert exited.value.code != 0
    printed = capsys.readouterr().out
    assert "FAILED: データベースに接続できませんでした。BAIBAIN_DATABASE_URL" in printed


def test_a_connect_timeout_that_is_not_a_number_is_named_before_anything_runs(run) -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/baibain"
    in_url = run("org", "list", BAIBAIN_DATABASE_URL=f"{url}?connect_timeout=ten")
    assert in_url.exit_code == 2, in_url.output
    assert "BAIBAIN_DATABASE_URL の connect_timeout には、接続を待つ秒数を数字で" in in_url.output
    in_env = run("org", "list", BAIBAIN_DATABASE_URL=url, PGCONNECT_TIMEOUT="ten")
    assert in_env.exit_code == 2, in_env.output
    assert "PGCONNECT_TIMEOUT には、接続を待つ秒数を数字で" in in_env.output
    assert "Traceback" not in in_url.output + in_env.output
