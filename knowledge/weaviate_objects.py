"""Chunk objects of the Weaviate collection: ids, properties, and back to domain values."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from weaviate.classes.data import DataObject
from weaviate.util import generate_uuid5

from knowledge.dense import Vector, embedding_input
from knowledge.documents import Chunk, Document, DocumentMeta
from knowledge.terms import TERMS_VERSION, ChunkTerms
from knowledge.weaviate_schema import VECTOR_MODEL, utc_day

_UUID_NAMESPACE = "baibain-chunk"


def document_generation(document: Document) -> str:
    """Fingerprint of everything stored for a document version.

    Object ids derive from it, so a changed document is written next to the old version (which
    stays searchable until the new one is complete) and an unchanged one overwrites itself.
    """
    meta = asdict(document.meta)
    meta["published"] = document.meta.published.isoformat() if document.meta.published else None
    payload = {
        "meta": meta,
        "hash": document.content_hash,
        "terms": TERMS_VERSION,
        "chunks": [[c.chunk_id, c.ordinal, c.text, c.heading, c.position] for c in document.chunks],
    }
    raw = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def object_uuid(doc_id: str, chunk_id: str, generation: str) -> str:
    """Deterministic object id of one chunk of one document version."""
    return generate_uuid5(f"{doc_id}\x1f{chunk_id}\x1f{generation}", _UUID_NAMESPACE)


def chunk_properties(
    document: Document, terms: ChunkTerms, *, generation: str, seq: int, head: bool
) -> dict[str, Any]:
    """Properties of one chunk object (``None`` values are left out: nothing to index)."""
    meta, chunk = document.meta, terms.chunk
    props: dict[str, Any] = {
        # Space-joined: the collection's tokenization is ``whitespace``.
        "words": " ".join(terms.words),
        "title_words": " ".join(terms.title_words),
        "grams": " ".join(terms.grams),
        "refs": " ".join(terms.refs),
        "text": chunk.text,
        "heading": chunk.heading,
        "position": chunk.position,
        "doc_title": meta.title,
        "publisher": meta.publisher,
        "license": meta.license,
        "source_url": meta.source_url,
        "content_hash": document.content_hash,
        "doc_id": meta.doc_id,
        "chunk_id": chunk.chunk_id,
        "owner_org": meta.owner_org,
        "visibility": meta.visibility,
        "dataset": meta.dataset,
        "category": meta.category,
        "law_id": meta.law_id,
        "law_title": meta.law_title,
        "article": terms.article,
        "version": meta.version,
        "generation": generation,
        "published": utc_day(meta.published) if meta.published else None,
        "ordinal": chunk.ordinal,
        "head": head,
        "seq": seq,
        "chunk_count": len(document.chunks),
    }
    return {k: v for k, v in props.items() if v is not None}


def chunk_object(
    document: Document,
    terms: ChunkTerms,
    *,
    generation: str,
    seq: int,
    head: bool,
    vector: Vector | None = None,
    model: str = "",
) -> DataObject[dict[str, Any], None]:
    """One chunk object to insert: its properties, its id and, given one, its vector, whose
    ``model`` is recorded in ``vector_model``."""
    props = chunk_properties(document, terms, generation=generation, seq=seq, head=head)
    if vector is not None:
        props[VECTOR_MODEL] = model
    return DataObject(
        properties=props,
        uuid=object_uuid(document.doc_id, terms.chunk.chunk_id, generation),
        vector=None if vector is None else vector.tolist(),
    )


def _text(props: Mapping[str, Any], name: str) -> str:
    value = props.get(name)
    return "" if value is None else str(value)


def meta_from_properties(props: Mapping[str, Any]) -> DocumentMeta:
    """The document metadata stored on a chunk object."""
    published = props.get("published")
    if isinstance(published, datetime):
        published = published.astimezone(UTC).date()
    elif isinstance(published, str) and published:
        published = datetime.fromisoformat(published.replace("Z", "+00:00")).date()
    return DocumentMeta(
        doc_id=_text(props, "doc_id"),
        title=_text(props, "doc_title"),
        dataset=_text(props, "dataset"),
        owner_org=props.get("owner_org") or None,
        # Fails closed, as the embedded store does: only an object marked shared is shared.
        visibility="shared" if props.get("visibility") == "shared" else "organization",
        publisher=_text(props, "publisher"),
        category=_text(props, "category"),
        license=_text(props, "license"),
        source_url=_text(props, "source_url"),
        published=published if isinstance(published, date) else None,
        law_id=_text(props, "law_id"),
        law_title=_text(props, "law_title"),
        version=_text(props, "version"),
    )


def chunk_from_properties(props: Mapping[str, Any]) -> Chunk:
    """The chunk stored on a chunk object."""
    return Chunk(
        chunk_id=_text(props, "chunk_id"),
        doc_id=_text(props, "doc_id"),
        ordinal=int(props.get("ordinal") or 0),
        text=_text(props, "text"),
        heading=_text(props, "heading"),
        position=_text(props, "position"),
    )


def embedding_input_of(props: Mapping[str, Any]) -> str:
    """The text embedded for the chunk stored on an object (see ``dense.embedding_input``)."""
    return embedding_input(meta_from_properties(props), chunk_from_properties(props))
