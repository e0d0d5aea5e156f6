"""An in-memory stand-in for the parts of weaviate-client's async API that the store uses.

No Weaviate server can run on the build machines, so this fake lets the tests drive
``WeaviateIndexStore`` end to end: ``connect``/``close``, ``collections.exists/create/use/
delete``, ``config.get/add_property``, ``query.bm25/near_vector/fetch_objects``,
``aggregate.over_all`` (count, group-by with text top occurrences) and
``data.insert/insert_many/update/delete_many`` (objects with or without one unnamed vector). It
takes
the client's own argument objects (``Filter``, ``Sort``, ``DataObject``, ``GroupByAggregate``,
``MetadataQuery``, the ``_CollectionConfigCreate`` built from ``collections.create``
arguments) and returns the client's own result classes.

Semantics follow Weaviate's documented behaviour and its BM25 source
(``adapters/repos/db/inverted/bm25_searcher.go``): per property, idf = ln(1 + (N − n + 0.5) /
(n + 0.5)) × (occurrences of the term in the query), tf = f / (f + k1 (1 − b + b · len / avglen)),
N the objects in the collection and n the objects containing the term, ignoring filters.
Whitespace tokenization splits on whitespace and keeps case; field tokenization keeps the
trimmed value whole. ``NotEqual`` is every object minus the ``Equal`` matches (Weaviate 1.24
and later), so it takes in objects without the property. ``near_vector`` ranks the objects that
have a vector and pass the filter by cosine distance (1 − the dot product of the normalized
vectors), exactly rather than through HNSW; as on the server, vectors must all have the same
length. Scores and distances are float32, as the server returns them. ``data.update`` is the
REST ``PATCH``: it merges the given properties (``None`` removes one) and the vector onto an
existing object, which gets a new internal id, and answers 404 for a missing one, creating
nothing (a batch insert, by contrast, writes whatever it is sent).

It is no proof of the server's behaviour — the contract suite runs against a real Weaviate when
``BAIBAIN_TEST_WEAVIATE_URL`` is set — but it pins the store's orchestration: fusion, boosts,
version replacement, failure handling and timeouts. Failures are injected with
``FakeWeaviate.down``, ``reject`` (per-object insert errors), ``hang`` (calls never answer),
``delete_cap`` (the server's per-call deletion cap) and ``refuse_deletes`` (every object of a
deletion reported failed). Every call is recorded in ``calls``.
"""

from __future__ import annotations

import asyncio
import math
import uuid as uuid_package
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import httpx
import numpy as np
from weaviate.collections.classes.aggregate import (
    AggregateGroup,
    AggregateGroupByReturn,
    AggregateReturn,
    AggregateText,
    GroupedBy,
    TopOccurrence,
)
from weaviate.collections.classes.batch import (
    BatchObject,
    BatchObjectReturn,
    DeleteManyReturn,
    ErrorObject,
)
from weaviate.collections.classes.config import Property, _CollectionConfigCreate
from weaviate.collections.classes.filters import _FilterAnd, _FilterNot, _FilterOr, _FilterValue
from weaviate.collections.classes.internal import MetadataReturn, Object, QueryReturn
from weaviate.exceptions import (
    UnexpectedStatusCodeError,
    WeaviateClosedClientError,
    WeaviateInsertManyAllFailedError,
    WeaviateQueryError,
    WeaviateStartUpError,
)

Vector = np.ndarray[Any, np.dtype[np.float32]]
_Best = Literal["highest", "lowest"]


@dataclass
class Call:
    """One recorded client call."""

    collection: str
    method: str
    kwargs: dict[str, Any]


@dataclass
class _Schema:
    tokenization: dict[str, str]
    data_types: dict[str, str]
    k1: float
    b: float


