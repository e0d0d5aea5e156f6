"""Vectors for the chunks of a Weaviate collection that were written without one (before
embeddings were configured) or by another model: ``baibain index embed`` for Weaviate.

Each batch is written on its own, so an interrupted run keeps what it did and a rerun
continues where it stopped. Vectors are merged onto the objects (``PATCH``): a chunk deleted or
replaced meanwhile is skipped and does not come back (the server answers 404 and creates
nothing, where a batch insert of the same id would write it again). A chunk that another
process rewrites without a vector during the run is left for the next run.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from weaviate.exceptions import UnexpectedStatusCodeError

from knowledge.dense import Vector
from knowledge.weaviate_client import WeaviateConnection
from knowledge.weaviate_objects import embedding_input_of
from knowledge.weaviate_schema import PASSAGE_PROPERTIES, VECTOR_MODEL, missing_vector_filter

if TYPE_CHECKING:
    from knowledge.embeddings import Embedder

_UPDATE_CONCURRENCY = 8


async def embed_missing(
    conn: WeaviateConnection,
    embedder: Embedder,
    *,
    batch: int,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed, ``batch`` chunks at a time, every chunk of the collection without a vector of
    ``embedder.model``; returns how many got one. ``progress`` gets ``(done, total)``."""
    collection = await conn.collection()
    missing = missing_vector_filter(embedder.model)
    counted = await conn.read(
        "missing vector count", collection.aggregate.over_all(filters=missing, total_count=True)
    )
    total, done = int(counted.total_count or 0), 0
    tried: set[str] = set()
    while True:
        page = await conn.read(
            "missing vector read",
            collection.query.fetch_objects(
                filters=missing, limit=batch, return_properties=list(PASSAGE_PROPERTIES)
            ),
        )
        fresh = [o for o in page.objects if str(o.uuid) not in tried]
        if not fresh:
            return done
        tried.update(str(o.uuid) for o in fresh)
        vectors = await embedder.embed([embedding_input_of(o.properties) for o in fresh])
        rows = [(str(o.uuid), v) for o, v in zip(fresh, vectors, strict=True)]
        done += await _set_vectors(conn, collection, embedder.model, rows)
        if progress:
            progress(done, max(total, done))


async def _set_vectors(
    conn: WeaviateConnection, collection: Any, model: str, rows: list[tuple[str, Vector]]
) -> int:
    """Merge each vector and the model onto its object, a few at a time; returns how many
    objects still existed."""
    gate = asyncio.Semaphore(_UPDATE_CONCURRENCY)

    async def one(uuid: str, vector: Vector) -> bool:
        async with gate:
            return await conn.write("vector update", _merge_vector(collection, uuid, model, vector))

    results = await asyncio.gather(*(one(u, v) for u, v in rows), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return sum(1 for r in results if r is True)


async def _merge_vector(collection: Any, uuid: str, model: str, vector: Vector) -> bool:
    """``PATCH`` the vector and its model onto an object, leaving its other properties as they
    are; ``False`` when the object is gone."""
    try:
        await collection.data.update(
            uuid=uuid, properties={VECTOR_MODEL: model}, vector=vector.tolist()
        )
    except UnexpectedStatusCodeError as exc:
        if exc.status_code == 404:
            return False
        raise
    return True
