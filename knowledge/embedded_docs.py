"""The embedded store's in-memory table of documents: filter columns and chunk docnos.

Also the JSON form of ``DocumentMeta`` kept in the ``documents`` table.
"""

from __future__ import annotations

import functools
import json
import sys
from collections import Counter
from collections.abc import Sequence
from datetime import date

import numpy as np
import numpy.typing as npt

from knowledge.documents import DocumentMeta
from knowledge.index import SearchFilter
from knowledge.postings import GrowableArray


def meta_to_json(meta: DocumentMeta) -> str:
    """The stored JSON of a document's metadata."""
    data = dict(vars(meta))
    data["published"] = meta.published.isoformat() if meta.published else None
    return json.dumps(data, ensure_ascii=False)


@functools.lru_cache(maxsize=4096)
def meta_from_json(raw: str) -> DocumentMeta:
    """``DocumentMeta`` from its stored JSON (cached: hits repeat documents)."""
    data = json.loads(raw)
    published = data.pop("published", None)
    return DocumentMeta(**data, published=date.fromisoformat(published) if published else None)


# What the in-memory table keeps of a document: its filter columns (read by SQLite from the
# stored JSON, so opening a large index parses no JSON in Python) and its law title.
_DOC_FIELDS = ("visibility", "published", "owner_org", "category", "dataset", "law_id")
DOC_ROWS = (
    "SELECT doc_id, "
    + ", ".join(f"json_extract(meta, '$.{f}')" for f in (*_DOC_FIELDS, "law_title"))
    + " FROM documents"
)
DocRow = tuple[str, str, str | None, str | None, str | None, str | None, str | None, str | None]


class DocTable:
    """Per-document filter columns, vectorized so a filter costs microseconds per thousand.

    A document's chunks have consecutive docnos (they are written, and read back, together);
    ``first`` and ``count`` record them, with a fallback for any that are not.
    """

    def __init__(self) -> None:
        self.keys: dict[str, int] = {}
        # Law titles by who may see them: "" for shared documents, else the owner organization.
        self._law_titles: dict[str, dict[str, str]] = {}
        self._law_key: list[tuple[str, str] | None] = []
        self._law_docs: Counter[tuple[str, str]] = Counter()
        self._first = GrowableArray(np.int64, fill=-1)
        self._count = GrowableArray(np.int64)
        self._scattered: dict[int, list[int]] = {}
        self.alive = GrowableArray(np.bool_, fill=False)
        self.shared = GrowableArray(np.bool_, fill=False)
        self.published = GrowableArray(np.int32)
        self._codes: dict[str, dict[str, int]] = {
            a: {} for a in ("owner_org", "category", "dataset", "law_id")
        }
        self._columns = {a: GrowableArray(np.int32, fill=-1) for a in self._codes}

    def column(self, attribute: str) -> npt.NDArray[np.int32]:
        return self._columns[attribute].view

    def code(self, attribute: str, value: str | None) -> int:
        return self._codes[attribute].get(value or "", -2)

    def add(self, rows: Sequence[DocRow]) -> None:
        """Documents as ``(doc_id, visibility, published, owner_org, category, dataset,
        law_id, law_title)``."""
        for row in rows:
            self.keys[row[0]] = len(self._law_key)
            law_key = None
            if row[7] and row[6]:
                scope = "" if row[1] == "shared" else sys.intern(row[3] or "")
                law_key = (scope, sys.intern(row[7]))
                self._law_titles.setdefault(scope, {})[law_key[1]] = row[6]
                self._law_docs[law_key] += 1
            self._law_key.append(law_key)
        self._first.extend(np.full(len(rows), -1))
        self._count.extend(np.zeros(len(rows)))
        self.alive.extend(np.ones(len(rows), dtype=np.bool_))
        self.shared.extend([r[1] == "shared" for r in rows])
        self.published.extend([date.fromisoformat(r[2]).toordinal() if r[2] else 0 for r in rows])
        for i, (attribute, codes) in enumerate(self._codes.items(), start=3):
            column = [codes.setdefault(r[i] or "", len(codes)) for r in rows]
            self._columns[attribute].extend(column)

    def add_chunks(self, keys: Sequence[int], docnos: range) -> None:
        """Record the docnos of chunks (in docno order) of the documents ``keys``."""
        first, count = self._first.view, self._count.view
        run_start = 0
        for i in range(1, len(keys) + 1):
            if i < len(keys) and keys[i] == keys[run_start]:
                continue
            key, start, n = keys[run_start], docnos[run_start], i - run_start
            if count[key] == 0:
                first[key], count[key] = start, n
            elif first[key] + count[key] == start and key not in self._scattered:
                count[key] += n
            else:
                self._scattered.setdefault(key, []).extend(range(start, start + n))
            run_start = i

    def remove(self, doc_id: str) -> list[int]:
        """Forget a document; returns the docnos of its chunks."""
        key = self.keys.pop(doc_id, None)
        if key is None:
            return []
        self.alive.view[key] = False
        law_key = self._law_key[key]
        if law_key and self._law_docs[law_key]:
            self._law_docs[law_key] -= 1
            if not self._law_docs[law_key]:
                del self._law_docs[law_key]
                self._law_titles[law_key[0]].pop(law_key[1], None)
        first, count = int(self._first.view[key]), int(self._count.view[key])
        self._count.view[key] = 0
        return [*range(first, first + count), *self._scattered.pop(key, [])]

    def law_titles(self, viewer_org: str | None) -> dict[str, str]:
        """Title → law id of the laws ``viewer_org`` may see (its own titles win a tie)."""
        titles = dict(self._law_titles.get("", {}))
        if viewer_org:
            titles.update(self._law_titles.get(viewer_org, {}))
        return titles

    def allowed(self, flt: SearchFilter) -> npt.NDArray[np.bool_]:
        owner = self._columns["owner_org"].view
        mask = self.alive.view & (
            self.shared.view | (owner == self.code("owner_org", flt.viewer_org))
        )
        for attribute, wanted in (
            ("category", flt.categories),
            ("dataset", flt.datasets),
            ("owner_org", flt.owner_orgs),
            ("law_id", flt.law_ids),
        ):
            if wanted:
                codes = [self.code(attribute, w) for w in wanted]
                mask &= np.isin(self._columns[attribute].view, codes)
        if flt.doc_ids:
            only = np.zeros_like(mask)
            only[[self.keys[d] for d in flt.doc_ids if d in self.keys]] = True
            mask &= only
        published = self.published.view
        if flt.published_from:
            mask &= published >= flt.published_from.toordinal()
        if flt.published_to:
            mask &= (published > 0) & (published <= flt.published_to.toordinal())
        return mask
