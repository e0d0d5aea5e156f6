"""A dataset whose source stops answering: its organization's admins see that its automatic
refresh fails, since when and what to do, in chat and over REST, while the previous version
stays searchable; once the source is back, the notice is gone (SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from fakes.logo import FakeLogo, logo_fake
from sqlalchemy.engine import Engine
from support import refusing_inserts, serving

from admin import links
from admin.orgs import create_api_key, create_org
from bot.app import create_app
from bot.app_keys import SERVICES
from bot.chat import CHAT
from bot.refresh import refresh_dataset
from bot.worker import RunOutcome, run_job, use_services

__all__ = ["logo_fake"]

V1 = "施設名,休館日\n市民体育館,毎週月曜日\n中央図書館,毎週火曜日\n"
V2 = "施設名,休館日\n市民体育館,毎週水曜日\n中央図書館,毎週火曜日\n"
QUESTION = "市民体育館の休館日はいつですか"
FAILING = (
    "から自動更新に失敗しています（取得元のURLから取得できませんでした）。"
    "取得元のURLを確認してください。前回取り込んだ内容で検索できます。"
)
JST = timezone(timedelta(hours=9))


class Source:
    """The city's open-data file, which can go missing (404)."""

    def __init__(self) -> None:
        self.body: str | None = V1

    async def handle(self, _request: web.Request) -> web.Response:
        if self.body is None:
            return web.Response(status=404)
        return web.Response(text=self.body, content_type="text/csv")


def _admin_org(engine: Engine, fake: FakeLogo, name: str, workspace: str, admin: str) -> str:
    """An organization on a LoGo workspace with one admin; returns an API key of it."""
    create_org(engine, name)
    links.link_workspace(engine, name, "logo", workspace)
    links.add_admin(engine, name, "logo", admin)
    return create_api_key(engine, name).secret


@pytest.fixture
async def app(
    aiohttp_client: Any, make_db_settings: Any, app_engine: Engine, logo_fake: FakeLogo
) -> TestClient:
    settings = make_db_settings(
        host="0.0.0.0",
        fetch_allowed_networks="127.0.0.0/8",  # the test source listens on loopback
        logo_signing_secret=logo_fake.signing_secret,
        logo_reply_token=logo_fake.reply_token,
        chat_send_interval=0,
    )
    client = await aiohttp_client(create_app(settings))
    logo = client.app[CHAT].logo
    assert logo is not None
    logo.notice_after = 3600.0  # no 「しばらくお待ちください」 before a slow reply
    return client


async def said(client: TestClient, fake: FakeLogo, text: str, workspace: str, user: str) -> str:
    """What the bot replied to ``text`` typed by ``user`` on ``workspace``."""
    before = len(fake.replies)
    raw = fake.encode(fake.event(text, org_id=workspace, user_id=user))
    posted = await client.post("/logo/events", data=raw, headers=fake.signed_headers(raw))
    assert posted.status == 200
    await client.app[CHAT].tasks.join()
    [reply] = [r.text for r in fake.replies[before:]]
    return reply


async def test_admins_see_that_their_dataset_stopped_updating_until_it_updates_again(
    app: TestClient, app_engine: Engine, logo_fake: FakeLogo
) -> None:
    owner_key = _admin_org(app_engine, logo_fake, "テスト市", "ws-city", "admin-1")
    other_key = _admin_org(app_engine, logo_fake, "よその市", "ws-other", "admin-2")
    owner = {"Authorization": f"Bearer {owner_key}"}
    source = Source()
    async with serving({"/shisetsu.csv": source.handle}) as server:
        created = await app.post(
            "/api/v1/datasets",
            json={
                "name": "施設一覧",
                "category": "統計",
                "source_url": str(server.make_url("/shisetsu.csv")),
                "refresh_hours": 24,
                "attested_by": "法務担当",  # shared: another organization sees it too
            },
            headers=owner,
        )
        assert created.status == 201, await created.text()
        dataset_id = (await created.json())["id"]
        services = app.app[SERVICES]
        dataset = services.datasets.get(dataset_id, None)
        assert (await refresh_dataset(services, dataset)).written == 1

        source.body = None  # the city moved the file: the URL now answers 404
        assert (await refresh_dataset(services, dataset)).error == "source_refused"

        detail = await (await app.get(f"/api/v1/datasets/{dataset_id}", headers=owner)).json()
        refresh = detail["refresh"]
        assert refresh["error"] == "source_refused" and refresh["refreshed_at"]
        since = datetime.fromisoformat(refresh["failing_since"]).astimezone(JST)
        expected = f"※{since:%Y-%m-%d %H:%M} {FAILING}"
        assert refresh["message"] == expected.removeprefix("※")
        listed = await said(app, logo_fake, "/datasets", "ws-city", "admin-1")
        assert (
            f"[{dataset_id}] 施設一覧（統計・全参加団体と共有・テスト市・1件）\n  {expected}"
            in listed
        )
        shown = await said(app, logo_fake, f"/datasets {dataset_id}", "ws-city", "admin-1")
        assert shown.startswith(f"{expected}\nデータセット「施設一覧」の文書（1件）:")
        # The previous version still answers.
        asked = await app.post("/api/v1/ask", json={"question": QUESTION}, headers=owner)
        assert "毎週月曜日" in (await asked.json())["answer"]
        # Another organization seeing it shared has nothing to fix: it is not told.
        theirs = await said(app, logo_fake, "/datasets", "ws-other", "admin-2")
        assert "施設一覧" in theirs and "自動更新" not in theirs
        other = {"Authorization": f"Bearer {other_key}"}
        seen = await (await app.get(f"/api/v1/datasets/{dataset_id}", headers=other)).json()
        assert seen["refresh"] is None

        source.body = V2  # the file is back
        assert (await refresh_dataset(services, dataset)).written == 1
        listed = await said(app, logo_fake, "/datasets", "ws-city", "admin-1")
        assert "自動更新" not in listed and "施設一覧" in listed
        shown = await said(app, logo_fake, f"/datasets {dataset_id}", "ws-city", "admin-1")
        assert shown.startswith("データセット「施設一覧」の文書（1件）:")
        detail = await (await app.get("/api/v1/datasets", headers=owner)).json()
        [mine] = [d for d in detail["datasets"] if d["id"] == dataset_id]
        assert mine["refresh"]["error"] == "" and mine["refresh"]["failing_since"] is None
        assert mine["refresh"]["message"] == ""


