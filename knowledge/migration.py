"""Copying the embedded index into Weaviate (``baibain index migrate --to weaviate``).

Resumable: a document is skipped when Weaviate already holds exactly this version (same
``document_generation``: text, metadata and term analysis), so an interrupted run continues
where it stopped and a repeated run copies only what changed since. Documents that exist only
in Weaviate are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from knowledge.embedded import EmbeddedIndexStore
from knowledge.weaviate_objects import document_generation
from knowledge.weaviate_store import WeaviateIndexStore

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class MigrationReport:
    """Documents in the source, copied now, and already present in the target."""

    total: int
    copied: int
    skipped: int


async def copy_index(
    source: EmbeddedIndexStore,
    target: WeaviateIndexStore,
    *,
    batch_size: int = 50,
    progress: Progress | None = None,
) -> MigrationReport:
    """Copy every document of ``source`` that ``target`` does not hold in the same version.

    ``progress(done, total)`` is called before the first batch and after each one.
    """
    doc_ids = await source.doc_ids()
    copied = skipped = 0
    if progress:
        progress(0, len(doc_ids))
    for start in range(0, len(doc_ids), batch_size):
        group = doc_ids[start : start + batch_size]
        stored = await target.stored_generations(group)
        todo = []
        for doc_id in group:
            document = await source.get_document(doc_id)
            if document is None:
                continue  # deleted since the listing
            if stored.get(doc_id) == document_generation(document):
                skipped += 1
            else:
                todo.append(document)
        if todo:
            await target.upsert_many(todo)
            copied += len(todo)
        if progress:
            progress(start + len(group), len(doc_ids))
    return MigrationReport(total=len(doc_ids), copied=copied, skipped=skipped)
