"""Database engine creation and schema setup (SQLite by default, PostgreSQL in production), and
what the services that write share."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import event, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlmodel import Session, SQLModel, create_engine, text

from knowledge.errors import BadInput, BaibainError

log = logging.getLogger(__name__)

# What an administrative service writes on: the engine (a transaction of its own) or the
# connection of a caller's transaction (``AuditLog.change``), which it then joins. A session on
# such a connection leaves the commit to the caller: its ``commit`` only flushes.
Bind = Engine | Connection


class DatabaseUnavailable(BaibainError):
    """The database cannot be reached (down, refusing connections, wrong host or name), or did
    not answer a statement within its bounds (``PG_STATEMENT_TIMEOUT_MS``)."""

    code = "database_unavailable"
    status = 503
    default_message = (
        "データベースに接続できませんでした。しばらく待ってからもう一度お試しください。"
        "解決しない場合は管理者にお問い合わせください。"
    )


# What the operator starting a command or the server reads.
UNREACHABLE_AT_START = (
    "データベースに接続できませんでした。BAIBAIN_DATABASE_URL の接続先と、"
    "データベースが起動して接続を受け付けているかを確認してください。"
)


SQLITE_UNWRITABLE = (
    "データベースファイル {path} を開けないか、書き込めません。"
    "BAIBAIN_DATA_DIR（データの保存先）のフォルダとファイルの権限、ディスクの空き容量を"
    "確認してください。"
)


# What a command that only reads says of a database that holds no Baibain schema: most likely
# BAIBAIN_DATABASE_URL names another database (PostgreSQL's own ``postgres``, say), which a
# listing must not fill with Baibain's tables.
NOT_INITIALIZED = (
    "このデータベースには組織はまだありません（Baibain のデータベースとして初期化されていない"
    "ため、何も作成していません）。BAIBAIN_DATABASE_URL が使うデータベースを指しているか確認し、"
    "初めて使う場合は `baibain org create 組織名` で作成してください。"
)


# What a user reads when a statement ran past its bounds (PostgreSQL's query_canceled and
# lock_not_available): the server answers, but something holds the rows it needs.
TIMED_OUT = (
    "データベースが時間内に応答しませんでした。しばらく待ってからもう一度お試しください。"
    "解決しない場合は管理者にお問い合わせください。"
)
_TIMED_OUT_STATES = {"57014", "55P03"}


def unavailable(exc: OperationalError, message: str | None = None) -> DatabaseUnavailable:
    """The error for a connection the database refused or dropped, or a statement it cut at
    its timeout (the driver's message, which may name hosts and accounts, goes only to the log
    detail)."""
    if message is None and getattr(exc.orig, "sqlstate", None) in _TIMED_OUT_STATES:
        message = TIMED_OUT
    return DatabaseUnavailable(message, detail=f"database unavailable: {type(exc.orig).__name__}")


def create_db_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout. A URL that
    names no usable database (malformed, or a driver Baibain does not ship) is ``BadInput``."""
    try:
        return _engine(url)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise BadInput(
            "BAIBAIN_DATABASE_URL を解釈できません。"
            "sqlite:///パス または postgresql+psycopg://ユーザー@ホスト:ポート/データベース名 "
            "の形で指定してください。",
            detail=f"database url rejected: {type(exc).__name__}",
        ) from exc


# PostgreSQL URLs as hosting consoles and other tools print them name no driver (or the old
# ``postgres`` scheme); Baibain ships psycopg 3.
_POSTGRES_SCHEMES = ("postgres", "postgresql")
# Seconds a PostgreSQL connection attempt may take. A host that does not answer would otherwise
# hold a request or a command for psycopg's default of 130 s per address; with this bound it
# fails as ``DatabaseUnavailable``. A ``connect_timeout`` in the URL (or PGCONNECT_TIMEOUT)
# wins.
PG_CONNECT_TIMEOUT_S = 10
# Bounds on one statement and on one wait for a lock, in milliseconds. A statement blocked
# behind a stuck migration or a long transaction would otherwise hold a chat turn or a request
# for as long as the blocker lasts; with them it fails as ``DatabaseUnavailable`` (503).
# Migrations lift them (``lift_bounds``). A bound the server already sets for the connection
# (the URL's ``options=-c statement_timeout=5000``, PGOPTIONS, ``ALTER ROLE … SET``) wins.
PG_STATEMENT_TIMEOUT_MS = 30_000
PG_LOCK_TIMEOUT_MS = 10_000
# A session left idle inside a transaction (a process frozen or cut off from the network
# between two statements) is ended by the server after this long, so the rows it locked are
# not held from every other process until someone notices. Baibain's own transactions never
# wait between statements for anything but the database.
PG_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
# Set per connection after it opens rather than as a startup option, which connection poolers
# such as PgBouncer refuse.
_PG_BOUNDS = f"""
SELECT
  CASE WHEN current_setting('statement_timeout') = '0'
    THEN set_config('statement_timeout', '{PG_STATEMENT_TIMEOUT_MS}', false) END,
  CASE WHEN current_setting('lock_timeout') = '0'
    THEN set_config('lock_timeout', '{PG_LOCK_TIMEOUT_MS}', false) END,
  CASE WHEN current_setting('idle_in_transaction_session_timeout') = '0'
    THEN set_config('idle_in_transaction_session_timeout',
                    '{PG_IDLE_IN_TRANSACTION_TIMEOUT_MS}', false) END
"""


