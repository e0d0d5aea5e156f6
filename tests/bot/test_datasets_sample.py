"""The bundled sample statutes in the REST dataset listing: listed, as chat and the CLI list
them, when the index holds them; read-only for every route that changes a dataset; their name
taken by no organization's dataset."""

from __future__ import annotations

import json
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestClient
from support import org_with_key

from admin import orgs
from admin.datasets import DatasetService
from admin.db import create_db_engine
from bot.app import create_app
from bot.settings import Settings

SAMPLE = "サンプル法令データ"
LAWS = Path(__file__).resolve().parents[2] / "bot" / "sample_data" / "laws.jsonl"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def rule_form() -> aiohttp.FormData:
    upload = aiohttp.FormData()
    upload.add_field(
        "file", "テスト市規則\n第1条 この規則は試験用とする。".encode(), filename="規則.txt"
    )
    return upload


async def listed(client: TestClient, key: str) -> list[dict[str, object]]:
    response = await client.get("/api/v1/datasets", headers=auth(key))
    assert response.status == 200, await response.text()
    datasets: list[dict[str, object]] = (await response.json())["datasets"]
    return datasets


async def test_the_listing_shows_the_bundled_sample_the_questions_are_answered_from(
    aiohttp_client, make_db_settings, data_dir: Path, app_database_url: str
) -> None:
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    key = org_with_key(data_dir, "テスト市", app_database_url)
    created = await client.post(
        "/api/v1/datasets",
        json={"name": "ごみ規則", "category": "条例・規則・例規"},
        headers=auth(key),
    )
    assert created.status == 201, await created.text()
    own = await created.json()

    datasets = await listed(client, key)
    # The organization's dataset keeps its shape, with one field more saying it is not the sample.
    assert datasets[0] == {**own, "bundled": False} and isinstance(own["id"], int)
    sample = datasets[1]
    assert len(datasets) == 2 and set(sample) == set(own)
    rows = sum(1 for line in LAWS.read_text(encoding="utf-8").splitlines() if line.strip())
    assert sample == {
        "id": None,
        "org_id": "",
        "name": SAMPLE,
        "category": "法令",
        "license": "著作権法第13条により著作権の対象外",
        "publisher": "e-Gov法令検索（デジタル庁）",
        "source_url": "",
        "visibility": "shared",
        "attested_by": "",
        "attested_at": None,
        "refresh_hours": None,
        "documents": rows,
        "bundled": True,
        "refresh": None,
    }
    # What the listing names is what an answer cites and what a filter takes.
    question = {"question": "地方自治法の目的は何ですか", "filters": {"datasets": [SAMPLE]}}
    asked = await client.post("/api/v1/ask", json=question, headers=auth(key))
    assert asked.status == 200, await asked.text()
    assert SAMPLE in [c["dataset"] for c in (await asked.json())["citations"]]


async def test_changing_the_bundled_sample_or_taking_its_name_is_refused(
    aiohttp_client, make_db_settings, data_dir: Path, app_database_url: str
) -> None:
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    key = org_with_key(data_dir, "テスト市", app_database_url)
    before = await listed(client, key)
    # Its id put into a URL as Python (None) and JavaScript (null) print it, or its name.
    for target in ("None", json.dumps(None), SAMPLE):
        base = f"/api/v1/datasets/{target}"
        for response in (
            await client.delete(base, headers=auth(key)),
            await client.post(f"{base}/documents", data=rule_form(), headers=auth(key)),
            await client.post(f"{base}/attest", json={"attested_by": "法務課"}, headers=auth(key)),
            await client.delete(f"{base}/documents/322AC0000000067%231", headers=auth(key)),
        ):
            assert response.status == 404, (target, await response.text())
            error = (await response.json())["error"]
            assert error["code"] == "not_found"
            assert f"id が null の「{SAMPLE}」は同梱のデータで、読み取り専用" in error["message"]
    # Nor is its name taken: listed beside it, a dataset of that name would be filtered with it.
    for name in (SAMPLE, f" {SAMPLE}　"):  # as typed, and with the blanks a name is stripped of
        body = {"name": name, "category": "法令", "attested_by": "法務課"}
        refused = await client.post("/api/v1/datasets", json=body, headers=auth(key))
        assert refused.status == 400, await refused.text()
        error = (await refused.json())["error"]
        assert error["code"] == "bad_input"
        assert (
            f"「{SAMPLE}」は Baibain に同梱されているデータセットの名前のため使えません"
            in (error["message"])
        )
        assert f"「{SAMPLE}（〇〇市）」のように組織名を付けるなど" in error["message"]
    # Nothing changed: the sample is still listed, alone of its name, and still answers.
    assert [d["name"] for d in before].count(SAMPLE) == 1
    assert await listed(client, key) == before
    asked = await client.post(
        "/api/v1/ask", json={"question": "地方自治法の目的は何ですか"}, headers=auth(key)
    )
    assert SAMPLE in [c["dataset"] for c in (await asked.json())["citations"]]


async def test_without_the_sample_in_the_index_only_uploaded_datasets_are_listed(
    aiohttp_client, tmp_path: Path, database_url: str
) -> None:
    bare = tmp_path / "bare"
    settings = Settings(data_dir=bare, database_url=database_url, sample_data=False, host="0.0.0.0")
    client = await aiohttp_client(create_app(settings))
    key = org_with_key(bare, "テスト市", database_url)
    assert await listed(client, key) == []
    body = {"name": "ごみ規則", "category": "条例・規則・例規"}
    assert (await client.post("/api/v1/datasets", json=body, headers=auth(key))).status == 201
    assert [(d["name"], d["bundled"]) for d in await listed(client, key)] == [("ごみ規則", False)]


async def test_a_dataset_of_the_sample_s_name_made_before_keeps_working(
    aiohttp_client, make_db_settings, data_dir: Path, app_database_url: str
) -> None:
    key = org_with_key(data_dir, "テスト市", app_database_url)
    engine = create_db_engine(app_database_url)
    try:  # as a release that did not reserve the name created it
        org_id = orgs.get_org(engine, "テスト市").id
        old = DatasetService(engine).create(org_id, SAMPLE, "条例・規則・例規")
    finally:
        engine.dispose()
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    assert [(d["id"], d["bundled"]) for d in await listed(client, key)] == [
        (old.id, False),
        (None, True),
    ]
    uploaded = await client.post(
        f"/api/v1/datasets/{old.id}/documents", data=rule_form(), headers=auth(key)
    )
    assert uploaded.status == 200, await uploaded.text()
    assert (await uploaded.json())["written"] == 1
