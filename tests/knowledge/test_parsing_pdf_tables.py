"""Tables in PDFs: real PDFs laid out by reportlab in its Japanese CID fonts, as a word
processor lays out a document with a ruled table."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import BaseDocTemplate, Frame, FrameBreak, PageTemplate, Paragraph
from support import FONT, japanese_document_pdf

from knowledge.documents import TABLE_CELL
from knowledge.parsing import parse_file

SCHEDULE = [
    ["地区", "収集日", "品目", "備考"],
    ["東町", "月曜日・木曜日", "燃やすごみ", "午前8時30分までに出してください"],
    ["西町", "火曜日・金曜日", "燃やすごみ", ""],
    ["南町1丁目", "水曜日", "資源ごみ（びん・缶）", "第2・第4水曜日"],
    ["北町", "第1金曜日", "粗大ごみ", "事前申込制"],
]
INTRO = (
    "本市のごみ収集日程は次のとおりです。収集日の朝8時30分までに、指定の場所に出してください。"
    "祝日も収集します。年末年始の収集日は別途お知らせします。"
)


@pytest.mark.parametrize("font", ["HeiseiKakuGo-W5", "HeiseiMin-W3"])
def test_a_tables_rows_are_read_as_lines_of_cells_apart_from_the_text(font: str) -> None:
    data = japanese_document_pdf(
        ["令和7年度 ごみ収集日程表", INTRO, SCHEDULE, "お問い合わせは環境課までお願いします。"],
        font=font,
    )
    [parsed] = parse_file("ごみ.pdf", data)
    assert parsed.title == "令和7年度 ごみ収集日程表"
    intro, table, contact = parsed.sections
    # The text around the table reads as before: lines wrapped mid-sentence joined.
    title, *paragraph = intro.text.splitlines()
    assert title == "令和7年度 ごみ収集日程表"
    assert all(line.endswith("。") for line in paragraph) and "".join(paragraph) == INTRO
    assert table.text.splitlines() == [
        "地区 | 収集日 | 品目 | 備考",
        "東町 | 月曜日・木曜日 | 燃やすごみ | 午前8時30分までに出してください",
        "西町 | 火曜日・金曜日 | 燃やすごみ",
        "南町1丁目 | 水曜日 | 資源ごみ（びん・缶） | 第2・第4水曜日",
        "北町 | 第1金曜日 | 粗大ごみ | 事前申込制",
    ]
    assert contact.text == "お問い合わせは環境課までお願いします。"
    # Cited by its page, the table by its rows too (as pieces of one section are read as one).
    assert [s.position for s in parsed.sections] == ["1ページ", "1ページ 表1 1〜4行", "1ページ"]


def test_a_cell_wrapped_in_its_column_is_joined_back_into_its_row() -> None:
    projects = [
        ["事業名", "予算額（千円）", "概要"],
        [
            "みどり市立子育て支援センター運営事業",
            "12,345",
            "子育て中の親子が気軽に集い、相談できる場を提供し、育児不安の解消を図ります。",
        ],
        ["高齢者見守り事業", "3,210", "一人暮らしの高齢者宅を定期的に訪問します。"],
        ["放課後児童クラブ運営事業", "45,678", "放課後に適切な遊びと生活の場を提供します。"],
    ]
    data = japanese_document_pdf(["主要事業一覧", projects], col_widths=[110, 80, 200])
    [parsed] = parse_file("事業.pdf", data)
    assert parsed.title == "主要事業一覧"  # the line above the table, which captions it
    [table] = parsed.sections
    assert table.text.splitlines() == [
        "主要事業一覧",
        "事業名 | 予算額（千円） | 概要",
        "みどり市立子育て支援センター運営事業 | 12,345 | 子育て中の親子が気軽に集い、相談でき"
        "る場を提供し、育児不安の解消を図ります。",
        "高齢者見守り事業 | 3,210 | 一人暮らしの高齢者宅を定期的に訪問します。",
        "放課後児童クラブ運営事業 | 45,678 | 放課後に適切な遊びと生活の場を提供します。",
    ]


@pytest.mark.parametrize("repeat_header", [True, False])
def test_a_table_over_pages_keeps_its_header_in_every_passage(repeat_header: bool) -> None:
    rows = [["施設名", "所在地", "定員（人）"]] + [
        [f"第{n}保育園", f"みどり市中央{n % 9 + 1}丁目{n}番地", str(n * 3)] for n in range(1, 121)
    ]
    data = japanese_document_pdf(["市内保育施設一覧", rows], repeat_header=repeat_header)
    [parsed] = parse_file("保育園.pdf", data)
    pages = {s.position.split()[0] for s in parsed.sections}
    assert len(pages) >= 3  # long enough for a header repeated on every page to recur
    read: list[str] = []
    for section in parsed.sections:
        lines = section.text.splitlines()
        # The header row repeated at the top of each page is no running header to drop; a
        # table that does not repeat it is given it again on the page it runs on to.
        header = 1 if lines[0] == "市内保育施設一覧" else 0  # the caption above the table
        assert lines[header] == "施設名 | 所在地 | 定員（人）", section.text
        read += lines[header + 1 :]
    assert read == [
        f"第{n}保育園 | みどり市中央{n % 9 + 1}丁目{n}番地 | {n * 3}" for n in range(1, 121)
    ]


def test_a_list_with_its_marks_set_apart_is_no_table() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setFont(FONT, 11)
    pdf.drawString(72, 760, "次の書類を提出してください。")
    items = ["申請書（様式第1号）", "住民票の写し", "所得証明書", "本人確認書類"]
    for number, item in enumerate(items, 1):
        pdf.drawString(84, 760 - 20 * number, f"({number})")
        pdf.drawString(130, 760 - 20 * number, item)
    pdf.save()
    [parsed] = parse_file("書類.pdf", buffer.getvalue())
    [page] = parsed.sections
    assert "|" not in page.text and all(item in page.text for item in items)


def test_text_set_in_two_columns_is_read_column_by_column() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    style = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=16, wordWrap="CJK")
    left = (
        "本市では、令和6年度から子育て支援の総合窓口を設置し、妊娠期から子育て期まで切れ目のない支援を行っています。"
        * 4
    )
    right = (
        "高齢者の見守りについては、民生委員や地域の事業者と協定を結び、異変の早期発見に努めています。"
        * 4
    )
    buffer = BytesIO()
    width = (A4[0] - 2 * 72 - 20) / 2
    frames = [
        Frame(72, 72, width, A4[1] - 144, id="left"),
        Frame(92 + width, 72, width, A4[1] - 144, id="right"),
    ]
    document = BaseDocTemplate(buffer, pagesize=A4)
    document.addPageTemplates([PageTemplate(frames=frames)])
    # A frame break sends the second paragraph to the right column, beside the first.
    document.build([Paragraph(left, style), FrameBreak(), Paragraph(right, style)])
    [parsed] = parse_file("広報.pdf", buffer.getvalue())
    [page] = parsed.sections
    assert "|" not in page.text
    assert page.text.replace("\n", "") == left + right


def test_a_column_of_amounts_stays_apart_from_the_names_beside_it() -> None:
    rows = [["事業名", "予算額（千円）", "担当課", "概要"]] + [
        [f"第1-{n}事業", f"{n * 1234:,}", "子育て支援課", "相談できる場を提供します。"]
        for n in range(1, 16)
    ]
    [parsed] = parse_file("予算.pdf", japanese_document_pdf(["主要事業", rows]))
    [table] = parsed.sections
    assert table.text.splitlines()[2:] == [
        f"第1-{n}事業 | {n * 1234:,} | 子育て支援課 | 相談できる場を提供します。"
        for n in range(1, 16)
    ]


def test_a_table_on_a_landscape_page_turned_by_its_rotation_is_read_by_rows() -> None:
    data = japanese_document_pdf(
        ["ごみ収集日程", SCHEDULE, "お問い合わせは環境課までお願いします。"]
    )
    writer = PdfWriter(clone_from=BytesIO(data))
    # Drawn turned a quarter and shown upright by the page's rotation, as a landscape page
    # of a scanned or merged document is.
    page = writer.pages[0]
    page.rotate(-90)
    page.transfer_rotation_to_content()
    page.rotate(90)
    buffer = BytesIO()
    writer.write(buffer)
    [parsed] = parse_file("ごみ.pdf", buffer.getvalue())
    assert [s.text.splitlines() for s in parsed.sections] == [
        ["ごみ収集日程", *(TABLE_CELL.join(filter(None, row)) for row in SCHEDULE)],
        ["お問い合わせは環境課までお願いします。"],
    ]
