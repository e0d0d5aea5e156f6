"""JSONL corpora (``{"id","title","text",...}`` per line): reading, validation, documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from knowledge.chunking import chunk_sections
from knowledge.documents import (
    SHARED,
    Document,
    DocumentMeta,
    Section,
    Visibility,
    content_hash,
)
from knowledge.errors import BadDocument
from knowledge.parsing.egov import egov_url


@dataclass(frozen=True)
class CorpusDefaults:
    """Dataset-level metadata applied to every row of a corpus."""

    dataset: str
    owner_org: str | None = None
    visibility: Visibility = SHARED
    publisher: str = ""
    category: str = ""
    license: str = ""
    source_url: str = ""

    def meta(self, doc_id: str, title: str, **specific: Any) -> DocumentMeta:
        """Metadata of one document: the dataset's defaults plus what is specific to it
        (``source_url`` given there wins over the dataset's)."""
        shared = {
            "dataset": self.dataset,
            "owner_org": self.owner_org,
            "visibility": self.visibility,
            "publisher": self.publisher,
            "category": self.category,
            "license": self.license,
            "source_url": self.source_url,
        }
        return DocumentMeta(doc_id=doc_id, title=title, **{**shared, **specific})


def read_jsonl(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, Any]]]:
    """Rows of a JSONL file with their line numbers; a clear error names file and line."""
    try:
        handle = path.open(encoding="utf-8-sig")  # Windows editors write a BOM
    except OSError as exc:
        raise BadDocument(f"ファイル {path} を開けませんでした。", detail=str(exc)) from exc
    with handle:
        line_no = 0
        try:
            for line_no, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise BadDocument(
                        f"{path} の {line_no} 行目の {exc.colno} 文字目付近が JSON として"
                        "読めません。1 行に 1 つの JSON オブジェクトを書いてください。",
                        detail=exc.msg,
                    ) from exc
                if not isinstance(row, dict):
                    raise BadDocument(
                        f"{path} の {line_no} 行目が JSON オブジェクトではありません。"
                    )
                missing = [k for k in required if k not in row]
                if missing:
                    raise BadDocument(
                        f"{path} の {line_no} 行目に必須項目 {', '.join(missing)} がありません。"
                    )
                yield line_no, row
        except UnicodeDecodeError as exc:
            raise BadDocument(
                f"{path} の {line_no + 1} 行目付近が UTF-8 ではありません。"
                "UTF-8 で保存してください。"
            ) from exc


def row_to_document(row: dict[str, Any], defaults: CorpusDefaults, id_prefix: str = "") -> Document:
    """One corpus row as a document; law corpora (``law_title``/``article``) get law metadata.
    Its id is the row's, after ``id_prefix``."""
    doc_id = id_prefix + str(row["id"])
    title = str(row.get("title") or row["id"])
    text = str(row.get("text") or "")
    law_title = str(row.get("law_title") or "")
    article = str(row.get("article") or "")
    law_id = str(row.get("law_id") or "")
    source_url = defaults.source_url or egov_url(law_id)
    meta = defaults.meta(doc_id, title, source_url=source_url, law_id=law_id, law_title=law_title)
    section = Section(text=text, heading=article, position=article)
    return Document(
        meta=meta, chunks=chunk_sections(doc_id, [section]), content_hash=content_hash(text)
    )


def read_corpus(path: Path, defaults: CorpusDefaults, *, id_prefix: str = "") -> Iterator[Document]:
    """Documents of a JSONL corpus, validated line by line; their ids are the rows' after
    ``id_prefix`` (a dataset's, so that no row can take the id of another dataset's
    document)."""
    seen: set[str] = set()
    for line_no, row in read_jsonl(path, ("id", "text")):
        doc_id = str(row["id"])
        if doc_id in seen:
            raise BadDocument(f"{path} の {line_no} 行目: id {doc_id} が重複しています。")
        seen.add(doc_id)
        yield row_to_document(row, defaults, id_prefix)
