"""The worker: a changed source is re-ingested, an unchanged one skipped, each run claimed once."""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from support import serving

from admin.orgs import create_org
from admin.quotas import previous_period
from bot.asker import Asker
from bot.refresh import refresh_dataset
from bot.services import Services, open_services
from bot.worker import RunOutcome, run_job, use_services

V1 = "施設名,休館日\n市民体育館,毎週月曜日\n中央図書館,毎週火曜日\n"
V2 = "施設名,休館日\n市民体育館,毎週水曜日\n中央図書館,毎週火曜日\n"


class Source:
    """A municipal open-data server that honours If-None-Match."""

    def __init__(self) -> None:
        self.body, self.etag = V1, '"v1"'
        self.seen: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request.headers.get("If-None-Match", ""))
        if self.etag and request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304)
        headers = {"ETag": self.etag} if self.etag else {}
        return web.Response(text=self.body, content_type="text/csv", headers=headers)


@pytest.fixture
async def source() -> AsyncIterator[tuple[Source, str]]:
    state = Source()
    app = web.Application()
    app.router.add_get("/shisetsu.csv", state.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield state, str(server.make_url("/shisetsu.csv"))
    await server.close()


@pytest.fixture
async def services(make_db_settings) -> AsyncIterator[Services]:
    # The test sources listen on loopback, a network an operator has to allow.
    opened = await open_services(make_db_settings(fetch_allowed_networks="127.0.0.0/8"))
    use_services(opened)
    yield opened
    use_services(None)
    await opened.close()


async def closed_on(services: Services, org_id: str) -> str:
    answer = await services.assistant.ask("市民体育館の休館日はいつですか", Asker(org_id, "cli"))
    return answer.text


async def test_refresh_reingests_changed_sources_and_skips_unchanged(services, source) -> None:
    state, url = source
    org = create_org(services.engine, "テスト市")
    dataset = services.datasets.create(org.id, "施設一覧", "統計", source_url=url, refresh_hours=24)
    due = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert await run_job("dataset-refresh", due) is RunOutcome.DONE
    assert await run_job("dataset-refresh", due) is RunOutcome.SKIPPED  # a second worker, same run
    assert "毎週月曜日" in await closed_on(services, org.id)

    unchanged = await refresh_dataset(services, dataset)
    assert unchanged.not_modified and state.seen[-1] == '"v1"'

    state.body, state.etag = V2, '"v2"'
    changed = await refresh_dataset(services, dataset)
    assert (changed.written, changed.not_modified) == (1, False)
    text = await closed_on(services, org.id)
    assert "毎週水曜日" in text and "毎週月曜日" not in text

    state.etag = ""  # a server without validators: same bytes are recognised by their hash
    same = await refresh_dataset(services, dataset)
    assert (same.written, same.unchanged) == (0, 1)
    assert services.datasets.get(dataset.id, org.id).documents == 1


async def test_a_broken_source_keeps_the_previous_version(services, source) -> None:
    state, url = source
    org = create_org(services.engine, "テスト市")
    dataset = services.datasets.create(org.id, "施設一覧", "統計", source_url=url)
    await refresh_dataset(services, dataset)
    state.body, state.etag = "\x00\x01 not a csv", '"broken"'
    failed = await refresh_dataset(services, dataset)
    assert failed.error
    assert "毎週月曜日" in await closed_on(services, org.id)


def archive(**members: str) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as bundle:
        for name, text in members.items():
            bundle.writestr(name, text)
    return data.getvalue()


async def test_a_rule_dropped_from_the_source_archive_stops_answering(services) -> None:
    rules = {
        "gomi.txt": "テスト市ごみ出し規則\n粗大ごみは毎月第二水曜日に収集する。",
        "shisetsu.txt": "テスト市体育館規則\n市民体育館の休館日は毎週月曜日とする。",
    }
    served = {"body": archive(**rules)}

    async def handle(_request: web.Request) -> web.Response:
        return web.Response(body=served["body"], content_type="application/zip")

    async with serving({"/reiki.zip": handle}) as server:
        org = create_org(services.engine, "テスト市")
        url = str(server.make_url("/reiki.zip"))
        dataset = services.datasets.create(org.id, "例規集", "条例・規則・例規", source_url=url)
        first = await refresh_dataset(services, dataset)
        assert (first.written, first.removed) == (2, 0)
        assert "毎週月曜日" in await closed_on(services, org.id)
        # The gymnasium rule is repealed: the next archive no longer holds it.
        served["body"] = archive(**{"gomi.txt": rules["gomi.txt"]})
        second = await refresh_dataset(services, dataset)
        assert (second.written, second.unchanged, second.removed) == (0, 1, 1)
        assert "毎週月曜日" not in await closed_on(services, org.id)
        assert services.datasets.get(dataset.id, org.id).documents == 1


def old_event_claim(services: Services) -> None:
    """A Slack event claimed three days ago, which the retention job forgets."""
    from datetime import timedelta

    from sqlmodel import Session, select

    from admin import links
    from admin.models import ProcessedEvent

    assert links.claim_event(services.engine, "slack", "Ev-old")
    with Session(services.engine) as session:
        row = session.exec(select(ProcessedEvent)).one()
        row.claimed_at = datetime.now(UTC) - timedelta(days=3)
        session.add(row)
        session.commit()


async def test_retention_job_forgets_old_event_claims(services) -> None:
    from admin import links

    old_event_claim(services)
    assert await run_job("retention", datetime(2026, 11, 26, 18, 0, tzinfo=UTC)) is RunOutcome.DONE
    assert links.claim_event(services.engine, "slack", "Ev-old")  # claimable again


async def test_usage_reports_are_written_once_and_a_missing_one_later(services) -> None:
    first = create_org(services.engine, "テスト市")
    folder = services.settings.data_dir / "reports"
    last_month = previous_period(datetime.now(UTC))
    assert (
        await run_job("usage-report", datetime(2026, 12, 1, 19, 0, tzinfo=UTC)) is RunOutcome.DONE
    )
    report = folder / f"usage-{last_month}-org{first.id}.csv"
    assert report.read_text("utf-8-sig").startswith("period,metric,key,value")
    report.write_text("kept", "utf-8")
    # An organization added since, or one a failed run left out, gets its report the next day;
    # a report already written is not rewritten.
    second = create_org(services.engine, "よその市")
    assert (
        await run_job("usage-report", datetime(2026, 12, 2, 19, 0, tzinfo=UTC)) is RunOutcome.DONE
    )
    assert report.read_text("utf-8") == "kept"
    assert (folder / f"usage-{last_month}-org{second.id}.csv").is_file()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"usage-{last_month}-org{org.id}.csv" for org in (first, second)
    )  # no temporary file left behind


