"""Questions about files that came with the question (源内 ``/invoke``, chat attachments):
answered from those files only, through a throw-away index."""

from __future__ import annotations

import asyncio
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot import commands
from bot.asker import Asker
from bot.assistant import Assistant
from bot.followups import points_back
from bot.turns import Answer, Attachment, Progress, without_unseen
from knowledge.corpus import CorpusDefaults
from knowledge.documents import Document
from knowledge.embedded import EmbeddedIndexStore
from knowledge.errors import BaibainError
from knowledge.ingest import UnreadPages, documents_from_bytes, listed_unread
from knowledge.parsing import is_document, suffix_of
from knowledge.retrieval import Retriever

# An answer from attached files cites them as documents of a dataset of this name, kept only
# while that answer is written (a linked document: of the other); their ids start with the
# first alike.
ATTACHED_DATASET = "添付ファイル"
LINKED_DATASET = "リンク先の文書"

# What a message sent with files says when it wants them summarized (「これを要約して」,
# 「要点をまとめてください」, 「どんな内容ですか」, 「この資料の内容を教えて」, not
# 「第3条の内容は」); longer text is a question about them.
_SUMMARY_REQUEST = re.compile(
    r"要約|まとめ|要点|概要|概略|要旨|あらまし|サマリ|ざっくり|かいつまんで|どんな内容|何が書|なにが書"
    r"|^(?:(?:これ|この(?:資料|ファイル|文書)|添付(?:ファイル|資料)?)の?)?内容"
)
_SUMMARY_REQUEST_MAX_CHARS = 40
# Pictures beside a question (a screenshot) are left aside; other files Baibain cannot read
# (an old .xls, a .pptx) are what the message is about, and the reply must say so.
_PICTURES = frozenset(
    {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".heic", ".heif", ".tif", ".tiff"}
)


def wants_summary(text: str) -> bool:
    """Whether a message sent with files asks for their summary (or says nothing at all, or
    nothing but characters nobody sees)."""
    text = without_unseen(text).strip()
    return not text or (
        len(text) <= _SUMMARY_REQUEST_MAX_CHARS and _SUMMARY_REQUEST.search(text) is not None
    )


def unread_notice(files: Sequence[UnreadPages], reply: Literal["回答", "要約"]) -> str:
    """The line under an answer or a summary (``reply``) from files whose pages named in
    ``files`` hold no text to read (scanned pages), so that nothing found there, or a part
    missing from a summary, is understood; ``""`` when there are none."""
    if not files:
        return ""
    named, more = listed_unread(files)
    if more:
        named.append(f"ほか {more} 件の PDF の一部のページ")
    return f"※{'、'.join(named)}は文字を読み取れなかったため、{reply}に含まれていません。"


def is_picture(attachment: Attachment) -> bool:
    """Whether an attached file is a picture (by its type or its suffix)."""
    return attachment.mime_type.startswith("image/") or suffix_of(attachment.name) in _PICTURES


def points_at_files(text: str) -> bool:
    """Whether a message that came without files is about files posted just before it (with
    its thread's opening message): it asks for a summary and names nothing to summarize
    (「要約して」, 「summarize」), or points back (「これの根拠は」, 「この資料の提出期限は？」);
    not a question of its own (「住民票の写しの手数料は」) nor a summary of something it names
    (「地方自治法第242条を要約して」)."""
    text = without_unseen(text).strip()
    if not text:
        return False
    command, rest = commands.parse(text)
    if command is not None:
        return command.name == "summarize" and not rest.strip()
    return commands.asks_summary_alone(text) or points_back(text)


def about_files(text: str, attachments: Sequence[Attachment]) -> bool:
    """Whether a message is about its attached files: one is a document, or the message asks
    for a summary (or says nothing), or a file is neither a document nor a picture. Only a
    picture beside a question is left aside, and the question answered from the index."""
    if not attachments:
        return False
    if wants_summary(text) or any(is_document(a.name) for a in attachments):
        return True
    return not all(is_picture(a) for a in attachments)


async def ask_about_files(
    assistant: Assistant,
    question: str,
    files: Sequence[tuple[str, bytes]],
    asker: Asker,
    progress: Progress | None = None,
) -> Answer:
    """The answer to ``question`` from ``files`` (name, bytes) only. The files are the
    asker's own and go into an index of their own that nobody else searches. ``progress``
    receives the answer while the model writes it."""
    started = time.perf_counter()
    try:
        read = await read_files(files, asker)
    except BaibainError as exc:  # unreadable: asked all the same
        await assistant.record_failure(question, asker, exc, started)
        raise
    return await answer_from_files(assistant, question, read, asker, progress)


@dataclass(frozen=True)
class FilesRead:
    """The documents of files a message is about, and their pages without text."""

    documents: list[Document]
    unread: list[UnreadPages]


async def read_files(
    files: Sequence[tuple[str, bytes]], asker: Asker, source_url: str = ""
) -> FilesRead:
    """The documents of ``files``, the asker's own, cited with ``source_url`` (as linked
    documents) when they came from one (parsed off the event loop: it takes seconds for a
    large file, while every other chat waits); ``BaibainError`` when one cannot be read."""
    dataset = LINKED_DATASET if source_url else ATTACHED_DATASET
    defaults = CorpusDefaults(dataset=dataset, owner_org=asker.org_id, source_url=source_url)
    documents, unread = await asyncio.to_thread(_read, files, defaults)
    return FilesRead(documents, unread)


async def answer_from_files(
    assistant: Assistant,
    question: str,
    read: FilesRead,
    asker: Asker,
    progress: Progress | None = None,
) -> Answer:
    """The answer to ``question`` from the documents ``read`` alone, through an index of
    their own (removed after the answer)."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="baibain-files-") as tmp:
        store = EmbeddedIndexStore(Path(tmp) / "files.sqlite3", assistant.analyzer)
        try:
            try:
                await store.upsert_many(read.documents)
            except BaibainError as exc:  # not indexed: asked all the same
                await assistant.record_failure(question, asker, exc, started)
                raise
            retriever = Retriever(store, assistant.analyzer)
            files_assistant = assistant.for_files(retriever, unread_notice(read.unread, "回答"))
            return await files_assistant.ask(question, asker, on_progress=progress)
        finally:
            await store.close()


def _read(
    files: Sequence[tuple[str, bytes]], defaults: CorpusDefaults
) -> tuple[list[Document], list[UnreadPages]]:
    """Every document of the attached files, and their pages without text. Ids are made of
    names: a second file of a name (from another folder) is read under an id of its own, not
    as a new version replacing the first in the index."""
    documents: list[Document] = []
    unread: list[UnreadPages] = []
    seen: Counter[str] = Counter()
    for name, data in files:
        seen[name] += 1
        prefix = ATTACHED_DATASET if seen[name] == 1 else f"{ATTACHED_DATASET}/{seen[name]}"
        documents += documents_from_bytes(name, data, defaults, id_prefix=prefix, unread=unread)
    return documents, unread
