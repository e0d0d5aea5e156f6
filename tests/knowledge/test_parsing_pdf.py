"""PDF: real Japanese PDFs generated with reportlab, encrypted with pypdf."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader, PdfWriter
from support import SCANNED_PAGE, japanese_pdf

from knowledge.errors import BadDocument
from knowledge.parsing import parse_file

PAGES = [
    ["令和8年度 住民税のお知らせ", "申告の期限は3月15日です。"],
    ["第二百四十二条（住民監査請求）について", "監査委員に対して請求できます。"],
    ["問い合わせ先：市民税課"],
]


def encrypted(data: bytes, *, user_password: str, owner_password: str) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def refusal(name: str, data: bytes) -> str:
    with pytest.raises(BadDocument) as caught:
        parse_file(name, data)
    return caught.value.user_message


def test_one_section_per_page_with_page_position() -> None:
    [parsed] = parse_file("住民税.pdf", japanese_pdf(PAGES))
    assert parsed.kind == "pdf"
    assert parsed.title == "令和8年度 住民税のお知らせ"  # no title property: its opening line
    assert [s.position for s in parsed.sections] == ["1ページ", "2ページ", "3ページ"]
    assert "申告の期限は3月15日です。" in parsed.sections[0].text
    second = parsed.sections[1]
    assert "第二百四十二条（住民監査請求）について" in second.text
    assert "監査委員に対して請求できます。" in second.text
    assert "市民税課" not in second.text


def test_title_from_document_properties() -> None:
    data = japanese_pdf(PAGES[:1], title="Microsoft Word - 住民税のお知らせ.docx")
    [parsed] = parse_file("notice.pdf", data)
    assert parsed.title == "住民税のお知らせ"


def test_the_title_reportlab_writes_when_none_is_set_is_no_title() -> None:
    # reportlab's document templates write 「(anonymous)」 when the author set no title.
    [parsed] = parse_file("住民税.pdf", japanese_pdf(PAGES, title="(anonymous)"))
    assert parsed.title == "令和8年度 住民税のお知らせ"


def test_blank_pages_are_skipped_but_keep_numbering() -> None:
    [parsed] = parse_file("a.pdf", japanese_pdf([["一ページ目"], [], ["三ページ目"]]))
    assert [s.position for s in parsed.sections] == ["1ページ", "3ページ"]
    assert parsed.unread_pages == ()  # a page left blank lost nothing


def test_scanned_pages_inside_a_digital_pdf_are_named_and_the_rest_is_read() -> None:
    # A signed cover letter scanned in, and a scanned page whose only text is its stamped number.
    pages = [SCANNED_PAGE, ["予算の概要", "歳入は前年度比3%増です。"], ["- 3 -"], SCANNED_PAGE]
    [parsed] = parse_file("予算書.pdf", japanese_pdf(pages, pictured={3}))
    assert parsed.unread_pages == (1, 3, 4)
    assert [s.position for s in parsed.sections] == ["2ページ"]
    [read] = parse_file("住民税.pdf", japanese_pdf(PAGES))
    assert read.unread_pages == ()


def test_a_page_left_blank_but_for_its_header_and_number_lost_nothing() -> None:
    header = "みどり市 第3次総合計画"
    body = [[header, "第1章 計画の概要", "本計画は市の最上位計画です。", "- 1 -"]]
    body += [[header, "このページは意図的に空白にしています。", "- 2 -"]]
    body += [[header, "第2章 基本構想", "将来像を定めます。", "- 3 -"], [header, "- 4 -"]]
    [parsed] = parse_file("総合計画.pdf", japanese_pdf(body))
    assert [s.position for s in parsed.sections] == ["1ページ", "2ページ", "3ページ"]
    assert parsed.unread_pages == ()  # page 4 shows its header and number only


def test_password_protected_pdf_is_refused() -> None:
    data = encrypted(japanese_pdf(PAGES), user_password="secret", owner_password="owner")
    message = refusal("秘密.pdf", data)
    assert "「秘密.pdf」はパスワードで保護されている" in message


def test_pdf_with_only_an_owner_password_is_read() -> None:
    data = encrypted(japanese_pdf(PAGES), user_password="", owner_password="owner")
    [parsed] = parse_file("制限付き.pdf", data)
    assert "監査委員" in parsed.sections[1].text


def test_pdf_without_text_is_refused_as_a_possible_scan() -> None:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = BytesIO()
    writer.write(out)
    message = refusal("スキャン.pdf", out.getvalue())
    assert "「スキャン.pdf」" in message
    assert "スキャンした画像" in message and "OCR" in message


@pytest.mark.parametrize("numbers", [["- 1 -"], ["1", "2 / 2"]])
def test_a_scan_with_only_its_page_numbers_as_text_is_refused_as_a_possible_scan(
    numbers: list[str],
) -> None:
    # A scanner or a printing step stamped the page numbers; the pages' text is in images.
    message = refusal("スキャン.pdf", japanese_pdf([[number] for number in numbers]))
    assert "「スキャン.pdf」から文字を読み取れませんでした" in message
    assert "スキャンした画像" in message


@pytest.mark.parametrize(
    "data",
    [b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", b"not a pdf at all", b"%PDF-1.4\n%%EOF"],
)
def test_damaged_pdf_is_refused(data: bytes) -> None:
    message = refusal("壊れた.pdf", data)
    assert "「壊れた.pdf」は PDF として読み込めませんでした" in message


def test_running_headers_and_page_numbers_are_dropped_and_wrapped_lines_joined() -> None:
    sentence = (
        "本計画は、令和8年度から令和17年度までの10年間を計画期間とし、"
        "みどり市のまちづくりの最上位計画として策定するものです。"
        "人口減少と高齢化が進む中で、持続可能な行政運営と市民生活の質の向上を両立させます。"
    )
    wrapped = [sentence[i : i + 36] for i in range(0, len(sentence), 36)]
    pages = [
        ["みどり市 第3次総合計画（案）", "第1章 計画の概要", *wrapped, "- 1 -"],
        ["みどり市 第3次総合計画（案）", "第2章 基本構想", "将来都市像を定めます。", "- 2 -"],
        ["みどり市 第3次総合計画（案）", "第3章 推進体制", "・毎年度評価します。", "- 3 -"],
    ]
    [parsed] = parse_file("計画.pdf", japanese_pdf(pages))
    first, second, third = (s.text for s in parsed.sections)
    assert first == f"第1章 計画の概要\n{sentence}"
    assert second == "第2章 基本構想\n将来都市像を定めます。"
    assert third == "第3章 推進体制\n・毎年度評価します。"
    # Two pages are too few to tell a running header from each page's own first line.
    [short] = parse_file("二ページ.pdf", japanese_pdf([pages[1], pages[2]]))
    assert short.sections[0].text.startswith("みどり市 第3次総合計画（案）")


def test_a_heading_that_opens_every_page_is_kept() -> None:
    # 「第1章」, 「第2章」…: the same but for their number, yet not a running header.
    pages = [[f"第{n}章", f"第{n}章の本文です。", f"{n}ページ"] for n in range(1, 5)]
    [parsed] = parse_file("資料.pdf", japanese_pdf(pages))
    assert [s.text for s in parsed.sections] == [
        f"第{n}章\n第{n}章の本文です。" for n in range(1, 5)
    ]
