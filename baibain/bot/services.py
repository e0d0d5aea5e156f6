"""Building and closing everything a process needs, once, from ``Settings``."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from baibain.admin.audit import AuditKeyring, AuditLog
from baibain.admin.db import create_db_engine, init_db
from baibain.bot.assistant import Assistant
from baibain.bot.auditing import Auditor
from baibain.bot.sample import load_sample_if_empty
from baibain.bot.settings import Settings
from baibain.knowledge.analysis import Analyzer
from baibain.knowledge.embedded import EmbeddedIndexStore
from baibain.knowledge.errors import BadInput
from baibain.knowledge.index import IndexStore
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

    async def close(self) -> None:
        await self.index.close()
        self.engine.dispose()


def open_audit_log(settings: Settings, engine: Engine) -> AuditLog:
    """The audit log with keys from ``BAIBAIN_AUDIT_KEY`` (or the generated key file)."""
    configured = settings.audit_key.get_secret_value() if settings.audit_key else None
    return AuditLog(engine, AuditKeyring.load(configured, settings.data_dir))


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
    auditor = Auditor(open_audit_log(settings, engine))
    assistant = Assistant(Retriever(index, analyzer), analyzer, auditor)
    return Services(settings, engine, analyzer, index, auditor, assistant)
