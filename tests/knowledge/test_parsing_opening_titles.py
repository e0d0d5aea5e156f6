"""Word and PDF files without a title property are titled by their opening line when it is
clearly a title (in Word, also above the first heading; in a PDF, else by the header repeated
on its pages), and by their file name when it is a date, a label, a page number or body text.
Files written with python-docx and reportlab."""

from __future__ import annotations

from io import BytesIO

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from support import japanese_pdf

from knowledge.parsing import parse_file

BODY = "本市の令和８年度当初予算は一般会計で前年度より三パーセント増えています。"
MORE = "歳入では市税収入が増え歳出では子育て支援と防災の事業費が増えています。"


def saved(document: DocxDocument) -> bytes:
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def word_file(paragraphs: list[str], *, heading: str = "") -> bytes:
    """A Word file of unstyled ``paragraphs``, then ``heading`` (Heading 1) over body text."""
    document = Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if heading:
        document.add_heading(heading, level=1)
        document.add_paragraph(BODY)
    return saved(document)


@pytest.mark.parametrize(
    ("paragraphs", "title"),
    [
        (["令和８年度予算の概要", BODY], "令和８年度予算の概要"),
        (["資料１", "令和８年度予算の概要", BODY], "令和８年度予算の概要"),
        (["資料１　令和８年度予算の概要", BODY], "資料１ 令和８年度予算の概要"),
        (["（案）", "避難所運営マニュアル", BODY], "避難所運営マニュアル"),
        # Not a title: the file name is kept.
        ([BODY, MORE], "r8_yosan"),
        (["資料１", BODY], "r8_yosan"),
        (["令和８年４月１日", "令和８年度予算の概要", BODY], "r8_yosan"),
        (["令和８年３月", "令和８年度予算の概要", BODY], "r8_yosan"),
        (["令和８年度", BODY], "r8_yosan"),
        (["総務第１２３号", "令和８年４月１日", "各課長　様", BODY], "r8_yosan"),
        (["1. 予算の規模", BODY], "r8_yosan"),
    ],
)
def test_a_word_file_without_title_or_headings_is_titled_by_its_opening_paragraph(
    paragraphs: list[str], title: str
) -> None:
    [parsed] = parse_file("r8_yosan.docx", word_file(paragraphs))
    assert parsed.title == title


@pytest.mark.parametrize(
    ("paragraphs", "title"),
    [
        # A title typed by hand above the first heading names the document, not its chapter.
        (["令和８年度予算の概要"], "令和８年度予算の概要"),
        (["資料１", "令和８年度予算の概要"], "令和８年度予算の概要"),
        # A heading that opens the document, or follows no clear title, names it.
        ([], "第1章 予算の規模"),
        (["資料１"], "第1章 予算の規模"),
        ([BODY], "第1章 予算の規模"),
        (["令和８年４月１日", "令和８年度予算の概要"], "第1章 予算の規模"),
    ],
)
def test_a_clear_opening_title_above_the_first_heading_titles_a_word_file(
    paragraphs: list[str], title: str
) -> None:
    [parsed] = parse_file("r8_yosan.docx", word_file(paragraphs, heading="第1章 予算の規模"))
    assert parsed.title == title


def test_a_bold_centred_opening_paragraph_titles_a_word_file_with_headings() -> None:
    """The municipal habit: the title typed bold and centred by hand, headings below."""
    document = Document()
    opening = document.add_paragraph()
    opening.alignment = WD_ALIGN_PARAGRAPH.CENTER
    opening.add_run("令和８年度予算の概要").bold = True
    document.add_heading("第1章 予算の規模", level=1)
    document.add_paragraph(BODY)
    document.add_heading("第2章 歳入", level=1)
    document.add_paragraph(MORE)
    [parsed] = parse_file("r8_yosan.docx", saved(document))
    assert parsed.title == "令和８年度予算の概要"
    # The headings still cut and cite the sections.
    assert [section.heading for section in parsed.sections] == [
        "",
        "第1章 予算の規模",
        "第2章 歳入",
    ]