@dataclass
class _Collection:
    schema: _Schema
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)  # insertion order
    vectors: dict[str, Vector] = field(default_factory=dict)  # normalized, as for cosine
    config: dict[str, Any] = field(default_factory=dict)  # the REST schema it was created with
    version: int = 0  # bumped on every write; keys the token cache
    _tokens: dict[str, tuple[int, dict[str, Counter[str]]]] = field(default_factory=dict)

    def add_property(self, raw: Mapping[str, Any]) -> None:
        """Add one property given as its REST schema; 422 when it exists."""
        if raw["name"] in self.schema.tokenization:
            raise UnexpectedStatusCodeError("property exists", _response(422))
        self.schema.tokenization[raw["name"]] = raw.get("tokenization", "")
        self.schema.data_types[raw["name"]] = raw["dataType"][0]
        if self.config and raw["name"] not in {p["name"] for p in self.config["properties"]}:
            self.config["properties"].append(dict(raw))

    def token_counts(self, prop: str) -> dict[str, Counter[str]]:
        cached = self._tokens.get(prop)
        if cached is None or cached[0] != self.version:
            counts = {
                u: Counter(_tokens(p.get(prop), "whitespace")) for u, p in self.objects.items()
            }
            cached = self._tokens[prop] = (self.version, counts)
        return cached[1]


