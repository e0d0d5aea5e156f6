"""Finding a document by the name a user gives it: its title or the name of its file.

Staff ask for a summary of 「地方自治法第242条」 or 「防災計画.pdf」, not of a document id. A name
matches a title when both read the same after width folding, with spaces and quotation marks
dropped, law abbreviations spelled out (自治法 → 地方自治法) and article numbers compared by
value (第二百四十二条 = 242条). When the name is the title of several versions of one statute
(e-Gov XML by enforcement date), it names the version in force; a statute's title followed by
an article (「原子力基本法第2条の2」) names that article of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date
from pathlib import PurePosixPath

from knowledge.analysis import Analyzer
from knowledge.dates import today_in_japan
from knowledge.documents import Document, DocumentMeta
from knowledge.index import Boost, IndexQuery, IndexStore, SearchFilter, Signal
from knowledge.ingest import source_of
from knowledge.lawquery import analyze_law_references
from knowledge.numerals import article_label, find_article_refs
from knowledge.terms import article_key
from knowledge.versions import version_in_force

# How many documents whose titles share the name's words are compared with it.
CANDIDATES = 30
_IGNORED = re.compile(r"[\s「」『』\"'“”‘’・]")


def title_key(text: str) -> str:
    """``text`` as compared with a title: folded, without spaces and quotes, every article
    reference as its key (「地方自治法 第二百四十二条」, 「地方自治法第242条」 and, as staff
    type it, 「地方自治法の242条」 agree)."""
    folded = unicodedata.normalize("NFKC", text).lower()
    parts: list[str] = []
    last = 0
    for ref in find_article_refs(folded):
        start, end = ref.span
        parts += [_before_article(folded[last:start]), f"§{ref.article}"]
        last = end
    parts.append(folded[last:])
    return _IGNORED.sub("", "".join(parts))


def _before_article(text: str) -> str:
    """The words before an article reference, without the 「の」 that joins a statute's name to
    it (「個情法の第5条」)."""
    bare = text.rstrip()
    return bare[:-1] if bare.endswith("の") and len(bare) > 1 else text


def file_keys(source: str) -> set[str]:
    """The names of the file a document came from (``source``: its file name or path,
    「報告.zip/資料3.pdf」, or a corpus row, 「reiki.jsonl!r1」), and of its archive member,
    with and without their extensions, as ``title_key`` folds them."""
    names = [PurePosixPath(part).name for part in source.split("!")]
    return {title_key(n) for name in names for n in (name, PurePosixPath(name).stem)} - {""}


def is_named(key: str, title: str, doc_id: str) -> bool:
    """Whether a name (as ``title_key`` folds it) is the title of the document ``doc_id`` or
    the name of the file it came from."""
    return bool(key) and (title_key(title) == key or key in file_keys(source_of(doc_id)))


def _in_force(versions: list[DocumentMeta], today: date) -> list[DocumentMeta]:
    """The version in force on ``today`` of versions of one document (``version_in_force``);
    all of them when they are not versions of one document or none is in force yet."""
    same = len({title_key(m.title) for m in versions}) == 1 and all(m.version for m in versions)
    enforced = version_in_force(versions, today) if same else None
    return [enforced] if enforced else versions


@dataclass(frozen=True)
class NamedDocuments:
    """Documents a name may mean: ``exact`` are those whose title or file name it is (of
    versions of one statute, the one in force), ``containing`` those whose title contains it;
    best title match first."""

    exact: list[DocumentMeta]
    containing: list[DocumentMeta]
    key: str = ""  # the name as titles are compared with it (``title_key``, law names in full)

    @property
    def best(self) -> list[DocumentMeta]:
        """The exact matches, else the titles containing the name."""
        return self.exact or self.containing


async def documents_named(
    store: IndexStore,
    analyzer: Analyzer,
    name: str,
    flt: SearchFilter,
    today: date | None = None,
) -> NamedDocuments:
    """Documents the viewer may see that ``name`` names, among those whose titles share its
    words (``today`` picks the version in force, in Japan by default)."""
    law_query = analyze_law_references(name, await store.law_titles(flt.viewer_org))
    key = title_key(law_query.text)
    terms = analyzer.words(law_query.text)
    if not key or not terms:
        return NamedDocuments([], [])
    signal = Signal(terms=dict.fromkeys(terms, 1.0), fields={"title": 1.0, "words": 0.1})
    hits = await store.search(IndexQuery([signal], filter=flt, k=CANDIDATES))
    metas = [hit.meta for hit in hits]
    exact = [m for m in metas if is_named(key, m.title, m.doc_id)]
    if len(exact) > 1:
        exact = _in_force(exact, today or today_in_japan())
    containing = [m for m in metas if m not in exact and key in title_key(m.title)]
    return NamedDocuments(exact, containing, key)


def article_named(name: str) -> tuple[str, str] | None:
    """``(statute name, article key)`` when ``name`` is a name followed by an article
    reference (「地方自治法第242条」 or 「地方自治法の第242条」 → ``("地方自治法", "242")``),
    else ``None``."""
    folded = unicodedata.normalize("NFKC", name).strip()
    refs = find_article_refs(folded)
    if len(refs) != 1 or refs[0].span[1] != len(folded):
        return None
    law = _before_article(folded[: refs[0].span[0]]).strip()
    return (law, refs[0].article) if law else None


def is_bare_article(name: str) -> bool:
    """Whether ``name`` is an article reference alone, naming no statute (「第2条」)."""
    folded = unicodedata.normalize("NFKC", name).strip()
    refs = find_article_refs(folded)
    return len(refs) == 1 and refs[0].span == (0, len(folded))


def article_of(document: Document, key: str) -> Document | None:
    """The chunks of article ``key`` of a statute stored whole, as a document titled with the
    article (「原子力基本法 第二条の二」); ``None`` when it has no such article."""
    chunks = tuple(c for c in document.chunks if article_key(c.position) == key)
    if not chunks:
        return None
    meta = replace(document.meta, title=f"{document.meta.title} {article_label(key)}")
    return replace(document, meta=meta, chunks=chunks)


def one_statute(named: NamedDocuments) -> DocumentMeta | None:
    """The statute a name is the title of when it is stored article by article (one document
    each, as the bundled sample is), or ``None``."""
    articles = [m for m in named.containing if m.law_id and title_key(m.law_title) == named.key]
    if named.exact or len(articles) < 2 or len({m.law_id for m in articles}) != 1:
        return None
    return articles[0]


async def first_article(
    store: IndexStore, analyzer: Analyzer, statute: DocumentMeta, flt: SearchFilter
) -> Document | None:
    """第一条 of a statute stored article by article (most statutes state their purpose there),
    looked up by law and article, or ``None``."""
    terms = analyzer.words(statute.law_title) or [statute.law_title]
    signal = Signal(terms=dict.fromkeys(terms, 1.0), fields={"title": 1.0})
    lookup = Boost(statute.law_id, 1.0, ("1",))
    hits = await store.search(IndexQuery([signal], filter=flt, k=5, boosts=(lookup,)))
    for hit in hits:
        if hit.meta.law_id == statute.law_id and article_key(hit.chunk.position) == "1":
            return await store.get_document(hit.meta.doc_id)
    return None