def test_a_title_style_or_property_still_comes_before_the_opening_paragraph() -> None:
    document = Document()
    document.add_paragraph("令和８年度予算の概要")
    document.add_paragraph("予算説明資料", style="Title")
    document.add_heading("第1章 予算の規模", level=1)
    document.add_paragraph(BODY)
    [parsed] = parse_file("r8_yosan.docx", saved(document))
    assert parsed.title == "予算説明資料"
    document.core_properties.title = "令和８年度当初予算説明書"
    [parsed] = parse_file("r8_yosan.docx", saved(document))
    assert parsed.title == "令和８年度当初予算説明書"


def wrapped(text: str) -> list[str]:
    """``text`` drawn as a PDF draws a paragraph: cut into lines at the page's width."""
    return [text[i : i + 30] for i in range(0, len(text), 30)]


PLAN = (
    "本計画は令和８年度から令和１７年度までの十年間を計画期間とし"
    "みどり市のまちづくりの最上位計画として策定するものです。"
)


@pytest.mark.parametrize(
    ("pages", "title"),
    [
        ([["令和８年度予算の概要", *wrapped(BODY + MORE)]], "令和８年度予算の概要"),
        ([["資料１", "令和８年度予算の概要", *wrapped(BODY + MORE)]], "令和８年度予算の概要"),
        ([["資料１ 令和８年度予算の概要", *wrapped(BODY + MORE)]], "資料１ 令和８年度予算の概要"),
        # A running header above it on every page is not read as its title.
        (
            [
                ["みどり市 財政課", "令和８年度予算の概要", *wrapped(BODY)],
                ["みどり市 財政課", *wrapped(MORE)],
                ["みどり市 財政課", *wrapped(PLAN)],
            ],
            "令和８年度予算の概要",
        ),
        # Not a title: the file name is kept.
        ([wrapped(PLAN + BODY)], "r8_yosan"),
        ([["資料１", *wrapped(BODY + MORE)]], "r8_yosan"),
        ([["令和８年４月１日", "令和８年度予算の概要", *wrapped(BODY + MORE)]], "r8_yosan"),
        ([["２０２６年３月", "令和８年度予算の概要", *wrapped(BODY + MORE)]], "r8_yosan"),
        ([["- 1 -", "令和８年度予算の概要", *wrapped(BODY + MORE)]], "r8_yosan"),
        ([["P.1", *wrapped(BODY + MORE)]], "r8_yosan"),
        # Too few lines to tell a title from a paragraph's first line.
        ([["令和８年度予算の概要", "本市の予算について"]], "r8_yosan"),
    ],
)
def test_a_pdf_without_a_title_property_is_titled_by_its_opening_line(
    pages: list[list[str]], title: str
) -> None:
    [parsed] = parse_file("r8_yosan.pdf", japanese_pdf(pages))
    assert parsed.title == title


def test_a_pdfs_title_property_comes_before_its_opening_line() -> None:
    data = japanese_pdf([["令和８年度予算の概要", *wrapped(BODY + MORE)]], title="予算説明資料")
    [parsed] = parse_file("r8_yosan.pdf", data)
    assert parsed.title == "予算説明資料"


def planned(header: list[str], first_page: list[str]) -> bytes:
    """A three-page PDF with ``header`` at the top of every page."""
    return japanese_pdf(
        [
            [*header, *first_page],
            [*header, *wrapped(MORE + PLAN)],
            [*header, *wrapped(BODY + MORE)],
        ]
    )


