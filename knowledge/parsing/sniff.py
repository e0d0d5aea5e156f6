"""What a file holds, from its first bytes: a file whose suffix says another format is refused
with the format it really is, instead of being read as garbage text or called damaged.

Files are renamed by hand, saved under the wrong type by a browser, or given a suffix that
matches what the uploader expected: a PDF as 「資料.txt」, a Word file as 「資料.pdf」, a
scan as 「申請書.pdf」 that is a JPEG.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from io import BytesIO

from knowledge.errors import BadDocument


@dataclass(frozen=True)
class Content:
    """A format recognized from a file's bytes: its Japanese name and the suffix Baibain reads
    it under (``""`` when it reads it under none), with what to do about it."""

    name: str
    suffix: str
    advice: str = ""


_IMAGE_ADVICE = (
    "画像からの文字認識（OCR）には対応していません。"
    "文字情報を含む PDF か、テキストファイルをアップロードしてください。"
)
_IMAGES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)
_HTML_START = re.compile(rb"^\s*(<!doctype html|<html)", re.IGNORECASE)
_OLE2 = b"\xd0\xcf\x11\xe0"
# Parts that only a Word, Excel or PowerPoint file holds.
_OFFICE_PARTS = (
    ("word/document.xml", Content("Word（.docx）ファイル", ".docx")),
    ("xl/workbook.xml", Content("Excel（.xlsx）ファイル", ".xlsx")),
    (
        "ppt/presentation.xml",
        Content(
            "PowerPoint（.pptx）ファイル",
            "",
            "PowerPoint のファイルには対応していません。PDF で保存し直してからアップロードして"
            "ください。",
        ),
    ),
)
_ZIP = Content("ZIP ファイル", ".zip")  # of documents, not an Office file
_OFFICE_SUFFIXES = (".docx", ".xlsx")


def _zip_content(data: bytes, suffix: str) -> Content | None:
    try:
        with zipfile.ZipFile(BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return None  # damaged: the format's parser reports it
    office = next((content for part, content in _OFFICE_PARTS if part in names), None)
    if office is None and suffix in _OFFICE_SUFFIXES:
        return None  # an Office file missing its main part: its parser calls it damaged
    return office or _ZIP


def content_of(data: bytes, suffix: str) -> Content | None:
    """The format ``data`` is, when its first bytes say so, or ``None``.

    An HTML page counts only under the suffix of a binary format: text formats may well start
    with markup. OLE2 (legacy Office, or password-protected Word and Excel) is left to the
    Office parsers under .docx and .xlsx, which explain it.
    """
    if data.startswith(b"%PDF-"):
        return Content("PDF", ".pdf")
    if data.startswith(b"PK\x03\x04"):
        return _zip_content(data, suffix)
    for magic, kind in _IMAGES:
        if data.startswith(magic):
            return Content(f"画像（{kind}）", "", _IMAGE_ADVICE)
    if data.startswith(_OLE2) and suffix not in _OFFICE_SUFFIXES:
        return Content(
            "古い形式の Office ファイル（.doc・.xls・.ppt）か、パスワードで保護された Office "
            "ファイル",
            "",
            "パスワードを解除し、.docx・.xlsx・.pdf のいずれかの形式で保存し直してから"
            "アップロードしてください。",
        )
    if suffix in (".pdf", ".docx", ".xlsx", ".zip") and _HTML_START.match(data[:512]):
        # Typically an error or login page saved under the document's name.
        return Content(
            "Web ページ（HTML）",
            "",
            "元のファイルをダウンロードし直してからアップロードしてください。",
        )
    return None


def check_content(data: bytes, suffix: str, label: str) -> None:
    """Refuse a file whose bytes are of another format than its suffix says."""
    content = content_of(data, suffix)
    if content is None or content.suffix == suffix:
        return
    advice = content.advice or f"拡張子を {content.suffix} に直してからアップロードしてください。"
    # A space sets a Latin word apart from the Japanese around it (「中身は PDF です」).
    name = " " * content.name[0].isascii() + content.name + " " * content.name[-1].isascii()
    raise BadDocument(
        f"{label}は拡張子が {suffix} ですが、中身は{name}です。{advice}",
        detail=f"content of another format ({content.suffix or 'unread'}) under {suffix}",
    )
