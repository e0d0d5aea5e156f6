"""A server that reports more tokens than a call reserved (it ignored ``max_tokens``): the
organization is charged what the server reported, the quota shows nothing left rather than a
negative remainder, and the next question is treated as over budget."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fakes.openai_server import FakeOpenAIServer, Reply
from support import llm_settings, org_with_key
from typer.testing import CliRunner

from bot.app import create_app
from bot.cli import app as cli

QUESTION = "住民監査請求をすることができるのは誰ですか"
BUDGET = 10_000
ANSWER_MAX_TOKENS = 1024
# Far above the answer's max_tokens, and alone more than the whole budget.
OVERRUN = 12_000


async def test_usage_beyond_max_tokens_is_charged_and_spends_the_budget(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    key = org_with_key(data_dir, "テスト市")
    runner = CliRunner()
    env = {"BAIBAIN_DATA_DIR": str(data_dir)}
    budget = ["quota", "set", "テスト市", str(BUDGET)]
    assert (await asyncio.to_thread(runner.invoke, cli, budget, env=env)).exit_code == 0
    settings = make_settings(
        host="0.0.0.0",
        llm_answer_max_tokens=ANSWER_MAX_TOKENS,
        **llm_settings(openai_fake.url),
    )
    client = await aiohttp_client(create_app(settings))
    auth = {"Authorization": f"Bearer {key}"}
    openai_fake.script(
        Reply("普通地方公共団体の住民が請求できます[1]。", completion_tokens=OVERRUN)
    )

    first = await (
        await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    ).json()
    [sent] = openai_fake.chat_requests
    assert sent.body["max_tokens"] == ANSWER_MAX_TOKENS  # what we asked the server to keep to
    assert first["outcome"] == "answered"
    charged = first["usage"]["total_tokens"]
    assert first["usage"]["output_tokens"] == OVERRUN and charged > BUDGET

    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["used"] == charged  # what the server reported, not what was reserved
    assert quota["remaining"] == 0 and quota["reserved"] == 0
    assert quota["percent_used"] == charged * 100 // BUDGET > 100
    assert quota["threshold_reached"] == 100
    usage = await (await client.get("/api/v1/usage", headers=auth)).json()
    assert usage["input_tokens"] + usage["output_tokens"] == charged

    shown = await asyncio.to_thread(runner.invoke, cli, ["quota", "show", "テスト市"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "残り: 0\n" in shown.stdout
    assert f"使用率: {charged * 100 // BUDGET}%\n" in shown.stdout
    assert f"今月の上限に達しています（{charged - BUDGET:,} トークン超過）" in shown.stdout

    second = await (
        await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    ).json()
    assert second["outcome"] == "quota"
    assert f"今月のAI利用上限（{BUDGET:,}トークン）に達しました" in second["answer"]
    assert len(openai_fake.chat_requests) == 1  # the model was not asked again
