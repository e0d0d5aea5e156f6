"""Word, Excel and CSV files written with python-docx, openpyxl and the csv module."""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from io import BytesIO, StringIO

import pytest
from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import parse_xml
from openpyxl import Workbook
from openpyxl.styles import Border, Side

from knowledge.errors import BadDocument
from knowledge.parsing import ParseLimits, parse_file


def refusal(name: str, data: bytes, limits: ParseLimits | None = None) -> str:
    with pytest.raises(BadDocument) as caught:
        parse_file(name, data, limits=limits or ParseLimits())
    return caught.value.user_message


# --- Word -----------------------------------------------------------------------------------


def word_file() -> bytes:
    document = Document()
    document.add_heading("児童手当の手引き", level=0)  # the 「Title」 style
    document.add_paragraph("この手引きは児童手当の制度を説明します。")
    document.add_heading("第1章 支給対象", level=1)
    document.add_paragraph("高校生年代までの児童を養育している方が対象です。")
    document.add_heading("1.1 所得制限", level=2)
    document.add_paragraph("令和6年10月分から所得制限はありません。")
    table = document.add_table(rows=3, cols=2)
    for row, (age, amount) in zip(
        table.rows,
        [("年齢", "月額"), ("3歳未満", "15,000円"), ("3歳以上", "10,000円")],
        strict=True,
    ):
        row.cells[0].text, row.cells[1].text = age, amount
    # Documents written with a Japanese UI may carry styles named 「見出し」.
    japanese_heading = document.styles.add_style("見出し 1", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("第2章 申請", style=japanese_heading)
    document.add_paragraph("出生日の翌日から15日以内に申請してください。")
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_sections_by_heading_with_tables() -> None:
    [parsed] = parse_file("児童手当.docx", word_file())
    assert parsed.kind == "docx"
    assert parsed.title == "児童手当の手引き"
    assert [s.heading for s in parsed.sections] == [
        "",
        "第1章 支給対象",
        "第1章 支給対象 > 1.1 所得制限",
        "第2章 申請",
    ]
    assert parsed.sections[0].text == "この手引きは児童手当の制度を説明します。"
    limits = parsed.sections[2]
    assert limits.position == "第1章 支給対象 > 1.1 所得制限"
    assert limits.text.split("\n") == [
        "令和6年10月分から所得制限はありません。",
        "年齢 | 月額",
        "3歳未満 | 15,000円",
        "3歳以上 | 10,000円",
    ]
    assert parsed.sections[3].text == "出生日の翌日から15日以内に申請してください。"


def test_a_rule_written_without_heading_styles_is_cut_by_article() -> None:
    document = Document()
    document.add_heading("テスト市粗大ごみ収集規則", level=0)
    for text in (
        "第1条 この規則は、粗大ごみの収集に関し必要な事項を定める。",
        "第2条 収集を受けようとする者は、市長に申し込まなければならない。",
        "2 前項の申込みは、収集日の7日前までにしなければならない。",
        "附 則",
        "第1条 この規則は、令和8年4月1日から施行する。",
    ):
        document.add_paragraph(text)
    out = BytesIO()
    document.save(out)
    [parsed] = parse_file("粗大ごみ収集規則.docx", out.getvalue())
    assert parsed.title == "テスト市粗大ごみ収集規則"
    assert [s.position for s in parsed.sections] == ["第1条", "第2条", "附則第1条"]
    assert parsed.sections[1].text.endswith("7日前までにしなければならない。")


def test_docx_merged_cells_are_not_repeated() -> None:
    document = Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "申請書類一覧"
    for cell, text in zip(table.rows[1].cells, ["申請書", "住民票", "保険証"], strict=True):
        cell.text = text
    out = BytesIO()
    document.save(out)
    [parsed] = parse_file("表.docx", out.getvalue())
    assert parsed.sections[0].text == "申請書類一覧\n申請書 | 住民票 | 保険証"


W_NS = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
MC_NS = 'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"'
WPS_NS = 'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape"'
V_NS = 'xmlns:v="urn:schemas-microsoft-com:vml"'
REVISION = 'w:author="総務課" w:date="2026-04-01T00:00:00Z"'


def run(text: str) -> str:
    return f"<w:r><w:t>{text}</w:t></w:r>"


def text_box(text: str) -> str:
    """A text box as Word writes it: the drawing, and a copy for older readers."""
    content = f"<w:txbxContent><w:p>{run(text)}</w:p></w:txbxContent>"
    return (
        f"<w:r {W_NS} {MC_NS} {WPS_NS} {V_NS}><mc:AlternateContent>"
        f'<mc:Choice Requires="wps"><w:drawing><wps:wsp><wps:txbx>{content}</wps:txbx>'
        f"</wps:wsp></w:drawing></mc:Choice>"
        f"<mc:Fallback><w:pict><v:shape><v:textbox>{content}</v:textbox></v:shape></w:pict>"
        "</mc:Fallback></mc:AlternateContent></w:r>"
    )


def test_docx_reads_as_with_its_changes_accepted_with_controls_tags_and_text_boxes() -> None:
    document = Document()
    document.add_heading("住民票の写しの交付", level=1)
    changed = document.add_paragraph("手数料は1通")
    changed._p.append(
        parse_xml(
            f'<w:del {W_NS} w:id="1" {REVISION}><w:r><w:delText>200</w:delText></w:r></w:del>'
        )
    )
    changed._p.append(parse_xml(f'<w:ins {W_NS} w:id="2" {REVISION}>{run("300")}</w:ins>'))
    changed.add_run("円です。")
    # Older Word marks addresses and dates as smart tags; a form's fields are content controls.
    tagged = document.add_paragraph("窓口は")
    tagged._p.append(
        parse_xml(f'<w:smartTag {W_NS} w:element="address">{run("本町1-1")}</w:smartTag>')
    )
    tagged._p.append(
        parse_xml(f"<w:sdt {W_NS}><w:sdtContent>{run('市民課')}</w:sdtContent></w:sdt>")
    )
    tagged._p.append(parse_xml(text_box("郵送の場合は返信用封筒を同封してください。")))
    document.element.body.insert(
        len(document.element.body) - 1,
        parse_xml(
            f"<w:sdt {W_NS}><w:sdtContent><w:p>{run('受付時間は午前8時30分からです。')}</w:p>"
            "</w:sdtContent></w:sdt>"
        ),
    )
    table = document.add_table(rows=1, cols=2)
    table.cell(0, 0).text = "請求者"
    inner = table.cell(0, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text, inner.cell(0, 1).text = "本人", "代理人"
    out = BytesIO()
    document.save(out)
    [parsed] = parse_file("住民票.docx", out.getvalue())
    assert [s.heading for s in parsed.sections] == ["住民票の写しの交付"]
    assert parsed.sections[0].text.split("\n") == [
        "手数料は1通300円です。",
        "窓口は本町1-1市民課",
        "郵送の場合は返信用封筒を同封してください。",
        "受付時間は午前8時30分からです。",
        "請求者 | 本人 | 代理人",
    ]


def numbered_list(document: DocumentObject, num_id: int, levels: list[tuple[str, str]]) -> None:
    """Add list ``num_id`` to the document's numbering, one level per (format, label)."""
    numbering = document.part.numbering_part.element
    lvls = "".join(
        f'<w:lvl w:ilvl="{level}"><w:start w:val="1"/><w:numFmt w:val="{number_format}"/>'
        f'<w:suff w:val="space"/><w:lvlText w:val="{label}"/></w:lvl>'
        for level, (number_format, label) in enumerate(levels)
    )
    numbering.insert(
        0, parse_xml(f'<w:abstractNum {W_NS} w:abstractNumId="{num_id}">{lvls}</w:abstractNum>')
    )
    numbering.append(
        parse_xml(f'<w:num {W_NS} w:numId="{num_id}"><w:abstractNumId w:val="{num_id}"/></w:num>')
    )


def numbered(document: DocumentObject, text: str, num_id: int, level: int = 0) -> None:
    paragraph = document.add_paragraph(text)
    paragraph._p.get_or_add_pPr().append(
        parse_xml(f'<w:numPr {W_NS}><w:ilvl w:val="{level}"/><w:numId w:val="{num_id}"/></w:numPr>')
    )


def test_numbers_word_puts_before_paragraphs_are_read() -> None:
    # A rule whose articles Word numbers itself, as many are written, is cut by article.
    document = Document()
    document.add_heading("テスト市公用車管理規則", level=0)
    numbered_list(document, 90, [("decimal", "第%1条"), ("decimalFullWidth", "（%2）")])
    numbered(document, "この規則は、公用車の管理に関し必要な事項を定める。", 90)
    numbered(document, "公用車を使用する者は、次に掲げる事項を守らなければならない。", 90)
    numbered(document, "運行日誌を記入すること。", 90, level=1)
    numbered(document, "鍵を返却すること。", 90, level=1)
    numbered(document, "この規則は、令和8年4月1日から施行する。", 90)
    document.add_paragraph("申請の手順", style="List Bullet")
    for step in ("申請書を提出する。", "課長が承認する。"):
        document.add_paragraph(step, style="List Number")  # numbered by its style
    out = BytesIO()
    document.save(out)
    [parsed] = parse_file("公用車管理規則.docx", out.getvalue())
    assert [s.position for s in parsed.sections] == ["第1条", "第2条", "第3条"]
    assert parsed.sections[1].text.split("\n") == [
        "第2条 公用車を使用する者は、次に掲げる事項を守らなければならない。",
        "（１） 運行日誌を記入すること。",
        "（２） 鍵を返却すること。",
    ]
    assert parsed.sections[2].text.split("\n")[1:] == [
        "・申請の手順",
        "1. 申請書を提出する。",
        "2. 課長が承認する。",
    ]


def test_damaged_docx_is_refused() -> None:
    message = refusal("壊れた.docx", word_file()[:2000])
    assert "「壊れた.docx」は Word（.docx）ファイルとして読み込めませんでした" in message


def test_password_protected_or_legacy_office_file_is_explained() -> None:
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    message = refusal("保護.docx", ole2)
    assert "パスワードで保護されているか、古い形式" in message


def test_office_file_expanding_too_far_is_refused() -> None:
    message = refusal("大きい.docx", word_file(), ParseLimits(max_expanded_bytes=1000))
    assert "展開後のサイズが大きすぎます" in message


def test_a_word_file_built_like_a_zip_bomb_is_refused_before_it_is_read() -> None:
    # A part of a few kilobytes that expands to megabytes: read whole, its XML tree would take
    # many times that in memory.
    source = zipfile.ZipFile(BytesIO(word_file()))
    bomb = BytesIO()
    with source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as out:
        for item in source.infolist():
            body = source.read(item)
            if item.filename == "word/document.xml":
                body = body.replace(b"</w:body>", b"<w:p/>" * 400_000 + b"</w:body>")
            out.writestr(item.filename, body)
    assert "ZIP爆弾" in refusal("議事録.docx", bomb.getvalue())
    # Whatever its ratio, a part larger than a file may be is refused too.
    big_part = ParseLimits(max_file_bytes=len(bomb.getvalue()), max_compression_ratio=1e9)
    assert "展開後のサイズが大きすぎます" in refusal("議事録.docx", bomb.getvalue(), big_part)


def test_a_sheet_too_large_to_read_names_the_limit_it_is_past() -> None:
    # A sheet of many cells expands past what one part may take (50 MB by default; 1 MB
    # here). The message named the 500 MB limit on the whole file, which it was far under.
    book = Workbook(write_only=True)
    sheet = book.create_sheet("台帳")
    for row in range(4_000):
        sheet.append([f"住民{row}-{column}" for column in range(50)])
    out = BytesIO()
    book.save(out)
    limits = ParseLimits(max_file_bytes=1024 * 1024)
    message = refusal("台帳.xlsx", out.getvalue(), limits)
    assert re.search(r"（シートまたは本文の1つが \d+(\.\d)?MB、上限 1MB）", message), message
    assert "500MB" not in message


# --- Excel ----------------------------------------------------------------------------------


def excel_file() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "避難所"
    sheet.append(["名称", "住所", "収容人数", "開設日"])
    for number in range(1, 46):
        sheet.append([f"第{number}避難所", f"中央町{number}丁目", 100.0 + number, None])
    sheet["D2"] = datetime(2026, 4, 1)
    sheet["D3"] = date(2026, 4, 2)
    other = workbook.create_sheet("連絡先")
    other.append([None])  # leading empty row is skipped
    other.append(["課", "電話"])
    other.append(["防災課", "03-0000-0000"])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_rows_grouped_with_the_header_repeated() -> None:
    [parsed] = parse_file("避難所一覧.xlsx", excel_file())
    assert parsed.kind == "xlsx"
    assert parsed.title == "避難所一覧"
    assert [s.position for s in parsed.sections] == [
        "避難所 2〜21行",
        "避難所 22〜41行",
        "避難所 42〜46行",
        "連絡先 3行",
    ]
    first, second, third, contacts = parsed.sections
    assert first.heading == "避難所"
    lines = first.text.split("\n")
    assert lines[0] == "名称 | 住所 | 収容人数 | 開設日"
    assert lines[1] == "第1避難所 | 中央町1丁目 | 101 | 2026-04-01"
    assert lines[2] == "第2避難所 | 中央町2丁目 | 102 | 2026-04-02"
    assert len(lines) == 21
    for section in (second, third):
        assert section.text.startswith("名称 | 住所 | 収容人数 | 開設日\n")
    assert "第45避難所 | 中央町45丁目 | 145" in third.text
    assert contacts.text == "課 | 電話\n防災課 | 03-0000-0000"


def test_a_title_above_the_header_opens_every_group_and_the_header_stays() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "補助金"
    sheet["A1"] = "令和8年度 補助金交付一覧"
    sheet.merge_cells("A1:C1")  # a title across the table, as such sheets have it
    sheet["C2"] = "単位：円"
    sheet.append(["事業", "金額", "担当課"])
    for number in range(1, 26):
        sheet.append([f"事業{number}", 10000 * number, "危機管理課"])
    notes = workbook.create_sheet("注意事項")
    notes.append(["この一覧は、交付決定のあった事業を掲載しています。" * 5])
    notes.append(["課", "電話"])
    notes.append(["危機管理課", "03-0000-0000"])
    out = BytesIO()
    workbook.save(out)
    [parsed] = parse_file("補助金.xlsx", out.getvalue())
    assert parsed.title == "令和8年度 補助金交付一覧"  # the title row, not the file's name
    assert [s.position for s in parsed.sections] == [
        "補助金 4〜23行",
        "補助金 24〜28行",
        "注意事項 1行",
        "注意事項 3行",
    ]
    later = parsed.sections[1].text.split("\n")
    assert later[:3] == [
        "令和8年度 補助金交付一覧 単位：円",
        "事業 | 金額 | 担当課",
        "事業21 | 210000 | 危機管理課",
    ]
    assert parsed.sections[2].text.startswith("この一覧は、交付決定のあった")
    assert parsed.sections[3].text == "課 | 電話\n危機管理課 | 03-0000-0000"


def test_wide_rows_close_a_group_before_it_outgrows_a_chunk() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["番号", "内容"])
    for number in range(1, 21):
        sheet.append([number, "長い説明文です。" * 20])
    out = BytesIO()
    workbook.save(out)
    [parsed] = parse_file("wide.xlsx", out.getvalue())
    assert len(parsed.sections) > 1
    assert all(len(s.text) <= 1000 for s in parsed.sections)
    assert all(s.text.startswith("番号 | 内容\n") for s in parsed.sections)


def test_a_row_formatted_across_the_sheet_reads_as_its_filled_cells() -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["品目", "曜日"])
    sheet.append(["燃やすごみ", "月曜日・木曜日"])
    for column in range(3, 5003):  # a ruled line drawn far past the table: empty styled cells
        sheet.cell(row=2, column=column).border = Border(bottom=Side(style="thin"))
    [parsed] = parse_file("gomi.xlsx", xlsx_bytes(workbook))
    assert parsed.sections[0].text == "品目 | 曜日\n燃やすごみ | 月曜日・木曜日"


