"""Fixtures for the bot: settings on a private copy of the sample data dir, and the
``baibain`` command line run in-process on it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.settings import Settings


@pytest.fixture
def make_settings(data_dir: Path) -> Callable[..., Settings]:
    """Settings on the private data dir; keyword arguments override fields."""

    def make(**overrides: object) -> Settings:
        return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]

    return make


@pytest.fixture
def make_db_settings(
    make_settings: Callable[..., Settings], app_database_url: str
) -> Callable[..., Settings]:
    """Like ``make_settings``, on the parametrized app database."""

    def make(**overrides: object) -> Settings:
        return make_settings(database_url=app_database_url, **overrides)

    return make


@pytest.fixture
def run(data_dir: Path) -> Callable[..., Result]:
    """``run("org", "list", BAIBAIN_X="…")``: the command line on the private data dir, with
    extra environment variables."""
    runner = CliRunner()

    def invoke(*args: str, **env: str) -> Result:
        environment = {"BAIBAIN_DATA_DIR": str(data_dir), **env}
        return runner.invoke(app, list(args), env=environment, prog_name="baibain")

    return invoke
