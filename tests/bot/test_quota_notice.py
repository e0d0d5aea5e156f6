"""Crossing 80 % and 100 % of the month's budget, as API clients see it: the answer (or summary)
whose turn crossed it says so once, after its footer; ``GET /api/v1/quota`` and ``quota show``
give the percent used."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from fakes.openai_server import FakeOpenAIServer, Reply
from support import llm_settings, org_with_key
from typer.testing import CliRunner

from admin.orgs import get_org
from bot.app import create_app
from bot.app_keys import SERVICES
from bot.cli import app as cli
from bot.turns import AI_FOOTER

QUESTION = "住民監査請求をすることができるのは誰ですか"
BUDGET = 100_000
# Earlier this month: just under 80 %.
SPENT_BEFORE = 79_500
# What one answer is charged (below what its call reserves).
TURN = Reply("普通地方公共団体の住民が請求できます[1]。", prompt_tokens=900, completion_tokens=100)
EIGHTY = "※今月のAI利用量が上限の80%に達しました（残り19,500トークン）。"
ADMINS = "管理者の方は「GET /api/v1/quota」で利用状況を確認できます。"


def spend(client: TestClient, tokens: int) -> None:
    """Charge テスト市 ``tokens`` as its earlier calls this month were."""
    services = client.app[SERVICES]
    org_id = get_org(services.engine, "テスト市").id
    services.quotas.commit(services.quotas.reserve(org_id, tokens), tokens)


async def org_app(
    aiohttp_client, make_settings, data_dir: Path, fake: FakeOpenAIServer, *options: str
) -> tuple[TestClient, dict[str, str]]:
    """The app and the API key header of テスト市, with a budget of ``BUDGET`` (``options``:
    of ``quota set``) of which ``SPENT_BEFORE`` is spent."""
    key = org_with_key(data_dir, "テスト市")
    env = {"BAIBAIN_DATA_DIR": str(data_dir)}
    budget = ["quota", "set", "テスト市", str(BUDGET), *options]
    assert (await asyncio.to_thread(CliRunner().invoke, cli, budget, env=env)).exit_code == 0
    client = await aiohttp_client(
        create_app(make_settings(host="0.0.0.0", **llm_settings(fake.url)))
    )
    await asyncio.to_thread(spend, client, SPENT_BEFORE)
    return client, {"Authorization": f"Bearer {key}"}


async def ask(client: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    response = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    body = await response.json()
    assert response.status == 200, body
    return body


def reset_of(quota: dict[str, Any]) -> str:
    """The reset date as the notices say it (「12月1日」)."""
    _, month, day = map(int, quota["reset_on"].split("-"))
    return f"{month}月{day}日"


async def test_the_answer_that_crosses_80_and_100_percent_says_so_once(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    client, auth = await org_app(aiohttp_client, make_settings, data_dir, openai_fake)
    # The last answer comes from a server that ignored max_tokens: the budget is passed.
    openai_fake.script(TURN, TURN, Reply("住民が請求できます[1]。", completion_tokens=25_000))

    crossing = await ask(client, auth)
    assert crossing["outcome"] == "answered" and crossing["footer"] == AI_FOOTER
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["percent_used"] == 80 and quota["threshold_reached"] == 80
    reset = reset_of(quota)
    assert crossing["notice"] == (
        f"{EIGHTY}使い切ると、{reset}のリセットまで資料からの抜粋のみでお答えします。{ADMINS}"
    )
    assert "上限" not in crossing["answer"]  # apart from the answer, as the footer is

    after = await ask(client, auth)
    assert after["outcome"] == "answered" and after["notice"] == ""

    exhausting = await ask(client, auth)
    assert exhausting["notice"] == (
        f"※今月のAI利用量が上限に達しました。{reset}のリセットまで、"
        f"資料からの抜粋のみでお答えします。{ADMINS}"
    )
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["percent_used"] > 100 and quota["threshold_reached"] == 100

    quoted = await ask(client, auth)  # over budget: quoted, with no second notice
    assert quoted["outcome"] == "quota" and quoted["notice"] == ""
    assert len(openai_fake.chat_requests) == 3


async def test_an_organization_refused_when_exhausted_is_told_so_on_invoke(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    client, auth = await org_app(
        aiohttp_client, make_settings, data_dir, openai_fake, "--no-offline"
    )
    openai_fake.script(TURN, TURN)
    key = {"x-api-key": auth["Authorization"].removeprefix("Bearer ")}

    replies = []
    for _ in range(2):
        response = await client.post(
            "/invoke", json={"inputs": {"question": QUESTION}}, headers=key
        )
        assert response.status == 200
        replies.append((await response.json())["outputs"])
    crossing, after = replies
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    notice = (
        f"{EIGHTY}使い切ると、{reset_of(quota)}のリセットまでAIによる回答を停止します。{ADMINS}"
    )
    assert crossing.endswith(f"{AI_FOOTER}\n\n{notice}")  # last, after the footer
    assert after.endswith(AI_FOOTER) and "80%" not in after

    env = {"BAIBAIN_DATA_DIR": str(data_dir)}
    shown = await asyncio.to_thread(CliRunner().invoke, cli, ["quota", "show", "テスト市"], env=env)
    assert "使用率: 81%（上限の80%に達しています）\n" in shown.stdout


async def test_the_summary_that_crosses_80_percent_says_so(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    client, auth = await org_app(aiohttp_client, make_settings, data_dir, openai_fake)
    openai_fake.script(
        Reply("避難所の備蓄品を年1回点検します。", prompt_tokens=900, completion_tokens=100)
    )
    plan = "第1節 避難所の備蓄品は年1回点検し、結果を市に報告する。".encode()
    file = {"filename": "備蓄計画.txt", "content": base64.b64encode(plan).decode()}

    response = await client.post("/api/v1/summarize", json={"file": file}, headers=auth)

    body = await response.json()
    assert response.status == 200, body
    assert body["outcome"] == "answered" and body["notice"].startswith(EIGHTY)
