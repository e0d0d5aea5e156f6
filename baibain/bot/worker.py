"""The scheduler process (APScheduler 3)."""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from baibain.bot.services import Services, open_services
from baibain.bot.settings import Settings

log = logging.getLogger(__name__)


async def purge_audit_log(services: Services) -> int:
    """Delete audit records older than the retention period (verification stays intact)."""
    days = services.settings.audit_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    purged = await asyncio.to_thread(services.auditor.log.purge, cutoff)
    log.info("audit retention purged=%d older_than_days=%d", purged, days)
    return purged


async def run_worker(settings: Settings) -> None:
    """Run scheduled jobs until SIGINT/SIGTERM.

    Jobs (dataset refresh, quota roll-over, retention purge, usage report) are registered
    here as their back ends land; for now the scheduler starts with none.
    """
    services = await open_services(settings, load_sample=False)
    scheduler = AsyncIOScheduler(timezone="Asia/Tokyo")
    if settings.audit_retention_days:
        scheduler.add_job(
            purge_audit_log,
            "cron",
            hour=3,
            args=[services],
            id="audit-retention",
            replace_existing=True,
        )
    scheduler.start()
    log.info("worker started jobs=%d", len(scheduler.get_jobs()))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        await services.close()
        log.info("worker stopped")
