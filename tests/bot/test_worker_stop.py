"""Stopping the worker (SIGTERM): a running job finishes within the grace period and only then
do the services close; a job still running after it is cancelled, and the log says so."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from support import serving

from admin.orgs import create_org
from bot.asker import Asker
from bot.services import open_services
from bot.settings import Settings
from bot.worker import run_worker, start_scheduler

SOURCE = "施設名,休館日\n市民体育館,毎週月曜日\n"
QUESTION = "市民体育館の休館日はいつですか"


class HeldSource:
    """A dataset source that answers only once released (a slow municipal server)."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.release = asyncio.Event()

    async def handle(self, _request: web.Request) -> web.Response:
        self.asked.set()
        await self.release.wait()
        return web.Response(text=SOURCE, content_type="text/csv")


class WorkerLog(logging.Handler):
    """The messages ``bot.worker`` logs (all from the event loop); ``seen`` waits for one."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []
        self._logged = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        self._logged.set()

    async def seen(self, text: str) -> None:
        while not any(text in message for message in self.messages):
            self._logged.clear()
            await self._logged.wait()


@pytest.fixture
def worker_log() -> Iterator[WorkerLog]:
    logger = logging.getLogger("bot.worker")
    handler, level = WorkerLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


async def refresh_due(settings: Settings, url: str) -> tuple[str, int]:
    """An organization with a dataset read from ``url``, whose refresh fell due while no worker
    was running (so the worker runs it as it starts)."""
    services = await open_services(settings, load_sample=False)
    try:
        org = create_org(services.engine, "テスト市")
        dataset = services.datasets.create(
            org.id, "施設一覧", "統計", source_url=url, refresh_hours=24
        )
        scheduler = start_scheduler(services.engine)
        scheduler.pause()
        due = datetime.now(UTC) - timedelta(minutes=1)
        scheduler.modify_job("dataset-refresh", next_run_time=due)
        scheduler.shutdown(wait=False)
    finally:
        await services.close()
    return org.id, dataset.id


async def stopped_while_refreshing(settings: Settings, source: HeldSource) -> asyncio.Task[None]:
    """A worker, sent SIGTERM while its dataset refresh waits for ``source``."""
    worker = asyncio.create_task(run_worker(settings))
    await asyncio.wait_for(source.asked.wait(), timeout=30)
    os.kill(os.getpid(), signal.SIGTERM)
    return worker


async def indexed(settings: Settings, org_id: str, dataset_id: int) -> tuple[int, str]:
    """The dataset's document count and the answer about the gymnasium, read afresh."""
    services = await open_services(settings, load_sample=False)
    try:
        documents = services.datasets.get(dataset_id, org_id).documents
        answer = await services.assistant.ask(QUESTION, Asker(org_id, "cli"))
        return documents, answer.text
    finally:
        await services.close()


async def test_a_refresh_running_at_sigterm_finishes_before_the_worker_stops(
    make_db_settings, worker_log: WorkerLog
) -> None:
    source = HeldSource()
    settings = make_db_settings(fetch_allowed_networks="127.0.0.0/8", sample_data=False)
    async with serving({"/shisetsu.csv": source.handle}) as server:
        org_id, dataset_id = await refresh_due(settings, str(server.make_url("/shisetsu.csv")))
        worker = await stopped_while_refreshing(settings, source)
        try:
            await asyncio.wait_for(worker_log.seen("worker stopping: waiting up to 60s"), 30)
            assert not worker.done()
            source.release.set()  # the source answers only after the stop began
            await asyncio.wait_for(worker, timeout=30)
        finally:
            source.release.set()
            await asyncio.gather(worker, return_exceptions=True)
    assert not [m for m in worker_log.messages if "cancel" in m]
    documents, answer = await indexed(settings, org_id, dataset_id)
    assert documents == 1 and "毎週月曜日" in answer


async def test_a_job_outlasting_the_grace_period_is_cancelled_and_done_at_the_next_start(
    make_db_settings, worker_log: WorkerLog
) -> None:
    from sqlmodel import Session, select

    from admin.joblocks import JobRun

    source = HeldSource()
    settings = make_db_settings(
        fetch_allowed_networks="127.0.0.0/8", sample_data=False, worker_shutdown_grace_s=0
    )
    async with serving({"/shisetsu.csv": source.handle}) as server:
        org_id, dataset_id = await refresh_due(settings, str(server.make_url("/shisetsu.csv")))
        worker = await stopped_while_refreshing(settings, source)
        try:
            await asyncio.wait_for(worker, timeout=30)  # the source never answered
        finally:
            source.release.set()
            await asyncio.gather(worker, return_exceptions=True)
        assert "job cancelled job=dataset-refresh" in worker_log.messages
        # The refresh, and on a busy machine perhaps the start's resume_unfinished too.
        stopping = [m for m in worker_log.messages if m.startswith("worker stopping: cancelling")]
        assert stopping and stopping[0].endswith("job(s) still running after 0s")
        assert worker_log.messages[-1] == "worker stopped"
        documents, answer = await indexed(settings, org_id, dataset_id)
        assert documents == 0 and "毎週月曜日" not in answer

        # The next worker to start does the run that was cut short (the source now answers).
        source.asked.clear()
        again = make_db_settings(fetch_allowed_networks="127.0.0.0/8", sample_data=False)
        restarted = asyncio.create_task(run_worker(again))
        try:
            await asyncio.wait_for(worker_log.seen("dataset refresh dataset="), 30)
            assert source.asked.is_set()
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(restarted, timeout=30)
        finally:
            await asyncio.gather(restarted, return_exceptions=True)
    assert "job resumed job=dataset-refresh" in " ".join(worker_log.messages)
    documents, answer = await indexed(settings, org_id, dataset_id)
    assert documents == 1 and "毎週月曜日" in answer
    services = await open_services(settings, load_sample=False)
    try:
        with Session(services.engine) as session:
            runs = session.exec(select(JobRun).where(JobRun.job_id == "dataset-refresh")).all()
    finally:
        await services.close()
    assert len(runs) == 1 and runs[0].finished_at is not None  # one run, done once
