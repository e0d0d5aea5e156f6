"""What a content filter's refusal costs an organization, as the provider bills it: a reply
Azure OpenAI withheld (HTTP 200, finish_reason content_filter) reports its usage and is billed,
so it is charged to the budget and counted in usage; a prompt it refused (400 content_filter)
is not billed, and nothing is charged. Either way the turn is counted as ``filtered``."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply, Step, prompt_filtered
from support import llm_settings, org_with_key

from admin.orgs import get_org
from bot.app import create_app
from bot.asker import Asker
from bot.services import open_services

QUESTION = "引っ越したら何日以内に届け出ますか"
# What the withheld reply reports: the prompt, and what was generated before the filter.
WITHHELD = Reply("", finish_reason="content_filter", prompt_tokens=900, completion_tokens=12)

REFUSALS = pytest.mark.parametrize(
    ("refusal", "billed"),
    [(WITHHELD, (900, 12)), (prompt_filtered(), (0, 0))],
    ids=["reply-withheld", "prompt-filtered"],
)


SUMMARIZED = base64.b64encode("避難所の備蓄品は年2回点検します。".encode()).decode()
ROUTES = pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/v1/ask", {"question": QUESTION}),
        ("/api/v1/summarize", {"file": {"filename": "備蓄計画.txt", "content": SUMMARIZED}}),
    ],
    ids=["answer", "summary"],
)


@ROUTES
@REFUSALS
async def test_a_filtered_turn_is_charged_what_the_provider_bills(
    aiohttp_client,
    openai_fake: FakeOpenAIServer,
    make_settings,
    data_dir: Path,
    refusal: Step,
    billed: tuple[int, int],
    path: str,
    payload: dict[str, Any],
) -> None:
    key = org_with_key(data_dir, "テスト市")
    openai_fake.script(refusal)
    client = await aiohttp_client(
        create_app(make_settings(host="0.0.0.0", **llm_settings(openai_fake.url)))
    )
    auth = {"Authorization": f"Bearer {key}"}
    response = await client.post(path, json=payload, headers=auth)
    body = await response.json()
    assert response.status == 200 and "安全フィルター" in body["answer"]
    assert body["outcome"] == "filtered"
    shown = body["usage"]
    assert (shown["input_tokens"], shown["output_tokens"]) == billed
    assert shown["requests"] == (1 if sum(billed) else 0)
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["used"] == sum(billed) and quota["reserved"] == 0
    usage = await (await client.get("/api/v1/usage", headers=auth)).json()
    assert (usage["input_tokens"], usage["output_tokens"]) == billed
    assert usage["by_outcome"] == {"filtered": 1}  # not an answer, nor an outage


async def test_a_withheld_question_variant_is_charged_and_the_answer_still_given(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    key = org_with_key(data_dir, "テスト市")
    openai_fake.script(WITHHELD, "転入した日から十四日以内に届け出ます[1]。")
    settings = make_settings(host="0.0.0.0", **llm_settings(openai_fake.url, variants=2))
    client = await aiohttp_client(create_app(settings))
    auth = {"Authorization": f"Bearer {key}"}
    response = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth)
    body = await response.json()
    assert body["answer"].startswith("転入した日から十四日以内に届け出ます[1]。")
    _, answer = openai_fake.chat_requests
    answer_tokens = sum(len(m["content"]) for m in answer.messages) + len(
        "転入した日から十四日以内に届け出ます[1]。"
    )
    assert body["usage"]["total_tokens"] == 912 + answer_tokens
    assert body["usage"]["requests"] == 2
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    assert quota["used"] == body["usage"]["total_tokens"]


async def test_a_withheld_streamed_answer_is_charged(
    openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    org_with_key(data_dir, "テスト市")
    services = await open_services(make_settings(**llm_settings(openai_fake.url)))
    shown: list[str] = []

    async def progress(text: str) -> None:
        shown.append(text)

    try:
        org = get_org(services.engine, "テスト市")
        openai_fake.script(WITHHELD)
        answer = await services.assistant.ask(QUESTION, Asker(org.id, "api"), on_progress=progress)
        status = services.quotas.status(org.id)
    finally:
        await services.close()
    assert openai_fake.chat_requests[0].streaming
    assert "安全フィルター" in answer.text and answer.usage.total_tokens == 912
    assert (status.used, status.reserved) == (912, 0)
