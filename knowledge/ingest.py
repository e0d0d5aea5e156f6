"""Files and folders into documents: parse, chunk, hash; corpora (.jsonl rows) pass through."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path, PurePosixPath

from knowledge.chunking import chunk_sections
from knowledge.corpus import CorpusDefaults, read_corpus
from knowledge.documents import Document, content_hash
from knowledge.errors import BadDocument
from knowledge.parsing import parse_file


def iter_files(paths: list[Path]) -> Iterator[tuple[Path, str]]:
    """Every file under ``paths`` (folders walked in name order) with its display name."""
    for path in paths:
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith("."):
                        full = Path(root, name)
                        yield full, full.relative_to(path.parent).as_posix()
        elif path.is_file():
            yield path, path.name
        else:
            raise BadDocument(f"{path} が見つかりません。パスを確認してください。")


def documents_from_file(
    path: Path, name: str, defaults: CorpusDefaults, *, id_prefix: str = ""
) -> Iterator[Document]:
    """Documents of one file: a JSONL corpus yields one per row, other files one per member."""
    if path.suffix.lower() == ".jsonl" and _is_corpus(path):
        yield from read_corpus(path, defaults)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocument(f"{name} を読み込めませんでした。", detail=str(exc)) from exc
    yield from documents_from_bytes(name, data, defaults, id_prefix=id_prefix)


def documents_from_bytes(
    name: str, data: bytes, defaults: CorpusDefaults, *, id_prefix: str = ""
) -> Iterator[Document]:
    """Documents of one uploaded file (a zip yields one per supported member).

    Document ids are ``<id_prefix or dataset>/<file name>`` (``!<member>`` for archive members),
    so re-uploading a file of the same name replaces its previous version.
    """
    for parsed in parse_file(name, data):
        member = PurePosixPath(name).name
        doc_id = f"{id_prefix or defaults.dataset}/{name}"
        if parsed.name not in (name, member):
            doc_id = f"{doc_id}!{parsed.name}"
        text = "\n".join(s.text for s in parsed.sections)
        meta = defaults.meta(
            doc_id,
            parsed.title or PurePosixPath(parsed.name).stem,
            published=parsed.published,
            law_id=parsed.law_id,
            law_title=parsed.law_title,
            version=parsed.version,
        )
        chunks = chunk_sections(doc_id, parsed.sections)
        if not chunks:
            raise BadDocument(f"{parsed.name} には本文がありません。")
        yield Document(meta=meta, chunks=chunks, content_hash=content_hash(text))


def _is_corpus(path: Path) -> bool:
    """A JSONL file whose first row has ``id`` and ``text`` is a corpus of ready documents."""
    import json

    try:
        with path.open(encoding="utf-8") as handle:
            first = next((line for line in handle if line.strip()), "")
        row = json.loads(first) if first else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(row, dict) and "id" in row and "text" in row


def with_owner(defaults: CorpusDefaults, owner_org: str | None) -> CorpusDefaults:
    """The same defaults for another owner organization."""
    return replace(defaults, owner_org=owner_org)
