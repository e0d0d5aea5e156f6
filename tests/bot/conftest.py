"""Fixtures for the bot: a data dir with the sample loaded once, copied for each test."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from baibain.bot.services import open_services
from baibain.bot.settings import Settings


@pytest.fixture(scope="session")
def sample_data_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose index holds the bundled sample (built once per test session)."""
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
def make_settings(data_dir: Path) -> Callable[..., Settings]:
    """Settings on the private data dir; keyword arguments override fields."""

    def make(**overrides: object) -> Settings:
        return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]

    return make
