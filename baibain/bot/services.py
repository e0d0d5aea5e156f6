"""Building and closing everything a process needs, once, from ``Settings``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from baibain.admin.audit import AuditKeyring, AuditLog
from baibain.admin.conversations import ConversationStore
from baibain.admin.db import create_db_engine, init_db
from baibain.bot.assistant import Assistant
from baibain.bot.auditing import Auditor
from baibain.bot.sample import load_sample_if_empty
from baibain.bot.settings import Settings
from baibain.bot.summarizer import Summarizer
from baibain.knowledge.analysis import Analyzer
from baibain.knowledge.embedded import EmbeddedIndexStore
from baibain.knowledge.errors import BadInput
from baibain.knowledge.index import IndexStore
from baibain.knowledge.llm import LLMClient, LLMConfig, OpenAIChatClient
from baibain.knowledge.retrieval import Retriever

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
    llm: LLMClient | None = None

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()
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


def open_index(settings: Settings, analyzer: Analyzer) -> IndexStore:
    """The configured ``IndexStore``."""
    if settings.index == "weaviate":
        raise BadInput(
            "Weaviate インデックスはまだ利用できません。BAIBAIN_INDEX=embedded を指定してください。"
        )
    return EmbeddedIndexStore(settings.index_path, analyzer)


async def open_services(
    settings: Settings, *, load_sample: bool = True, show_progress: bool = False
) -> Services:
    """Open the database and the index; load the sample into an empty index when enabled."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.sqlalchemy_url)
    init_db(engine)
    analyzer = Analyzer()
    index = open_index(settings, analyzer)
    if load_sample and settings.sample_data:
        await load_sample_if_empty(index, show_progress=show_progress)
    keyring = open_keyring(settings)
    auditor = Auditor(AuditLog(engine, keyring))
    llm = open_llm(settings)
    assistant = Assistant(
        Retriever(index, analyzer), analyzer, auditor, ConversationStore(engine, keyring), llm
    )
    summarizer = Summarizer(
        index,
        auditor,
        llm,
        token_budget=settings.summary_token_budget,
        fetch_max_bytes=settings.fetch_max_bytes,
    )
    return Services(settings, engine, analyzer, index, auditor, assistant, summarizer, llm)
