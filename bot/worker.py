"""The scheduler process (APScheduler 3): dataset refresh, quota clean-up, retention purge and
the monthly usage reports.

Job definitions live in a database job store, so a restarted worker knows when each job last
ran and catches up a missed run once (coalesced). Several workers may run for availability:
each run is claimed in the database first (``claim_run``) under its scheduled fire time, so
only one of them executes it, and one job runs on one worker at a time. A stopping worker
starts no new run and lets a running one finish within a grace period; a run cancelled then,
or left by a worker that was killed, is taken up again by the next worker to start or check
(``resume_unfinished``), and a finished run never runs again.
"""

from __future__ import annotations

import asyncio
import difflib
import enum
import logging
import os
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.asyncio import AsyncIOExecutor
from apscheduler.job import Job as ScheduledJob
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from admin.joblocks import (
    HOLD,
    claim_run,
    finish_run,
    release_run,
    renew_run,
    unfinished_runs,
)
from admin.links import purge_processed_events
from admin.quotas import previous_period
from admin.usage import report_csv
from bot.refresh import refresh_dataset
from bot.services import Services, open_services
from bot.settings import Settings
from knowledge.errors import BadInput

log = logging.getLogger(__name__)

# The services of this worker process; jobs are stored in the database by reference, so they
# find their dependencies here rather than in pickled arguments.
_services: Services | None = None
Job = Callable[[Services], Awaitable[object]]


def _current() -> Services:
    if _services is None:
        raise RuntimeError("worker services are not started")
    return _services


async def refresh_datasets(services: Services) -> int:
    """Re-fetch every dataset whose refresh interval has passed; returns how many ran."""
    due = await asyncio.to_thread(services.datasets.due_for_refresh)
    for dataset in due:
        result = await refresh_dataset(services, dataset)
        log.info(
            "dataset refresh dataset=%d not_modified=%s written=%d unchanged=%d removed=%d"
            " error=%s",
            result.dataset_id,
            result.not_modified,
            result.written,
            result.unchanged,
            result.removed,
            result.error or "-",
        )
    return len(due)


async def release_stale_reservations(services: Services) -> int:
    """Give back token reservations left by crashed web processes."""
    return await asyncio.to_thread(services.quotas.release_expired)


async def purge_retained(services: Services) -> int:
    """Forget old chat event claims; delete audit records and thread history older than the
    retention period."""
    await asyncio.to_thread(purge_processed_events, services.engine)
    days = services.settings.audit_retention_days
    if not days:
        return 0
    cutoff = datetime.now(UTC) - timedelta(days=days)
    purged = await asyncio.to_thread(services.auditor.log.purge, cutoff)
    turns = await asyncio.to_thread(services.assistant.conversations.purge, cutoff)
    log.info("retention purged=%d turns=%d older_than_days=%d", purged, turns, days)
    return purged


async def write_usage_reports(services: Services) -> int:
    """Write last month's (Japan time) usage CSV of every organization that has none yet into
    ``<data dir>/reports``; returns how many were written.

    A report file appears whole or not at all, so its presence marks the report done: the job
    runs daily and writes what a failed or missed run left out.
    """
    from admin.orgs import list_orgs

    last_month = previous_period(datetime.now(UTC))
    folder = services.settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    for org in await asyncio.to_thread(list_orgs, services.engine):
        path = folder / f"usage-{last_month}-org{org.id}.csv"
        if path.exists():
            continue
        report = await asyncio.to_thread(services.usage.report, org.id, last_month)
        _write_whole(path, report_csv(report))
        written += 1
    log.info("usage reports written=%d period=%s", written, last_month)
    return written


