"""PDF files: one section per page."""

from __future__ import annotations

import logging
import re
from contextlib import ExitStack
from io import BytesIO

import pdfplumber
from pdfplumber.page import Page
from pypdf import PageObject, PdfReader

from knowledge.documents import Section
from knowledge.errors import BadDocument
from knowledge.parsing.base import ParsedFile, opening_title, stem
from knowledge.parsing.pdf_layout import (
    full_width,
    running_header,
    unwrapped,
    without_running_lines,
)
from knowledge.parsing.pdf_tables import page_lines, page_sections, with_headers_carried

logger = logging.getLogger(__name__)

# Titles that authoring tools write when the author set none.
_GENERIC_TITLE = re.compile(
    r"^(untitled|\(anonymous\)|無題|powerpoint\s*プレゼンテーション|スライド\s*\d*|document\d*)$",
    re.IGNORECASE,
)
_TOOL_PREFIX = re.compile(r"^Microsoft (Word|PowerPoint|Excel) - ", re.IGNORECASE)
# A running header that names who issued the document (「みどり市 財政課」), not what it is.
_ISSUER = re.compile(r"(?:[都道府県市区町村課係室部局]|センター|事務所|委員会)$")


def _corrupt(label: str, exc: BaseException) -> BadDocument:
    return BadDocument(
        f"{label}は PDF として読み込めませんでした。ファイルが壊れていないか確認してください。",
        detail=f"pdf unreadable: {type(exc).__name__}",
    )


def parse_pdf(name: str, data: bytes, label: str) -> ParsedFile:
    """Text of every page, without running headers and footers and with lines wrapped at the
    page's width joined, a table's rows on a line each (「東町 | 月曜日 | 燃やすごみ」);
    position 「3ページ」 is 1-based. Titled by the document property,
    else by the first page's opening line when it is clearly a title, else by the running
    header when it is one (「みどり市 第3次総合計画（案）」, not 「みどり市 財政課」), else by
    the file name.

    The pages that show something but hold no text (a scanned page inside a digital PDF)
    are named in ``unread_pages``.

    Refuses password-protected PDFs (those that open with an empty password are read),
    damaged files, and PDFs without a text layer (scanned images; OCR is not supported).
    """
    if b"%PDF-" not in data[:1024]:
        raise _corrupt(label, ValueError("no %PDF- header"))
    try:
        reader = PdfReader(BytesIO(data))
        # Many published PDFs carry only an owner password (printing/copy restrictions);
        # they open with the empty user password.
        if reader.is_encrypted and not reader.decrypt(""):
            raise BadDocument(
                f"{label}はパスワードで保護されているため読み込めません。"
                "パスワードを解除した PDF をアップロードしてください。",
                detail="pdf encrypted",
            )
        pages = list(reader.pages)
    except BadDocument:
        raise
    except Exception as exc:  # pypdf raises many types on damaged input
        raise _corrupt(label, exc) from exc
    texts: list[list[str]] = []
    with ExitStack() as stack:
        ruled = _ruled_pages(data, len(pages), stack)
        for number, page in enumerate(pages, start=1):
            try:
                texts.append(page_lines(page, ruled[number - 1] if ruled else None))
            except Exception as exc:  # one damaged page should not lose the others
                logger.warning("pdf page %d unreadable: %s", number, type(exc).__name__)
                texts.append([])
    header = running_header(texts)
    shown = [bool(lines) for lines in texts]  # text was read off the page, if only its edges'
    texts = without_running_lines(texts)
    width = full_width(texts)
    texts = with_headers_carried([unwrapped(lines, width) for lines in texts])
    sections: list[Section] = []
    unread: list[int] = []
    for number, (page, lines) in enumerate(zip(pages, texts, strict=True), start=1):
        read = page_sections(lines, f"{number}ページ")
        sections += read
        if not read and _lost_something(page, had_text=shown[number - 1]):
            unread.append(number)
    if not sections:
        raise BadDocument(
            f"{label}から文字を読み取れませんでした。スキャンした画像の PDF の可能性があります"
            "（画像からの文字認識（OCR）には対応していません）。"
            "文字情報を含む PDF か、テキストファイルをアップロードしてください。",
            detail="pdf without text layer",
        )
    # Without a title in its properties, the first page's opening line names the PDF when it
    # is clearly a title. Once the lines wrapped at the page's width are joined, each line
    # stands apart; with too few lines to know the width, the next line has to show it.
    # The running header, kept out of the passages, often repeats the document's own title.
    first_page = next(lines for lines in texts if lines)
    title = (
        _title(reader)
        or opening_title(first_page, apart=width > 0)
        or _header_title(header)
        or stem(name)
    )
    return ParsedFile(
        name=name, title=title, sections=tuple(sections), kind="pdf", unread_pages=tuple(unread)
    )


# Content stream operators that put something on the page: an image or a form (``Do``,
# inline images) or a shading (pictures), a painted path, shown text.
_PICTURE = {b"Do", b"BI", b"INLINE IMAGE", b"sh"}
_MARKING = {
    *_PICTURE,
    *(b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"),
    *(b"Tj", b"TJ", b"'", b'"'),
}


def _lost_something(page: PageObject, *, had_text: bool) -> bool:
    """Whether a page without text to read held something that was not read: with no text
    read off it at all, anything it shows (a scan, a map, text in a font without a reading);
    with text that was only the running header, footer or its number, a picture (a scan under
    a stamped page number), not the rules of the header (a page left blank but for its header
    lost nothing). A page whose content cannot be read counts as showing something, since what
    it held was lost."""
    marks = _PICTURE if had_text else _MARKING
    try:
        content = page.get_contents()
        return content is not None and any(op in marks for _, op in content.operations)
    except Exception:  # pypdf raises many types on a damaged content stream
        return True


def _ruled_pages(data: bytes, count: int, stack: ExitStack) -> list[Page]:
    """The pages as pdfplumber reads them, to find their ruled tables; none when it cannot
    read the file or counts its pages otherwise than pypdf (the text is then read without
    tables)."""
    try:
        pdf = stack.enter_context(pdfplumber.open(BytesIO(data)))
        pages = list(pdf.pages)
    except Exception as exc:  # pdfminer raises many types on input pypdf reads
        logger.info("pdf tables unreadable: %s", type(exc).__name__)
        return []
    return pages if len(pages) == count else []


def _header_title(header: list[str]) -> str:
    """The running header as a title when it is clearly one and not the issuer's name."""
    title = opening_title(header, apart=True)  # a header stands apart from the text below it
    return "" if _ISSUER.search(title) else title


def _title(reader: PdfReader) -> str:
    try:
        metadata = reader.metadata
        title = metadata.title if metadata is not None else None
    except Exception:  # a damaged info dictionary only costs the title
        return ""
    if not isinstance(title, str):
        return ""
    title = _TOOL_PREFIX.sub("", title.strip())
    title = re.sub(r"\.(docx?|pptx?|xlsx?)$", "", title, flags=re.IGNORECASE)
    return "" if _GENERIC_TITLE.match(title) else title