@dataclass
class FakeWeaviate:
    """The server state shared by every client of one test."""

    collections: dict[str, _Collection] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    down: bool = False
    hang: bool = False
    reject: Callable[[Mapping[str, Any]], str | None] | None = None
    delete_cap: int = 10_000
    refuse_deletes: bool = False
    connects: int = 0

    def client(self, _config: object = None) -> FakeClient:
        """A client factory for ``WeaviateIndexStore(client_factory=...)``."""
        return FakeClient(self)

    def add_collection(self, config: dict[str, Any]) -> None:
        """Create a collection from its REST schema (``POST /v1/schema``); 422 when it exists."""
        if config["class"] in self.collections:
            raise UnexpectedStatusCodeError("already exists", _response(422))
        # Weaviate's defaults for a collection created without an inverted index config.
        bm25 = config.get("invertedIndexConfig", {}).get("bm25", {"k1": 1.2, "b": 0.75})
        collection = _Collection(_Schema({}, {}, k1=bm25["k1"], b=bm25["b"]), config=config)
        for prop in config["properties"]:
            collection.add_property(prop)
        self.collections[config["class"]] = collection

    async def answer(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.down:
            raise UnexpectedStatusCodeError("server gone", _response(503))


def _response(status: int, message: str = "unavailable") -> httpx.Response:
    """An error answer as the client receives it (``UnexpectedStatusCodeError`` reads it)."""
    return httpx.Response(status, json={"error": [{"message": message}]})


class FakeClient:
    """``WeaviateAsyncClient`` subset."""

    def __init__(self, server: FakeWeaviate) -> None:
        self.server = server
        self.connected = False
        self.collections = _Collections(self)

    async def connect(self) -> None:
        self.server.connects += 1
        if self.server.hang:
            await asyncio.Event().wait()
        if self.server.down:
            raise WeaviateStartUpError("Could not connect to Weaviate: connection refused.")
        self.connected = True

    def is_connected(self) -> bool:
        return self.connected

    async def close(self) -> None:
        self.connected = False

    def _check(self) -> None:
        if not self.connected:
            raise WeaviateClosedClientError()


class _Collections:
    def __init__(self, client: FakeClient) -> None:
        self._client = client
        self._server = client.server

    async def exists(self, name: str) -> bool:
        self._client._check()
        await self._server.answer()
        return name in self._server.collections

    async def create(self, **kwargs: Any) -> FakeCollection:
        self._client._check()
        await self._server.answer()
        config = _CollectionConfigCreate(**kwargs)._to_dict()
        self._server.calls.append(Call(config["class"], "create", kwargs))
        self._server.add_collection(config)
        return self.use(config["class"])

    def use(self, name: str) -> FakeCollection:
        return FakeCollection(self._client, name)

    async def delete(self, name: str | list[str]) -> None:
        self._client._check()
        await self._server.answer()
        for each in [name] if isinstance(name, str) else name:
            self._server.collections.pop(each, None)


def _tokens(value: Any, tokenization: str) -> list[str]:
    if value is None:
        return []
    if tokenization == "whitespace":
        return str(value).split()
    if tokenization == "field":
        return [str(value).strip()] if str(value).strip() else []
    raise NotImplementedError(tokenization)


@dataclass(frozen=True)
class _PropertyConfig:
    name: str
    tokenization: str


@dataclass(frozen=True)
class _CollectionConfig:
    properties: list[_PropertyConfig]


class _Config:
    """``collection.config`` subset: read the properties, add one (as the REST schema call
    would receive it: the client's own ``Property`` serialization)."""

    def __init__(self, collection: FakeCollection) -> None:
        self._collection = collection

    async def get(self) -> _CollectionConfig:
        data = await self._collection._enter("config.get", {})
        schema = data.schema
        return _CollectionConfig([_PropertyConfig(n, t) for n, t in schema.tokenization.items()])

    async def add_property(self, prop: Property) -> None:
        data = await self._collection._enter("config.add_property", {"prop": prop})
        data.add_property(prop._to_dict())


class FakeCollection:
    """``CollectionAsync`` subset: ``query``, ``aggregate`` and ``data``."""

    def __init__(self, client: FakeClient, name: str) -> None:
        self._client = client
        self._server = client.server
        self.name = name
        self.query = _Query(self)
        self.aggregate = _Aggregate(self)
        self.data = _Data(self)
        self.config = _Config(self)

    async def _enter(self, method: str, kwargs: dict[str, Any]) -> _Collection:
        self._client._check()
        self._server.calls.append(Call(self.name, method, kwargs))
        await self._server.answer()
        return self._server.collections[self.name]

    # -- filters ---------------------------------------------------------------------------

    def matches(self, where: Any, uuid: str, props: Mapping[str, Any]) -> bool:
        """Whether an object passes a ``Filter`` (Weaviate's semantics for our property types)."""
        if where is None:
            return True
        if isinstance(where, _FilterAnd):
            return all(self.matches(f, uuid, props) for f in where.filters)
        if isinstance(where, _FilterOr):
            return any(self.matches(f, uuid, props) for f in where.filters)
        if isinstance(where, _FilterNot):
            return not self.matches(where.filters[0], uuid, props)
        assert isinstance(where, _FilterValue)
        op = where.operator.value
        if where.target == "_id":
            wanted = where.value if isinstance(where.value, list) else [where.value]
            found = uuid in {str(w) for w in wanted}
            return found if op in ("Equal", "ContainsAny") else not found
        prop = str(where.target)
        schema = self._server.collections[self.name].schema
        value = props.get(prop)
        if schema.data_types[prop] == "text":
            have = set(_tokens(value, schema.tokenization[prop]))
            tok = schema.tokenization[prop]
            if op == "Equal":
                want = _tokens(where.value, tok)
                return bool(want) and all(t in have for t in want)
            if op == "NotEqual":
                want = _tokens(where.value, tok)
                return not (bool(want) and all(t in have for t in want))
            if op == "ContainsAny":
                return any(t in have for v in where.value for t in _tokens(v, tok))
            raise NotImplementedError(op)
        if value is None:
            return op == "NotEqual"
        target = where.value
        if isinstance(target, datetime):
            value = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        comparisons = {
            "Equal": lambda a, b: a == b,
            "NotEqual": lambda a, b: a != b,
            "GreaterThan": lambda a, b: a > b,
            "GreaterThanEqual": lambda a, b: a >= b,
            "LessThan": lambda a, b: a < b,
            "LessThanEqual": lambda a, b: a <= b,
        }
        return bool(comparisons[op](value, target))

    def _select(self, where: Any) -> list[tuple[str, dict[str, Any]]]:
        data = self._server.collections[self.name]
        return [(u, p) for u, p in data.objects.items() if self.matches(where, u, p)]

    def ranked(
        self, values: Mapping[str, float], where: Any, limit: int | None, *, best: _Best
    ) -> list[tuple[str, float]]:
        """The objects that pass ``where``, ``best`` value first, ties in insertion order."""
        data = self._server.collections[self.name]
        order = {u: i for i, u in enumerate(data.objects)}
        sign = -1.0 if best == "highest" else 1.0
        hits = [(u, v) for u, v in values.items() if self.matches(where, u, data.objects[u])]
        hits.sort(key=lambda uv: (sign * uv[1], order[uv[0]]))
        return hits[: limit or None]

    def returned(
        self, uuid: str, wanted: list[str] | None, metadata: MetadataReturn | None = None
    ) -> Object[dict[str, Any], None]:
        """One object of a query result, with the properties asked for."""
        props = self._server.collections[self.name].objects[uuid]
        shaped = dict(props) if wanted is None else {k: props[k] for k in wanted if k in props}
        return Object(
            uuid=uuid_package.UUID(uuid),
            metadata=metadata or MetadataReturn(),
            properties=shaped,
            references=None,
            vector={},
            collection=self.name,
        )

    # -- scoring ---------------------------------------------------------------------------

    def bm25_scores(self, query: str, prop: str) -> dict[str, float]:
        """Weaviate's BM25 of ``query`` over one whitespace-tokenized property, per object."""
        data = self._server.collections[self.name]
        schema = data.schema
        assert schema.tokenization[prop] == "whitespace", prop
        docs = data.token_counts(prop)
        lengths = {u: sum(c.values()) for u, c in docs.items()}
        n_all = len(docs)
        avg = sum(lengths.values()) / n_all if n_all else 1.0
        scores: dict[str, float] = {}
        for term, dup in Counter(query.split()).items():
            having = [u for u, c in docs.items() if term in c]
            if not having:
                continue
            idf = math.log(1 + (n_all - len(having) + 0.5) / (len(having) + 0.5)) * dup
            for u in having:
                f = docs[u][term]
                norm = schema.k1 * (1 - schema.b + schema.b * lengths[u] / avg)
                scores[u] = scores.get(u, 0.0) + idf * f / (f + norm)
        return {u: float(np.float32(s)) for u, s in scores.items()}


class _Query:
    def __init__(self, collection: FakeCollection) -> None:
        self._c = collection

    async def bm25(
        self,
        query: str,
        *,
        query_properties: list[str],
        filters: Any = None,
        limit: int | None = None,
        return_metadata: Any = None,
        return_properties: list[str] | None = None,
    ) -> QueryReturn[dict[str, Any], None]:
        kwargs = {
            "query": query,
            "query_properties": query_properties,
            "filters": filters,
            "limit": limit,
            "return_metadata": return_metadata,
            "return_properties": return_properties,
        }
        await self._c._enter("bm25", kwargs)
        assert len(query_properties) == 1, "the store queries one property at a time"
        scores = self._c.bm25_scores(query, query_properties[0])
        hits = self._c.ranked(scores, filters, limit, best="highest")
        return QueryReturn(
            [self._c.returned(u, return_properties, MetadataReturn(score=s)) for u, s in hits]
        )

    async def near_vector(
        self,
        near_vector: list[float],
        *,
        filters: Any = None,
        limit: int | None = None,
        return_metadata: Any = None,
        return_properties: list[str] | None = None,
    ) -> QueryReturn[dict[str, Any], None]:
        kwargs = {
            "near_vector": near_vector,
            "filters": filters,
            "limit": limit,
            "return_metadata": return_metadata,
            "return_properties": return_properties,
        }
        data = await self._c._enter("near_vector", kwargs)
        query = _normalized(near_vector)
        lengths = {len(v) for v in data.vectors.values()}
        if lengths and lengths != {len(query)}:
            raise WeaviateQueryError(
                f"vector search: vector lengths don't match: {len(query)} vs {lengths}", "GRPC"
            )
        distances = {u: float(np.float32(1.0) - np.dot(v, query)) for u, v in data.vectors.items()}
        hits = self._c.ranked(distances, filters, limit, best="lowest")
        return QueryReturn(
            [self._c.returned(u, return_properties, MetadataReturn(distance=d)) for u, d in hits]
        )

    async def fetch_objects(
        self,
        *,
        filters: Any = None,
        limit: int | None = None,
        sort: Any = None,
        return_properties: list[str] | None = None,
    ) -> QueryReturn[dict[str, Any], None]:
        kwargs = {
            "filters": filters,
            "limit": limit,
            "sort": sort,
            "return_properties": return_properties,
        }
        await self._c._enter("fetch_objects", kwargs)
        rows = self._c._select(filters)
        for rule in reversed(sort.sorts if sort is not None else []):
            rows.sort(key=lambda up, p=rule.prop: up[1].get(p), reverse=not rule.ascending)
        return QueryReturn(
            [self._c.returned(u, return_properties) for u, _ in rows[: limit or None]]
        )


class _Aggregate:
    def __init__(self, collection: FakeCollection) -> None:
        self._c = collection

    async def over_all(
        self,
        *,
        filters: Any = None,
        group_by: Any = None,
        total_count: bool = True,
        return_metrics: Any = None,
    ) -> AggregateReturn | AggregateGroupByReturn:
        kwargs = {
            "filters": filters,
            "group_by": group_by,
            "total_count": total_count,
            "return_metrics": return_metrics,
        }
        await self._c._enter("aggregate", kwargs)
        rows = self._c._select(filters)
        if group_by is None:
            return AggregateReturn(properties={}, total_count=len(rows) if total_count else None)
        groups: dict[Any, list[dict[str, Any]]] = {}
        for _, props in rows:
            if props.get(group_by.prop) is not None:
                groups.setdefault(props[group_by.prop], []).append(props)
        result = []
        for value, members in list(groups.items())[: group_by.limit]:
            metric = return_metrics.property_name
            counts = Counter(m[metric] for m in members if m.get(metric) is not None)
            top = [
                TopOccurrence(count=c, value=v) for v, c in counts.most_common(return_metrics.limit)
            ]
            result.append(
                AggregateGroup(
                    grouped_by=GroupedBy(prop=group_by.prop, value=value),
                    properties={
                        metric: AggregateText(count=sum(counts.values()), top_occurrences=top)
                    },
                    total_count=len(members) if total_count else None,
                )
            )
        return AggregateGroupByReturn(groups=result)


class _Data:
    def __init__(self, collection: FakeCollection) -> None:
        self._c = collection

    async def insert(self, properties: Mapping[str, Any], uuid: str | None = None) -> str:
        """The REST ``POST /v1/objects`` of one object: 422 when its id exists, as the server
        answers (a batch, by contrast, overwrites)."""
        data = await self._c._enter("insert", {"properties": properties, "uuid": uuid})
        key = str(uuid or uuid_package.uuid4())
        if key in data.objects:
            raise UnexpectedStatusCodeError(f"id '{key}' already exists", _response(422))
        unknown = set(properties) - set(data.schema.data_types)
        if unknown:
            raise UnexpectedStatusCodeError(f"unknown properties {sorted(unknown)}", _response(422))
        data.objects[key] = dict(properties)
        data.version += 1
        return key

    async def insert_many(self, objects: list[Any]) -> BatchObjectReturn:
        result = await self.write_batch(objects)
        if objects and len(result.errors) == len(objects):
            raise WeaviateInsertManyAllFailedError("Here is the set of all errors: rejected")
        return result

    async def write_batch(self, objects: list[Any]) -> BatchObjectReturn:
        """Write what the server accepts; the rejected objects come back as errors (the gRPC
        ``BatchObjects`` reply, before the client turns "all failed" into an exception)."""
        data = await self._c._enter("insert_many", {"objects": objects})
        schema = data.schema
        errors: dict[int, ErrorObject] = {}
        uuids: dict[int, uuid_package.UUID] = {}
        for index, obj in enumerate(objects):
            props = dict(obj.properties)
            vector = None if obj.vector is None else _normalized(obj.vector)
            unknown = set(props) - set(schema.data_types)
            message = f"unknown properties {sorted(unknown)}" if unknown else None
            if message is None and vector is not None:
                message = _length_mismatch(data, vector)
            if message is None and self._c._server.reject is not None:
                message = self._c._server.reject(props)
            if message is not None:
                batch_object = BatchObject(
                    collection=self._c.name, properties=props, uuid=obj.uuid, index=index
                )
                errors[index] = ErrorObject(message=message, object_=batch_object)
                continue
            key = str(obj.uuid)
            data.objects.pop(key, None)  # an update gets a new internal id, like the server's
            data.vectors.pop(key, None)  # and keeps only the vector it was sent with
            data.objects[key] = props
            if vector is not None:
                data.vectors[key] = vector
            data.version += 1
            uuids[index] = uuid_package.UUID(key)
        return BatchObjectReturn(errors=errors, uuids=uuids)

    async def update(
        self,
        uuid: Any,
        properties: Mapping[str, Any] | None = None,
        references: Any = None,
        vector: Any = None,
    ) -> None:
        kwargs = {"uuid": uuid, "properties": properties, "vector": vector}
        data = await self._c._enter("update", kwargs)
        assert references is None, "the store sets no references"
        key = str(uuid)
        if key not in data.objects:
            raise UnexpectedStatusCodeError("Object was not updated.", _response(404, "not found"))
        changes = dict(properties or {})
        unknown = set(changes) - set(data.schema.data_types)
        normalized = None if vector is None else _normalized(vector)
        message = f"unknown properties {sorted(unknown)}" if unknown else None
        if message is None and normalized is not None:
            message = _length_mismatch(data, normalized)
        if message is not None:
            raise UnexpectedStatusCodeError("Object was not updated.", _response(422, message))
        merged = {**data.objects.pop(key), **changes}
        data.objects[key] = {k: v for k, v in merged.items() if v is not None}  # a new internal id
        if normalized is not None:
            data.vectors[key] = normalized
        data.version += 1

    async def delete_many(self, where: Any) -> DeleteManyReturn[None]:
        data = await self._c._enter("delete_many", {"where": where})
        rows = self._c._select(where)[: self._c._server.delete_cap]
        if self._c._server.refuse_deletes:
            return DeleteManyReturn(failed=len(rows), matches=len(rows), objects=None, successful=0)
        for u, _ in rows:
            del data.objects[u]
            data.vectors.pop(u, None)
        data.version += 1
        return DeleteManyReturn(failed=0, matches=len(rows), objects=None, successful=len(rows))


def _normalized(vector: Any) -> Vector:
    """A single unnamed vector, normalized as the server does for cosine distance."""
    assert isinstance(vector, list) and all(isinstance(x, float) for x in vector), (
        "the store sends one unnamed vector as a list of floats"
    )
    array = np.asarray(vector, dtype=np.float32)
    norm = np.linalg.norm(array)
    return array / norm if norm > 0 else array


def _length_mismatch(data: _Collection, vector: Vector) -> str | None:
    stored = next(iter(data.vectors.values()), None)
    if stored is None or len(stored) == len(vector):
        return None
    return (
        f"new node has a vector with length {len(vector)}. "
        f"Existing nodes have vectors with length {len(stored)}"
    )
