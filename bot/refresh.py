"""Re-fetching datasets that have a source URL; only changed documents are re-ingested."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from admin.datasets import DatasetInfo, SourceState
from bot.fetch import FetchPolicy, fetch
from bot.services import Services
from bot.uploads import defaults_for, id_prefix
from knowledge.errors import BaibainError
from knowledge.ingest import documents_from_bytes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RefreshResult:
    """What a refresh did: ``not_modified`` (304), or how many documents were written, left
    as they were, and removed (no longer in the source)."""

    dataset_id: int
    not_modified: bool = False
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    error: str = ""


async def refresh_dataset(services: Services, dataset: DatasetInfo) -> RefreshResult:
    """Fetch the dataset's source (conditionally) and write what changed."""
    stored = await asyncio.to_thread(services.datasets.source_state, dataset.id)
    try:
        fetched = await fetch(
            dataset.source_url,
            FetchPolicy.of(services.settings),
            etag=stored.etag,
            last_modified=stored.last_modified,
        )
        if fetched.not_modified:
            # Unchanged is refreshed: the next request waits for the interval, not the next run.
            kept = SourceState(
                fetched.etag or stored.etag,
                fetched.last_modified or stored.last_modified,
                stored.name,
            )
            await asyncio.to_thread(services.datasets.remember_source, dataset.id, kept)
            return RefreshResult(dataset.id, not_modified=True)
        documents = list(
            documents_from_bytes(
                fetched.name,
                fetched.data,
                defaults_for(dataset, dataset.publisher),
                id_prefix=id_prefix(dataset),
            )
        )
        # The source may now be read under another name (a redirect to a dated file): what
        # was read under the old one is gone from the source too.
        sources = [fetched.name, stored.name] if stored.name else [fetched.name]
        report = await services.uploads.write(
            dataset, documents, uploader="worker", platform="worker", sources=sources
        )
    except BaibainError as exc:
        # One broken source must not stop the others; the previous version stays searchable.
        log.warning("dataset refresh failed dataset=%d code=%s", dataset.id, exc.code)
        return RefreshResult(dataset.id, error=exc.code)
    await asyncio.to_thread(services.datasets.remember_source, dataset.id, fetched.state)
    return RefreshResult(
        dataset.id, written=report.written, unchanged=report.unchanged, removed=report.removed
    )