@pytest.mark.parametrize(
    ("header", "first_page", "title"),
    [
        # The running header is the plan's own title when page 1 opens with body text.
        (["みどり市 第3次総合計画（案）"], wrapped(PLAN + BODY), "みどり市 第3次総合計画（案）"),
        (["資料１", "みどり市 第3次総合計画（案）"], wrapped(PLAN), "みどり市 第3次総合計画（案）"),
        # A clear opening line on page 1 still comes first.
        (["みどり市 第3次総合計画（案）"], ["基本構想", *wrapped(PLAN)], "基本構想"),
        # Not a title: a date, a label, the issuer's name, a header numbered by page.
        (["令和８年３月"], wrapped(PLAN + BODY), "r8_yosan"),
        (["資料１"], wrapped(PLAN + BODY), "r8_yosan"),
        (["みどり市 財政課"], wrapped(PLAN + BODY), "r8_yosan"),
        (["第1章 総論"], wrapped(PLAN + BODY), "r8_yosan"),
    ],
)
def test_a_pdf_without_a_title_is_titled_by_its_running_header_when_it_is_one(
    header: list[str], first_page: list[str], title: str
) -> None:
    [parsed] = parse_file("r8_yosan.pdf", planned(header, first_page))
    assert parsed.title == title
    # The header stays out of the passages.
    assert not any(line in section.text for section in parsed.sections for line in header)


def test_a_header_carrying_the_page_number_does_not_title_a_pdf() -> None:
    texts = [wrapped(PLAN + BODY), wrapped(MORE + PLAN), wrapped(BODY + MORE)]
    pages = [[f"総合計画 {n}", *lines] for n, lines in enumerate(texts, start=1)]
    [parsed] = parse_file("r8_yosan.pdf", japanese_pdf(pages))
    assert parsed.title == "r8_yosan"
    assert not any("総合計画 " in section.text for section in parsed.sections)


def test_a_pdfs_title_property_comes_before_its_running_header() -> None:
    data = japanese_pdf(
        [
            ["みどり市 第3次総合計画（案）", *wrapped(PLAN + BODY)],
            ["みどり市 第3次総合計画（案）", *wrapped(MORE + PLAN)],
            ["みどり市 第3次総合計画（案）", *wrapped(BODY + MORE)],
        ],
        title="総合計画素案",
    )
    [parsed] = parse_file("r8_yosan.pdf", data)
    assert parsed.title == "総合計画素案"


# --- Circulars (通知・事務連絡) -----------------------------------------------------------

NOTICE = (
    "標記について、別添のとおり取りまとめましたので、貴職におかれては、"
    "貴都道府県内の市区町村に対しても周知いただきますようお願いします。"
    "なお、本通知は地方自治法第２４５条の４第１項に基づく技術的助言であることを申し添えます。"
)
CIRCULARS = [
    (
        [
            "総行行第１２３号",
            "令和８年４月１日",
            "各都道府県知事　殿",
            "各指定都市市長　殿",
            "総務省自治行政局長",
            "（公印省略）",
            "行政手続のオンライン化の推進について（通知）",
        ],
        "行政手続のオンライン化の推進について（通知）",
    ),
    (
        [
            "事務連絡",
            "令和８年４月１日",
            "各都道府県",
            "各指定都市",
            "衛生主管部（局）　御中",
            "厚生労働省健康局総務課",
            "感染症対策訓練の実施について（依頼）",
        ],
        "感染症対策訓練の実施について（依頼）",
    ),
    (
        [
            "みどり総第４５号",
            "令和８年４月１日",
            "各課長　様",
            "みどり市長　山田　太郎",
            "（公印省略）",
            "庁内文書の電子化について",
        ],
        "庁内文書の電子化について",
    ),
    # A subject wrapped across two lines.
    (
        [
            "事務連絡",
            "令和８年４月１日",
            "各都道府県防災担当主管部（局）　御中",
            "内閣府政策統括官（防災担当）付参事官（避難生活担当）",
            "避難所における生活環境の確保に向けた取組",
            "について（周知）",
        ],
        "避難所における生活環境の確保に向けた取組について（周知）",
    ),
    # No subject of the usual form: a number, date, addressee or issuer never titles it.
    (["総行行第１２３号", "令和８年４月１日", "各都道府県知事　殿", "総務省自治行政局長"], ""),
    (["事務連絡", "令和８年４月１日", "関係各位", "日本年金機構"], ""),
]
CIRCULAR_KINDS = ["notice", "office-memo", "city", "wrapped-subject", "no-subject", "memo-only"]


