"""What an administrator finds in the audit log of data changes: REST actions name the API key
by its id, changes of another organization's dataset are refused and recorded as security
events, and a dataset created by ``baibain ingest`` is recorded as created."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
from support import org_with_key
from typer.testing import Result

from bot.app import create_app

RULE_FILE = "テスト市粗大ごみ収集規則.txt"
RULE = "テスト市粗大ごみ収集規則\n粗大ごみは毎月第二水曜日に収集する。"


def exported(run: Callable[..., Result], org: str, **env: str) -> list[dict[str, Any]]:
    """The organization's decrypted audit records, as ``baibain audit export`` prints them."""
    result = run("audit", "export", "--org", org, **env)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def admin_actions(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(action, who) of every administrative record, the export itself left out."""
    return [
        (r["payload"]["action"], r["user_id"])
        for r in rows
        if r["kind"] == "admin" and r["payload"]["action"] != "audit.export"
    ]


def refusals(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(refused command, who) of every security record of a refused command."""
    return [
        (r["payload"]["details"]["command"], r["user_id"])
        for r in rows
        if r["kind"] == "security" and r["payload"]["reason"] == "command_refused"
    ]


async def test_rest_changes_name_the_key_and_changes_of_others_data_are_recorded(
    aiohttp_client, make_db_settings, data_dir: Path, app_database_url: str, run
) -> None:
    audit_key = base64.b64encode(os.urandom(32)).decode()
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0", audit_key=audit_key)))
    owner = org_with_key(data_dir, "テスト市", app_database_url)
    other = org_with_key(data_dir, "よその市", app_database_url)
    mine, theirs = ({"Authorization": f"Bearer {key}"} for key in (owner, other))

    created = await client.post(
        "/api/v1/datasets", json={"name": "ごみ規則", "category": "条例・規則・例規"}, headers=mine
    )
    dataset_id = (await created.json())["id"]
    dataset = f"/api/v1/datasets/{dataset_id}"
    document = f"{dataset}/documents/ds{dataset_id}/{RULE_FILE}"

    def upload() -> aiohttp.FormData:
        data = aiohttp.FormData()
        data.add_field("file", RULE.encode(), filename=RULE_FILE)
        return data

    assert (await client.post(f"{dataset}/documents", data=upload(), headers=mine)).status == 200
    attest = {"attested_by": "法務担当 山田"}
    assert (await client.post(f"{dataset}/attest", json=attest, headers=mine)).status == 200
    # The shared dataset is visible to the other organization, but not its to change.
    refused = [
        await client.post(f"{dataset}/documents", data=upload(), headers=theirs),
        await client.post(f"{dataset}/attest", json=attest, headers=theirs),
        await client.delete(document, headers=theirs),
        await client.delete(dataset, headers=theirs),
    ]
    assert [r.status for r in refused] == [403] * 4
    assert (await client.delete(document, headers=mine)).status == 200
    assert (await client.delete(dataset, headers=mine)).status == 200
    await client.close()

    env = {"BAIBAIN_AUDIT_KEY": audit_key, "BAIBAIN_DATABASE_URL": app_database_url}
    owner_rows = await asyncio.to_thread(exported, run, "テスト市", **env)
    by_owner = f"api:{owner.split('_')[1]}"
    changes = ["dataset.upload", "dataset.attest", "document.delete", "dataset.delete"]
    assert admin_actions(owner_rows) == [(a, by_owner) for a in ["dataset.create", *changes]]
    attested = [r for r in owner_rows if r["payload"].get("action") == "dataset.attest"]
    assert attested[0]["payload"]["details"]["attested_by"] == "法務担当 山田"
    other_rows = await asyncio.to_thread(exported, run, "よその市", **env)
    # The refusals, in the order tried, are in the audit log of the key's organization.
    assert refusals(other_rows) == [(a, f"api:{other.split('_')[1]}") for a in changes]
    for key in (owner, other):
        secret = key.split("_", 2)[2]
        assert all(secret not in json.dumps(r) for r in owner_rows + other_rows)


def test_cli_ingest_records_the_dataset_it_creates_and_refuses_others_changes(
    run, tmp_path: Path
) -> None:
    rule = tmp_path / RULE_FILE
    rule.write_text(RULE, "utf-8")
    for name in ("テスト市", "よその市"):
        assert run("org", "create", name).exit_code == 0
    ingest = ("ingest", str(rule), "--dataset", "例規", "--category", "条例・規則・例規")
    assert run(*ingest, "--org", "テスト市", "--shareable").exit_code == 0
    actions = [action for action, _who in admin_actions(exported(run, "テスト市"))]
    assert actions[-3:] == ["dataset.create", "dataset.attest", "dataset.upload"]
    listed = run("dataset", "list", "--org", "よその市").output
    dataset_id = next(x for x in listed.splitlines() if "例規" in x).split("]")[0][1:]

    refused = run("dataset", "delete", dataset_id, "--org", "よその市")
    assert refused.exit_code == 2 and "他の組織のデータセットは変更できません" in refused.output
    assert [c for c, _who in refusals(exported(run, "よその市"))] == ["dataset.delete"]
    assert "例規" in run("dataset", "list", "--org", "テスト市").output
