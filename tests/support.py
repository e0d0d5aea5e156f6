"""Small helpers shared by tests (importable as ``support``: ``tests/`` is on the path)."""

from __future__ import annotations

from pathlib import Path

from admin.db import create_db_engine, init_db


def org_with_key(data_dir: Path, name: str, database_url: str = "") -> str:
    """Create an organization in the app's database (default: the data dir's SQLite file);
    returns a new API key of it."""
    from admin.orgs import create_api_key, create_org

    engine = create_db_engine(database_url or f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    try:
        init_db(engine)
        create_org(engine, name)
        return create_api_key(engine, name).secret
    finally:
        engine.dispose()


class FakeClock:
    """A monotonic clock that moves only when told (circuit breakers)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
