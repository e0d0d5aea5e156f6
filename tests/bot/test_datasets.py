"""Datasets over REST: organization-only data stays with its owner on every route; uploads
replace atomically; a failed upload leaves the previous version searchable."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update
from sqlmodel import col
from support import SCANNED_PAGE, japanese_pdf, org_with_key, refusing_inserts

from admin.datasets import Dataset, DatasetService
from admin.db import create_db_engine
from bot.app import create_app
from knowledge.errors import NotFound

RULE_V1 = "テスト市粗大ごみ収集規則\n粗大ごみは毎月第二水曜日に収集する。"
RULE_V2 = "テスト市粗大ごみ収集規則\n粗大ごみは毎月第四金曜日に収集する。"
QUESTION = "粗大ごみの収集日はいつですか"
RULE_FILE = "テスト市粗大ごみ収集規則.txt"


def keys(data_dir: Path, database_url: str) -> dict[str, str]:
    return {name: org_with_key(data_dir, name, database_url) for name in ("テスト市", "よその市")}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def form(*files: tuple[str, bytes]) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for name, content in files:
        data.add_field("file", content, filename=name, content_type="application/octet-stream")
    return data


@pytest.fixture
async def setup(
    aiohttp_client, make_db_settings, data_dir: Path, app_database_url: str
) -> tuple[TestClient, dict[str, str]]:
    """The app on SQLite and on PostgreSQL (when configured), with two organizations."""
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    api_keys = keys(data_dir, app_database_url)
    return client, api_keys


async def create(client: TestClient, key: str, **body: object) -> int:
    response = await client.post("/api/v1/datasets", json=body, headers=auth(key))
    assert response.status == 201, await response.text()
    return int((await response.json())["id"])


async def titles_seen(client: TestClient, key: str) -> dict[str, object]:
    """What one organization sees of the rule through every route."""
    headers = auth(key)
    asked = await (
        await client.post("/api/v1/ask", json={"question": QUESTION}, headers=headers)
    ).json()
    invoked = await (
        await client.post(
            "/invoke", json={"inputs": {"question": QUESTION}}, headers={"x-api-key": key}
        )
    ).json()
    listed = await (await client.get("/api/v1/datasets", headers=headers)).json()
    summary = await client.post(
        "/api/v1/summarize", json={"doc_id": f"ds1/{RULE_FILE}"}, headers=headers
    )
    by_name = await client.post(
        "/api/v1/summarize", json={"doc_id": "テスト市 粗大ごみ収集規則"}, headers=headers
    )
    return {
        "ask": "テスト市粗大ごみ収集規則" in [c["title"] for c in asked["citations"]],
        "answer_text": asked["answer"],
        "invoke": "第二水曜日" in invoked["outputs"] or "第四金曜日" in invoked["outputs"],
        "listing": "ごみ規則" in [d["name"] for d in listed["datasets"]],
        "summary": summary.status,
        "summary_by_name": by_name.status,
    }


async def test_organization_data_never_reaches_other_organizations(setup) -> None:
    client, api_keys = setup
    owner, other = api_keys["テスト市"], api_keys["よその市"]
    dataset = await create(client, owner, name="ごみ規則", category="条例・規則・例規")
    upload = await client.post(
        f"/api/v1/datasets/{dataset}/documents",
        data=form((RULE_FILE, RULE_V1.encode())),
        headers=auth(owner),
    )
    assert upload.status == 200 and (await upload.json())["written"] == 1

    mine = await titles_seen(client, owner)
    assert mine["ask"] and mine["invoke"] and mine["listing"]
    assert mine["summary"] == mine["summary_by_name"] == 200
    theirs = await titles_seen(client, other)
    assert theirs == {
        "ask": False,
        "answer_text": theirs["answer_text"],
        "invoke": False,
        "listing": False,
        "summary": 404,
        "summary_by_name": 404,
    }
    assert "第二水曜日" not in str(theirs["answer_text"])
    own = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth(owner))).json()
    assert own["document_list"] == [
        {"doc_id": f"ds{dataset}/{RULE_FILE}", "title": "テスト市粗大ごみ収集規則"}
    ]
    local = await client.get(f"/api/v1/datasets/{dataset}", headers=auth(other))
    assert local.status == 404
    denied = await client.delete(f"/api/v1/datasets/{dataset}", headers=auth(other))
    assert denied.status == 404

    shared = await client.post(
        f"/api/v1/datasets/{dataset}/attest",
        json={"attested_by": "法務担当 山田"},
        headers=auth(owner),
    )
    assert (await shared.json())["visibility"] == "shared"
    after = await titles_seen(client, other)
    assert after["ask"] and after["listing"] and after["summary"] == 200
    # Who attested is the owner's business; that and when it was attested is for everyone.
    theirs_now = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth(other))).json()
    assert theirs_now["attested_by"] == "" and theirs_now["attested_at"]
    own_now = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth(owner))).json()
    assert own_now["attested_by"] == "法務担当 山田"


async def test_reupload_replaces_and_a_failed_upload_changes_nothing(setup) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    dataset = await create(client, owner, name="ごみ規則", category="条例・規則・例規")
    url = f"/api/v1/datasets/{dataset}/documents"
    await client.post(url, data=form((RULE_FILE, RULE_V1.encode())), headers=auth(owner))
    same = await client.post(url, data=form((RULE_FILE, RULE_V1.encode())), headers=auth(owner))
    assert (await same.json())["written"] == 0

    broken = await client.post(
        url,
        data=form(
            (RULE_FILE, RULE_V2.encode()),
            ("壊れた.docx", b"PK\x03\x04 not really"),
            ("空の.txt", b""),
        ),
        headers=auth(owner),
    )
    assert broken.status == 400
    message = (await broken.json())["error"]["message"]
    assert "2 件のファイルを読み込めなかった" in message  # every bad file, at once
    assert "壊れた.docx" in message and "空の.txt" in message
    search = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth(owner))
    assert "第二水曜日" in (await search.json())["answer"]

    swapped = await client.post(url, data=form((RULE_FILE, RULE_V2.encode())), headers=auth(owner))
    swap = await swapped.json()
    assert (swap["written"], swap["unchanged"], swap["removed"]) == (1, 0, 0)
    answer = (
        await (
            await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth(owner))
        ).json()
    )["answer"]
    assert "第四金曜日" in answer and "第二水曜日" not in answer

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../evil.txt", "x")
    evil = await client.post(
        url, data=form(("bundle.zip", archive.getvalue())), headers=auth(owner)
    )
    assert evil.status == 400 and "../evil.txt" in (await evil.json())["error"]["message"]
    # The same names as the files' own names are refused as well: a document id is its name.
    for name in ("../../../tmp/pwn.txt", "/etc/cron.d/x.txt", "..\\..\\win.txt"):
        refused = await client.post(url, data=form((name, RULE_V1.encode())), headers=auth(owner))
        assert (
            refused.status == 400
            and "名前を付け直して" in (await refused.json())["error"]["message"]
        )
    listed = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth(owner))).json()
    assert [d["doc_id"] for d in listed["document_list"]] == [f"ds{dataset}/{RULE_FILE}"]

    # A picture in an archive is left out, and the reply names it.
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("メモ.txt", "テスト市の粗大ごみ収集の申込みは電話で受け付ける。")
        bundle.writestr("写真.png", b"\x89PNG\r\n\x1a\n")
    mixed = await (
        await client.post(url, data=form(("資料.zip", archive.getvalue())), headers=auth(owner))
    ).json()
    assert mixed["written"] == 1 and mixed["left_out"] == ["資料.zip/写真.png"]
    assert "取り込まなかったファイル: 資料.zip/写真.png" in mixed["message"]

    gone = await client.delete(f"/api/v1/datasets/{dataset}", headers=auth(owner))
    assert (await gone.json())["documents"] == 2  # the rule and the archive's memo
    final = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth(owner))
    assert "第四金曜日" not in (await final.json())["answer"]


async def test_dataset_input_is_validated(setup) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    bad = await client.post(
        "/api/v1/datasets", json={"name": "x", "category": "雑記"}, headers=auth(owner)
    )
    assert bad.status == 400 and "条例・規則・例規" in (await bad.json())["error"]["message"]
    metadata = await client.post(
        "/api/v1/datasets",
        json={"name": "x", "category": "統計", "source_url": "http://169.254.169.254/latest"},
        headers=auth(owner),
    )
    assert metadata.status == 400
    assert "内部ネットワーク" in (await metadata.json())["error"]["message"]
    await create(client, owner, name="例規", category="条例・規則・例規")
    again = await client.post(
        "/api/v1/datasets",
        json={"name": "例規", "category": "条例・規則・例規"},
        headers=auth(owner),
    )
    assert again.status == 409 and "すでに" in (await again.json())["error"]["message"]
    for name, said in (("改行\n名前", "改行を含まない"), ("統計", "分類と同じ名前")):
        body = {"name": name, "category": "統計"}
        refused = await client.post("/api/v1/datasets", json=body, headers=auth(owner))
        assert refused.status == 400 and said in (await refused.json())["error"]["message"]
    # The category left out, or a name that is one: each said with what to send instead.
    no_category = await client.post("/api/v1/datasets", json={"name": "n"}, headers=auth(owner))
    message = (await no_category.json())["error"]["message"]
    assert no_category.status == 400 and message.startswith("分類を指定してください。")
    assert "分類「」" not in message and "会議録" in message
    body = {"name": "会議録", "category": "会議録"}
    named = await client.post("/api/v1/datasets", json=body, headers=auth(owner))
    assert (
        "「会議録集」のような別の名前を指定してください。"
        in (await named.json())["error"]["message"]
    )
    no_file = aiohttp.FormData(default_to_multipart=True)
    no_file.add_field("note", "ファイルなし")
    empty = await client.post("/api/v1/datasets/1/documents", data=no_file, headers=auth(owner))
    assert empty.status == 400
    no_boundary = await client.post(
        "/api/v1/datasets/1/documents",
        data=b"--x\r\n",
        headers={**auth(owner), "Content-Type": "multipart/form-data"},
    )
    assert (
        no_boundary.status == 400 and "multipart" in (await no_boundary.json())["error"]["message"]
    )
    as_json = await client.post(
        "/api/v1/datasets/1/documents", json={"file": "規則.txt"}, headers=auth(owner)
    )
    assert as_json.status == 415
    assert "multipart/form-data で送信" in (await as_json.json())["error"]["message"]
    many_digits = await client.get("/api/v1/datasets/99999999999999999999999", headers=auth(owner))
    assert many_digits.status == 404
    # An API client is told where its numbers are listed, as chat users and the CLI are.
    lost = (await many_digits.json())["error"]["message"]
    assert "REST では GET /api/v1/datasets で確認できます" in lost
    assert "baibain dataset list --org 組織名" in lost
    yearly = {"name": "y", "category": "統計", "refresh_hours": 10**30}
    too_rare = await client.post("/api/v1/datasets", json=yearly, headers=auth(owner))
    assert too_rare.status == 400 and "更新間隔" in (await too_rare.json())["error"]["message"]
    # Asking for sharing without an attestation is refused, not answered with an
    # organization-only dataset the client would take for shared.
    for unattested in ({"attested_by": "   "}, {"visibility": "shared"}, {"shareable": True}):
        body = {"name": "b", "category": "統計", **unattested}
        refused = await client.post("/api/v1/datasets", json=body, headers=auth(owner))
        assert refused.status == 400, unattested
        assert "attested_by に" in (await refused.json())["error"]["message"]
    plain = {"name": "b", "category": "統計", "attested_by": "", "visibility": "organization"}
    private = await client.post("/api/v1/datasets", json=plain, headers=auth(owner))
    assert (await private.json())["visibility"] == "organization"
    assert (await client.get("/api/v1/datasets")).status == 401


async def test_a_misspelled_field_is_refused_naming_it(setup) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    before = await (await client.get("/api/v1/datasets", headers=auth(owner))).json()
    # 「visibilty」 was ignored: the client got an organization-only dataset, unawares.
    body = {"name": "公開例規", "category": "統計", "visibilty": "shared", "attested_by": ""}
    refused = await client.post("/api/v1/datasets", json=body, headers=auth(owner))
    assert refused.status == 400
    message = (await refused.json())["error"]["message"]
    assert "使えない項目があります（visibilty）" in message and "visibility" in message
    after = await (await client.get("/api/v1/datasets", headers=auth(owner))).json()
    assert after == before
    dataset_id = await create(client, owner, name="例規", category="条例・規則・例規")
    typo = await client.post(
        f"/api/v1/datasets/{dataset_id}/attest",
        json={"attestedby": "法務課 山田"},
        headers=auth(owner),
    )
    assert typo.status == 400 and "（attestedby）" in (await typo.json())["error"]["message"]


async def test_a_name_of_invisible_characters_alone_is_refused_like_an_empty_one(setup) -> None:
    client, api_keys = setup
    headers = auth(api_keys["テスト市"])
    before = await (await client.get("/api/v1/datasets", headers=headers)).json()
    empty = await client.post(
        "/api/v1/datasets", json={"name": "", "category": "統計"}, headers=headers
    )
    assert empty.status == 400
    said = (await empty.json())["error"]
    # A byte order mark, zero-width spaces and word joiners come with text pasted from web
    # pages and PDFs; such a name was listed as an empty-looking one.
    for name in ("\ufeff", "\u200b", "\u2060", " \u200b\u3000\ufeff ", "\u200d\u00ad"):
        body = {"name": name, "category": "統計"}
        refused = await client.post("/api/v1/datasets", json=body, headers=headers)
        assert refused.status == 400, repr(name)
        assert await refused.json() == {"error": said}, repr(name)
    after = await (await client.get("/api/v1/datasets", headers=headers)).json()
    assert after == before


async def test_characters_nobody_sees_are_left_out_of_a_dataset_name(setup) -> None:
    client, api_keys = setup
    key = api_keys["テスト市"]
    # A zero-width space pasted with the name made a second 「例規」 that listed alike.
    created = await client.post(
        "/api/v1/datasets", json={"name": "例規\u200b", "category": "統計"}, headers=auth(key)
    )
    assert (await created.json())["name"] == "例規"
    again = await client.post(
        "/api/v1/datasets", json={"name": "\ufeff例規", "category": "統計"}, headers=auth(key)
    )
    # The name is taken: a conflict with what exists, not a malformed request.
    assert again.status == 409
    error = (await again.json())["error"]
    assert error["code"] == "conflict"
    assert "データセット「例規」はすでにあります" in error["message"]


async def test_a_name_with_a_comma_is_refused_as_no_invoke_tag_could_name_it(setup) -> None:
    client, api_keys = setup
    key = api_keys["テスト市"]
    before = await (await client.get("/api/v1/datasets", headers=auth(key))).json()
    # 源内 separates tags by commas: a dataset 「例規,要綱」 was created, and every /invoke
    # naming it was refused as naming two datasets that do not exist.
    body = {"name": "例規,要綱", "category": "条例・規則・例規"}
    refused = await client.post("/api/v1/datasets", json=body, headers=auth(key))
    assert refused.status == 400
    message = (await refused.json())["error"]["message"]
    assert "半角カンマ「,」は使えません" in message and "「例規、要綱」のように" in message
    after = await (await client.get("/api/v1/datasets", headers=auth(key))).json()
    assert after == before
    await create(client, key, name="例規、要綱", category="条例・規則・例規")
    invoked = await client.post(
        "/invoke",
        json={"inputs": {"question": "粗大ごみの収集日", "tags": "例規、要綱,法令"}},
        headers={"x-api-key": key},
    )
    assert invoked.status == 200, await invoked.text()


async def test_a_dataset_whose_creation_cannot_be_recorded_is_not_created(
    setup, app_database_url: str
) -> None:
    client, api_keys = setup
    body = {"name": "ごみ規則", "category": "条例・規則・例規"}
    engine = create_db_engine(app_database_url)
    try:
        with refusing_inserts(engine, "audit_record"):
            response = await client.post(
                "/api/v1/datasets", json=body, headers=auth(api_keys["テスト市"])
            )
    finally:
        engine.dispose()
    message = (await response.json())["error"]["message"]
    assert response.status == 503 and "処理を完了できませんでした" in message
    listed = await client.get("/api/v1/datasets", headers=auth(api_keys["テスト市"]))
    assert "ごみ規則" not in [d["name"] for d in (await listed.json())["datasets"]]
    assert await create(client, api_keys["テスト市"], **body)  # trying again creates it


async def test_an_attestation_that_cannot_be_recorded_shares_nothing(
    setup, app_database_url: str
) -> None:
    client, api_keys = setup
    owner, other = api_keys["テスト市"], api_keys["よその市"]
    dataset = await create(client, owner, name="ごみ規則", category="条例・規則・例規")
    await client.post(
        f"/api/v1/datasets/{dataset}/documents",
        data=form((RULE_FILE, RULE_V1.encode())),
        headers=auth(owner),
    )
    attest = f"/api/v1/datasets/{dataset}/attest"
    body = {"attested_by": "法務担当 山田"}
    engine = create_db_engine(app_database_url)
    try:
        with refusing_inserts(engine, "audit_record"):
            failed = await client.post(attest, json=body, headers=auth(owner))
    finally:
        engine.dispose()
    assert failed.status == 503
    assert "処理を完了できませんでした" in (await failed.json())["error"]["message"]
    kept = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth(owner))).json()
    assert (kept["visibility"], kept["attested_by"]) == ("organization", "")
    assert not (await titles_seen(client, other))["ask"]
    again = await client.post(attest, json=body, headers=auth(owner))
    assert again.status == 200 and (await again.json())["visibility"] == "shared"
    assert (await titles_seen(client, other))["ask"]


EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"


async def test_a_statute_and_one_of_its_articles_are_summarized_by_name(setup) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    dataset = await create(client, owner, name="原子力法令", category="法令")
    versions = [EGOV / name for name in sorted(p.name for p in EGOV.glob("330AC1000000186_*"))]
    uploaded = await client.post(
        f"/api/v1/datasets/{dataset}/documents",
        data=form(*((path.name, path.read_bytes()) for path in versions)),
        headers=auth(owner),
    )
    assert uploaded.status == 200 and (await uploaded.json())["written"] == 3

    async def summary(name: str) -> dict[str, Any]:
        response = await client.post(
            "/api/v1/summarize", json={"doc_id": name}, headers=auth(owner)
        )
        body = await response.json()
        assert response.status == 200, body
        return dict(body)

    # Three versions by enforcement date: the one in force is meant, and its citation opens
    # that version on e-Gov 法令検索, not whatever version is in force there today.
    whole = await summary("原子力基本法")
    # Its 施行日 names the version, its date says what it is: the law's 公布日.
    assert whole["answer"].startswith(
        "「原子力基本法（2025-06-06 施行）」の要約です（1955-12-19 公布）。\n"
    )
    assert whole["citations"][0]["url"].endswith("/330AC1000000186/20250606_505AC0000000044")
    article = await summary("原子力基本法第2条の2")
    assert article["answer"].startswith("「原子力基本法 第二条の二（2025-06-06 施行）」の要約です")
    assert [c["url"] for c in article["citations"]] == [
        "https://laws.e-gov.go.jp/law/330AC1000000186/20250606_505AC0000000044"
    ]


async def test_a_document_is_summarized_by_the_name_of_its_file(setup) -> None:
    client, api_keys = setup
    owner, other = api_keys["テスト市"], api_keys["よその市"]
    dataset = await create(client, owner, name="窓口資料", category="計画")
    page = (
        "<html><head><title>窓口案内</title></head><body><h1>窓口案内</h1>"
        "<p>令和8年度の窓口受付時間は午前8時30分から午後5時15分までとする。</p></body></html>"
    )
    uploaded = await client.post(
        f"/api/v1/datasets/{dataset}/documents",
        data=form(("r8_shiryo-3.html", page.encode())),
        headers=auth(owner),
    )
    assert uploaded.status == 200

    async def summary(name: str, key: str) -> tuple[int, dict[str, object]]:
        response = await client.post("/api/v1/summarize", json={"doc_id": name}, headers=auth(key))
        return response.status, await response.json()

    # Neither the title (窓口案内) nor the text shares a word with the file name.
    for name in ("r8_shiryo-3.html", "r8_shiryo-3", "Ｒ８_ＳＨＩＲＹＯ-3.HTML"):
        status, body = await summary(name, owner)
        assert status == 200 and str(body["answer"]).startswith("「窓口案内」の要約です"), name
    status, _ = await summary("r8_shiryo-3.html", other)  # organization-only
    assert status == 404
    status, _ = await summary("r8%", owner)  # a name, not a pattern
    assert status == 404


async def test_a_file_name_is_preferred_to_a_title_that_contains_it(setup) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    dataset = await create(client, owner, name="防災資料", category="計画")

    def page(title: str, text: str) -> bytes:
        return (
            f"<html><head><title>{title}</title></head><body><p>{text}</p></body></html>".encode()
        )

    uploaded = await client.post(
        f"/api/v1/datasets/{dataset}/documents",
        data=form(
            ("防災計画.html", page("窓口案内", "窓口の受付時間は午前8時30分からとする。")),
            ("gaiyo.html", page("地域防災計画の概要", "避難所の開設手順を定める。")),
        ),
        headers=auth(owner),
    )
    assert uploaded.status == 200
    response = await client.post(
        "/api/v1/summarize", json={"doc_id": "防災計画"}, headers=auth(owner)
    )
    body = await response.json()
    assert response.status == 200 and str(body["answer"]).startswith("「窓口案内」の要約です")


async def test_a_dataset_held_by_another_upload_or_deletion_is_left_alone(
    setup, app_database_url: str
) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    dataset = await create(client, owner, name="ごみ規則", category="条例・規則・例規")
    url = f"/api/v1/datasets/{dataset}/documents"
    await client.post(url, data=form((RULE_FILE, RULE_V1.encode())), headers=auth(owner))
    engine = create_db_engine(app_database_url)
    elsewhere = DatasetService(engine)  # another process: a CLI ingest, a second web process
    try:
        elsewhere.hold(dataset, "other-process")
        upload = await client.post(
            url, data=form((RULE_FILE, RULE_V2.encode())), headers=auth(owner)
        )
        deletion = await client.delete(f"/api/v1/datasets/{dataset}", headers=auth(owner))
        for refused in (upload, deletion):
            error = (await refused.json())["error"]
            assert refused.status == 409, error
            assert error["code"] == "dataset_busy" and "処理中です" in error["message"]
            # When the other process's hold lapses at the latest (two minutes, renewed).
            assert 1 <= int(refused.headers["Retry-After"]) <= 120
        asked = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth(owner))
        assert "第二水曜日" in (await asked.json())["answer"]  # nothing written, nothing deleted

        elsewhere.let_go(dataset, "other-process")
        swapped = await client.post(
            url, data=form((RULE_FILE, RULE_V2.encode())), headers=auth(owner)
        )
        assert swapped.status == 200 and (await swapped.json())["written"] == 1

        # A process killed while it held the dataset: its hold lapses.
        elsewhere.hold(dataset, "killed-process")
        with engine.begin() as connection:
            lapsed = datetime.now(UTC) - timedelta(seconds=1)
            connection.execute(
                update(Dataset).where(col(Dataset.id) == dataset).values(held_until=lapsed)
            )
        deleted = await client.delete(f"/api/v1/datasets/{dataset}", headers=auth(owner))
        assert deleted.status == 200 and (await deleted.json())["documents"] == 1
        with pytest.raises(NotFound):  # nothing left to hold
            elsewhere.hold(dataset, "other-process")
    finally:
        engine.dispose()


async def test_one_document_uploaded_by_mistake_is_deleted_alone(setup) -> None:
    client, api_keys = setup
    owner, other = api_keys["テスト市"], api_keys["よその市"]
    dataset = await create(client, owner, name="ごみ規則", category="条例・規則・例規")
    url = f"/api/v1/datasets/{dataset}/documents"
    wrong = "テスト市犬の登録要綱.txt"
    files = form((RULE_FILE, RULE_V1.encode()), (wrong, "犬の登録は保健所で受け付ける。".encode()))
    assert (await client.post(url, data=files, headers=auth(owner))).status == 200
    doc_id = f"ds{dataset}/{wrong}"

    refused = await client.delete(f"{url}/{doc_id}", headers=auth(other))
    assert refused.status == 404  # another organization's dataset is not even named
    deleted = await client.delete(f"{url}/{doc_id}", headers=auth(owner))
    assert deleted.status == 200 and (await deleted.json())["deleted"] == doc_id
    again = await client.delete(f"{url}/{doc_id}", headers=auth(owner))
    assert again.status == 404 and "文書ID" in (await again.json())["error"]["message"]
    # Named by its file name, the reply gives the id and title of what was deleted.
    await client.post(
        url, data=form((wrong, "犬の登録は保健所で受け付ける。".encode())), headers=auth(owner)
    )
    by_name = await client.delete(f"{url}/{wrong.removesuffix('.txt')}", headers=auth(owner))
    assert await by_name.json() == {
        "deleted": doc_id,
        "title": "テスト市犬の登録要綱",
        "dataset": dataset,
    }

    listed = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth(owner))).json()
    assert [d["title"] for d in listed["document_list"]] == ["テスト市粗大ごみ収集規則"]
    dog = await client.post(
        "/api/v1/ask", json={"question": "犬の登録はどこで受け付けますか"}, headers=auth(owner)
    )
    assert wrong.removesuffix(".txt") not in [c["title"] for c in (await dog.json())["citations"]]
    kept = await client.post("/api/v1/ask", json={"question": QUESTION}, headers=auth(owner))
    assert "第二水曜日" in (await kept.json())["answer"]


async def test_an_upload_over_the_limit_says_the_limit(setup) -> None:
    client, api_keys = setup
    dataset = await create(client, api_keys["テスト市"], name="大きい", category="計画")
    big = form(("計画.txt", b"a" * (21 * 1024 * 1024)))
    response = await client.post(
        f"/api/v1/datasets/{dataset}/documents", data=big, headers=auth(api_keys["テスト市"])
    )
    assert response.status == 413 and "上限 20MB" in (await response.json())["error"]["message"]


async def test_the_reply_names_the_scanned_pages_of_a_pdf_and_the_rest_is_searchable(
    setup,
) -> None:
    client, api_keys = setup
    owner = api_keys["テスト市"]
    dataset = await create(client, owner, name="予算", category="予算・決算")
    url = f"/api/v1/datasets/{dataset}/documents"
    text_page = ["令和8年度テスト市予算書", "テスト市の歳入の総額は512億円です。"]
    pages = [text_page, SCANNED_PAGE, ["歳出の内訳"], *[SCANNED_PAGE] * 3]

    async def upload(name: str, data: bytes) -> dict[str, Any]:
        response = await client.post(url, data=form((name, data)), headers=auth(owner))
        assert response.status == 200, await response.text()
        return await response.json()

    first = await upload("予算書.pdf", japanese_pdf(pages))
    assert first["written"] == 1
    assert (
        "「予算書.pdf」の 2・4〜6ページは文字を読み取れませんでした。"
        "スキャンした画像のページは検索できません（OCR には対応していません）。" in first["message"]
    )
    asked = await client.post(
        "/api/v1/ask", json={"question": "テスト市の歳入の総額は"}, headers=auth(owner)
    )
    assert "512億円" in (await asked.json())["answer"]
    # Sent again, it is unchanged, and its pages are still named.
    again = await upload("予算書.pdf", japanese_pdf(pages))
    assert (again["written"], again["unchanged"]) == (0, 1)
    assert "2・4〜6ページは文字を読み取れませんでした" in again["message"]
    digital = await upload("概要.pdf", japanese_pdf([text_page, ["歳出の内訳"]]))
    assert digital["written"] == 1 and "読み取れ" not in digital["message"]