@pytest.mark.parametrize(("header", "title"), CIRCULARS, ids=CIRCULAR_KINDS)
def test_a_circular_in_word_is_titled_by_its_subject(header: list[str], title: str) -> None:
    [parsed] = parse_file("r8_tsuchi.docx", word_file([*header, NOTICE, "記", MORE]))
    assert parsed.title == (title or "r8_tsuchi")


@pytest.mark.parametrize(("header", "title"), CIRCULARS, ids=CIRCULAR_KINDS)
def test_a_circular_in_a_pdf_is_titled_by_its_subject(header: list[str], title: str) -> None:
    # A PDF's lines as drawn: the body cut at the page's width, the header and subject short.
    [parsed] = parse_file("r8_tsuchi.pdf", japanese_pdf([[*header, *wrapped(NOTICE + MORE)]]))
    assert parsed.title == (title or "r8_tsuchi")


@pytest.mark.parametrize(("header", "title"), CIRCULARS, ids=CIRCULAR_KINDS)
def test_a_circular_in_plain_text_is_titled_by_its_subject(header: list[str], title: str) -> None:
    # As typed: the number, date and issuer pushed right with spaces, blank lines between.
    right = "　" * 20
    typed = [right + line if line.startswith(("総", "み", "令", "事")) else line for line in header]
    text = "\n".join([*typed, "", NOTICE, "", "記", "", "第１条 オンライン化の対象", MORE])
    text += "\n第２条 留意事項\n" + BODY
    [parsed] = parse_file("r8_tsuchi.txt", text.encode())
    assert parsed.title == (title or "r8_tsuchi")


PLAIN = ["避難所運営マニュアル", "令和８年４月１日", "みどり市危機管理課"]


def test_a_document_that_opens_with_its_title_keeps_it_though_its_issuer_follows() -> None:
    body = [BODY, "避難所の開設について", MORE]
    [word] = parse_file("manual.docx", word_file([*PLAIN, *body]))
    [pdf] = parse_file("manual.pdf", japanese_pdf([[*PLAIN, *wrapped(BODY + MORE)]]))
    [text] = parse_file("manual.txt", "\n".join([*PLAIN, "", *body]).encode())
    assert word.title == pdf.title == text.title == "避難所運営マニュアル"


# Ordinary documents opening with an addressee or a word ending 「様」 are no circulars: a
# line ending 「について」 in their body or under their title never titles them.
LETTERS = [
    (
        [
            "保護者　様",
            "入学説明会のお知らせ",
            "このたび、令和８年度の入学説明会を下記のとおり開催しますので、その日程と内容について",
            "お知らせします。",
        ],
        "入学説明会のお知らせ",  # apart from the text: much shorter than the line after it
    ),
    (
        [
            "地域住民の皆様",
            "letter",
            "日頃より市政にご協力いただきありがとうございます。",
            "工事期間について",
            "令和８年５月から７月までを予定しています。",
        ],
        "letter",
    ),
    (["図書館システム調達仕様", "１．目的", "本仕様は、調達の範囲について", "定める。"], "letter"),
]


@pytest.mark.parametrize(("lines", "title"), LETTERS, ids=["wrapped-body", "heading", "spec"])
def test_a_letter_or_specification_is_not_titled_by_a_line_ending_nitsuite(
    lines: list[str], title: str
) -> None:
    [parsed] = parse_file("letter.txt", "\n".join(lines).encode())
    assert parsed.title == title


def test_a_short_heading_above_a_sentence_titles_a_one_page_pdf() -> None:
    # Too few lines to know the page's width: the heading is much shorter than the sentence
    # under it, so it is no paragraph's first line wrapped at the width.
    lines = [
        "窓口の受付時間",
        "平日の午前8時30分から午後5時15分まで受け付けます。",
        "土日は休みです。",
    ]
    [parsed] = parse_file("uketsuke.pdf", japanese_pdf([lines]))
    assert parsed.title == "窓口の受付時間"
    # A paragraph's first line wrapped at the width is as long as the next: no title.
    wrapped = ["本市では、令和6年度から窓口の受付時間を", "平日の午前8時30分から午後5時15分までと"]
    [plain] = parse_file("uketsuke.txt", "\n".join(wrapped).encode())
    assert plain.title == "uketsuke"
