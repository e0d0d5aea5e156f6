"""What staff see when the server cuts a model-written summary short (the token limit, or a
content filter stopping it midway): the summary, and that it is not whole."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fakes.openai_server import FakeOpenAIServer, RecordedRequest, Reply
from support import llm_settings

from bot.app import create_app
from bot.turns import AI_FOOTER

CUT_NOTICE = "※要約は途中までです。文書の内容は下記の資料で確認してください。"


def long_plan() -> str:
    """About 30,000 characters: summarized part by part, then merged."""
    return "\n".join(
        f"第{n}節 第{n}地区では、避難所の備蓄品を年{n % 4 + 1}回点検し、結果を市に報告する。"
        for n in range(1, 700)
    )


async def summarize(aiohttp_client, fake: FakeOpenAIServer, make_settings, payload: Any) -> Any:
    client = await aiohttp_client(create_app(make_settings(**llm_settings(fake.url))))
    response = await client.post("/api/v1/summarize", json=payload)
    body = await response.json()
    assert response.status == 200, body
    return body


@pytest.mark.parametrize("finish_reason", ["length", "content_filter"])
async def test_a_summary_the_server_cut_short_says_so(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, finish_reason: str
) -> None:
    openai_fake.script(
        Reply("住民は監査委員に対し、監査を求めることが", finish_reason=finish_reason)
    )
    payload = {"doc_id": "322AC0000000067#242"}
    body = await summarize(aiohttp_client, openai_fake, make_settings, payload)
    assert len(openai_fake.chat_requests) == 1
    assert "住民は監査委員に対し、監査を求めることが [1]" in body["answer"]
    assert body["answer"].endswith(CUT_NOTICE)
    assert body["footer"] == AI_FOOTER and body["outcome"] == "answered"


async def test_a_whole_summary_has_no_notice(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings
) -> None:
    openai_fake.script("住民は監査委員に対し、監査を求めることができます。")
    payload = {"doc_id": "322AC0000000067#242"}
    body = await summarize(aiohttp_client, openai_fake, make_settings, payload)
    assert body["answer"].endswith("監査を求めることができます。 [1]")


@pytest.mark.parametrize("merge_finish", ["stop", "length"])
async def test_only_a_cut_merged_summary_is_told_cut_short(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, merge_finish: str
) -> None:
    # Every part's summary is cut short; they are merged all the same, and the merged summary
    # is whole unless its own reply was cut.
    def cut_parts(request: RecordedRequest) -> Reply:
        if "部分ごとに要約したもの" in request.messages[-1]["content"]:
            return Reply("各地区は避難所の備蓄品を定期的に点検します。", finish_reason=merge_finish)
        return Reply("この部分では備蓄品の点検を", finish_reason="length")

    openai_fake.default = cut_parts
    file = {"filename": "備蓄計画.txt", "content": base64.b64encode(long_plan().encode()).decode()}
    body = await summarize(aiohttp_client, openai_fake, make_settings, {"file": file})
    assert len(openai_fake.chat_requests) >= 3  # parts, then the merge
    assert "各地区は避難所の備蓄品を定期的に点検します。 [1]" in body["answer"]
    assert body["answer"].endswith(CUT_NOTICE) is (merge_finish == "length")