_URL_CONNECT_TIMEOUT = "BAIBAIN_DATABASE_URL の connect_timeout"


def _check_seconds(value: str | tuple[str, ...] | None, where: str) -> None:
    """``BadInput`` naming ``where`` unless ``value`` is unset or a number of seconds, as the
    driver reads it (it would otherwise fail every connection with a traceback)."""
    if value is None:
        return
    try:
        float(value if isinstance(value, str) else "")
    except ValueError:
        raise BadInput(
            f"{where} には、接続を待つ秒数を数字で指定してください（例: 10）。",
            detail="connect timeout rejected",
        ) from None


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.drivername in _POSTGRES_SCHEMES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "postgresql+psycopg":
        _check_seconds(parsed.query.get("connect_timeout"), _URL_CONNECT_TIMEOUT)
        _check_seconds(os.environ.get("PGCONNECT_TIMEOUT"), "PGCONNECT_TIMEOUT")
        if "connect_timeout" not in parsed.query and not os.environ.get("PGCONNECT_TIMEOUT"):
            parsed = parsed.update_query_dict({"connect_timeout": str(PG_CONNECT_TIMEOUT_S)})
        url = parsed.render_as_string(hide_password=False)
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "postgresql":

        @event.listens_for(engine, "connect")
        def _postgresql_bounds(dbapi_connection: Any, _record: Any) -> None:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(_PG_BOUNDS)
            dbapi_connection.commit()  # a setting made in a transaction rolled back is undone

    return engine


def lift_bounds(connection: Connection) -> None:
    """Lift the statement and lock bounds for the rest of the transaction ``connection`` is in
    (PostgreSQL; SQLite has none): for work no user waits for, such as a migration's long
    ALTER or its wait for another process's migration."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SET LOCAL statement_timeout = 0")
        connection.exec_driver_sql("SET LOCAL lock_timeout = 0")


MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Any constant: processes starting together take turns at upgrading the schema.
_PG_MIGRATION_LOCK = 0x6261_6962_6169_6E00 >> 8


def register_tables() -> None:
    """Import every module that defines tables, so ``SQLModel.metadata`` knows them all."""
    from admin import (  # noqa: F401
        audit,
        conversations,
        datasets,
        document_versions,
        identity,
        joblocks,
        models,
        quotas,
        usage,
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration for the bundled migrations (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def init_db(engine: Engine, *, create: bool = True) -> None:
    """Bring the schema to the newest migration (creating it in an empty database; with
    ``create`` false, an empty database is left as it is and refused with ``BadInput``).

    On SQLite, foreign keys are off while the migrations run and checked before they commit:
    SQLite changes a table by copying it into a new one, which a referencing table would
    otherwise block (SQLite's documented procedure for schema changes). A database that cannot
    be reached is ``DatabaseUnavailable``."""
    try:
        _upgrade(engine, create)
    except OperationalError as exc:
        if engine.dialect.name == "sqlite":  # a file, not a server: its folder or disk
            raise unavailable(exc, SQLITE_UNWRITABLE.format(path=engine.url.database)) from exc
        raise unavailable(exc, UNREACHABLE_AT_START) from exc


def _upgrade(engine: Engine, create: bool) -> None:
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:  # only outside a transaction does this pragma take effect
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
        try:
            with connection.begin():
                lift_bounds(connection)
                if sqlite:
                    # The write lock before the revision is read: a process starting meanwhile
                    # waits here (the busy timeout) and then finds the schema current, instead
                    # of creating tables this one created. The migrations' DDL then runs in
                    # this transaction, which the driver would otherwise not have begun.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                else:  # PostgreSQL
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
                    )
                before = MigrationContext.configure(connection).get_current_revision()
                if before is None and not create:
                    raise BadInput(NOT_INITIALIZED)  # the transaction ends with nothing done
                command.upgrade(alembic_config(connection), "head")
                after = MigrationContext.configure(connection).get_current_revision()
                if after != before:
                    log.info("database schema upgraded from %s to %s", before or "empty", after)
                if sqlite and connection.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("a migration left rows whose references are broken")
        finally:
            if sqlite:
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                connection.commit()


def ping_db(engine: Engine) -> None:
    """Raise when the database cannot answer a trivial query."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def insert_missing(session: Session, model: type[SQLModel], **values: Any) -> bool:
    """Insert a row of ``model`` unless one with the same key is there, also one another process
    inserts meanwhile (``ON CONFLICT DO NOTHING``): no unique violation ends the transaction it
    is part of. True when the row was inserted."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(model).values(**values).on_conflict_do_nothing()
    # A row comes back only for an insert made: the rowcount cannot say, as PostgreSQL's
    # driver gives -1 for the insert SQLAlchemy adds RETURNING to (its primary key).
    inserted = statement.returning(literal_column("1"))
    return session.connection().execute(inserted).first() is not None
