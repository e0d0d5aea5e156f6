"""Which administrative database a Weaviate collection serves.

Documents name their owners by the organization numbers of the database they were ingested
with, which another database gives out to other organizations. Next to the chunk collection,
a small collection (its name and ``Binding``) holds one object, under a fixed id, naming that
database. The first process to connect creates it with a single-object insert, which Weaviate
refuses (422) when the id exists, so processes starting together agree on one database and a
collection shared by two databases is served to the first only. A collection from before
bindings gets one at its next connection.
"""

from __future__ import annotations

import uuid
from typing import Any

from weaviate.classes.config import Configure, DataType, Property, Tokenization
from weaviate.classes.query import Filter
from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateBaseError

from knowledge.errors import BOUND_ELSEWHERE_REASON, IndexBoundElsewhere

BINDING_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "https://baibain.invalid/database-binding"))
_ALREADY_EXISTS = 422


def binding_collection(collection: str) -> str:
    """The name of the collection that holds ``collection``'s binding."""
    return f"{collection}Binding"


def binding_config(collection: str) -> dict[str, Any]:
    """Keyword arguments for ``client.collections.create`` of the binding collection."""
    return {
        "name": binding_collection(collection),
        "description": f"Baibain: the administrative database whose documents {collection} holds",
        "properties": [
            Property(
                name="database",
                data_type=DataType.TEXT,
                tokenization=Tokenization.FIELD,
                index_searchable=False,
            )
        ],
        "vector_config": Configure.Vectors.self_provided(),
    }


def bound_elsewhere(collection: str, where: str) -> IndexBoundElsewhere:
    """The error for a collection that serves another database: what happened, what to do."""
    return IndexBoundElsewhere(
        f"Weaviate（{where}）のコレクション {collection} は、別のデータベースで文書を取り込んだ"
        f"ものです。{BOUND_ELSEWHERE_REASON}取り込んだときのデータベースを BAIBAIN_DATABASE_URL "
        "に指定するか、まだ使われていないコレクション名を BAIBAIN_WEAVIATE_COLLECTION に指定して、"
        "文書を取り込み直してください。",
        detail=f"Weaviate {where}: collection {collection} is bound to another database",
    )


async def _bound(binding: Any) -> str | None:
    found = await binding.query.fetch_objects(
        filters=Filter.by_id().equal(BINDING_ID), limit=1, return_properties=["database"]
    )
    return str(found.objects[0].properties["database"]) if found.objects else None


async def bind(client: Any, collection: str, database: str, where: str) -> None:
    """Bind ``collection`` to ``database`` unless it is bound already; ``IndexBoundElsewhere``
    when it serves another database. Nothing is written then."""
    name = binding_collection(collection)
    if not await client.collections.exists(name):
        try:
            await client.collections.create(**binding_config(collection))
        except WeaviateBaseError:
            if not await client.collections.exists(name):  # lost a race with another process
                raise
    binding = client.collections.use(name)
    bound = await _bound(binding)
    if bound is None:
        try:
            await binding.data.insert({"database": database}, uuid=BINDING_ID)
            return
        except UnexpectedStatusCodeError as exc:
            if exc.status_code != _ALREADY_EXISTS:
                raise
        bound = await _bound(binding)  # another process bound it meanwhile
    if bound != database:
        raise bound_elsewhere(collection, where)
