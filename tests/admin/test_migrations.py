"""The schema comes from Alembic migrations, and they match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from admin.db import init_db, register_tables


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
        assert MigrationContext.configure(connection).get_current_revision() == "0002"
