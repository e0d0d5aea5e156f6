"""ZIP archives: safe expansion of one level of members.

The whole archive is refused before anything is decompressed when it has too many members,
expands to too much data, holds a member compressed suspiciously well (a zip bomb), or names a
member with an absolute path, ``..``, a drive letter or a backslash (path traversal). Nothing is
ever written to disk, but such names show an archive that was not made in good faith.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import PurePosixPath

from knowledge.errors import BadDocument
from knowledge.parsing.base import ParseLimits, size_label

# Members this small cannot hurt whatever their ratio; a short text of repeated characters
# legitimately compresses more than 100:1.
RATIO_CHECK_MIN_BYTES = 1024 * 1024
_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_DRIVE = re.compile(r"^[A-Za-z]:")


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's real name.

    Without the UTF-8 flag Python reads names as CP437. Archives made by Windows in Japan store
    CP932 names without the flag, and some tools store UTF-8 without it; both are recovered.
    """
    if info.flag_bits & _UTF8_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    if raw.isascii():
        return info.filename
    for encoding in ("utf-8", "cp932"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def unsafe_name(name: str) -> bool:
    """Whether a member name could escape the folder it is extracted into."""
    return (
        name.startswith("/")
        or "\\" in name
        or bool(_DRIVE.match(name))
        or ".." in PurePosixPath(name).parts
    )


def skipped(name: str) -> bool:
    """Folders, macOS resource forks and hidden files are not documents."""
    parts = PurePosixPath(name).parts
    return (
        name.endswith("/")
        or not parts
        or parts[0] == "__MACOSX"
        or any(part.startswith(".") for part in parts)
    )


def _open(data: bytes, label: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise BadDocument(
            f"{label}は ZIP ファイルとして読み込めませんでした。"
            "ファイルが壊れていないか確認してください。",
            detail=f"bad zip: {type(exc).__name__}",
        ) from None


def _too_large(label: str, limits: ParseLimits, detail: str) -> BadDocument:
    return BadDocument(
        f"{label}は展開後のサイズが大きすぎます（上限 {size_label(limits.max_expanded_bytes)}）。"
        "いくつかに分けてアップロードしてください。",
        detail=detail,
    )


def check_container(data: bytes, label: str, limits: ParseLimits) -> None:
    """Bound the expanded size of a ZIP-based office file (.docx, .xlsx) before opening it."""
    if not data.startswith(b"PK"):
        if data.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: encrypted OOXML or .doc/.xls
            raise BadDocument(
                f"{label}はパスワードで保護されているか、古い形式（.doc/.xls）のため読み込めません。"
                "パスワードを解除し、.docx/.xlsx 形式で保存し直してください。",
                detail="ole2 container",
            )
        return  # not a zip at all: the format parser reports the damage
    try:
        archive = zipfile.ZipFile(BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return  # damaged: the format parser reports it in terms of Word or Excel
    with archive:
        infos = archive.infolist()
        if sum(info.file_size for info in infos) > limits.max_expanded_bytes:
            raise _too_large(label, limits, "office container expands too far")
        # One part of a Word or Excel file is read whole, and its XML tree takes many times
        # its size: a part beyond a file's limit, or compressed like a bomb, is refused.
        for info in infos:
            if info.file_size > limits.max_file_bytes:
                raise BadDocument(
                    f"{label}は展開後のサイズが大きすぎます（シートまたは本文の1つが"
                    f" {size_label(info.file_size)}、上限 {size_label(limits.max_file_bytes)}）。"
                    "シートや章ごとにいくつかのファイルに分けてアップロードしてください。",
                    detail=f"office part of {info.file_size} bytes",
                )
        _check_ratios(label, [(member_name(info), info) for info in infos], limits)


def _check_ratios(
    label: str, named: list[tuple[str, zipfile.ZipInfo]], limits: ParseLimits
) -> None:
    """Refuse a member compressed far beyond what documents compress to (a zip bomb)."""
    for name, info in named:
        ratio = info.file_size / info.compress_size if info.compress_size else float("inf")
        if info.file_size >= RATIO_CHECK_MIN_BYTES and ratio > limits.max_compression_ratio:
            raise BadDocument(
                f"{label}の「{name}」は圧縮率が異常に高いため（ZIP爆弾の疑い）、"
                "受け付けられません。",
                detail=f"zip member ratio {ratio:.0f}",
            )


def expand(
    data: bytes, label: str, limits: ParseLimits, wanted: Callable[[str], bool]
) -> Iterator[tuple[str, bytes]]:
    """``(member name, bytes)`` for every file member that ``wanted`` accepts.

    The safety checks cover every member before anything is decompressed; members are then
    read lazily, so memory holds one at a time, and unwanted ones are never read.
    """
    with _open(data, label) as archive:
        infos = archive.infolist()
        if len(infos) > limits.max_archive_members:
            raise BadDocument(
                f"{label}にはファイルが多すぎます（{len(infos)}件、上限"
                f" {limits.max_archive_members}件）。いくつかに分けてアップロードしてください。",
                detail=f"zip with {len(infos)} members",
            )
        named = [(member_name(info), info) for info in infos]
        for name, _ in named:
            if unsafe_name(name):
                raise BadDocument(
                    f"{label}に安全でない名前のファイル「{name}」が含まれているため、"
                    "受け付けられません。フォルダの外を指す名前（..、絶対パス、ドライブ名、"
                    "「\\」を含む名前）を使わずに作り直してください。",
                    detail="zip path traversal",
                )
        if sum(info.file_size for info in infos) > limits.max_expanded_bytes:
            raise _too_large(label, limits, "zip expands too far")
        _check_ratios(label, named, limits)
        for name, info in named:
            if info.is_dir() or skipped(name) or not wanted(name):
                continue
            if info.file_size > limits.max_file_bytes:
                limit = size_label(limits.max_file_bytes)
                raise BadDocument(
                    f"{label}の「{name}」はファイルサイズが大きすぎます（上限 {limit}）。"
                    "分割してからアップロードしてください。",
                    detail=f"zip member of {info.file_size} bytes",
                )
            if info.flag_bits & _ENCRYPTED_FLAG:
                raise BadDocument(
                    f"{label}の「{name}」はパスワードで保護されています。"
                    "パスワードなしの ZIP ファイルにしてからアップロードしてください。",
                    detail="encrypted zip member",
                )
            try:
                with archive.open(info) as member:
                    # The declared size bounds the read even if the header lies.
                    content = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
                raise BadDocument(
                    f"{label}の「{name}」を展開できませんでした。ZIP ファイルが壊れていないか"
                    "確認してください。",
                    detail=f"zip member unreadable: {type(exc).__name__}",
                ) from None
            except NotImplementedError:  # Deflate64, PPMd, … from some archivers
                raise BadDocument(
                    f"{label}の「{name}」は対応していない圧縮方式で圧縮されています。"
                    "Windows や macOS の標準機能で ZIP ファイルを作り直してください。",
                    detail="zip compression method unsupported",
                ) from None
            yield name, content
