"""Answers and summaries of attached PDFs with scanned pages (chat attachments, 源内's
``/invoke`` files, ``POST /api/v1/summarize`` with a file) say, under the answer or summary,
which pages were not read: an answer of 「資料からは確認できませんでした」, or a summary
without a section, is then understood."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from fakes.openai_server import FakeOpenAIServer
from support import SCANNED_PAGE, japanese_pdf, llm_settings, org_with_key

from bot.app import create_app

BUDGET = ["令和7年度 予算書", "第1款 総務費 1億2千万円を計上する。"]
DEADLINE = ["第2款 民生費", "補助金の申請期限は5月31日とする。"]
SCANNED_PDF = japanese_pdf([BUDGET, SCANNED_PAGE, DEADLINE, SCANNED_PAGE], title="予算書")
TEXT_PDF = japanese_pdf([BUDGET, DEADLINE], title="予算書")
ANSWER_LINE = "※「予算書.pdf」の 2・4ページは文字を読み取れなかったため、回答に含まれていません。"
SUMMARY_LINE = "※「予算書.pdf」の 2・4ページは文字を読み取れなかったため、要約に含まれていません。"


def pdf_file(data: bytes, name: str = "予算書.pdf") -> dict[str, str]:
    return {"filename": name, "content": base64.b64encode(data).decode()}


async def client_and_key(
    aiohttp_client: Any, make_settings: Any, data_dir: Path, **settings: object
) -> tuple[TestClient, dict[str, str]]:
    client = await aiohttp_client(create_app(make_settings(**settings)))
    return client, {"x-api-key": org_with_key(data_dir, "テスト市")}


async def invoke(client: TestClient, key: dict[str, str], question: str, *files: Any) -> str:
    inputs = {"question": question, "files": [{"key": "a", "files": list(files)}]}
    response = await client.post("/invoke", json={"inputs": inputs}, headers=key)
    body = await response.json()
    assert response.status == 200, body
    outputs: str = body["outputs"]
    return outputs


async def summarize(client: TestClient, key: dict[str, str], data: bytes) -> str:
    response = await client.post("/api/v1/summarize", json={"file": pdf_file(data)}, headers=key)
    body = await response.json()
    assert response.status == 200, body
    answer: str = body["answer"]
    return answer


async def test_an_offline_answer_and_summary_name_the_scanned_pages_under_them(
    aiohttp_client, make_settings, data_dir: Path
) -> None:
    client, key = await client_and_key(aiohttp_client, make_settings, data_dir)
    answered = await invoke(client, key, "この資料の申請期限は？", pdf_file(SCANNED_PDF))
    assert "5月31日" in answered
    text = answered.split("\n\n【出典】")[0]  # the line is under the answer, above its sources
    assert text.endswith(ANSWER_LINE)
    summarized = await summarize(client, key, SCANNED_PDF)
    assert summarized.endswith(SUMMARY_LINE)
    # /invoke with files and nothing asked summarizes them, and says so too.
    assert SUMMARY_LINE in await invoke(client, key, "要約して", pdf_file(SCANNED_PDF))


async def test_a_pdf_of_text_only_gets_no_such_line(
    aiohttp_client, make_settings, data_dir: Path
) -> None:
    client, key = await client_and_key(aiohttp_client, make_settings, data_dir)
    answered = await invoke(client, key, "この資料の申請期限は？", pdf_file(TEXT_PDF))
    summarized = await summarize(client, key, TEXT_PDF)
    for reply in (answered, summarized):
        assert "5月31日" in reply or "1億2千万円" in reply
        assert "読み取れなかった" not in reply


async def test_a_model_answer_not_found_in_the_read_pages_names_the_scanned_ones(
    aiohttp_client, openai_fake: FakeOpenAIServer, make_settings, data_dir: Path
) -> None:
    client, key = await client_and_key(
        aiohttp_client, make_settings, data_dir, **llm_settings(openai_fake.url)
    )
    openai_fake.script("資料からは確認できませんでした。")
    answered = await invoke(client, key, "補助金の交付決定日は？", pdf_file(SCANNED_PDF))
    assert "資料からは確認できませんでした。" in answered
    assert ANSWER_LINE in answered
    # Files of several PDFs name each file's pages; a text file has none to name.
    openai_fake.script("申請期限は5月31日です。[1]")
    other = pdf_file(SCANNED_PDF, "決算書.pdf")
    rule = {"filename": "規則.txt", "content": base64.b64encode("規則".encode()).decode()}
    answered = await invoke(client, key, "申請期限は？", pdf_file(SCANNED_PDF), rule, other)
    assert (
        "※「予算書.pdf」の 2・4ページ、「決算書.pdf」の 2・4ページは文字を読み取れなかったため、"
        "回答に含まれていません。"
    ) in answered
    openai_fake.script("令和7年度の予算書です。総務費1億2千万円を計上しています。")
    summarized = await summarize(client, key, SCANNED_PDF)
    assert summarized.endswith(f"1億2千万円を計上しています。 [1]\n\n{SUMMARY_LINE}")
