"""The schema comes from Alembic migrations, and they match the models."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from sqlalchemy import MetaData, Table, event, inspect
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

from admin.datasets import DatasetService
from admin.db import alembic_config, create_db_engine, init_db, register_tables
from knowledge.errors import NotFound


def test_migrations_create_every_table_and_match_the_models(db_engine: Engine) -> None:
    register_tables()
    with db_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []
    tables = set(inspect(db_engine).get_table_names())
    assert {"organization", "dataset", "audit_record", "quota_account", "alembic_version"} <= tables


def test_upgrading_twice_is_harmless(db_engine: Engine) -> None:
    init_db(db_engine)
    init_db(db_engine)
    with db_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0009"


def test_a_deleted_datasets_id_is_never_given_again(db_engine: Engine) -> None:
    datasets = DatasetService(db_engine)
    first = datasets.create("1", "一時", "計画")
    datasets.delete(first.id, "1")
    second = datasets.create("1", "別物", "計画")
    # A retried deletion of the first must not find the second under the same id.
    assert second.id != first.id
    with pytest.raises(NotFound):
        datasets.delete(first.id, "1")
    assert [d.name for d in datasets.visible("1")] == ["別物"]


def _old_dataset(connection: Connection, dataset_id: int, name: str) -> None:
    """A dataset row as schema 0002 held it (written by the code of its day)."""
    now = datetime.now(UTC)
    texts = dict.fromkeys(("license", "publisher", "source_url", "attested_by", "etag"), "")
    connection.execute(
        Table("dataset", MetaData(), autoload_with=connection).insert(),
        {
            "id": dataset_id,
            "org_id": "1",
            "name": name,
            "category": "計画",
            **texts,
            "visibility": "organization",
            "last_modified": "",
            "source_name": "",
            "created_at": now,
            "updated_at": now,
        },
    )


def test_a_database_of_the_previous_schema_keeps_its_rows_and_references(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    try:
        with engine.begin() as connection:
            command.upgrade(alembic_config(connection), "0002")
            _old_dataset(connection, 1, "例規集")
            _old_dataset(connection, 2, "削除予定")
            connection.execute(
                Table("document_version", MetaData(), autoload_with=connection).insert(),
                {
                    "dataset_id": 1,
                    "doc_id": "ds1/a.txt",
                    "source_name": "a.txt",
                    "title": "A",
                    "version": 1,
                    "content_hash": "h",
                    "updated_at": datetime.now(UTC),
                },
            )
            connection.exec_driver_sql("DELETE FROM dataset WHERE id = 2")
        init_db(engine)
        datasets = DatasetService(engine)
        assert datasets.documents(1) == {"ds1/a.txt": "h"}
        assert [d.name for d in datasets.visible("1")] == ["例規集"]
        # From the upgrade on, ids are not handed out twice (one deleted before may be).
        latest = datasets.create("1", "新規", "計画")
        datasets.delete(latest.id, "1")
        assert datasets.create("1", "新規", "計画").id > latest.id
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_a_process_starting_while_another_sets_up_a_new_sqlite_database_waits_for_it(
    tmp_path: Path,
) -> None:
    """`serve` and `worker` started together on a new data folder: the second to reach the
    schema finds it set up by the first instead of failing on tables the first created."""
    url = f"sqlite:///{tmp_path / 'new.sqlite3'}"
    first, second = create_db_engine(url), create_db_engine(url)
    second_is_migrating = threading.Event()

    @event.listens_for(second, "before_cursor_execute")
    def _started(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().startswith(("BEGIN IMMEDIATE", "CREATE TABLE")):
            second_is_migrating.set()

    failures: list[BaseException] = []

    def start_second() -> None:
        try:
            init_db(second)
        except BaseException as exc:  # reported by the assertion below
            failures.append(exc)

    try:
        with first.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # the first process, mid-migration
            command.upgrade(alembic_config(connection), "head")
            starting = threading.Thread(target=start_second)
            starting.start()
            assert second_is_migrating.wait(30)
            connection.commit()
        starting.join()
        assert failures == []
        with second.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0009"
    finally:
        first.dispose()
        second.dispose()


def test_the_schedule_a_worker_kept_before_the_upgrade_stays(db_engine: Engine) -> None:
    """A worker's schedule table is made with the schema, so workers starting together on a new
    database never race to create it; one a worker made itself before is kept with its jobs."""
    with db_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0006")
    assert not inspect(db_engine).has_table("apscheduler_jobs")
    store = SQLAlchemyJobStore(engine=db_engine)  # as workers before 0007 created it
    store.jobs_t.create(db_engine)
    with db_engine.begin() as connection:
        connection.execute(store.jobs_t.insert(), {"id": "retention", "job_state": b"state"})
    init_db(db_engine)
    with db_engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0009"
        assert connection.execute(store.jobs_t.select()).all() == [("retention", None, b"state")]


def test_a_dataset_kept_before_refresh_failures_were_recorded_is_not_failing(
    db_engine: Engine,
) -> None:
    """A dataset from before 0009 reads as refreshing fine; failures are kept from then on, and
    a downgrade keeps the dataset."""
    with db_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0008")
        _old_dataset(connection, 1, "施設一覧")
    init_db(db_engine)
    datasets = DatasetService(db_engine)
    [listed] = datasets.visible("1")
    assert (listed.refresh_error, listed.refresh_failing_since) == ("", None)
    datasets.refresh_failed(1, "source_refused")
    assert datasets.get(1, "1").refresh_error == "source_refused"
    with db_engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0008")
    init_db(db_engine)
    assert [d.name for d in DatasetService(db_engine).visible("1")] == ["施設一覧"]
