"""Fixtures for the bot: settings on a private copy of the sample data dir."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from baibain.bot.settings import Settings


@pytest.fixture
def make_settings(data_dir: Path) -> Callable[..., Settings]:
    """Settings on the private data dir; keyword arguments override fields."""

    def make(**overrides: object) -> Settings:
        return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]

    return make
