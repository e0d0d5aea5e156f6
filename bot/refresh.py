"""Re-fetching datasets that have a source URL; only changed documents are re-ingested. A
refresh that fails is recorded with the dataset (its code, since when) for its organization's
admins to see; the next one that works clears it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from admin.datasets import DatasetBusy, DatasetInfo, SourceState
from bot.fetch import Fetched, FetchPolicy, fetch
from bot.services import Services
from bot.uploads import defaults_for, id_prefix
from knowledge.errors import BadDocument, BadInput, BaibainError, UpstreamUnavailable
from knowledge.ingest import documents_from_bytes

log = logging.getLogger(__name__)


class SourceRefused(BadDocument):
    """The source URL gave no file to read (an error status, too many redirects, a file over
    the size limit, an address no longer permitted): told apart from a file that came and could
    not be read (``bad_document``), as its admins have another thing to check."""

    code = "source_refused"


class SourceUnreachable(UpstreamUnavailable):
    """The source's server did not answer (refused, timed out): told apart from another
    service of ours that did not (``upstream_unavailable``: the embeddings endpoint)."""

    code = "source_unreachable"


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
    """Fetch the dataset's source (conditionally) and write what changed. A refresh that
    fails is recorded and returned, never raised: one dataset's trouble (a broken source, or
    a database refusing a write) must not stop the others' refresh, and the previous version
    stays searchable."""
    try:
        return await _refreshed(services, dataset)
    except BaibainError as exc:
        log.warning("dataset refresh failed dataset=%d code=%s", dataset.id, exc.code)
        code = exc.code
        if isinstance(exc, DatasetBusy):  # an upload under way is no trouble to report
            return RefreshResult(dataset.id, error=code)
    except Exception as exc:  # by type alone: a database error's text quotes what it wrote
        log.warning("dataset refresh failed dataset=%d error=%s", dataset.id, type(exc).__name__)
        code = BaibainError.code
    await _record_failure(services, dataset.id, code)
    return RefreshResult(dataset.id, error=code)


async def _refreshed(services: Services, dataset: DatasetInfo) -> RefreshResult:
    stored = await asyncio.to_thread(services.datasets.source_state, dataset.id)
    fetched = await _fetch_source(services, dataset, stored)
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
    # The source may now be read under another name (a redirect to a dated file): what was
    # read under the old one is gone from the source too.
    sources = [fetched.name, stored.name] if stored.name else [fetched.name]
    report = await services.uploads.write(
        dataset, documents, uploader="worker", platform="worker", sources=sources
    )
    await asyncio.to_thread(services.datasets.remember_source, dataset.id, fetched.state)
    return RefreshResult(
        dataset.id, written=report.written, unchanged=report.unchanged, removed=report.removed
    )


async def _fetch_source(services: Services, dataset: DatasetInfo, stored: SourceState) -> Fetched:
    """The dataset's source, conditionally on what the last fetch gave; ``SourceRefused`` for
    a URL that gives no file to read, ``SourceUnreachable`` for a server that does not answer."""
    try:
        return await fetch(
            dataset.source_url,
            FetchPolicy.of(services.settings),
            etag=stored.etag,
            last_modified=stored.last_modified,
        )
    except (BadDocument, BadInput) as exc:
        raise SourceRefused(exc.user_message, detail=exc.detail) from exc
    except UpstreamUnavailable as exc:
        raise SourceUnreachable(exc.user_message, detail=exc.detail) from exc


async def _record_failure(services: Services, dataset_id: int, code: str) -> None:
    """Record the failed refresh with the dataset; a database that refuses it is logged, not
    raised: the worker goes on with the other datasets, and the next run records it."""
    try:
        await asyncio.to_thread(services.datasets.refresh_failed, dataset_id, code)
    except SQLAlchemyError as exc:
        log.warning(
            "dataset refresh failure not recorded dataset=%d error=%s",
            dataset_id,
            type(exc).__name__,
        )