async def test_a_source_read_under_a_new_file_name_replaces_the_old_one(services) -> None:
    # The city's URL redirects to the current dated file, whose name changes with each edition.
    served = {"name": "shisetsu-2026-04.csv", "body": V1}

    async def latest(_request: web.Request) -> web.Response:
        raise web.HTTPFound(f"/files/{served['name']}")

    async def dated(request: web.Request) -> web.Response:
        if request.match_info["name"] != served["name"]:
            return web.Response(status=404)
        return web.Response(text=served["body"], content_type="text/csv")

    async with serving({"/latest": latest, "/files/{name}": dated}) as server:
        org = create_org(services.engine, "テスト市")
        url = str(server.make_url("/latest"))
        dataset = services.datasets.create(org.id, "施設一覧", "統計", source_url=url)
        first = await refresh_dataset(services, dataset)
        assert first.written == 1 and "毎週月曜日" in await closed_on(services, org.id)
        served.update(name="shisetsu-2026-05.csv", body=V2)
        second = await refresh_dataset(services, dataset)
        assert (second.written, second.removed) == (1, 1)
        assert "毎週月曜日" not in await closed_on(services, org.id)
        assert "毎週水曜日" in await closed_on(services, org.id)
        assert services.datasets.get(dataset.id, org.id).documents == 1