def budget_sheet() -> bytes:
    """A budget sheet as a program (openpyxl, a municipal system) writes it: the total is a
    formula, and the file holds no value for it, since no spreadsheet has computed it."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "歳出"
    sheet.append(["款", "予算額", "備考"])
    sheet.append(["総務費", 1200, '=IF(B2>3000,"増額","")'])
    sheet.append(["民生費", 3400, '=IF(B3>3000,"増額","")'])
    sheet.append(["合計", "=SUM(B2:B3)"])
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewritten(data: bytes, name: str, edit: Callable[[bytes], bytes]) -> bytes:
    """An Office file with its part ``name`` changed by ``edit``: what other programs write."""
    buffer = BytesIO()
    with zipfile.ZipFile(BytesIO(data)) as written, zipfile.ZipFile(buffer, "w") as saved:
        for item in written.infolist():
            part = written.read(item)
            saved.writestr(item, edit(part) if item.filename == name else part)
    return buffer.getvalue()


def test_a_formula_without_a_saved_value_shows_its_formula_instead_of_vanishing() -> None:
    [parsed] = parse_file("予算.xlsx", budget_sheet())
    assert parsed.sections[0].text.split("\n")[-1] == (
        "合計 | （計算式: =SUM(B2:B3)、値は保存されていません）"
    )


def test_a_formula_saved_with_its_value_shows_the_value() -> None:
    # Excel and LibreOffice save what a formula computed next to it; an empty text result
    # (「""」) is an empty value of type str, and shows nothing.
    results = {"B4": (b"", b"4600"), "C2": (b' t="str"', b""), "C3": (b' t="str"', "増額".encode())}

    def computed(part: bytes) -> bytes:
        for cell, (kind, value) in results.items():
            pattern = rb'<c r="%s">(<f>.*?</f>)<v></v>' % cell.encode()
            saved = rb'<c r="%s"%s>\1<v>%s</v>' % (cell.encode(), kind, value)
            part, found = re.subn(pattern, saved, part)
            assert found == 1
        return part

    [parsed] = parse_file(
        "予算.xlsx", rewritten(budget_sheet(), "xl/worksheets/sheet1.xml", computed)
    )
    assert parsed.sections[0].text == (
        "款 | 予算額 | 備考\n総務費 | 1200\n民生費 | 3400 | 増額\n合計 | 4600"
    )


def test_cells_below_a_shared_formula_without_saved_values_show_their_own_formula() -> None:
    # A program filling a formula down may write it once, shared by the cells below, and
    # save a value for none or only some of them.
    sheet = (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"<sheetData>"
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>\xe6\x95\xb0</t></is></c>'
        b'<c r="B1" t="inlineStr"><is><t>\xe5\x80\x8d</t></is></c></row>'
        b'<row r="2"><c r="A2"><v>1</v></c>'
        b'<c r="B2"><f t="shared" ref="B2:B4" si="0">A2*2</f><v>2</v></c></row>'
        b'<row r="3"><c r="A3"><v>5</v></c><c r="B3"><f t="shared" si="0"/></c></row>'
        b'<row r="4"><c r="A4"><v>7</v></c><c r="B4"><f t="shared" si="0"/><v>14</v></c></row>'
        b"</sheetData></worksheet>"
    )
    data = rewritten(budget_sheet(), "xl/worksheets/sheet1.xml", lambda _: sheet)
    [parsed] = parse_file("倍.xlsx", data)
    assert parsed.sections[0].text == (
        "数 | 倍\n1 | 2\n5 | （計算式: =A3*2、値は保存されていません）\n7 | 14"
    )


def visible_and_hidden_sheets() -> Workbook:
    """A list for readers, with a lookup table hidden from sight and staff's personal data
    hidden so that it does not even show in Excel's 「再表示」 list."""
    workbook = Workbook()
    shown = workbook.active
    assert shown is not None
    shown.title = "施設一覧"
    shown.append(["施設", "電話"])
    shown.append(["中央図書館", "03-1111-1111"])
    lookup = workbook.create_sheet("区分表")
    lookup.append(["コード", "区分"])
    lookup.append(["A01", "図書館"])
    lookup.sheet_state = "hidden"
    staff = workbook.create_sheet("職員名簿")
    staff.append(["氏名", "自宅電話"])
    staff.append(["山田太郎", "090-0000-0000"])
    staff.sheet_state = "veryHidden"
    return workbook


