"""What a summary is of: an indexed document named by id, title or file name, a source an
answer cited, a URL, or an attached file, read as its title, passages and citation."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from bot.asker import Asker
from bot.attached import ATTACHED_DATASET
from bot.fetch import FetchPolicy, fetch_document
from bot.offline import citation_of
from bot.turns import Citation
from knowledge.analysis import Analyzer
from knowledge.chunking import chunk_sections
from knowledge.documents import Chunk, Document, DocumentMeta
from knowledge.errors import BadInput, NotFound
from knowledge.index import IndexStore, SearchFilter
from knowledge.ingest import UnreadPages, unread_of
from knowledge.parsing import ParsedFile, parse_file
from knowledge.terms import article_key
from knowledge.titles import (
    article_named,
    article_of,
    documents_named,
    first_article,
    is_bare_article,
    one_statute,
)

# How many documents a name that fits several lists for the user to choose from.
LISTED_CANDIDATES = 5
# Names (a document's id, title or file name) and addresses as long as they come: what is
# longer is refused without being repeated back.
MAX_NAME_CHARS = 500
MAX_URL_CHARS = 2000
# Text pasted into a message to be summarized (a notice, an e-mail): read as a text file of
# this name, up to this many characters (more is a file to attach).
PASTED_NAME = "貼り付けられた文章.txt"
MAX_PASTED_CHARS = 30_000
CITED_GONE_TEXT = (
    "この出典の文書は、いまは参照できないため要約できません"
    "（データセットが削除されたか、共有が解除された可能性があります）。"
)
CITED_FILE_GONE_TEXT = (
    "添付ファイルは回答のあと保存していないため、この出典は要約できません。"
    "ファイルをもう一度添付して「要約して」と送ってください。"
)

FilesNamed = Callable[[str | None, str], list[str]]
"""Index doc ids of the documents read from a file of that name that a viewer may see
(``admin.datasets.DatasetService.from_file``)."""


@dataclass(frozen=True)
class SummaryRequest:
    """Exactly one of: an indexed document (its id, title or file name), a source an answer
    cited (its document id, with ``article`` the article key cited in it), a URL, a file
    (name and bytes), or text pasted into the message ``question`` that asked for it;
    ``max_chars``: the length the summary was asked to have (「3行で」), if any."""

    doc_id: str = ""
    url: str = ""
    filename: str = ""
    content: bytes | None = None
    cited_id: str = ""
    article: str = ""
    pasted: str = ""
    question: str = ""
    max_chars: int | None = None

    @property
    def asked(self) -> str:
        """What was asked, for the audit record: the message that carried pasted text, else
        ``summarize`` and what it named (never a file's content)."""
        if self.question:
            return self.question
        cited = " ".join(x for x in (self.cited_id, self.article) if x)
        return f"summarize {self.doc_id or cited or self.url or self.filename}"


@dataclass(frozen=True)
class Source:
    """A document to summarize: its title, passages and citation."""

    title: str
    chunks: list[str]
    citation: Citation
    note: str = ""  # said before the summary: what is summarized instead of what was named
    # The passages outside the 附則, when there are both: a statute's supplementary provisions
    # (dates of entry into force of each amendment) are not what an offline summary quotes.
    main: tuple[str, ...] = ()
    unread: UnreadPages | None = None  # a PDF's pages without text (scans), not summarized


class SummarySources:
    """Finds and reads what a summary request names, as the asker may see it."""

    def __init__(
        self,
        index: IndexStore,
        analyzer: Analyzer,
        fetch_policy: FetchPolicy,
        from_file: FilesNamed | None = None,
    ) -> None:
        self.index = index
        self.analyzer = analyzer
        self.fetch_policy = fetch_policy
        self.from_file = from_file

    async def source(self, request: SummaryRequest, asker: Asker) -> Source:
        given = [request.doc_id, request.cited_id, request.url, request.content is not None]
        given.append(request.pasted)
        if sum(map(bool, given)) != 1:
            raise BadInput(
                "要約する文書を、文書ID・URL・添付ファイルのいずれか1つで指定してください。"
            )
        if len(request.doc_id) > MAX_NAME_CHARS or len(request.url) > MAX_URL_CHARS:
            raise BadInput(
                f"文書名・文書ID（doc_id）は {MAX_NAME_CHARS} 文字以内、"
                f"URL（url）は {MAX_URL_CHARS} 文字以内で指定してください。"
            )
        if request.doc_id:
            return await self.named(request.doc_id, asker)
        if request.cited_id:
            visible = SearchFilter(viewer_org=asker.viewer_org)
            return _of_document(await self._cited(request.cited_id, request.article, visible))
        if len(request.pasted) > MAX_PASTED_CHARS:
            raise BadInput(
                f"貼り付けられた文章が長すぎます（{len(request.pasted):,}文字）。"
                f"{MAX_PASTED_CHARS:,}文字以内にするか、ファイルにして添付してください。"
            )
        if request.url:
            name, data = await fetch_document(request.url, self.fetch_policy)
            url = request.url
        elif request.pasted:
            name, data, url = PASTED_NAME, request.pasted.encode(), ""
        else:
            name, data, url = request.filename or "添付ファイル", request.content or b"", ""
        # Parsing a large file takes seconds: off the event loop, which answers every chat.
        parsed, chunks = await asyncio.to_thread(_read, name, data)
        first = parsed[0]
        if not chunks:
            raise BadInput(f"{name} には要約できる本文がありません。")
        title = first.title or PurePosixPath(first.name).stem or name
        # Cited as an indexed document of the same metadata is, in no dataset.
        meta = DocumentMeta(
            doc_id="",
            title=title,
            dataset="",
            source_url=url or first.source_url,
            published=first.published,
            law_id=first.law_id,
            law_title=first.law_title,
            version=first.version,
        )
        citation = citation_of(1, meta)
        if first.version:  # an e-Gov XML named by its 施行日, as e-Gov names its downloads
            title = _version_title(title, first.version)
        note = ""
        if len(parsed) > 1:  # an archive: one summary is of one document, as for attachments
            note = (
                f"「{name}」には文書が {len(parsed)} 件あるため、最初の「{title}」だけを"
                f"要約しました（ほかの {len(parsed) - 1} 件は要約していません）。"
                "ほかの文書は1件ずつ送ってください。\n\n"
            )
        texts = [c.text for c in chunks]
        return Source(title, texts, citation, note, _main_provision(chunks), unread_of(name, first))

    async def named(self, name: str, asker: Asker) -> Source:
        """The indexed document ``name`` names that the asker may see (``_indexed``)."""
        document, note = await self._indexed(name, SearchFilter(viewer_org=asker.viewer_org))
        return _of_document(document, note)

    async def _indexed(self, name: str, flt: SearchFilter) -> tuple[Document, str]:
        """The document with id ``name``, else the one document that ``name`` names; for a
        statute stored article by article, its 第一条, with a note saying so."""
        document = await self.index.get_document(name)
        if document is not None and flt.allows(document.meta):
            return document, ""
        if is_bare_article(name):  # 「第2条」: of every statute there is
            raise BadInput(
                f"「{name}」だけでは、どの法令・例規の条か分かりません。"
                f"名前に続けて指定してください（例: 地方自治法{name.strip()}）。"
            )
        candidates = await documents_named(self.index, self.analyzer, name, flt)
        found = candidates.exact
        if not found and self.from_file is not None:
            found = await self._from_file(self.from_file, name, flt)
        if not found and (statute := one_statute(candidates)) is not None:
            first = await first_article(self.index, self.analyzer, statute, flt)
            if first is not None:
                return first, _by_article_note(statute.law_title)
        found = found or candidates.containing
        if len(found) > 1:
            raise BadInput(_choices(name, found))
        document = await self.index.get_document(found[0].doc_id) if found else None
        if document is None and (named := article_named(name)) is not None:
            document = await self._article(*named, flt)
        if document is None:
            raise NotFound(
                f"「{name}」という文書が見つかりませんでした。"
                "文書名・文書ID・URL のいずれかで指定してください。"
            )
        return document, ""

    async def _cited(self, doc_id: str, article: str, flt: SearchFilter) -> Document:
        """A source an answer cited, by its id alone, while the asker may still see it: the
        document, or of a statute stored whole only the ``article`` cited."""
        if doc_id.startswith(f"{ATTACHED_DATASET}/"):
            raise NotFound(CITED_FILE_GONE_TEXT)
        document = await self.index.get_document(doc_id)
        if document is None or not flt.allows(document.meta):
            raise NotFound(CITED_GONE_TEXT)
        if not article or len({article_key(c.position) for c in document.chunks}) < 2:
            return document  # a document of one article is that article
        cited = article_of(document, article)
        if cited is None:  # the article is gone from the version stored now
            raise NotFound(CITED_GONE_TEXT)
        return cited

    async def _from_file(
        self, from_file: FilesNamed, name: str, flt: SearchFilter
    ) -> list[DocumentMeta]:
        """The documents read from a file called ``name`` (recorded at upload): found
        even when neither their title nor their text shares a word with the file name."""
        doc_ids = await asyncio.to_thread(from_file, flt.viewer_org, name)
        documents = [await self.index.get_document(doc_id) for doc_id in doc_ids]
        return [d.meta for d in documents if d is not None and flt.allows(d.meta)]

    async def _article(self, law: str, key: str, flt: SearchFilter) -> Document | None:
        """Article ``key`` of the one statute stored whole that ``law`` names."""
        found = (await documents_named(self.index, self.analyzer, law, flt)).best
        if len(found) != 1:
            return None
        whole = await self.index.get_document(found[0].doc_id)
        return article_of(whole, key) if whole is not None else None


def _of_document(document: Document, note: str = "") -> Source:
    """An indexed document to summarize, cited with its metadata."""
    meta = document.meta
    citation = citation_of(1, meta)
    # Versions of one statute differ by their enforcement date: say which one this is.
    title = _version_title(meta.title, meta.version) if meta.version else meta.title
    chunks = document.chunks
    return Source(title, [c.text for c in chunks], citation, note, _main_provision(chunks))


def _version_title(title: str, version: str) -> str:
    return f"{title}（{version} 施行）"


def _main_provision(chunks: Sequence[Chunk]) -> tuple[str, ...]:
    """The passages outside the 附則 of a document that has both, else none."""
    main = tuple(c.text for c in chunks if not c.position.startswith("附則"))
    return main if len(main) < len(chunks) else ()


def _by_article_note(law_title: str) -> str:
    """Why a statute asked for whole is summarized by its 第一条."""
    return (
        f"「{law_title}」は条ごとに登録されているため、全体ではなく第一条を要約します。"
        f"ほかの条は「{law_title}第2条」のように条を付けて指定してください。\n\n"
    )


def _choices(name: str, found: list[DocumentMeta]) -> str:
    """Which documents ``name`` fits, for the user to name one of them by its id."""
    lines = [f"「{name}」に当たる文書が複数あります。どれか一つを文書IDで指定してください。"]
    for meta in found[:LISTED_CANDIDATES]:
        details = "、".join(x for x in (meta.dataset, meta.version) if x)
        lines.append(f"・{meta.title}（{details + '、' if details else ''}文書ID: {meta.doc_id}）")
    if len(found) > LISTED_CANDIDATES:
        lines.append(
            "（ほかにもあります。文書名をもう少し詳しく指定すると絞り込めます。"
            f"例:「{found[0].title}」）"
        )
    return "\n".join(lines)


def _read(name: str, data: bytes) -> tuple[list[ParsedFile], Sequence[Chunk]]:
    """The documents of a file and the passages of the first, which is summarized."""
    parsed = parse_file(name, data)
    return parsed, chunk_sections(name, parsed[0].sections)