def _write_whole(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file renamed over it."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


JOBS: dict[str, tuple[Job, dict[str, object]]] = {
    "dataset-refresh": (refresh_datasets, {"trigger": "interval", "minutes": 30}),
    "quota-reservations": (release_stale_reservations, {"trigger": "interval", "minutes": 15}),
    "retention": (purge_retained, {"trigger": "cron", "hour": 3}),
    "usage-report": (write_usage_reports, {"trigger": "cron", "hour": 4}),
}


class RunOutcome(enum.Enum):
    """What became of a run ``run_job`` was asked for."""

    DONE = "done"
    FAILED = "failed"  # the job raised; the run is finished all the same (logged)
    SKIPPED = "skipped"  # finished already, or a run of the job is under way elsewhere
    LOST = "lost"  # its claim was lost mid-run and it was cancelled; taken up again later


async def run_job(job_id: str, fire_time: datetime) -> RunOutcome:
    """Run one job unless its run due at ``fire_time`` is finished or a run of the job is under
    way (on any worker).

    The claim is renewed while the job runs, and the job is cancelled if it was lost (the
    database unreachable long enough for another worker to take the run up). A job cancelled
    (the worker stopping) lets go of its run, so the next worker to start, or one already
    running, takes it up again; a job that ends, with or without an error, finishes its run."""
    services = _current()
    run_key = fire_time.astimezone(UTC).isoformat()
    worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    engine = services.engine
    claimed = await asyncio.to_thread(claim_run, engine, job_id, run_key, worker)
    if not claimed:
        log.info("job skipped (finished or running elsewhere) job=%s", job_id)
        return RunOutcome.SKIPPED
    job, _trigger = JOBS[job_id]
    running: asyncio.Future[Any] = asyncio.ensure_future(job(services))
    holding = asyncio.create_task(_hold(engine, job_id, run_key, worker))
    try:
        await asyncio.wait({running, holding}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        await _cancel(running)
        log.warning("job cancelled job=%s", job_id)
        try:
            await asyncio.to_thread(release_run, engine, job_id, run_key, worker)
        except OperationalError:  # taken up when its hold lapses instead
            log.warning("job claim not released job=%s", job_id)
        raise
    finally:
        holding.cancel()
    if not running.done():
        await _cancel(running)
        log.warning("job cancelled (its claim was lost) job=%s", job_id)
        return RunOutcome.LOST
    failed = running.exception() is not None
    if failed:
        log.error("job failed job=%s", job_id, exc_info=running.exception())
    await asyncio.to_thread(finish_run, engine, job_id, run_key, worker)
    return RunOutcome.FAILED if failed else RunOutcome.DONE


async def _cancel(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has stopped."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _hold(engine: Engine, job_id: str, run_key: str, worker: str) -> None:
    """Renew the claim on a run until it is lost (returns) or the run ends (cancelled). A claim
    not renewed for ``HOLD`` (the database away) counts as lost: another worker may have it."""
    renewed = time.monotonic()
    while time.monotonic() - renewed < HOLD.total_seconds():
        await asyncio.sleep(HOLD.total_seconds() / 3)
        try:
            if not await asyncio.to_thread(renew_run, engine, job_id, run_key, worker):
                return
            renewed = time.monotonic()
        except OperationalError:
            log.warning("job claim not renewed job=%s", job_id)


RESUME_JOB = "resume-unfinished"


async def resume_unfinished() -> int:
    """Take up the runs let go unfinished (a worker stopped or killed mid-run); how many ran."""
    ran = 0
    for job_id, run_key in await asyncio.to_thread(unfinished_runs, _current().engine):
        if job_id in JOBS:
            log.info("job resumed job=%s run=%s", job_id, run_key)
            outcome = await run_job(job_id, datetime.fromisoformat(run_key))
            ran += outcome in (RunOutcome.DONE, RunOutcome.FAILED)
    return ran


# The scheduled fire time of the run a job task belongs to, set by ``_JobExecutor``.
_FIRE_TIME: ContextVar[datetime] = ContextVar("fire_time")


async def _scheduled(job_id: str) -> RunOutcome:
    """What the scheduler calls. The run key is the fire time the scheduler read from the shared
    job store, the same on every worker however late its callback starts."""
    return await run_job(job_id, _FIRE_TIME.get())


class _JobExecutor(AsyncIOExecutor):
    """APScheduler's asyncio executor that also hands each run its scheduled fire time
    (APScheduler 3 gives it to executors and events only) and tells which runs are unfinished."""

    def _do_submit_job(self, job: ScheduledJob, run_times: list[datetime]) -> None:
        # The task created for the run copies the context it is created in.
        token = _FIRE_TIME.set(run_times[-1])  # coalesced: the latest fire time due
        try:
            super()._do_submit_job(job, run_times)
        finally:
            _FIRE_TIME.reset(token)

    def unfinished(self) -> set[asyncio.Future[Any]]:
        """The runs submitted and not finished yet."""
        return {future for future in self._pending_futures if not future.done()}


class WorkerScheduler(AsyncIOScheduler):
    """The worker's scheduler: ``JOBS`` from the database job store, one instance of each at a
    time, a missed run caught up once; ``stop`` lets running jobs finish."""

    def __init__(self, engine: Engine) -> None:
        self._runs = _JobExecutor()
        super().__init__(
            timezone="Asia/Tokyo",
            jobstores={"default": SQLAlchemyJobStore(engine=engine), "local": MemoryJobStore()},
            executors={"default": self._runs},
            job_defaults={"coalesce": True, "misfire_grace_time": 3600, "max_instances": 1},
        )

    async def stop(self, grace_s: float) -> None:
        """Start no new run; give running ones ``grace_s`` seconds to finish, cancel those still
        running then (each logged), and shut down."""
        self.pause()
        running = self._runs.unfinished()
        if running:
            log.info("worker stopping: waiting up to %gs for %d job(s)", grace_s, len(running))
            _finished, unfinished = await asyncio.wait(running, timeout=grace_s)
            if unfinished:
                log.warning(
                    "worker stopping: cancelling %d job(s) still running after %gs",
                    len(unfinished),
                    grace_s,
                )
                for future in unfinished:
                    future.cancel()
                await asyncio.wait(unfinished)
        self.shutdown(wait=False)


def use_services(services: Services | None) -> None:
    """Make ``services`` the ones jobs run with (the worker sets it; tests may too)."""
    global _services
    _services = services


def start_scheduler(engine: Engine) -> WorkerScheduler:
    """A started scheduler running ``JOBS`` from the database job store.

    A job whose schedule is unchanged keeps the next run time stored by the worker before, so
    a run that fell due while no worker was running (within the grace time) runs now, once,
    instead of being pushed to the next day by the restart. Runs let go unfinished are taken
    up as it starts and every minute (``resume_unfinished``, this worker's own schedule).
    """
    scheduler = WorkerScheduler(engine)
    scheduler.start(paused=True)
    for job_id, (_job, trigger) in JOBS.items():
        stored = scheduler.get_job(job_id)
        job = scheduler.add_job(
            _scheduled, args=[job_id], id=job_id, name=job_id, replace_existing=True, **trigger
        )
        if stored is not None and stored.next_run_time and str(stored.trigger) == str(job.trigger):
            job.modify(next_run_time=stored.next_run_time)
    scheduler.add_job(
        resume_unfinished,
        "interval",
        minutes=1,
        id=RESUME_JOB,
        jobstore="local",
        next_run_time=datetime.now(UTC),
    )
    scheduler.resume()
    return scheduler


def job_named(name: str) -> str:
    """The id of the job ``name`` names (``baibain worker --once``); ``BadInput`` listing the
    jobs, with the closest one first, otherwise."""
    job_id = name.strip().lower()
    if job_id in JOBS:
        return job_id
    similar = difflib.get_close_matches(job_id, list(JOBS), n=1)
    hint = f"「{similar[0]}」のことですか？" if similar else ""
    raise BadInput(f"ジョブ「{name}」はありません。{hint}実行できるのは {', '.join(JOBS)} です。")


def once_report(job_id: str, outcome: RunOutcome) -> tuple[str, int]:
    """What ``baibain worker --once`` tells the operator, and its exit code."""
    if outcome is RunOutcome.DONE:
        return f"ジョブ {job_id} を実行しました。", 0
    if outcome is RunOutcome.SKIPPED:
        return (
            f"ジョブ {job_id} はほかのワーカーで実行中のため、実行しませんでした。"
            "終わってからもう一度お試しください。",
            1,
        )
    return f"ジョブ {job_id} は失敗しました（中断を含む）。ログを確認してください。", 1


@asynccontextmanager
async def _worker_services(settings: Settings) -> AsyncIterator[Services]:
    """The worker's services (no sample loading), where jobs find them while the block runs."""
    services = await open_services(settings, load_sample=False)
    use_services(services)
    try:
        yield services
    finally:
        use_services(None)
        await services.close()


async def run_once(settings: Settings, job_id: str) -> RunOutcome:
    """Run ``job_id`` now, once (``baibain worker --once``): a run of its own, claimed as a
    scheduled one is, so it does not start while a run of the job is under way on a worker.
    A run let go unfinished (a stopped worker's) is superseded by it, as by any newer run."""
    async with _worker_services(settings):
        return await run_job(job_id, datetime.now(UTC))


async def run_worker(settings: Settings) -> None:
    """Run scheduled jobs until SIGINT/SIGTERM; then let running jobs finish (at most
    ``worker_shutdown_grace_s`` seconds) before closing the services they use."""
    async with _worker_services(settings) as services:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        signals = (signal.SIGINT, signal.SIGTERM)
        for sig in signals:
            loop.add_signal_handler(sig, stop.set)
        try:
            scheduler = start_scheduler(services.engine)
            log.info("worker started jobs=%d", len(JOBS))
            try:
                await stop.wait()
            finally:
                await scheduler.stop(settings.worker_shutdown_grace_s)
        finally:
            for sig in signals:
                loop.remove_signal_handler(sig)
    log.info("worker stopped")
