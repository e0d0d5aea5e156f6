"""The connection behind ``WeaviateIndexStore``: lazy, bounded in time, failing politely.

The client connects on first use, so a process starts while Weaviate is down. Every call is
bounded by a timeout (``asyncio.wait_for`` on top of the client's own HTTP/gRPC timeouts, since
the client retries unavailable gRPC calls with exponential back-off for up to a minute) and any
failure becomes ``IndexUnavailable``: a polite Japanese message for users, the reason for
operators. After a failure the client is dropped, so the next call reconnects.

Given the identity of the administrative database it serves, connecting binds the collection
to it first (``weaviate_binding``): a collection bound to another database is refused
(``IndexBoundElsewhere``) before anything is written to it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import weaviate
from weaviate.classes.init import AdditionalConfig, Auth, Timeout
from weaviate.exceptions import WeaviateBaseError, WeaviateInsertManyAllFailedError

from knowledge import weaviate_binding
from knowledge.errors import IndexBoundElsewhere, IndexUnavailable
from knowledge.weaviate_schema import DEFAULT_COLLECTION, PROPERTIES, collection_config

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class WeaviateConfig:
    """Where the collection lives and how long any call may take (seconds)."""

    url: str
    api_key: str | None = field(default=None, repr=False)
    grpc_port: int = 50051
    grpc_host: str = ""  # the REST host when empty
    collection: str = DEFAULT_COLLECTION
    replication_factor: int = 1
    shards: int = 1
    connect_timeout: float = 3.0
    query_timeout: float = 10.0
    insert_timeout: float = 60.0

    @property
    def where(self) -> str:
        """The endpoint for messages (never the API key)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port or ''}".rstrip(":")


ClientFactory = Callable[[WeaviateConfig], Any]


def make_client(config: WeaviateConfig) -> weaviate.WeaviateAsyncClient:
    """An async client that has not connected yet (no I/O here)."""
    parts = urlsplit(config.url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IndexUnavailable(detail=f"BAIBAIN_WEAVIATE_URL is not an http(s) URL: {config.url}")
    secure = parts.scheme == "https"
    return weaviate.use_async_with_custom(
        http_host=parts.hostname,
        http_port=parts.port or (443 if secure else 80),
        http_secure=secure,
        grpc_host=config.grpc_host or parts.hostname,
        grpc_port=config.grpc_port,
        grpc_secure=secure,
        additional_config=AdditionalConfig(
            timeout=Timeout(
                init=config.connect_timeout,
                query=config.query_timeout,
                insert=config.insert_timeout,
            )
        ),
        auth_credentials=Auth.api_key(config.api_key) if config.api_key else None,
        skip_init_checks=True,
    )


class _NoObjectDumps(logging.Filter):
    """weaviate-client logs failed batch objects whole (document text); keep those out."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not isinstance(record.msg, dict)


def quiet_client_logger() -> None:
    """Install ``_NoObjectDumps`` on weaviate-client's logger (once)."""
    client_log = logging.getLogger("weaviate-client")
    if not any(isinstance(f, _NoObjectDumps) for f in client_log.filters):
        client_log.addFilter(_NoObjectDumps())


class WeaviateConnection:
    """One lazily connected client and the collection handle, with bounded calls."""

    def __init__(
        self,
        config: WeaviateConfig,
        factory: ClientFactory = make_client,
        database: str | None = None,
    ) -> None:
        self.config = config
        self._factory = factory
        self._database = database
        self._client: Any = None
        self._collection: Any = None
        self._connecting: asyncio.Lock | None = None
        quiet_client_logger()

    def _reason(self, what: str, exc: BaseException) -> str:
        message = " ".join(str(exc).split())[:200]
        if self.config.api_key:
            message = message.replace(self.config.api_key, "***")
        return f"Weaviate {self.config.where}: {what} failed ({type(exc).__name__}: {message})"

    async def call(self, what: str, call: Awaitable[T], timeout: float) -> T:
        """Await one client call within ``timeout``; failures become ``IndexUnavailable``.

        ``WeaviateInsertManyAllFailedError`` passes through: it reports rejected objects, which
        the writer retries, not a broken connection.
        """
        try:
            return await asyncio.wait_for(call, timeout)
        except TimeoutError as exc:
            await self.disconnect()
            raise IndexUnavailable(
                detail=f"Weaviate {self.config.where}: {what} timed out after {timeout:g}s"
            ) from exc
        except WeaviateInsertManyAllFailedError:
            raise
        except (WeaviateBaseError, httpx.HTTPError, OSError) as exc:
            await self.disconnect()
            raise IndexUnavailable(detail=self._reason(what, exc)) from exc

    async def read(self, what: str, call: Awaitable[T]) -> T:
        """A query, bounded by the query timeout."""
        return await self.call(what, call, self.config.query_timeout)

    async def write(self, what: str, call: Awaitable[T]) -> T:
        """An insert or delete, bounded by the insert timeout."""
        return await self.call(what, call, self.config.insert_timeout)

    async def collection(self) -> Any:
        """The collection handle; connects and creates the collection on first use."""
        if self._collection is not None:
            return self._collection
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._collection is None:
                client = self._factory(self.config)
                self._client = client
                await self.call("connect", client.connect(), self.config.connect_timeout)
                try:
                    self._collection = await self.read("schema check", self._ensure(client))
                except IndexBoundElsewhere:
                    await self.disconnect()
                    raise
        return self._collection

    async def _ensure(self, client: Any) -> Any:
        name = self.config.collection
        if self._database is not None:
            await weaviate_binding.bind(client, name, self._database, self.config.where)
        if not await client.collections.exists(name):
            config = collection_config(
                name, replication_factor=self.config.replication_factor, shards=self.config.shards
            )
            try:
                await client.collections.create(**config)
                log.info("created Weaviate collection %s", name)
            except WeaviateBaseError:
                if not await client.collections.exists(name):  # lost a race with another process
                    raise
        collection = client.collections.use(name)
        await _add_missing_properties(collection)
        return collection

    async def ping(self) -> None:
        """A count over gRPC: proves REST (connect) and gRPC (queries) both answer."""
        collection = await self.collection()
        await self.call(
            "readiness check",
            collection.aggregate.over_all(total_count=True),
            self.config.connect_timeout,
        )

    async def drop_collection(self) -> None:
        """Delete the whole collection (tests and re-migrations)."""
        await self.collection()
        names = [
            self.config.collection,
            weaviate_binding.binding_collection(self.config.collection),
        ]
        await self.write("drop collection", self._client.collections.delete(names))
        await self.disconnect()

    async def disconnect(self) -> None:
        """Close the client; the next call connects again."""
        client, self._client, self._collection = self._client, None, None
        if client is not None:
            try:
                await asyncio.wait_for(client.close(), self.config.connect_timeout)
            except (TimeoutError, WeaviateBaseError, httpx.HTTPError, OSError) as exc:
                log.debug("closing the Weaviate client failed: %s", type(exc).__name__)


async def _add_missing_properties(collection: Any) -> None:
    """A collection created by an older Baibain lacks the properties added since (``refs``,
    ``vector_model``): add them with their tokenization, so that rewritten documents index
    them correctly instead of Weaviate's auto-schema guessing a type and tokenization."""
    present = {p.name for p in (await collection.config.get()).properties}
    for prop in PROPERTIES:
        if prop.name not in present:
            await collection.config.add_property(prop)
            log.info("added property %s to Weaviate collection %s", prop.name, collection.name)
