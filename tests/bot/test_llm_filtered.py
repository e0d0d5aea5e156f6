"""What staff see when Azure OpenAI's content filter refuses the prompt (400 content_filter) or
withholds the reply (finish_reason content_filter): the truth, and the quotes of the sources,
instead of being told the model could not be reached."""

from __future__ import annotations

from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, Step, prompt_filtered, reply_withheld
from support import llm_settings

from bot.app import create_app
from bot.asker import Asker
from bot.services import open_services
from bot.turns import EXTRACT_FOOTER

# A question the bundled sample answers offline with one clear first source.
QUESTION = "引っ越したら何日以内に届け出ますか"
FILTERED = "※AIモデルの安全フィルターにより回答が差し控えられたため、資料の該当箇所を抜粋して"
REPHRASE = "質問の表現を変えてもう一度お試しください。"
UNREACHABLE = "接続できなかった"

SHAPES = pytest.mark.parametrize(
    "refusal", [prompt_filtered(), reply_withheld()], ids=["prompt-filtered", "reply-withheld"]
)


async def post_refused(
    aiohttp_client, fake: FakeOpenAIServer, make_settings, refusal: Step, path: str, payload: Any
) -> dict[str, Any]:
    """The JSON body of the 200 that ``path`` answers when the model refuses with ``refusal``."""
    fake.script(refusal)
    client = await aiohttp_client(create_app(make_settings(**llm_settings(fake.url))))
    response = await client.post(path, json=payload)
    body: dict[str, Any] = await response.json()
    assert response.status == 200, body
    return body


@SHAPES
async def test_a_filtered_answer_says_so_and_quotes_the_sources(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, refusal: Step
) -> None:
    payload = {"question": QUESTION}
    body = await post_refused(
        aiohttp_client, openai_fake, make_settings, refusal, "/api/v1/ask", payload
    )
    assert body["answer"].startswith(FILTERED) and REPHRASE in body["answer"]
    assert UNREACHABLE not in body["answer"]
    assert body["footer"] == EXTRACT_FOOTER  # quotes, not the model's words
    assert "住民基本台帳法 第二十三条" in [c["title"] for c in body["citations"]]
    assert len(openai_fake.chat_requests) == 1  # a refusal is not asked again


@SHAPES
async def test_a_filtered_streamed_answer_says_so(
    openai_fake: FakeOpenAIServer, make_settings, refusal: Step
) -> None:
    # Chat platforms stream the answer into a placeholder message.
    services = await open_services(make_settings(**llm_settings(openai_fake.url)))
    shown: list[str] = []

    async def progress(text: str) -> None:
        shown.append(text)

    try:
        openai_fake.script(refusal)
        answer = await services.assistant.ask(QUESTION, Asker(None, "cli"), on_progress=progress)
    finally:
        await services.close()
    assert openai_fake.chat_requests[0].streaming
    assert answer.text.startswith(FILTERED) and UNREACHABLE not in answer.text
    assert "住民基本台帳法 第二十三条" in [c.title for c in answer.citations]


@SHAPES
async def test_a_filtered_summary_says_so_and_quotes_the_document(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, refusal: Step
) -> None:
    payload = {"doc_id": "322AC0000000067#242"}
    body = await post_refused(
        aiohttp_client, openai_fake, make_settings, refusal, "/api/v1/summarize", payload
    )
    assert body["answer"].startswith(
        "※AIモデルの安全フィルターにより要約の作成が差し控えられたため、資料から抜粋して要約します。"
    )
    assert UNREACHABLE not in body["answer"]
    assert "「地方自治法 第二百四十二条」の要約です" in body["answer"]
    assert body["footer"] == EXTRACT_FOOTER
    assert len(openai_fake.chat_requests) == 1
