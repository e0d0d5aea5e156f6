"""What staff see when the model's reply is only partly usable: a partial answer that also
says what the sources do not show, and a reply the endpoint cut short."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, Reply

from bot.app import create_app

QUESTION = "住民監査請求をすることができるのは誰ですか"


def llm(fake: FakeOpenAIServer) -> dict[str, Any]:
    return {
        "llm_base_url": fake.url,
        "llm_api_key": "sk-test",
        "llm_model": "gpt-test",
        "llm_query_variants": 0,
    }


def source_titles(request_body: dict[str, Any]) -> list[str]:
    """The titles of the numbered sources the model saw, in order."""
    content = request_body["messages"][-1]["content"]
    return [part.split('"', 1)[0] for part in content.split(' title="')[1:]]


async def test_a_partial_answer_lists_the_source_it_cites(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings
) -> None:
    openai_fake.script(
        "普通地方公共団体の住民が請求できます[4]。"
        "請求の手数料については資料からは確認できませんでした。"
    )
    client = await aiohttp_client(create_app(make_settings(**llm(openai_fake))))
    body = await (await client.post("/api/v1/ask", json={"question": QUESTION})).json()
    seen = source_titles(openai_fake.chat_requests[0].body)
    assert body["answer"].startswith("普通地方公共団体の住民が請求できます[1]。")
    assert [c["title"] for c in body["citations"]] == [seen[3]]
    assert body["citations_heading"] != "関連する可能性のある資料"
    assert body["outcome"] == "answered"


async def test_a_model_that_answers_nothing_still_shows_related_sources(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings
) -> None:
    openai_fake.script("資料からは確認できませんでした。")
    client = await aiohttp_client(create_app(make_settings(**llm(openai_fake))))
    body = await (await client.post("/api/v1/ask", json={"question": QUESTION})).json()
    assert body["answer"] == "資料からは確認できませんでした。"
    assert body["citations_heading"] == "関連する可能性のある資料"
    assert body["citations"] and body["outcome"] == "not_found"


async def test_a_model_that_finds_nothing_on_an_unrelated_question_lists_no_statutes(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings
) -> None:
    # No passage of the sample speaks of the weather: statutes sharing 週 or nothing at all
    # are not offered as possibly related, as the offline answer offers none.
    openai_fake.script("資料からは確認できませんでした。")
    client = await aiohttp_client(create_app(make_settings(**llm(openai_fake))))
    body = await (await client.post("/api/v1/ask", json={"question": "来週の天気は？"})).json()
    assert body["answer"] == "資料からは確認できませんでした。"
    assert body["citations"] == [] and body["outcome"] == "not_found"


# Azure OpenAI ends a reply its content filter stops with finish_reason content_filter.
@pytest.mark.parametrize("finish_reason", ["length", "content_filter"])
async def test_an_answer_the_server_cut_short_says_so(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, finish_reason: str
) -> None:
    openai_fake.script(
        Reply(
            "普通地方公共団体の住民が請求できます[1]。ただし、請求は", finish_reason=finish_reason
        )
    )
    client = await aiohttp_client(create_app(make_settings(**llm(openai_fake))))
    body = await (await client.post("/api/v1/ask", json={"question": QUESTION})).json()
    assert body["answer"].startswith("普通地方公共団体の住民が請求できます[1]。ただし、請求は")
    assert body["answer"].endswith("※回答は途中までです。続きは下記の資料で確認してください。")
    assert len(body["citations"]) == 1