async def test_an_unchanged_source_is_asked_again_only_after_its_interval(services, source) -> None:
    from datetime import timedelta

    from sqlmodel import Session

    from admin.datasets import Dataset

    state, url = source
    org = create_org(services.engine, "テスト市")
    dataset = services.datasets.create(org.id, "施設一覧", "統計", source_url=url, refresh_hours=24)
    assert (await refresh_dataset(services, dataset)).written == 1
    with Session(services.engine) as session:  # the last refresh was yesterday
        row = session.get(Dataset, dataset.id)
        assert row is not None
        row.refreshed_at = datetime.now(UTC) - timedelta(hours=25)
        session.add(row)
        session.commit()
    assert (
        await run_job("dataset-refresh", datetime(2026, 11, 26, 3, 0, tzinfo=UTC))
        is RunOutcome.DONE
    )
    assert state.seen[-1] == '"v1"'  # answered 304 Not Modified
    asked = len(state.seen)
    # Half an hour later the source is not asked again: 304 counts as a refresh.
    assert services.datasets.due_for_refresh() == []
    assert (
        await run_job("dataset-refresh", datetime(2026, 11, 26, 3, 30, tzinfo=UTC))
        is RunOutcome.DONE
    )
    assert len(state.seen) == asked
    # Its validators are kept for the refresh after the interval.
    assert services.datasets.source_state(dataset.id).etag == '"v1"'


