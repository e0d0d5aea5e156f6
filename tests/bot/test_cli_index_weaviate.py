"""``baibain index embed`` and ``index migrate`` with ``BAIBAIN_INDEX=weaviate`` and embeddings.

The CLI builds its Weaviate client from the settings and no Weaviate server runs here, so these
tests run the commands in-process against a closed port: they show which index and which
settings each command uses and that failures end politely. What the commands do on a reachable
Weaviate (``embed_missing`` after the copy or on its own) is tested on the store, in
``tests/knowledge/test_weaviate_embed_missing.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from support import free_port
from typer.testing import CliRunner, Result

from bot.cli import app
from bot.settings import Settings
from knowledge.analysis import Analyzer
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import IndexUnavailable


def run(tmp_path: Path, *args: str, **env: str) -> Result:
    base = {
        "BAIBAIN_DATA_DIR": str(tmp_path / "var"),
        "BAIBAIN_INDEX": "weaviate",
        "BAIBAIN_WEAVIATE_URL": f"http://127.0.0.1:{free_port()}",
        "BAIBAIN_WEAVIATE_GRPC_PORT": str(free_port()),
        "BAIBAIN_WEAVIATE_CONNECT_TIMEOUT_S": "1",
        # Never asked: the commands fail at Weaviate first.
        "BAIBAIN_EMBEDDING_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "BAIBAIN_EMBEDDING_MODEL": "test-embedding",
    }
    return CliRunner().invoke(app, list(args), env={**base, **env})


def make_embedded_index(tmp_path: Path) -> None:
    path = Settings(data_dir=tmp_path / "var").index_path
    asyncio.run(EmbeddedIndexStore(path, Analyzer()).close())


def test_embed_goes_to_weaviate_without_an_embedded_index(tmp_path: Path) -> None:
    result = run(tmp_path, "index", "embed")
    assert result.exit_code == 1, result.output
    assert f"エラー: {IndexUnavailable.default_message}" in result.output
    assert "見つかりません" not in result.output  # the embedded index is not needed


def test_embed_on_weaviate_says_what_to_set(tmp_path: Path) -> None:
    no_url = run(tmp_path, "index", "embed", BAIBAIN_WEAVIATE_URL="")
    assert no_url.exit_code == 2 and "BAIBAIN_WEAVIATE_URL" in no_url.output
    no_endpoint = run(tmp_path, "index", "embed", BAIBAIN_EMBEDDING_BASE_URL="")
    assert no_endpoint.exit_code == 2 and "BAIBAIN_EMBEDDING_BASE_URL" in no_endpoint.output


def test_embed_on_the_embedded_index_still_needs_it(tmp_path: Path) -> None:
    result = run(tmp_path, "index", "embed", BAIBAIN_INDEX="embedded")
    assert result.exit_code == 2 and "見つかりません" in result.output


def test_migrate_reads_the_embedding_settings(tmp_path: Path) -> None:
    make_embedded_index(tmp_path)
    unnamed = run(tmp_path, "index", "migrate", "--to", "weaviate", BAIBAIN_EMBEDDING_MODEL="")
    assert unnamed.exit_code == 2 and "BAIBAIN_EMBEDDING_MODEL" in unnamed.output
    unreachable = run(tmp_path, "index", "migrate", "--to", "weaviate")
    assert unreachable.exit_code == 1
    assert f"エラー: {IndexUnavailable.default_message}" in unreachable.output
