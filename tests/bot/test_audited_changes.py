"""Every administrative change stands with its audit record or not at all: when the record
cannot be written (the database refuses it, as on a full disk), the administrator is told so
and nothing changed; otherwise exactly one record is written and ``baibain audit verify``
accepts the chain. The command line and the REST API, on SQLite and PostgreSQL (``db_engine``'s
database, which they are pointed at)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from support import org_with_key, refusing_inserts
from typer.testing import Result

from admin import links, orgs
from admin.audit_models import RECORD, AuditWriteFailed
from admin.quotas import QuotaService
from bot.app import create_app

NOT_DONE = (
    AuditWriteFailed.default_message
)  # 「…記録処理に失敗したため、処理を完了できませんでした…」
RULE_FILE = "テスト市粗大ごみ収集規則.txt"
RULE_V1 = "テスト市粗大ごみ収集規則\n粗大ごみは毎月第二水曜日に収集する。"
RULE_V2 = "テスト市粗大ごみ収集規則\n粗大ごみは毎月第四金曜日に収集する。"


def records(engine: Engine) -> list[tuple[str, str | None]]:
    """``(kind, org_id)`` of every audit record, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(RECORD.c.kind, RECORD.c.org_id).order_by(RECORD.c.seq))
        return [(kind, org_id) for kind, org_id in rows]


def verified(run: Callable[..., Result], url: str) -> str:
    result = run("audit", "verify", BAIBAIN_DATABASE_URL=url)
    assert result.exit_code == 0, result.output
    return result.output


def last_action(run: Callable[..., Result], url: str, org: str) -> str:
    """The action of the organization's newest record (``audit export``, which records itself
    after it)."""
    exported = run("audit", "export", "--org", org, BAIBAIN_DATABASE_URL=url)
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    return str(rows[-1]["payload"]["action"])


# --- the command line ------------------------------------------------------------------------

# command line -> (the action recorded, the organization it is recorded for)
CLI_CHANGES = {
    ("org", "create", "川崎市"): ("org.create", "川崎市"),
    ("org", "create", "横浜市", "--operator"): ("org.set_operator", "横浜市"),
    ("org", "link", "横浜市", "teams", "tenant-2"): ("org.link", "横浜市"),
    ("org", "add-admin", "横浜市", "logo", "L2"): ("org.add_admin", "横浜市"),
    ("org", "unlink", "横浜市", "slack", "T1"): ("org.unlink", "横浜市"),
    ("org", "remove-admin", "横浜市", "slack", "U1"): ("org.remove_admin", "横浜市"),
    ("apikey", "create", "--org", "横浜市"): ("apikey.create", "横浜市"),
    ("apikey", "revoke", "{key_id}"): ("apikey.revoke", "横浜市"),
    ("quota", "set", "横浜市", "5000"): ("quota.set", "横浜市"),
}


def administered(engine: Engine) -> tuple[Any, ...]:
    """What ``org list`` and ``quota show`` tell an administrator."""
    overview = links.org_overview(engine)
    quotas = QuotaService(engine, 1_000_000)
    budgets = [(q.budget, q.offline_when_exhausted) for q in map(quotas.status, ["1", "2"])]
    return tuple(overview), tuple(budgets)


@pytest.mark.parametrize("command", list(CLI_CHANGES), ids=[" ".join(c) for c in CLI_CHANGES])
def test_a_cli_change_stands_only_with_its_record(
    run: Callable[..., Result], db_engine: Engine, database_url: str, command: tuple[str, ...]
) -> None:
    orgs.create_org(db_engine, "横浜市")
    links.link_workspace(db_engine, "横浜市", "slack", "T1")
    links.add_admin(db_engine, "横浜市", "slack", "U1")
    key = orgs.create_api_key(db_engine, "横浜市")
    args = [arg.format(key_id=key.prefix) for arg in command]
    action, org = CLI_CHANGES[command]
    before = administered(db_engine)

    with refusing_inserts(db_engine, "audit_record"):
        refused = run(*args, BAIBAIN_DATABASE_URL=database_url)
    assert refused.exit_code == 1, refused.output
    assert f"エラー: {NOT_DONE}" in refused.output
    assert administered(db_engine) == before
    assert records(db_engine) == []

    done = run(*args, BAIBAIN_DATABASE_URL=database_url)
    assert done.exit_code == 0, done.output
    assert administered(db_engine) != before
    assert records(db_engine) == [("admin", orgs.get_org(db_engine, org).id)]
    assert "（1 件を確認しました）" in verified(run, database_url)
    assert last_action(run, database_url, org) == action


