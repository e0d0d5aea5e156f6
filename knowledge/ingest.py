"""Files and folders into documents: parse, chunk, hash; corpora (.jsonl rows) pass through."""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import IO

from knowledge.chunking import chunk_sections
from knowledge.corpus import CorpusDefaults, read_corpus
from knowledge.documents import MINUTES_CATEGORY, Document, content_hash
from knowledge.errors import BadDocument
from knowledge.parsing import ParsedFile, is_document, parse_file
from knowledge.parsing.base import quoted


def iter_files(paths: list[Path], left_out: list[str] | None = None) -> Iterator[tuple[Path, str]]:
    """Every file under ``paths`` (folders walked in name order) with its display name.

    With ``left_out``, a file inside a folder in a format Baibain does not read (a picture, a
    program) is not yielded but its name added there, as a ZIP archive's such members are
    skipped; a file named in ``paths`` itself is always yielded (and refused when read)."""
    for path in paths:
        if path.is_dir():
            folder = folder_name(path)
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith("."):
                        continue
                    full = Path(root, name)
                    shown = (Path(folder) / full.relative_to(path)).as_posix()
                    if left_out is not None and not is_document(name):
                        left_out.append(shown)
                    else:
                        yield full, shown
        elif path.is_file():
            yield path, path.name
        else:
            raise BadDocument(f"{path} が見つかりません。パスを確認してください。")


def folder_name(path: Path) -> str:
    """The name a folder's files are shown and identified under: the folder's own name however
    it was typed (「reiki」, 「./reiki/」, 「.」 inside it), since a name is a document's id and
    the same file ingested again must replace itself, not come back twice."""
    return Path(os.path.abspath(path)).name


# How many files with pages without text a message names (the rest are counted), and how
# many runs of pages it shows of each.
LISTED_UNREAD = 3
LISTED_PAGE_RUNS = 10


@dataclass(frozen=True)
class UnreadPages:
    """The pages of a read file that hold no text to read (scans, see ``ParsedFile``), which
    the uploader or asker is told of: ``name`` as messages show it (an archive's member as
    「資料.zip/予算書.pdf」), ``pages`` 1-based."""

    name: str
    pages: tuple[int, ...]

    @property
    def described(self) -> str:
        """The file and its pages as a message names them: 「「予算書.pdf」の 3・7ページ」."""
        return f"{quoted(self.name)}の {_page_list(self.pages)}"


def listed_unread(files: Sequence[UnreadPages]) -> tuple[list[str], int]:
    """The first ``LISTED_UNREAD`` files as messages describe them, and how many more there
    are, which messages only count."""
    shown = [file.described for file in files[:LISTED_UNREAD]]
    return shown, len(files) - len(shown)


def unread_of(name: str, parsed: ParsedFile) -> UnreadPages | None:
    """The pages without text of ``parsed``, read from the file ``name`` (an archive's member
    named after the archive), or ``None`` when it has none."""
    if not parsed.unread_pages:
        return None
    member = PurePosixPath(name).name
    shown = name if parsed.name in (name, member) else f"{name}/{parsed.name}"
    return UnreadPages(shown, parsed.unread_pages)


def _page_list(pages: Sequence[int]) -> str:
    """Page numbers as a message shows them: 「3・7〜9ページ」 (runs of three or more joined
    by 「〜」), only the first runs of a long list, then the count: 「…・40ページほか計 52
    ページ」."""
    runs: list[list[int]] = []
    for page in sorted(pages):
        if runs and page == runs[-1][-1] + 1:
            runs[-1].append(page)
        else:
            runs.append([page])
    shown = [
        f"{run[0]}〜{run[-1]}" if len(run) >= 3 else "・".join(map(str, run))
        for run in runs[:LISTED_PAGE_RUNS]
    ]
    more = f"ほか計 {len(pages)} ページ" if len(runs) > LISTED_PAGE_RUNS else ""
    return "・".join(shown) + "ページ" + more


def documents_from_file(
    path: Path,
    name: str,
    defaults: CorpusDefaults,
    *,
    id_prefix: str = "",
    unread: list[UnreadPages] | None = None,
) -> Iterator[Document]:
    """Documents of one file: a JSONL corpus yields one per row (ids ``<prefix>/<file
    name>!<row id>``, as an archive's members), other files one per member (pages without
    text named in ``unread``)."""
    if path.suffix.lower() == ".jsonl" and _is_corpus(path):
        prefix = f"{id_prefix or defaults.dataset}/{name}!"
        for document in read_corpus(path, defaults, id_prefix=prefix):
            check_doc_id(name, document.doc_id)
            yield document
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadDocument(f"{name} を読み込めませんでした。", detail=str(exc)) from exc
    yield from documents_from_bytes(name, data, defaults, id_prefix=id_prefix, unread=unread)


# The longest document id the dataset records hold (``admin.document_versions``).
MAX_DOC_ID = 500


def check_doc_id(name: str, doc_id: str) -> None:
    """``BadDocument`` when the id of a document of the file ``name`` (made of its path, an
    archive member's path or a corpus row's id) is too long to be recorded."""
    if len(doc_id) <= MAX_DOC_ID:
        return
    raise BadDocument(
        f"{name} の文書ID（ファイルのパス、アーカイブ内のパス、行の id から作ります）が"
        f"{MAX_DOC_ID}文字を超えます。名前や id を短くしてから、もう一度お試しください。"
    )


# Read documents stay in memory up to this size, then go to a temporary file.
SPOOL_IN_MEMORY = 64 << 20


