"""What an organization's budget is charged and what its usage report shows agree, also for
turns that end without an answer after they spent tokens."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient
from fakes.openai_server import FakeOpenAIServer, Reply
from support import llm_settings, org_with_key
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli
from bot.settings import Settings
from knowledge.dates import JST

QUESTION = "住民監査請求をすることができるのは誰ですか"
BUDGET = 20_000
# What a server that ignored max_tokens reports for the question variants: the answer's
# reservation no longer fits the budget after it.
VARIANTS_COST = 15_000


async def refusing_org(
    aiohttp_client, settings: Settings, data_dir: Path, budget: int
) -> tuple[TestClient, dict[str, str]]:
    """The app, and the auth header of an organization with ``budget`` tokens a month that
    is refused (not quoted) once they are spent."""
    key = org_with_key(data_dir, "テスト市")
    env = {"BAIBAIN_DATA_DIR": str(data_dir)}
    refuse = ["quota", "set", "テスト市", str(budget), "--no-offline"]
    assert (await asyncio.to_thread(CliRunner().invoke, cli, refuse, env=env)).exit_code == 0
    return await aiohttp_client(create_app(settings)), {"Authorization": f"Bearer {key}"}


async def test_a_refused_question_reports_the_tokens_its_variants_spent(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    settings = make_settings(host="0.0.0.0", **llm_settings(openai_fake.url, variants=2))
    client, auth = await refusing_org(aiohttp_client, settings, data_dir, BUDGET)
    openai_fake.script(
        Reply("住民監査請求の請求権者\n監査請求の資格", completion_tokens=VARIANTS_COST)
    )

    refused = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)

    assert refused.status == 429
    # Asked again once next month's budget starts: midnight of the 1st in Japan.
    again = datetime.now(UTC) + timedelta(seconds=int(refused.headers["Retry-After"]))
    assert again.astimezone(JST).day == 1 and again.astimezone(JST).hour == 0
    assert len(openai_fake.chat_requests) == 1  # the variants; the answer was not asked for
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["used"] > VARIANTS_COST and quota["reserved"] == 0
    usage = await (await client.get("/api/v1/usage", headers=auth)).json()
    assert usage["by_outcome"] == {"quota": 1}
    assert usage["input_tokens"] + usage["output_tokens"] == quota["used"]


async def test_invoke_refused_by_the_budget_says_when_to_ask_again(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    settings = make_settings(host="0.0.0.0", **llm_settings(openai_fake.url))
    client, auth = await refusing_org(aiohttp_client, settings, data_dir, 1000)
    key = {"x-api-key": auth["Authorization"].removeprefix("Bearer ")}

    refused = await client.post("/invoke", json={"inputs": {"question": QUESTION}}, headers=key)

    assert refused.status == 429
    assert "リセットされます" in (await refused.json())["error"]
    again = datetime.now(UTC) + timedelta(seconds=int(refused.headers["Retry-After"]))
    assert again.astimezone(JST).day == 1
    assert openai_fake.chat_requests == []


def long_plan() -> bytes:
    """About 65,000 characters: summarized in more parts than are sent at once, then merged."""
    lines = [
        f"第{n}節 第{n}地区では、避難所の備蓄品を年{n % 4 + 1}回点検し、結果を市に報告する。"
        for n in range(1, 1200)
    ]
    return "\n".join(lines).encode()


async def test_a_refused_summary_reports_the_tokens_its_parts_spent(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    # A summary may spend enough for more parts than are sent at once.
    settings = make_settings(
        host="0.0.0.0", summary_token_budget=80_000, **llm_settings(openai_fake.url)
    )
    client, auth = await refusing_org(aiohttp_client, settings, data_dir, 100_000)
    # Each part's reply reports far more than it reserved: the parts sent after the first
    # one back (more parts than are sent at once) no longer fit.
    openai_fake.default = lambda _: Reply("部分の要約です。", completion_tokens=100_000)
    file = {"filename": "備蓄計画.txt", "content": base64.b64encode(long_plan()).decode()}

    refused = await client.post("/api/v1/summarize", json={"file": file}, headers=auth)
    assert refused.status == 429
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["used"] > 100_000 and quota["reserved"] == 0
    usage = await (await client.get("/api/v1/usage", headers=auth)).json()
    assert usage["by_outcome"] == {"quota": 1}
    assert usage["input_tokens"] + usage["output_tokens"] == quota["used"]


async def test_the_cost_of_a_dated_model_snapshot_is_priced_by_its_models_name(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    key = org_with_key(data_dir, "テスト市")
    settings = make_settings(
        host="0.0.0.0",
        **{**llm_settings(openai_fake.url), "llm_model": "gpt-4o-mini"},
        model_prices={"gpt-4o-mini": (10.0, 40.0)},
    )
    client = await aiohttp_client(create_app(settings))
    auth = {"Authorization": f"Bearer {key}"}
    # What OpenAI answers a request for gpt-4o-mini with.
    answered = "普通地方公共団体の住民が請求できます[1]。"
    openai_fake.script(
        Reply(answered, prompt_tokens=1000, completion_tokens=500, model="gpt-4o-mini-2024-07-18")
    )

    body = await (
        await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    ).json()

    assert body["outcome"] == "answered"
    usage = await (await client.get("/api/v1/usage", headers=auth)).json()
    assert (usage["input_tokens"], usage["output_tokens"]) == (1000, 500)
    assert usage["cost_yen"] == 1000 * 10.0 / 1000 + 500 * 40.0 / 1000
