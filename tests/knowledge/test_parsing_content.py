"""Files whose suffix says another format than their bytes: real PDF, Word, Excel and PNG files
under the wrong name are refused with what they really are."""

from __future__ import annotations

import zipfile
from io import BytesIO

import pytest
from docx import Document
from openpyxl import Workbook
from PIL import Image

from knowledge.errors import BadDocument
from knowledge.parsing import parse_file
from tests.knowledge.test_parsing_pdf import PAGES, japanese_pdf


def refusal(name: str, data: bytes) -> str:
    with pytest.raises(BadDocument) as caught:
        parse_file(name, data)
    return caught.value.user_message


def word_file() -> bytes:
    document = Document()
    document.add_paragraph("住民票の写しは1通300円です。")
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def excel_file() -> bytes:
    workbook = Workbook()
    workbook.active.append(["施設", "定員"])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def png_file() -> bytes:
    out = BytesIO()
    Image.new("RGB", (40, 20), "white").save(out, format="PNG")
    return out.getvalue()


def test_a_pdf_named_as_text_is_refused_instead_of_read_as_garbage() -> None:
    message = refusal("住民税.txt", japanese_pdf(PAGES))
    assert message == (
        "「住民税.txt」は拡張子が .txt ですが、中身は PDF です。"
        "拡張子を .pdf に直してからアップロードしてください。"
    )


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("通知.pdf", word_file(), "中身は Word（.docx）ファイルです。拡張子を .docx に直して"),
        ("一覧.csv", excel_file(), "中身は Excel（.xlsx）ファイルです。拡張子を .xlsx に直して"),
        ("資料.zip", japanese_pdf(PAGES), "中身は PDF です。拡張子を .pdf に直して"),
        ("申請書.pdf", png_file(), "中身は画像（PNG）です。画像からの文字認識（OCR）には対応"),
        ("議事録.docx", excel_file(), "中身は Excel（.xlsx）ファイルです。"),
    ],
)
def test_a_file_of_another_format_is_named_for_what_it_is(
    name: str, data: bytes, says: str
) -> None:
    message = refusal(name, data)
    assert message.startswith(f"「{name}」は拡張子が")
    assert says in message
    assert "壊れていないか" not in message and "文字コード" not in message


def test_an_archive_member_of_another_format_is_named() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("例規/手数料.txt", "住民票の写しは1通300円です。".encode())
        archive.writestr("例規/通知.txt", japanese_pdf(PAGES))
    message = refusal("例規.zip", buffer.getvalue())
    assert "「例規.zip」の「例規/通知.txt」は拡張子が .txt ですが、中身は PDF です。" in message


def test_files_under_their_own_suffix_are_read() -> None:
    assert parse_file("通知.docx", word_file())[0].kind == "docx"
    assert parse_file("住民税.pdf", japanese_pdf(PAGES))[0].kind == "pdf"
