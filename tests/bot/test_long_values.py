"""Values longer or larger than the database's columns hold (PostgreSQL refuses them, SQLite
would keep them): refused up front with the limit, or cut where only a listing shows them,
never a traceback or a document the index holds and the dataset does not list."""

from __future__ import annotations

import json
from pathlib import Path

from support import org_with_key

from bot.app import create_app


def _corpus(path: Path, **row: str) -> Path:
    path.write_text(json.dumps({"id": "r1", "text": "粗大ごみは第二水曜日に収集する。", **row}))
    return path


def test_ingest_refuses_ids_too_long_and_lists_documents_with_long_titles(
    run, tmp_path: Path, app_database_url: str
) -> None:
    db = {"BAIBAIN_DATABASE_URL": app_database_url}
    assert run("org", "create", "テスト市", **db).exit_code == 0
    ingest = ("ingest", "--org", "テスト市", "--category", "計画", "--dataset")

    long_id = _corpus(tmp_path / "ids.jsonl", id="r" * 600, title="粗大ごみ")
    refused = run(*ingest, "id", str(long_id), **db)
    assert refused.exit_code == 2, refused.output
    assert "ids.jsonl の文書ID" in refused.output and "500文字を超えます" in refused.output
    assert "id（計画" not in run("dataset", "list", "--org", "テスト市", **db).output

    long_title = _corpus(tmp_path / "titles.jsonl", title="粗大ごみ収集規則" * 80)
    ingested = run(*ingest, "題名", str(long_title), **db)
    assert ingested.exit_code == 0, ingested.output
    assert (
        "[2] 題名（計画・組織内のみ・1件）"
        in run("dataset", "list", "--org", "テスト市", **db).output
    )

    licensed = run(*ingest, "長い", str(long_title), "--license", "CC" * 101, **db)
    assert licensed.exit_code == 2
    assert "ライセンスは200文字以内で指定してください（202文字あります）" in licensed.output


async def test_rest_refuses_dataset_fields_longer_than_their_columns(
    aiohttp_client, make_db_settings, data_dir: Path, app_database_url: str
) -> None:
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    headers = {"Authorization": f"Bearer {org_with_key(data_dir, 'テスト市', app_database_url)}"}
    for field, value, limit in (
        ("license", "CC" * 101, 200),
        ("publisher", "市" * 201, 200),
        ("source_url", "https://example.jp/" + "a" * 2000, 2000),
        ("attested_by", "法務課" * 90, 255),
    ):
        body = {"name": field, "category": "計画", field: value}
        response = await client.post("/api/v1/datasets", json=body, headers=headers)
        assert response.status == 400, (field, await response.text())
        assert f"{limit}文字以内" in (await response.json())["error"]["message"]
    created = await client.post(
        "/api/v1/datasets", json={"name": "例規", "category": "計画"}, headers=headers
    )
    attest = await client.post(
        f"/api/v1/datasets/{(await created.json())['id']}/attest",
        json={"attested_by": "法務課" * 90},
        headers=headers,
    )
    assert attest.status == 400 and "255文字以内" in (await attest.json())["error"]["message"]
    listed = await (await client.get("/api/v1/datasets", headers=headers)).json()
    uploaded = [(d["name"], d["visibility"]) for d in listed["datasets"] if not d["bundled"]]
    assert uploaded == [("例規", "organization")]


def test_a_default_budget_beyond_what_the_database_holds_is_named(
    run, app_database_url: str
) -> None:
    db = {"BAIBAIN_DATABASE_URL": app_database_url}
    assert run("org", "create", "テスト市", **db).exit_code == 0
    shown = run("quota", "show", "テスト市", BAIBAIN_MONTHLY_TOKEN_BUDGET="3000000000", **db)
    assert shown.exit_code == 2, shown.output
    assert "BAIBAIN_MONTHLY_TOKEN_BUDGET: 2147483647 以下の値を指定してください" in shown.output
