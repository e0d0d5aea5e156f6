"""An in-process Weaviate server for the real weaviate-client: REST and gRPC on localhost.

``WeaviateIndexStore`` connects to it with the client it uses in production
(``weaviate.use_async_with_custom``), so every call crosses the wire: the REST routes that
connecting and the schema use (``/v1/meta``, ``/v1/.well-known/ready|live``, ``/v1/schema``,
``/v1/schema/{class}``, ``/v1/schema/{class}/properties``, ``POST /v1/objects``,
``PATCH /v1/objects/{class}/{id}``)
and the ``weaviate.v1.Weaviate`` gRPC methods that queries and batches use (``Search``,
``BatchObjects``, ``BatchDelete``, ``Aggregate``). The server reports version 1.31.0 (the one
the README's compose file runs), so the client takes its gRPC paths for aggregations too.

Requests are decoded (``weaviate_wire_codec``) into the argument objects that the in-memory
fake (``weaviate_memory``) evaluates, so the semantics — BM25, filters, vectors, version
replacement — are the same ones; failures are injected on the shared ``FakeWeaviate`` state
(``down``: REST answers 503 and gRPC ``UNAVAILABLE``; ``hang``; ``reject``; ``delete_cap``;
``refuse_deletes``). Every request is recorded in ``received``, as it arrived.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import grpc
from aiohttp import web
from google.protobuf.message import Message
from weaviate.exceptions import UnexpectedStatusCodeError, WeaviateQueryError
from weaviate.proto.v1 import (
    batch_delete_pb2,
    batch_pb2,
    weaviate_pb2_grpc,
)

from fakes import weaviate_wire_codec as codec
from fakes.weaviate_memory import FakeClient, FakeCollection, FakeWeaviate
from knowledge.weaviate_client import WeaviateConfig

VERSION = "1.31.0"


@dataclass(frozen=True)
class Received:
    """One request as it arrived: ``"rest"`` with ``"METHOD /path"`` and the JSON body, or
    ``"grpc"`` with the method name and the decoded message."""

    transport: str
    method: str
    body: Any = None


@dataclass
class WeaviateWireServer:
    """REST (aiohttp) and gRPC (grpc.aio) on random localhost ports, over one fake state."""

    state: FakeWeaviate = field(default_factory=FakeWeaviate)
    received: list[Received] = field(default_factory=list)
    http_port: int = 0
    grpc_port: int = 0

    def __post_init__(self) -> None:
        self._memory = FakeClient(self.state)
        self._memory.connected = True  # the in-memory API the requests are decoded into
        self._runner: web.AppRunner | None = None
        self._grpc: grpc.aio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def config(self, **overrides: Any) -> WeaviateConfig:
        """A ``WeaviateConfig`` pointing at this server."""
        return WeaviateConfig(url=self.url, grpc_port=self.grpc_port, **overrides)

    def grpc_methods(self) -> list[str]:
        return [r.method for r in self.received if r.transport == "grpc"]

    def rest_calls(self) -> list[str]:
        return [r.method for r in self.received if r.transport == "rest"]

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.add_routes(
            [
                web.get("/v1/meta", self._meta),
                web.get("/v1/.well-known/ready", self._ready),
                web.get("/v1/.well-known/live", self._ready),
                web.post("/v1/schema", self._create),
                web.get("/v1/schema/{name}", self._schema),
                web.delete("/v1/schema/{name}", self._drop),
                web.post("/v1/schema/{name}/properties", self._add_property),
                web.post("/v1/objects", self._insert),
                web.patch("/v1/objects/{name}/{uuid}", self._patch),
            ]
        )
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.http_port = self._runner.addresses[0][1]
        self._grpc = grpc.aio.server()
        weaviate_pb2_grpc.add_WeaviateServicer_to_server(_Servicer(self), self._grpc)
        self.grpc_port = self._grpc.add_insecure_port("127.0.0.1:0")
        await self._grpc.start()

    async def stop(self) -> None:
        if self._grpc is not None:
            await self._grpc.stop(grace=None)
        if self._runner is not None:
            await self._runner.cleanup()

    def collection(self, name: str) -> FakeCollection:
        return self._memory.collections.use(name)

    def data_types(self, name: str) -> dict[str, str]:
        found = self.state.collections.get(name)
        return dict(found.schema.data_types) if found is not None else {}

    # -- REST ------------------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.received.append(Received("rest", f"{request.method} {request.path}", body))
        try:
            return await handler(request)
        except UnexpectedStatusCodeError as exc:
            return _error(exc.status_code, exc.message)
        except KeyError as exc:
            return _error(404, f"class {exc} not found")

    async def _meta(self, _request: web.Request) -> web.Response:
        await self.state.answer()
        meta = {"hostname": "http://[::]:8080", "modules": {}, "version": VERSION}
        return web.json_response(meta)

    async def _ready(self, _request: web.Request) -> web.Response:
        await self.state.answer()
        return web.Response(status=200)

    async def _create(self, request: web.Request) -> web.Response:
        await self.state.answer()
        config = await request.json()
        self.state.add_collection(config)
        return web.json_response(config)

    async def _schema(self, request: web.Request) -> web.Response:
        await self.state.answer()
        found = self.state.collections.get(request.match_info["name"])
        if found is None:
            return web.Response(status=404)
        return web.json_response(_with_defaults(found.config))

    async def _drop(self, request: web.Request) -> web.Response:
        await self._memory.collections.delete(request.match_info["name"])
        return web.Response(status=200)

    async def _add_property(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        await self.state.answer()
        raw = await request.json()
        self.state.collections[name].add_property(raw)
        return web.json_response(raw)

    async def _insert(self, request: web.Request) -> web.Response:
        body = await request.json()
        await self.collection(body["class"]).data.insert(body["properties"], uuid=body.get("id"))
        return web.json_response(body)

    async def _patch(self, request: web.Request) -> web.Response:
        body = await request.json()
        vector = body.get("vector")
        await self.collection(request.match_info["name"]).data.update(
            uuid=request.match_info["uuid"],
            properties=body.get("properties"),
            vector=None if vector is None else [float(x) for x in vector],
        )
        return web.Response(status=204)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": [{"message": message}]}, status=status)


_HNSW_DEFAULTS = {
    "cleanupIntervalSeconds": 300,
    "distance": "cosine",
    "dynamicEfMin": 100,
    "dynamicEfMax": 500,
    "dynamicEfFactor": 8,
    "ef": -1,
    "efConstruction": 128,
    "filterStrategy": "sweeping",
    "flatSearchCutoff": 40000,
    "maxConnections": 32,
    "skip": False,
    "vectorCacheMaxObjects": 1000000000000,
}
_CLASS_DEFAULTS: dict[str, Any] = {
    "invertedIndexConfig": {
        "cleanupIntervalSeconds": 60,
        "stopwords": {"preset": "en", "additions": None, "removals": None},
    },
    "multiTenancyConfig": {"enabled": False},
    "replicationConfig": {"factor": 1, "deletionStrategy": "NoAutomatedResolution"},
    "shardingConfig": {
        "virtualPerPhysical": 128,
        "desiredCount": 1,
        "actualCount": 1,
        "desiredVirtualCount": 128,
        "actualVirtualCount": 128,
        "key": "_id",
        "strategy": "hash",
        "function": "murmur3",
    },
}


def _merged(given: Any, defaults: Any) -> Any:
    if not isinstance(given, dict) or not isinstance(defaults, dict):
        return given
    return {**defaults, **{k: _merged(v, defaults.get(k)) for k, v in given.items()}}


def _with_defaults(config: dict[str, Any]) -> dict[str, Any]:
    """The schema as the server returns it: what was created, with the defaults it fills in."""
    shown: dict[str, Any] = _merged(json.loads(json.dumps(config)), _CLASS_DEFAULTS)
    for vector in shown.get("vectorConfig", {}).values():
        vector["vectorIndexConfig"] = _merged(vector.get("vectorIndexConfig", {}), _HNSW_DEFAULTS)
    for prop in shown["properties"]:
        for client_only in ("skip_vectorization", "vectorize_property_name"):
            prop.pop(client_only, None)
        prop.setdefault("indexFilterable", True)
        prop.setdefault("indexSearchable", prop["dataType"] == ["text"])
        prop.setdefault("indexRangeFilters", False)
    return shown


class _Servicer(weaviate_pb2_grpc.WeaviateServicer):
    """The ``weaviate.v1.Weaviate`` methods the store calls."""

    def __init__(self, server: WeaviateWireServer) -> None:
        self._server = server

    async def _answer(self, method: str, request: Message, context: Any, run: Any) -> Any:
        self._server.received.append(Received("grpc", method, request))
        try:
            return await run()
        except UnexpectedStatusCodeError as exc:
            await context.abort(grpc.StatusCode.UNAVAILABLE, exc.message)
        except WeaviateQueryError as exc:
            await context.abort(grpc.StatusCode.UNKNOWN, exc.message)
        except KeyError as exc:
            await context.abort(grpc.StatusCode.UNKNOWN, f"class {exc} not found")

    async def Search(self, request: Any, context: Any) -> Any:
        async def run() -> Any:
            name, types = request.collection, self._server.data_types(request.collection)
            query = self._server.collection(name).query
            props = request.properties
            common: dict[str, Any] = {
                "filters": codec.filters_from_grpc(request.filters, types)
                if request.HasField("filters")
                else None,
                "limit": request.limit or None,
                "return_properties": None
                if props.return_all_nonref_properties
                else list(props.non_ref_properties),
            }
            if request.HasField("bm25_search"):
                search = request.bm25_search
                result = await query.bm25(
                    search.query, query_properties=list(search.properties), **common
                )
            elif request.HasField("near_vector"):
                result = await query.near_vector(codec.near_vector(request.near_vector), **common)
            else:
                result = await query.fetch_objects(
                    sort=codec.sort_from_grpc(request.sort_by), **common
                )
            return codec.search_reply(result.objects, types, request.metadata, name)

        return await self._answer("Search", request, context, run)

    async def BatchObjects(self, request: Any, context: Any) -> Any:
        async def run() -> Any:
            names = {o.collection for o in request.objects}
            assert len(names) <= 1, "the store writes one collection per batch"
            if not names:
                return batch_pb2.BatchObjectsReply()
            name = names.pop()
            types = self._server.data_types(name)
            objects = [codec.batch_object(o, types) for o in request.objects]
            result = await self._server.collection(name).data.write_batch(objects)
            errors = [
                batch_pb2.BatchObjectsReply.BatchError(index=i, error=e.message)
                for i, e in sorted(result.errors.items())
            ]
            return batch_pb2.BatchObjectsReply(errors=errors)

        return await self._answer("BatchObjects", request, context, run)

    async def BatchDelete(self, request: Any, context: Any) -> Any:
        async def run() -> Any:
            assert not request.dry_run and not request.verbose, "the store deletes plainly"
            types = self._server.data_types(request.collection)
            where = codec.filters_from_grpc(request.filters, types)
            result = await self._server.collection(request.collection).data.delete_many(where)
            return batch_delete_pb2.BatchDeleteReply(
                failed=result.failed, matches=result.matches, successful=result.successful
            )

        return await self._answer("BatchDelete", request, context, run)

    async def Aggregate(self, request: Any, context: Any) -> Any:
        async def run() -> Any:
            types = self._server.data_types(request.collection)
            args = codec.aggregate_args(request, types)
            result = await self._server.collection(request.collection).aggregate.over_all(**args)
            return codec.aggregate_reply(result, request)

        return await self._answer("Aggregate", request, context, run)