@dataclass
class ReadFiles:
    """The documents of many files, read before any is written: pickled to a spool one file at
    a time, so a large folder is parsed once and never held in memory whole. ``failures`` are
    the files that could not be read, as messages naming them; ``unread`` the pages without
    text of those read."""

    spool: IO[bytes]
    failures: list[str] = field(default_factory=list)
    unread: list[UnreadPages] = field(default_factory=list)
    count: int = 0

    def add(self, name: str, documents: list[Document]) -> None:
        pickle.dump((name, documents), self.spool, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += 1

    def __iter__(self) -> Iterator[tuple[str, list[Document]]]:
        """Each read file's name and documents, in reading order."""
        self.spool.seek(0)
        for _ in range(self.count):
            yield pickle.load(self.spool)  # written by ``add`` in this process


def no_text(value: str) -> bool:
    """Whether a string holds what nothing downstream can store: a NUL (PostgreSQL refuses it
    in any text column) or a lone surrogate (a byte of another encoding kept as one, or a JSON
    "\\ud800"), which encodes to nothing. A file name holding one is no document id."""
    if "\x00" in value:
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return True
    return False


def shown_name(name: str) -> str:
    """A file name as a message may show it: what is no text written as escapes."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def name_failure(name: str) -> str:
    """Why a file whose name is no text (``no_text``) cannot be taken, naming it."""
    return f"{shown_name(name)}: ファイル名に読み取れない文字があります。名前を付け直してください。"


# Files named in the message when some could not be read (the rest are counted).
MAX_UNREADABLE_LISTED = 20


def failure_of(name: str, exc: BadDocument) -> str:
    """Why the file ``name`` could not be read, naming it."""
    message = exc.user_message
    return message if name in message else f"{name}: {message}"


def unreadable(failures: Sequence[str]) -> BadDocument:
    """The error for files that could not be read (nothing was written), each named with why."""
    listed = "\n".join(f"・{f}" for f in failures[:MAX_UNREADABLE_LISTED])
    more = len(failures) - MAX_UNREADABLE_LISTED
    return BadDocument(
        f"{len(failures)} 件のファイルを読み込めなかったため、何も取り込んでいません。"
        "直すか除いてから、もう一度お試しください。\n"
        + listed
        + (f"\n…ほか {more} 件" if more > 0 else "")
    )


@contextmanager
def read_files(
    files: list[tuple[Path, str]],
    defaults: CorpusDefaults,
    *,
    id_prefix: str = "",
    progress: Callable[[], object] | None = None,
) -> Iterator[ReadFiles]:
    """Parse every file (``iter_files``) into documents, going on past files that fail."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        read = ReadFiles(spool)
        for path, name in files:
            try:
                documents = list(
                    documents_from_file(
                        path, name, defaults, id_prefix=id_prefix, unread=read.unread
                    )
                )
                read.add(name, documents)
            except BadDocument as exc:
                read.failures.append(failure_of(name, exc))
            except UnicodeError:  # a name in another encoding (a zip from Windows, unpacked)
                read.failures.append(name_failure(name))
            if progress is not None:
                progress()
        yield read


def source_of(doc_id: str) -> str:
    """The file (and archive member) an uploaded document was read from: its id less the
    ``<id_prefix or dataset>/`` that ``documents_from_bytes`` put in front."""
    return doc_id.split("/", 1)[-1]


def documents_from_bytes(
    name: str,
    data: bytes,
    defaults: CorpusDefaults,
    *,
    id_prefix: str = "",
    left_out: list[str] | None = None,
    unread: list[UnreadPages] | None = None,
) -> Iterator[Document]:
    """Documents of one uploaded file (a zip yields one per supported member; the others are
    named in ``left_out``); the pages without text of a PDF are named in ``unread``, and the
    document holds the others.

    Document ids are ``<id_prefix or dataset>/<file name>`` (``!<member>`` for archive members),
    so re-uploading a file of the same name replaces its previous version.
    """
    meeting = defaults.category == MINUTES_CATEGORY
    for parsed in parse_file(name, data, left_out=left_out, meeting=meeting):
        member = PurePosixPath(name).name
        doc_id = f"{id_prefix or defaults.dataset}/{name}"
        if parsed.name not in (name, member):
            doc_id = f"{doc_id}!{parsed.name}"
        check_doc_id(name, doc_id)
        if unread is not None and (pages := unread_of(name, parsed)) is not None:
            unread.append(pages)
        # A file reads the same when its sections do: their text, and where and under what
        # heading each stands (minutes now read turn by turn are a new version, not skipped).
        text = "\n".join(f"{s.position}\t{s.heading}\t{s.text}" for s in parsed.sections)
        meta = defaults.meta(
            doc_id,
            parsed.title or PurePosixPath(parsed.name).stem,
            published=parsed.published,
            law_id=parsed.law_id,
            law_title=parsed.law_title,
            version=parsed.version,
            source_url=parsed.source_url or defaults.source_url,
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


def dropped(prefixes: Sequence[str], kept: Collection[str], recorded: Collection[str]) -> list[str]:
    """Recorded document ids of the files whose ids start with ``prefixes`` (an archive's
    members, ``<prefix>!<member>``, included; a prefix ending in 「/」, a folder, holds every
    file under it) that are not ``kept``, the ids their new versions hold: a 例規集 archive or
    folder uploaded or refreshed without a repealed rule stops answering from it."""
    return [
        doc_id
        for doc_id in recorded
        if doc_id not in kept
        and any(
            doc_id.startswith(prefix)
            if prefix.endswith("/")
            else doc_id == prefix or doc_id.startswith(prefix + "!")
            for prefix in prefixes
        )
    ]