async def test_a_run_missed_while_no_worker_ran_is_made_up_once_on_start(
    services, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio
    from datetime import timedelta

    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
    from sqlmodel import Session, select

    from admin.joblocks import JobRun
    from bot.worker import start_scheduler

    first = start_scheduler(services.engine)
    first.pause()
    # The worker was stopped for maintenance over 03:00: the purge fell due ten minutes ago.
    first.modify_job("retention", next_run_time=datetime.now(UTC) - timedelta(minutes=10))
    first.shutdown(wait=False)

    done = asyncio.Event()

    def executed(event: JobExecutionEvent) -> None:
        if event.job_id == "retention":
            done.set()

    caplog.set_level(logging.INFO, logger="apscheduler")
    second = start_scheduler(services.engine)
    second.add_listener(executed, EVENT_JOB_EXECUTED)
    try:
        await asyncio.wait_for(done.wait(), timeout=20)
        # The scheduler's own log lines name the job, not the callback every job shares.
        assert any('Running job "retention ' in r.getMessage() for r in caplog.records)
        job = second.get_job("retention")
        assert job is not None and job.next_run_time > datetime.now(UTC)
    finally:
        second.shutdown(wait=False)
    with Session(services.engine) as session:
        runs = session.exec(select(JobRun).where(JobRun.job_id == "retention")).all()
    assert len(runs) == 1


async def test_two_workers_run_one_scheduled_run_once_whenever_their_callbacks_start(
    services,
) -> None:
    import asyncio
    from datetime import timedelta

    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
    from sqlmodel import Session, select

    from admin.joblocks import JobRun
    from bot.worker import start_scheduler

    # Interval jobs keep the seconds of the worker's first start: this clean-up fell due 0.1 s
    # before a minute ended, so callbacks starting just before and just after it are one run.
    fire = (datetime.now(UTC) - timedelta(minutes=5)).replace(second=59, microsecond=900_000)
    results: asyncio.Queue[object] = asyncio.Queue()

    def executed(event: JobExecutionEvent) -> None:
        if event.job_id == "quota-reservations":
            results.put_nowait(event.retval)

    first = start_scheduler(services.engine)
    first.add_listener(executed, EVENT_JOB_EXECUTED)
    first.modify_job("quota-reservations", next_run_time=fire)
    assert await asyncio.wait_for(results.get(), timeout=20) is RunOutcome.DONE  # worker A ran it
    first.pause()
    # Worker B read the job store before A wrote the next run time back, so it finds the same
    # run due; its callback starts later, in another minute than the fire time.
    first.modify_job("quota-reservations", next_run_time=fire)
    second = start_scheduler(services.engine)
    second.add_listener(executed, EVENT_JOB_EXECUTED)
    try:
        assert (
            await asyncio.wait_for(results.get(), timeout=20) is RunOutcome.SKIPPED
        )  # claimed: skipped
    finally:
        first.shutdown(wait=False)
        second.shutdown(wait=False)
    with Session(services.engine) as session:
        runs = session.exec(select(JobRun).where(JobRun.job_id == "quota-reservations")).all()
    assert [run.run_key for run in runs] == [fire.isoformat()]


async def test_a_run_left_by_a_killed_worker_is_taken_up_once_its_hold_lapses(services) -> None:
    import asyncio
    from datetime import timedelta

    from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
    from sqlmodel import Session, select

    from admin import links
    from admin.joblocks import JobRun, claim_run
    from bot.worker import RESUME_JOB, start_scheduler

    old_event_claim(services)
    # Worker A claimed the 03:00 purge and is killed mid-run (its claim is still held).
    fire = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    assert claim_run(services.engine, "retention", fire.isoformat(), "host-a:4242:killed")
    resumed: asyncio.Queue[object] = asyncio.Queue()

    def executed(event: JobExecutionEvent) -> None:
        if event.job_id == RESUME_JOB:
            resumed.put_nowait(event.retval)

    worker_b = start_scheduler(services.engine)
    worker_b.add_listener(executed, EVENT_JOB_EXECUTED)
    try:
        assert await asyncio.wait_for(resumed.get(), timeout=20) == 0  # A may still be running
        later = fire + timedelta(days=1)
        assert (
            await run_job("retention", later) is RunOutcome.SKIPPED
        )  # never two runs of a job at once
        assert not links.claim_event(services.engine, "slack", "Ev-old")
        with Session(services.engine) as session:  # two minutes pass: A's hold lapses
            run = session.exec(select(JobRun).where(JobRun.job_id == "retention")).one()
            run.held_until = datetime.now(UTC) - timedelta(seconds=1)
            session.add(run)
            session.commit()
        worker_b.modify_job(RESUME_JOB, next_run_time=datetime.now(UTC))
        assert await asyncio.wait_for(resumed.get(), timeout=20) == 1
        worker_b.modify_job(RESUME_JOB, next_run_time=datetime.now(UTC))
        assert await asyncio.wait_for(resumed.get(), timeout=20) == 0  # finished: not again
    finally:
        worker_b.shutdown(wait=False)
    assert links.claim_event(services.engine, "slack", "Ev-old")  # the purge was done
    assert await run_job("retention", fire) is RunOutcome.SKIPPED
    with Session(services.engine) as session:
        runs = session.exec(select(JobRun).where(JobRun.job_id == "retention")).all()
    assert [(r.run_key, r.finished_at is not None) for r in runs] == [(fire.isoformat(), True)]


async def test_a_new_run_supersedes_one_let_go_unfinished(services) -> None:
    from sqlmodel import Session, select

    from admin.joblocks import JobRun, claim_run, release_run

    first = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    assert claim_run(services.engine, "dataset-refresh", first.isoformat(), "host-a:1:x")
    assert release_run(services.engine, "dataset-refresh", first.isoformat(), "host-a:1:x")
    second = datetime(2026, 11, 26, 3, 30, tzinfo=UTC)
    assert await run_job("dataset-refresh", second) is RunOutcome.DONE  # does what the first left
    with Session(services.engine) as session:
        runs = session.exec(select(JobRun).where(JobRun.job_id == "dataset-refresh")).all()
    assert all(run.finished_at is not None for run in runs) and len(runs) == 2
    assert await run_job("dataset-refresh", first) is RunOutcome.SKIPPED
