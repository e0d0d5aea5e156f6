"""The scheduler process (APScheduler 3)."""

from __future__ import annotations

import asyncio
import logging
import signal

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from baibain.bot.services import open_services
from baibain.bot.settings import Settings

log = logging.getLogger(__name__)


async def run_worker(settings: Settings) -> None:
    """Run scheduled jobs until SIGINT/SIGTERM.

    Jobs (dataset refresh, quota roll-over, retention purge, usage report) are registered
    here as their back ends land; for now the scheduler starts with none.
    """
    services = await open_services(settings, load_sample=False)
    scheduler = AsyncIOScheduler(timezone="Asia/Tokyo")
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
