"""Building and closing everything a process needs, once, from ``Settings``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from admin.audit import AuditKeyring, AuditLog
from admin.conversations import ConversationStore
from admin.datasets import DatasetService
from admin.db import create_db_engine, init_db
from admin.identity import database_identity
from admin.quotas import QuotaService
from admin.usage import UsageService
from bot.assistant import Assistant
from bot.auditing import Auditor
from bot.fetch import FetchPolicy
from bot.metering import LLMAccess
from bot.sample import SAMPLE_DATASET, load_sample_if_empty
from bot.settings import Settings
from bot.summarizer import Summarizer
from bot.uploads import Uploads
from knowledge.analysis import Analyzer
from knowledge.embedded import EmbeddedIndexStore
from knowledge.embeddings import Embedder, OpenAIEmbedder
from knowledge.errors import (
    BadInput,
    BaibainError,
    IndexBoundElsewhere,
    IndexUnavailable,
    UpstreamUnavailable,
)
from knowledge.index import IndexStore
from knowledge.llm import LLMClient, LLMConfig, OpenAIChatClient
from knowledge.retrieval import Retriever
from knowledge.weaviate_store import WeaviateConfig, WeaviateIndexStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """The long-lived parts of a process, shared by the web app, the CLI and the worker."""

    settings: Settings
    engine: Engine
    analyzer: Analyzer
    index: IndexStore
    auditor: Auditor
    assistant: Assistant
    summarizer: Summarizer
    quotas: QuotaService
    datasets: DatasetService
    uploads: Uploads
    usage: UsageService
    llm: LLMClient | None = None
    embedder: Embedder | None = None

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()
        if self.embedder is not None:
            await self.embedder.close()
        await self.index.close()
        self.engine.dispose()


def open_keyring(settings: Settings) -> AuditKeyring:
    """Keys from ``BAIBAIN_AUDIT_KEY`` (or the generated key file in the data dir)."""
    configured = settings.audit_key.get_secret_value() if settings.audit_key else None
    return AuditKeyring.load(configured, settings.data_dir)


def open_audit_log(settings: Settings, engine: Engine) -> AuditLog:
    """The audit log of the configured database and keys."""
    return AuditLog(engine, open_keyring(settings))


def open_llm(settings: Settings) -> LLMClient | None:
    """The OpenAI-compatible chat client, or ``None`` for offline (extractive) answers."""
    if not settings.llm_base_url:
        return None
    return OpenAIChatClient(
        LLMConfig(
            base_url=settings.llm_base_url,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else "",
            model=settings.llm_model or "default",
            api_version=settings.llm_api_version,
            timeout_s=settings.llm_timeout_s,
            deadline_s=settings.llm_deadline_s,
        )
    )


def open_embedder(settings: Settings) -> Embedder | None:
    """The OpenAI-compatible embeddings client, or ``None`` for lexical retrieval only."""
    if not settings.embedding_base_url:
        return None
    if not settings.embedding_model:
        raise BadInput(
            "BAIBAIN_EMBEDDING_MODEL が設定されていません。埋め込みモデル名を指定してください。"
        )
    key = settings.embedding_api_key or settings.llm_api_key
    return OpenAIEmbedder(
        LLMConfig(
            base_url=settings.embedding_base_url,
            api_key=key.get_secret_value() if key else "",
            model=settings.embedding_model,
            api_version=settings.embedding_api_version,
            timeout_s=settings.llm_timeout_s,
            deadline_s=settings.llm_deadline_s,
        )
    )


def configured_database(settings: Settings) -> str:
    """The identity of the configured database (its schema brought up to date): what the
    index is bound to, for commands that open the index without the other services."""
    engine = create_db_engine(settings.sqlalchemy_url)
    try:
        init_db(engine)
        return database_identity(engine)
    finally:
        engine.dispose()


def open_weaviate_index(
    settings: Settings, analyzer: Analyzer, embedder: Embedder | None = None, *, database: str
) -> WeaviateIndexStore:
    """The Weaviate store of ``BAIBAIN_WEAVIATE_*`` serving ``database`` (its identity); it
    connects on first use and keeps chunk vectors of ``embedder``."""
    if not settings.weaviate_url:
        raise BadInput(
            "BAIBAIN_WEAVIATE_URL が設定されていません。Weaviate の URL を指定してください。"
        )
    config = WeaviateConfig(
        url=settings.weaviate_url,
        api_key=settings.weaviate_api_key.get_secret_value() if settings.weaviate_api_key else None,
        grpc_port=settings.weaviate_grpc_port,
        grpc_host=settings.weaviate_grpc_host,
        collection=settings.weaviate_collection,
        replication_factor=settings.weaviate_replication_factor,
        shards=settings.weaviate_shards,
        connect_timeout=settings.weaviate_connect_timeout_s,
        query_timeout=settings.weaviate_timeout_s,
        insert_timeout=settings.weaviate_insert_timeout_s,
    )
    return WeaviateIndexStore(config, analyzer, embedder=embedder, database=database)


def open_index(
    settings: Settings, analyzer: Analyzer, embedder: Embedder | None = None, *, database: str
) -> IndexStore:
    """The configured ``IndexStore`` serving ``database`` (its identity: an index built with
    another database is refused, ``IndexBoundElsewhere``); it keeps chunk vectors of
    ``embedder``."""
    if settings.index == "weaviate":
        return open_weaviate_index(settings, analyzer, embedder, database=database)
    return EmbeddedIndexStore(settings.index_path, analyzer, embedder, database=database)


async def _close_opened(
    engine: Engine, embedder: Embedder | None, index: IndexStore | None
) -> None:
    """Close what ``open_services`` opened before it failed."""
    if index is not None:
        await index.close()
    if embedder is not None:
        await embedder.close()
    engine.dispose()


async def open_services(
    settings: Settings, *, load_sample: bool = True, show_progress: bool = False
) -> Services:
    """Open the database and the index; load the sample into an empty index when enabled."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.sqlalchemy_url)
    init_db(engine)
    audit = open_audit_log(settings, engine)
    try:
        audit.check_writable()  # a wrong key stops the process before it records anything
    except BaibainError:
        engine.dispose()
        raise
    analyzer = Analyzer()
    embedder = open_embedder(settings)
    index: IndexStore | None = None
    try:
        # An index built with another database is refused here (``IndexBoundElsewhere``):
        # the embedded one as it opens, Weaviate as it connects (now, or when it answers).
        index = open_index(settings, analyzer, embedder, database=database_identity(engine))
        await index.ping()
        if load_sample and settings.sample_data:
            await load_sample_if_empty(index, show_progress=show_progress)
    except (IndexUnavailable, UpstreamUnavailable) as exc:
        if index is None or isinstance(exc, IndexBoundElsewhere):
            await _close_opened(engine, embedder, index)
            raise
        # Start anyway: /readyz reports the index, users get a polite message per question;
        # the sample is loaded at the next start.
        log.warning("index or embeddings unavailable, sample not loaded: %s", exc.detail)
    except BaseException:
        await _close_opened(engine, embedder, index)
        raise
    usage = UsageService(engine, settings.model_prices)
    auditor = Auditor(audit, usage)
    llm = open_llm(settings)
    quotas = QuotaService(engine, settings.monthly_token_budget)
    access = LLMAccess(llm, quotas, auditor)
    assistant = Assistant(
        Retriever(index, analyzer, embedder),
        analyzer,
        auditor,
        ConversationStore(engine, audit.keyring),
        access,
        answer_max_tokens=settings.llm_answer_max_tokens,
        query_variants=settings.llm_query_variants,
    )
    # No organization's dataset takes the bundled sample's name (listed and filtered by name).
    datasets = DatasetService(engine, reserved=(SAMPLE_DATASET,))
    summarizer = Summarizer(
        index,
        analyzer,
        auditor,
        access,
        token_budget=settings.summary_token_budget,
        fetch_policy=FetchPolicy.of(settings),
        from_file=datasets.from_file,
    )
    return Services(
        settings=settings,
        engine=engine,
        analyzer=analyzer,
        index=index,
        auditor=auditor,
        assistant=assistant,
        summarizer=summarizer,
        quotas=quotas,
        datasets=datasets,
        uploads=Uploads(index, datasets, auditor),
        usage=usage,
        llm=llm,
        embedder=embedder,
    )
