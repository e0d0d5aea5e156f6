"""Files sent to 源内's ``POST /invoke``: how many one request may hold, and what else than a
list of file groups is refused. Each refusal is the ExApp error shape, ``{"error": …}`` with
400, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from support import org_with_key

from bot.app import create_app
from bot.http import MAX_BODY_BYTES
from bot.uploads import MAX_FILES


@pytest.fixture
async def invoke(
    aiohttp_client: Any, make_db_settings: Any, data_dir: Path, app_database_url: str
) -> tuple[TestClient, dict[str, str]]:
    """The app on the parametrized database and the ``x-api-key`` header of an organization."""
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    return client, {"x-api-key": org_with_key(data_dir, "テスト市", app_database_url)}


def text_file(name: str, text: str) -> dict[str, str]:
    return {"filename": name, "content": base64.b64encode(text.encode()).decode()}


def rule(n: int) -> dict[str, str]:
    return text_file(f"規則{n}.txt", f"規則{n}\n第一条 粗大ごみは第{n}水曜日に収集する。")


async def test_more_files_than_an_upload_may_hold_are_refused_before_any_is_read(
    invoke,
) -> None:
    client, key = invoke
    # 100,000 small files in 20 MB were each parsed into a throw-away index (close to a minute
    # of the server's time), and a summary named every one it had left out (2 MB of reply).
    many = [rule(n) for n in range(MAX_FILES)] + [{"filename": "壊れた.txt", "content": "@@"}]
    groups = [{"key": "a", "files": many[:100]}, {"key": "b", "files": many[100:]}]
    for question in ("粗大ごみはいつ収集しますか", ""):
        response = await client.post(
            "/invoke", json={"inputs": {"question": question, "files": groups}}, headers=key
        )
        assert response.status == 400
        error = (await response.json())["error"]
        # Counted over every group, before any file is decoded (the broken one is not named).
        assert f"{MAX_FILES} 件まで" in error and f"{MAX_FILES + 1} 件" in error
        assert "壊れた" not in error


async def test_as_many_files_as_an_upload_may_hold_are_answered_and_the_summary_names_a_few(
    invoke,
) -> None:
    client, key = invoke
    files = [{"key": "a", "files": [rule(n) for n in range(1, MAX_FILES + 1)]}]
    asked = await client.post(
        "/invoke",
        json={"inputs": {"question": "粗大ごみは第7水曜日に収集しますか", "files": files}},
        headers=key,
    )
    assert asked.status == 200
    assert "規則7" in (await asked.json())["outputs"]
    summarized = await client.post("/invoke", json={"inputs": {"files": files}}, headers=key)
    assert summarized.status == 200
    outputs = (await summarized.json())["outputs"]
    assert (
        f"添付ファイルが {MAX_FILES} 件あったため、最初の「規則1.txt」だけを要約しました" in outputs
    )
    assert "「規則11.txt」 ほか" in outputs and f"ほか {MAX_FILES - 11} 件" in outputs
    assert "規則12.txt" not in outputs


@pytest.mark.parametrize("files", [{}, "", False, 0])
async def test_files_of_another_type_than_a_list_are_refused_not_taken_as_none(
    invoke, files: object
) -> None:
    client, key = invoke
    # An empty object (or "", false, 0) was taken as no files: the question was answered from
    # the index, not from the files the caller meant to send.
    response = await client.post(
        "/invoke", json={"inputs": {"question": "住民票の写し", "files": files}}, headers=key
    )
    assert response.status == 400
    assert (await response.json())["error"] == "inputs.files は配列で指定してください。"


async def test_files_past_the_body_limit_are_refused_with_the_limit(invoke) -> None:
    client, key = invoke
    # The total size of the files is bounded by the body's: 15 MB of file in base64 is 20 MB.
    chunk = base64.b64encode(b"\x00" * (6 * 1024 * 1024)).decode()
    files = [{"filename": f"{n}.txt", "content": chunk} for n in range(3)]
    response = await client.post(
        "/invoke", json={"inputs": {"files": [{"key": "a", "files": files}]}}, headers=key
    )
    assert response.status == 400
    limit_mb = MAX_BODY_BYTES // (1024 * 1024)
    assert f"リクエストが大きすぎます（上限 {limit_mb}MB）" in (await response.json())["error"]


async def test_two_files_of_one_name_are_both_read(invoke) -> None:
    client, key = invoke
    # Documents are named by their files: the second 「規則.txt」 (from another folder)
    # replaced the first in the throw-away index, and the question about the first was
    # answered from the second.
    recycling = text_file("規則.txt", "資源ごみ収集規則\n第一条 資源ごみは毎週金曜日に収集する。")
    bulky = text_file("規則.txt", "粗大ごみ収集規則\n第一条 粗大ごみは毎月第二水曜日に収集する。")
    files = [{"key": "a", "files": [recycling]}, {"key": "b", "files": [bulky]}]
    for question, title, day in (
        ("資源ごみは何曜日に収集しますか", "資源ごみ収集規則", "毎週金曜日"),
        ("粗大ごみは何曜日に収集しますか", "粗大ごみ収集規則", "第二水曜日"),
    ):
        response = await client.post(
            "/invoke", json={"inputs": {"question": question, "files": files}}, headers=key
        )
        assert response.status == 200
        outputs = (await response.json())["outputs"]
        assert f"[1] {title}" in outputs and day in outputs, question


async def test_a_question_asking_for_a_summary_gets_the_summary(invoke) -> None:
    client, key = invoke
    # As in chat and on the web page: 源内's users ask for a summary in words.
    body = {"inputs": {"question": "住民基本台帳法第22条を要約して"}}
    response = await client.post("/invoke", json=body, headers=key)
    assert response.status == 200
    outputs = (await response.json())["outputs"]
    assert outputs.startswith("「住民基本台帳法 第二十二条」の要約です"), outputs


async def test_a_question_about_it_is_about_the_files_sent_with_it(invoke) -> None:
    client, key = invoke
    bulky = text_file("規則.txt", "粗大ごみ収集規則\n第一条 粗大ごみは毎月第二水曜日に収集する。")
    with_file = {"question": "これはいつ収集しますか", "files": [{"key": "a", "files": [bulky]}]}
    response = await client.post("/invoke", json={"inputs": with_file}, headers=key)
    assert response.status == 200
    assert "第二水曜日" in (await response.json())["outputs"]
    # Without files and without an earlier turn, 「これ」 says nothing: the bot asks.
    alone = {"question": "これはいつ収集しますか"}
    response = await client.post("/invoke", json={"inputs": alone}, headers=key)
    assert response.status == 200
    assert (await response.json())["outputs"].startswith("「これ」が何を指しているのか")