def test_an_ingest_whose_records_cannot_be_written_creates_no_dataset(
    run: Callable[..., Result], db_engine: Engine, database_url: str, tmp_path: Path
) -> None:
    orgs.create_org(db_engine, "テスト市")
    rule = tmp_path / RULE_FILE
    rule.write_text(RULE_V1, "utf-8")
    ingest = ("ingest", str(rule), "--dataset", "例規", "--category", "条例・規則・例規")
    with refusing_inserts(db_engine, "audit_record"):
        refused = run(*ingest, "--org", "テスト市", BAIBAIN_DATABASE_URL=database_url)
    assert refused.exit_code == 1 and NOT_DONE in refused.output
    listed = run("dataset", "list", "--org", "テスト市", BAIBAIN_DATABASE_URL=database_url)
    assert "例規" not in listed.output
    assert records(db_engine) == []


# --- the REST API ------------------------------------------------------------------------------

Headers = dict[str, str]


async def seen(client: Any, owner: Headers, other: Headers) -> tuple[Any, ...]:
    """What the two organizations see of the rule: the datasets listed, the owner's answer,
    whether the other organization is answered from it."""
    question = {"question": "粗大ごみの収集日はいつですか"}
    lists = [await (await client.get("/api/v1/datasets", headers=h)).json() for h in (owner, other)]
    listed = [
        sorted((d["name"], d["visibility"], d["documents"]) for d in body["datasets"])
        for body in lists
    ]
    asked = [
        await (await client.post("/api/v1/ask", json=question, headers=h)).json()
        for h in (owner, other)
    ]
    days = [day for day in ("第二水曜日", "第四金曜日") if day in asked[0]["answer"]]
    other_cites = "テスト市粗大ごみ収集規則" in [c["title"] for c in asked[1]["citations"]]
    return listed[0], listed[1], days, other_cites


def rule_form(text: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    data.add_field("file", text.encode(), filename=RULE_FILE)
    return data


REST_CHANGES: dict[str, Callable[[Any, int, Headers], Any]] = {
    "create": lambda client, _ds, h: client.post(
        "/api/v1/datasets", json={"name": "新しい規則", "category": "条例・規則・例規"}, headers=h
    ),
    "upload": lambda client, ds, h: client.post(
        f"/api/v1/datasets/{ds}/documents", data=rule_form(RULE_V2), headers=h
    ),
    "attest": lambda client, ds, h: client.post(
        f"/api/v1/datasets/{ds}/attest", json={"attested_by": "法務担当 山田"}, headers=h
    ),
    "delete document": lambda client, ds, h: client.delete(
        f"/api/v1/datasets/{ds}/documents/ds{ds}/{RULE_FILE}", headers=h
    ),
    "delete": lambda client, ds, h: client.delete(f"/api/v1/datasets/{ds}", headers=h),
}


@pytest.mark.parametrize("action", list(REST_CHANGES), ids=list(REST_CHANGES))
async def test_a_rest_change_stands_only_with_its_record(
    aiohttp_client: Any,
    make_settings: Any,
    data_dir: Path,
    database_url: str,
    db_engine: Engine,
    run: Callable[..., Result],
    action: str,
) -> None:
    client = await aiohttp_client(
        create_app(make_settings(host="0.0.0.0", database_url=database_url))
    )
    owner = {"Authorization": f"Bearer {org_with_key(data_dir, 'テスト市', database_url)}"}
    other = {"Authorization": f"Bearer {org_with_key(data_dir, 'よその市', database_url)}"}
    body = {"name": "ごみ規則", "category": "条例・規則・例規"}
    dataset = (await (await client.post("/api/v1/datasets", json=body, headers=owner)).json())["id"]
    uploaded = await client.post(
        f"/api/v1/datasets/{dataset}/documents", data=rule_form(RULE_V1), headers=owner
    )
    assert uploaded.status == 200
    before, recorded = await seen(client, owner, other), len(records(db_engine))
    assert before[2] == ["第二水曜日"] and not before[3]

    with refusing_inserts(db_engine, "audit_record"):
        refused = await REST_CHANGES[action](client, dataset, owner)
    error = (await refused.json())["error"]
    assert (refused.status, error["code"], error["message"]) == (
        503,
        "audit_write_failed",
        NOT_DONE,
    )
    assert await seen(client, owner, other) == before
    assert len(records(db_engine)) == recorded + 2  # the two questions asked to see it

    done = await REST_CHANGES[action](client, dataset, owner)
    assert done.status in (200, 201), await done.text()
    assert await seen(client, owner, other) != before
    new = records(db_engine)[recorded + 2 :]
    # The change's record, then the two questions asked to see the result.
    assert [kind for kind, _org in new] == ["admin", "turn", "turn"]
    await client.close()
    assert "改ざんされていません" in verified(run, database_url)