async def test_a_failure_the_database_refuses_to_record_does_not_stop_the_worker(
    app: TestClient, app_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    services = app.app[SERVICES]
    source = Source()
    source.body = None
    async with serving({"/shisetsu.csv": source.handle}) as server:
        city = create_org(app_engine, "テスト市")
        url = str(server.make_url("/shisetsu.csv"))
        dataset = services.datasets.create(
            city.id, "施設一覧", "統計", source_url=url, refresh_hours=1
        )
        use_services(services)
        try:
            with refusing_inserts(app_engine, "dataset", "UPDATE"), caplog.at_level(logging.INFO):
                done = await run_job("dataset-refresh", datetime(2026, 12, 8, 3, 0, tzinfo=JST))
        finally:
            use_services(None)
    assert done is RunOutcome.DONE
    assert "dataset refresh failure not recorded" in caplog.text
    assert "error=source_refused" in caplog.text  # the run logged the failure all the same
    assert services.datasets.get(dataset.id, city.id).refresh_error == ""


async def test_a_dataset_whose_refresh_the_database_cuts_short_does_not_stop_the_others(
    app: TestClient, app_engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    # The database takes the documents but refuses to note when the dataset was refreshed.
    services = app.app[SERVICES]
    handlers = {"/shisetsu.csv": Source().handle, "/kominkan.csv": Source().handle}
    async with serving(handlers) as server:
        city = create_org(app_engine, "テスト市")
        first, second = (
            services.datasets.create(
                city.id, name, "統計", source_url=str(server.make_url(path)), refresh_hours=1
            )
            for name, path in (("施設一覧", "/shisetsu.csv"), ("公民館一覧", "/kominkan.csv"))
        )
        use_services(services)
        try:
            refusing = refusing_inserts(app_engine, "dataset", "UPDATE OF refreshed_at")
            with refusing, caplog.at_level(logging.INFO):
                done = await run_job("dataset-refresh", datetime(2026, 12, 8, 3, 0, tzinfo=JST))
        finally:
            use_services(None)
    assert done is RunOutcome.DONE
    for dataset in (first, second):
        refreshed = services.datasets.get(dataset.id, city.id)
        assert refreshed.documents == 1  # read, and searchable
        assert refreshed.refresh_error == "internal_error"  # its admins see it did not finish
    assert caplog.text.count("dataset refresh failed") == 2
    assert "体育館" not in caplog.text


async def test_a_refresh_meeting_an_upload_under_way_is_no_failure_to_report(
    app: TestClient, app_engine: Engine
) -> None:
    services = app.app[SERVICES]
    async with serving({"/shisetsu.csv": Source().handle}) as server:
        city = create_org(app_engine, "テスト市")
        url = str(server.make_url("/shisetsu.csv"))
        dataset = services.datasets.create(
            city.id, "施設一覧", "統計", source_url=url, refresh_hours=1
        )
        services.datasets.hold(dataset.id, "an upload")  # an admin's upload is under way
        assert (await refresh_dataset(services, dataset)).error == "dataset_busy"
    # The next run tries again; nothing for the admins to fix meanwhile.
    assert services.datasets.get(dataset.id, city.id).refresh_error == ""
