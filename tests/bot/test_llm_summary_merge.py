"""A long document summarized part by part whose final merge fails (the server errs, its
filter refuses the merge, the budget cannot pay for it): staff get the part summaries already
paid for, in document order and cited, and the usage counts the calls that were made."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from fakes.openai_server import (
    FakeOpenAIServer,
    RecordedRequest,
    Reply,
    Step,
    prompt_filtered,
    server_error,
)
from support import llm_settings, org_with_key

from bot.app import create_app
from bot.turns import AI_FOOTER

PARTS_NOTICE = (
    "※全体のまとめを作成できなかったため、文書を分けて要約した部分ごとの要約を、"
    "文書の順に表示しています。"
)
CUT_NOTICE = "※要約は途中までです。文書の内容は下記の資料で確認してください。"
MERGE = "部分ごとに要約したもの"


def long_plan() -> str:
    """About 30,000 characters: summarized part by part, then merged."""
    return "\n".join(
        f"第{n}節 第{n}地区では、避難所の備蓄品を年{n % 4 + 1}回点検し、結果を市に報告する。"
        for n in range(1, 700)
    )


def part_of(request: RecordedRequest) -> tuple[int, int]:
    """Which part (i, k) a part's request is about, as its prompt says 「一部（i/k）」."""
    found = re.search(r"一部（(\d+)/(\d+)）", request.messages[-1]["content"])
    assert found, request.messages[-1]["content"]
    return int(found[1]), int(found[2])


def part_summary(i: int) -> str:
    return f"第{i}の部分では、各地区の備蓄品の点検について定めています。"


def merge_fails(failure: Step, *, last_part_reports: int | None = None) -> Any:
    """The fake's answers: each part its own summary, the merge ``failure``; the part asked
    for last reports ``last_part_reports`` prompt tokens (more than its request held) when
    given. The last to arrive, not part k: every other part has reserved its tokens by then
    (a call reserves before it sends), whatever order the parts were sent in."""
    arrived = 0

    def answer(request: RecordedRequest) -> Step:
        nonlocal arrived
        if MERGE in request.messages[-1]["content"]:
            return failure
        i, k = part_of(request)
        arrived += 1
        if arrived == k and last_part_reports is not None:
            return Reply(part_summary(i), prompt_tokens=last_part_reports)
        return Reply(part_summary(i))

    return answer


async def summarize(aiohttp_client, fake: FakeOpenAIServer, make_settings, data_dir: Path) -> Any:
    """The long plan's summary for an organization, its quota and its usage report."""
    key = org_with_key(data_dir, "テスト市")
    client = await aiohttp_client(
        create_app(make_settings(host="0.0.0.0", **llm_settings(fake.url)))
    )
    auth = {"Authorization": f"Bearer {key}"}
    file = {"filename": "備蓄計画.txt", "content": base64.b64encode(long_plan().encode()).decode()}
    response = await client.post("/api/v1/summarize", json={"file": file}, headers=auth)
    body = await response.json()
    assert response.status == 200, body
    quota = await (await client.get("/api/v1/quota", headers=auth)).json()
    usage = await (await client.get("/api/v1/usage", headers=auth)).json()
    return body, quota, usage


def charged_for(requests: list[RecordedRequest]) -> tuple[int, int]:
    """Input and output tokens the fake reports for the parts' requests (one a character)."""
    parts = [part_of(r) for r in requests]
    prompt = sum(sum(len(m["content"]) for m in r.messages) for r in requests)
    return prompt, sum(len(part_summary(i)) for i, _ in parts)


@pytest.mark.parametrize(
    "failure", [server_error(500), prompt_filtered()], ids=["server-error", "filtered"]
)
async def test_a_failed_merge_shows_the_part_summaries_in_order(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path, failure: Step
) -> None:
    openai_fake.default = merge_fails(failure)
    body, quota, usage = await summarize(aiohttp_client, openai_fake, make_settings, data_dir)
    parts = [r for r in openai_fake.chat_requests if MERGE not in r.messages[-1]["content"]]
    k = part_of(parts[0])[1]
    assert k > 1 and len(parts) == k
    assert any(MERGE in r.messages[-1]["content"] for r in openai_fake.chat_requests)

    answer = body["answer"]
    assert answer.startswith(f"{PARTS_NOTICE}\n\n「備蓄計画」の要約です。"), answer
    shown = [f"【{i}/{k}】{part_summary(i)} [1]" for i in range(1, k + 1)]
    assert answer.endswith("\n\n".join(shown)), answer  # every part, in document order
    assert [c["title"] for c in body["citations"]] == ["備蓄計画"]
    assert body["outcome"] == "answered" and body["footer"] == AI_FOOTER

    # The parts' calls are what the summary cost; the refused merge was not billed.
    tokens = charged_for(parts)
    assert (body["usage"]["input_tokens"], body["usage"]["output_tokens"]) == tokens
    assert body["usage"]["requests"] == k
    assert quota["used"] == sum(tokens) and quota["reserved"] == 0
    assert (usage["input_tokens"], usage["output_tokens"]) == tokens
    assert usage["by_outcome"] == {"answered": 1}


async def test_a_merge_the_budget_cannot_pay_for_shows_the_part_summaries(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    # The last part costs far more than planned (the server reports what it counted), so the
    # month's budget (1,000,000 tokens) has nothing left for the merge.
    openai_fake.default = merge_fails(Reply("まとめ"), last_part_reports=1_000_000)
    body, quota, _ = await summarize(aiohttp_client, openai_fake, make_settings, data_dir)
    assert not any(MERGE in r.messages[-1]["content"] for r in openai_fake.chat_requests)
    assert body["answer"].startswith(PARTS_NOTICE), body["answer"]
    assert f"【1/{len(openai_fake.chat_requests)}】{part_summary(1)} [1]" in body["answer"]
    assert quota["used"] == body["usage"]["total_tokens"] > 1_000_000


async def test_a_part_summary_cut_short_is_told_when_shown_unmerged(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    def first_cut(request: RecordedRequest) -> Step:
        if MERGE in request.messages[-1]["content"]:
            return server_error(503)
        i, _ = part_of(request)
        return Reply("第1の部分では、備蓄品の", finish_reason="length") if i == 1 else "要約。"

    openai_fake.default = first_cut
    body, _, _ = await summarize(aiohttp_client, openai_fake, make_settings, data_dir)
    assert body["answer"].startswith(PARTS_NOTICE)
    assert "【1/" in body["answer"] and "第1の部分では、備蓄品の [1]" in body["answer"]
    assert body["answer"].endswith(CUT_NOTICE)
