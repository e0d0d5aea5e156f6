"""Alembic environment: runs on the connection ``init_db`` hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from alembic.util import CommandError
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

from admin.db import UNREACHABLE_AT_START, create_db_engine, lift_bounds, register_tables
from knowledge.errors import BaibainError

register_tables()
target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` run by hand: use the URL given with -x url=…
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///var/baibain.sqlite3")
    # Failures are printed by alembic as "FAILED: …" with exit status 1.
    try:
        engine = create_db_engine(url)
    except BaibainError as exc:
        raise CommandError(exc.user_message) from exc
    try:
        # The application's engine: a server that does not answer fails after its connect
        # timeout; the statement bounds are lifted for the migrations.
        try:
            connection = engine.connect()
        except OperationalError as exc:
            raise CommandError(UNREACHABLE_AT_START) from exc
        with connection:
            context.configure(
                connection=connection, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                lift_bounds(connection)
                context.run_migrations()
    finally:
        engine.dispose()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
