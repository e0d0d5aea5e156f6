"""Turn uploaded files into sections: text, Markdown, HTML, PDF, Word, Excel, CSV, JSON,
e-Gov statute XML and ZIP archives of those.

``parse_file`` chooses the format by suffix (case-insensitive) and checks the content where a
suffix is commonly wrong. Every refusal is a ``BadDocument`` whose polite Japanese message names
the file and says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from knowledge.documents import titles_minutes
from knowledge.errors import BadDocument
from knowledge.parsing.archive import check_container, expand
from knowledge.parsing.base import ParsedFile, ParseLimits, quoted, size_label
from knowledge.parsing.dated import opening_date
from knowledge.parsing.egov import parse_egov_xml
from knowledge.parsing.html import parse_html
from knowledge.parsing.minutes import speaker_sections
from knowledge.parsing.office import parse_docx
from knowledge.parsing.pdf import parse_pdf
from knowledge.parsing.sniff import check_content
from knowledge.parsing.tabular import parse_csv, parse_xlsx
from knowledge.parsing.text import parse_json, parse_jsonl, parse_markdown, parse_txt

__all__ = [
    "DEFAULT_LIMITS",
    "SUPPORTED_SUFFIXES",
    "ParseLimits",
    "ParsedFile",
    "parse_file",
    "resave_hint",
]

_Parser = Callable[[str, bytes, str], ParsedFile]
_PARSERS: dict[str, _Parser] = {
    ".txt": parse_txt,
    ".md": parse_markdown,
    ".markdown": parse_markdown,
    ".html": parse_html,
    ".htm": parse_html,
    ".pdf": parse_pdf,
    ".docx": parse_docx,
    ".xlsx": parse_xlsx,
    ".csv": parse_csv,
    ".tsv": parse_csv,
    ".json": parse_json,
    ".jsonl": parse_jsonl,
    ".xml": parse_egov_xml,
}
SUPPORTED_SUFFIXES: tuple[str, ...] = (*_PARSERS, ".zip")
DEFAULT_LIMITS = ParseLimits()

_SUPPORTED_JA = (
    "テキスト（.txt）、Markdown（.md）、HTML（.html・.htm）、PDF（.pdf）、Word（.docx）、"
    "Excel（.xlsx）、CSV（.csv・.tsv）、JSON（.json・.jsonl）、e-Gov 法令XML（.xml）、ZIP（.zip）"
)
_LEGACY = {".doc": ".docx", ".xls": ".xlsx", ".ppt": ".pdf", ".pptx": ".pdf", ".rtf": ".docx"}
_OFFICE = (".docx", ".xlsx")
# Formats of running text: their opening lines may date the document (a table's first dates
# are its data), and a meeting's record in them is read turn by turn.
_PROSE = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"})


def suffix_of(name: str) -> str:
    """The lower-case suffix of a file name or archive path (``".pdf"``)."""
    return PurePosixPath(name.replace("\\", "/")).suffix.lower()


def is_document(name: str) -> bool:
    """Whether a file of this name is in a format Baibain reads (not a picture, say)."""
    return suffix_of(name) in SUPPORTED_SUFFIXES


def resave_hint(names: Sequence[str]) -> str:
    """What to do about files of old Office formats among ``names`` (left out of a folder or
    an archive), or ``""``: 「.doc 形式は .docx 形式で保存し直すと読み込めます。」."""
    return _resave(suffix_of(name) for name in names)


def _resave(suffixes: Iterable[str]) -> str:
    old = [suffix for suffix in dict.fromkeys(suffixes) if suffix in _LEGACY]
    if not old:
        return ""
    new = dict.fromkeys(_LEGACY[suffix] for suffix in old)
    return f"{'・'.join(old)} 形式は {'・'.join(new)} 形式で保存し直すと読み込めます。"


def format_refused(name: str) -> BadDocument:
    """The error for a file of a format Baibain does not read, naming the ones it reads."""
    return _unsupported(quoted(name), suffix_of(name))


def _unsupported(label: str, suffix: str) -> BadDocument:
    hint = _resave([suffix])
    return BadDocument(
        f"{label}は対応していない形式のファイルです。{hint}対応している形式: {_SUPPORTED_JA}",
        detail=f"unsupported suffix {suffix!r}",
    )


def _check_size(data: bytes, label: str, limits: ParseLimits) -> None:
    if not data:
        raise BadDocument(f"{label}は空のファイルです。内容を確認してください。", detail="empty")
    if len(data) > limits.max_file_bytes:
        raise BadDocument(
            f"{label}はファイルサイズが大きすぎます（上限 {size_label(limits.max_file_bytes)}）。"
            "分割してからアップロードしてください。",
            detail=f"file of {len(data)} bytes",
        )


def _parse_one(
    name: str, data: bytes, label: str, limits: ParseLimits, meeting: bool = False
) -> ParsedFile:
    suffix = suffix_of(name)
    parser = _PARSERS.get(suffix)
    if parser is None:
        raise _unsupported(label, suffix)
    check_content(data, suffix, label)
    if suffix in _OFFICE:
        check_container(data, label, limits)
    parsed = parser(name, data, label)
    meeting = meeting or titles_minutes(parsed.title)
    if parsed.published is None and suffix in _PROSE:
        parsed = replace(parsed, published=opening_date(parsed.sections, meeting=meeting))
    if meeting and suffix in _PROSE:
        # Minutes are read turn by turn, each passage under its speaker.
        turns = speaker_sections(parsed.sections, paged=parsed.kind == "pdf")
        parsed = replace(parsed, sections=turns)
    return parsed


def _parse_zip(
    name: str,
    data: bytes,
    label: str,
    limits: ParseLimits,
    left_out: list[str] | None,
    meeting: bool,
) -> list[ParsedFile]:
    parsed: list[ParsedFile] = []
    readable = {*_PARSERS, ".zip"}  # a nested zip is read only to refuse it by name

    def wanted(member: str) -> bool:
        if suffix_of(member) in readable:
            return True
        if left_out is not None:
            left_out.append(f"{name}/{member}")
        return False

    failed: list[tuple[str, BadDocument]] = []  # every member that cannot be read, at once
    for member, content in expand(data, label, limits, wanted):
        member_label = f"{label}の{quoted(member)}"
        suffix = suffix_of(member)
        if suffix == ".zip":
            raise BadDocument(
                f"{member_label}は ZIP ファイルです。ZIP の中の ZIP には対応していません。"
                "中身を展開してから、まとめて1つの ZIP にしてアップロードしてください。",
                detail="nested zip",
            )
        if not content:
            continue
        try:
            parsed.append(_parse_one(member, content, member_label, limits, meeting))
        except BadDocument as exc:
            failed.append((member, exc))
    if failed:
        raise _members_unreadable(label, failed)
    if not parsed:
        raise BadDocument(
            f"{label}には読み込める形式のファイルが含まれていません。"
            f"対応している形式: {_SUPPORTED_JA}",
            detail="zip without supported members",
        )
    return parsed


# How many more unreadable members of an archive its error names.
_LISTED_MEMBERS = 10


def _members_unreadable(label: str, failed: list[tuple[str, BadDocument]]) -> BadDocument:
    """The first member's error, naming the others that cannot be read either: the uploader
    fixes them all in one go."""
    first = failed[0][1]
    if len(failed) == 1:
        return first
    names = [quoted(member) for member, _ in failed[1:]]
    shown = "、".join(names[:_LISTED_MEMBERS])
    more = f" ほか {len(names) - _LISTED_MEMBERS} 件" if len(names) > _LISTED_MEMBERS else ""
    return BadDocument(
        f"{first.user_message}（{label}にはほかにも読み込めないファイルが {len(names)} 件"
        f"あります: {shown}{more}）",
        detail=f"{len(failed)} zip members unreadable",
    )


def parse_file(
    name: str,
    data: bytes,
    *,
    limits: ParseLimits = DEFAULT_LIMITS,
    left_out: list[str] | None = None,
    meeting: bool = False,
) -> list[ParsedFile]:
    """Parse one uploaded file; a ZIP archive yields one ``ParsedFile`` per supported member.

    ``name`` is the file name as uploaded (its suffix selects the format); ``meeting``: the
    file records a meeting (its dataset is of minutes), so that it is dated by the day the
    meeting was held, as one whose title says so is (``dated.opening_date``), and read turn by
    turn, each section a speaker's (``minutes.speaker_sections``). Raises
    ``BadDocument`` for empty, oversized, damaged, password-protected or unsupported files and
    for unsafe archives; members of unsupported types inside an archive are skipped, and named
    (「資料.zip/写真.png」) in ``left_out``.
    """
    label = quoted(name)
    _check_size(data, label, limits)
    if suffix_of(name) == ".zip":
        check_content(data, ".zip", label)
        return _parse_zip(name, data, label, limits, left_out, meeting)
    return [_parse_one(name, data, label, limits, meeting)]
