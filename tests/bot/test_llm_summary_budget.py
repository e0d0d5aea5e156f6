"""A summary through the model when the organization's budget has less left than the summary
token budget: planned within what is left, instead of failing half-way as if used up."""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path
from typing import Any

from fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply, Step, server_error
from support import org_with_key
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli
from bot.turns import AI_FOOTER
from knowledge.summaries import MAP_CONCURRENCY


def long_plan(sections: int = 400) -> bytes:
    """A plan of about 80 characters a section (30,000 by default): more than one request
    can hold."""
    lines = [
        f"第{n}節 第{n}地区では、避難所の備蓄品を年{n % 4 + 1}回点検し、結果を市に報告する。"
        "点検では、飲料水、食料、毛布、簡易トイレの数量と期限を確認する。"
        for n in range(1, sections)
    ]
    return "\n".join(lines).encode()


async def summarize_with_budget(
    aiohttp_client,
    fake: FakeOpenAIServer,
    make_settings,
    data_dir: Path,
    tokens: int,
    summary_tokens: int = 24_000,
    sections: int = 400,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The summary of the long plan for an organization with ``tokens`` left, and its quota
    (``summary_tokens``: the summary token budget)."""
    key = org_with_key(data_dir, "テスト市")
    env = {"BAIBAIN_DATA_DIR": str(data_dir)}
    budget = ["quota", "set", "テスト市", str(tokens)]
    assert (await asyncio.to_thread(CliRunner().invoke, cli, budget, env=env)).exit_code == 0
    settings = make_settings(
        host="0.0.0.0",
        llm_base_url=fake.url,
        llm_api_key="sk-test",
        llm_model="gpt-test",
        llm_query_variants=0,
        summary_token_budget=summary_tokens,
    )
    client = await aiohttp_client(create_app(settings))
    auth = {"Authorization": f"Bearer {key}"}
    file = {"filename": "備蓄計画.txt", "content": base64.b64encode(long_plan(sections)).decode()}
    response = await client.post("/api/v1/summarize", json={"file": file}, headers=auth)
    body = await response.json()
    assert response.status == 200, body
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    return body, quota


async def test_a_summary_fits_the_budget_that_is_left(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    # Less than the summary budget (24,000) is left.
    body, quota = await summarize_with_budget(
        aiohttp_client, openai_fake, make_settings, data_dir, 9000
    )
    assert body["outcome"] == "answered" and body["footer"] == AI_FOOTER
    assert "上限" not in body["answer"] and "残り" not in body["answer"]
    assert quota["used"] == body["usage"]["total_tokens"] > 0


async def test_a_budget_left_too_small_for_any_summary_says_so(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    body, quota = await summarize_with_budget(
        aiohttp_client, openai_fake, make_settings, data_dir, 500
    )
    assert body["outcome"] == "quota"
    assert "残り（500トークン）では回答を作成できません" in body["answer"]
    assert openai_fake.chat_requests == [] and quota["used"] == 0


async def test_tokens_spent_before_a_summary_failed_are_reported(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    # The first parts are summarized (and charged); then the last part fails, which fails the
    # summary (a merge that fails shows the parts: test_llm_summary_merge.py).
    def last_part_fails(request: RecordedRequest) -> Step:
        i, k = re.search(r"一部（(\d+)/(\d+)）", request.messages[-1]["content"]).groups()
        assert int(k) > MAP_CONCURRENCY  # the last part starts once a first one is done
        return server_error(500) if i == k else Reply("部分の要約です。")

    openai_fake.default = last_part_fails
    body, quota = await summarize_with_budget(
        aiohttp_client,
        openai_fake,
        make_settings,
        data_dir,
        200_000,
        summary_tokens=90_000,
        sections=1200,
    )
    assert body["answer"].startswith(
        "※AIモデルに接続できなかったため、資料から抜粋して要約します。"
    )
    assert quota["used"] > 0 and body["usage"]["total_tokens"] == quota["used"]
