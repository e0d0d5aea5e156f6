"""Usage figures per organization and month (JSON and CSV), never mixing organizations."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

from support import org_with_key

from admin.db import create_db_engine
from admin.links import record_feedback
from admin.orgs import get_org
from bot.app import create_app


def keys(data_dir: Path) -> dict[str, str]:
    return {name: org_with_key(data_dir, name) for name in ("テスト市", "よその市")}


async def test_usage_counts_questions_users_outcomes_and_categories(
    aiohttp_client, make_settings, data_dir: Path
) -> None:
    api_keys = keys(data_dir)
    client = await aiohttp_client(create_app(make_settings(host="0.0.0.0")))
    mine = {"Authorization": f"Bearer {api_keys['テスト市']}"}
    turns = []
    asked = ("住民監査請求をすることができるのは誰ですか", "今日のランチのおすすめは", "ありがとう")
    for question in asked:
        response = await client.post("/api/v1/ask", json={"question": question}, headers=mine)
        assert response.status == 200
        turns.append((await response.json())["turn_id"])
    # A summary of a document that is not there was not found; nothing went wrong.
    missing = {"doc_id": "存在しない計画書"}
    assert (await client.post("/api/v1/summarize", json=missing, headers=mine)).status == 404
    # A 👍 from the organization's user counts; a 👎 from another organization's does not.
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    clicks = (("テスト市", "U1", "up"), ("よその市", "U2", "down"))
    for org, user, rating in clicks:
        org_id = get_org(engine, org).id
        record_feedback(
            engine, turn_id=turns[0], platform="slack", user_id=user, rating=rating, org_id=org_id
        )
    engine.dispose()
    report = await (await client.get("/api/v1/usage", headers=mine)).json()
    assert report["feedback"] == {"up": 1}
    assert report["organization"] == "テスト市" and report["questions"] == 4
    assert report["users"] == 1  # one API key, the caller the turns are recorded under
    assert report["by_platform"] == {"api": 4}
    assert report["by_outcome"] == {"answered": 1, "not_found": 2, "command": 1}
    # Of the three questions asked of the documents (thanks looked nothing up), two found none.
    assert report["not_found_share"] == 0.6667
    assert report["by_category"]["法令"] == 1
    assert report["input_tokens"] == 0 and report["misuse_signals"] == []

    as_csv = await client.get("/api/v1/usage?format=csv", headers=mine)
    assert as_csv.content_type == "text/csv"
    raw = await as_csv.read()
    assert raw.startswith(codecs.BOM_UTF8)  # Excel on Japanese Windows reads it as UTF-8 then
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[1][1:] == ["questions", "", "4"]
    assert (await client.get("/api/v1/usage?format=xml", headers=mine)).status == 400

    theirs = {"Authorization": f"Bearer {api_keys['よその市']}"}
    other = await (await client.get("/api/v1/usage", headers=theirs)).json()
    assert other["questions"] == 0 and other["by_category"] == {}
    for period in ("2026-13", "0000-01"):
        bad = await client.get(f"/api/v1/usage?period={period}", headers=mine)
        assert bad.status == 400
    # A misspelled parameter is named, not answered with this month's figures.
    typo = await client.get("/api/v1/usage?perod=2026-04", headers=mine)
    assert typo.status == 400
    assert "クエリに使えない項目があります（perod）" in (await typo.json())["error"]["message"]