def xlsx_bytes(workbook: Workbook) -> bytes:
    out = BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_hidden_and_very_hidden_sheets_are_not_read() -> None:
    [parsed] = parse_file("施設.xlsx", xlsx_bytes(visible_and_hidden_sheets()))
    assert [(s.heading, s.text) for s in parsed.sections] == [
        ("施設一覧", "施設 | 電話\n中央図書館 | 03-1111-1111")
    ]


def test_a_workbook_with_nothing_visible_to_read_is_refused() -> None:
    workbook = visible_and_hidden_sheets()
    shown = workbook["施設一覧"]
    shown.sheet_state = "hidden"
    workbook.create_sheet("表紙")  # Excel keeps one sheet visible: an empty one, here
    workbook.active = 3
    message = refusal("施設.xlsx", xlsx_bytes(workbook))
    assert message.startswith("「施設.xlsx」の表示されているシートから本文を読み取れませんでした")
    assert "非表示のシート・行・列は読み込みません" in message
    # Every sheet hidden: a file Excel and openpyxl would not save, but a program may write.
    data = rewritten(
        xlsx_bytes(workbook),
        "xl/workbook.xml",
        lambda part: part.replace(b'"visible"', b'"hidden"'),
    )
    assert "非表示のシート・行・列は読み込みません" in refusal("施設.xlsx", data)


def test_damaged_xlsx_is_refused() -> None:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    message = refusal("壊れた.xlsx", buffer.getvalue())
    assert "「壊れた.xlsx」は Excel（.xlsx）ファイルとして読み込めませんでした" in message


# --- CSV ------------------------------------------------------------------------------------


def test_csv_in_shift_jis_grouped_like_a_sheet() -> None:
    rows = ["施設名,所在地,電話"] + [f"公民館{i},本町{i}番地,03-1111-{i:04d}" for i in range(1, 26)]
    data = "\r\n".join(rows).encode("cp932")
    [parsed] = parse_file("公民館.CSV", data)
    assert parsed.kind == "csv"
    assert [s.position for s in parsed.sections] == ["2〜21行", "22〜26行"]
    assert parsed.sections[1].text.split("\n")[:2] == [
        "施設名 | 所在地 | 電話",
        "公民館21 | 本町21番地 | 03-1111-0021",
    ]


def test_tab_separated_csv_with_bom_and_quoted_newlines() -> None:
    data = '\ufeff項目\t説明\n手数料\t"1通\n300円"\n'.encode()
    [parsed] = parse_file("tsv.csv", data)
    assert parsed.sections[0].text == "項目 | 説明\n手数料 | 1通 300円"


def test_csv_rows_are_cited_as_excel_numbers_them_when_cells_hold_line_breaks() -> None:
    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["施設名", "備考"])
    for i in range(1, 26):
        writer.writerow([f"公民館{i}", "駐車場あり\n（10台）\n予約制" if i == 2 else "なし"])
    [parsed] = parse_file("公民館.csv", out.getvalue().encode("cp932"))
    # Row 3 spans three lines of the file; Excel shows it as one row, and so do citations.
    assert [s.position for s in parsed.sections] == ["2〜21行", "22〜26行"]
    assert parsed.sections[0].text.split("\n")[2] == "公民館2 | 駐車場あり （10台） 予約制"
    assert parsed.sections[1].text.split("\n")[1] == "公民館21 | なし"


def test_a_tsv_file_is_read_tab_separated_even_with_commas_in_cells() -> None:
    data = "施設名\t所在地,番地\t備考,注記\n本町公民館\t本町,1-1\t駐車場あり\n".encode("cp932")
    [parsed] = parse_file("施設.tsv", data)
    assert parsed.kind == "csv"
    assert (
        parsed.sections[0].text
        == "施設名 | 所在地,番地 | 備考,注記\n本町公民館 | 本町,1-1 | 駐車場あり"
    )


def test_csv_in_euc_jp_is_read() -> None:
    data = "品目,曜日\n燃やすごみ,月曜日・木曜日\n資源ごみ,水曜日\n".encode("euc_jp")
    [parsed] = parse_file("gomi.csv", data)
    assert parsed.sections[0].text == "品目 | 曜日\n燃やすごみ | 月曜日・木曜日\n資源ごみ | 水曜日"


def test_csv_in_an_unknown_encoding_is_refused() -> None:
    message = refusal("data.csv", "a,b\ncafé,crème\n".encode("latin-1"))
    assert "「data.csv」は UTF-8・Shift_JIS・EUC-JP のいずれのテキストでもありません" in message
