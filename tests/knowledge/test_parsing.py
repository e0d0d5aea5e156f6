"""parse_file: choosing the format, refusals, and the text formats (txt, md, html, json)."""

from __future__ import annotations

import json
from io import BytesIO

import pytest
from docx import Document

from knowledge.answer import passage_units
from knowledge.errors import BadDocument
from knowledge.parsing import SUPPORTED_SUFFIXES, ParseLimits, parse_file


def refusal(name: str, data: bytes, **kwargs: ParseLimits) -> str:
    with pytest.raises(BadDocument) as caught:
        parse_file(name, data, **kwargs)
    return caught.value.user_message


def test_supported_suffixes() -> None:
    for suffix in (".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx", ".xlsx"):
        assert suffix in SUPPORTED_SUFFIXES
    for suffix in (".csv", ".json", ".jsonl", ".xml", ".zip"):
        assert suffix in SUPPORTED_SUFFIXES


def test_unsupported_suffix_lists_supported_types_in_japanese() -> None:
    message = refusal("setup.exe", b"MZ\x90\x00")
    assert "「setup.exe」" in message
    assert "対応していない形式" in message
    assert "PDF（.pdf）" in message and "Word（.docx）" in message and "ZIP（.zip）" in message


def test_legacy_office_suffix_gets_a_hint() -> None:
    message = refusal("予算書.xls", b"\xd0\xcf\x11\xe0 old excel")
    assert ".xlsx 形式で保存し直す" in message


def test_empty_and_oversized_files_are_refused() -> None:
    assert "空のファイル" in refusal("空.txt", b"")
    message = refusal("大きい.txt", b"a" * 2048, limits=ParseLimits(max_file_bytes=1024))
    assert "「大きい.txt」はファイルサイズが大きすぎます（上限 1KB）" in message
    assert "上限 50MB" in refusal("巨大.txt", b"a" * (50 * 1024 * 1024 + 1))


def test_suffix_is_case_insensitive() -> None:
    [parsed] = parse_file("README.TXT", "本文です。".encode())
    assert parsed.kind == "txt"
    assert parsed.title == "README"


def test_html_saved_as_pdf_is_explained() -> None:
    message = refusal("通知.pdf", b"<!DOCTYPE html><html><body>Not Found</body></html>")
    assert "Web ページ（HTML）" in message


# --- plain text ---------------------------------------------------------------------------


def test_txt_groups_paragraphs_with_line_ranges() -> None:
    text = "第1段落の1行目\n第1段落の2行目\n\n第2段落です。\n\n\n第3段落です。\n"
    [parsed] = parse_file("お知らせ.txt", text.encode())
    [section] = parsed.sections  # short paragraphs are grouped, not one section per line
    assert section.position == "1〜7行"
    assert section.text == "第1段落の1行目\n第1段落の2行目\n\n第2段落です。\n\n第3段落です。"


def test_long_txt_is_split_into_several_sections_on_paragraphs() -> None:
    paragraphs = [f"段落{i}。" + "住民票の写しの交付について説明します。" * 10 for i in range(12)]
    [parsed] = parse_file("長文.txt", "\n\n".join(paragraphs).encode())
    assert 3 <= len(parsed.sections) < 12
    assert all(len(s.text) <= 1000 for s in parsed.sections)
    joined = "\n\n".join(s.text for s in parsed.sections)
    assert joined == "\n\n".join(paragraphs)
    assert parsed.sections[0].position.startswith("1〜")
    assert parsed.sections[-1].position.endswith("23行")


def test_txt_with_bom_and_crlf() -> None:
    data = "\ufeff住民税の申告\r\n期限は3月15日です。\r\n".encode()
    [parsed] = parse_file("a.txt", data)
    assert parsed.sections[0].text == "住民税の申告\n期限は3月15日です。"


def test_txt_in_shift_jis_is_read() -> None:
    data = "マイナンバーカードの交付申請について\n\n窓口は市民課です。".encode("cp932")
    [parsed] = parse_file("sjis.txt", data)
    assert "市民課" in parsed.sections[0].text


MINUTES_OPENINGS = [
    # A blank line after the title.
    "令和６年第１回定例会 会議録（第２号）\n\n令和６年３月５日（火曜日）\n",
    # Centred with full-width spaces, the date line right under it.
    "　　　令和６年第１回定例会　会議録（第２号）\n令和６年３月５日（火曜日）午前10時開議\n",
    # Under a handout's label or a mark alone on its line.
    "資料１\n\n令和６年第１回定例会 会議録（第２号）\n\n",
    "（案）\n令和６年第１回定例会 会議録（第２号）\n〇議事日程（第２号）\n",
    # A speaker's mark or a rule right under it.
    "令和６年第１回定例会 会議録（第２号）\n〇議事日程（第２号）\n",
    "令和６年第１回定例会 会議録（第２号）\n――――――――――\n",
]


@pytest.mark.parametrize("opening", MINUTES_OPENINGS)
def test_txt_opening_with_its_title_is_named_by_it(opening: str) -> None:
    body = "○議長（山田太郎君）　ただいまから本日の会議を開きます。\n"
    [parsed] = parse_file("r6_1teirei.txt", f"{opening}{body}".encode())
    assert parsed.title == "令和６年第１回定例会 会議録（第２号）"


@pytest.mark.parametrize(
    "text",
    [
        # The first sentence of the body, on its own or wrapped across lines.
        "本市では、令和6年度から避難所の備蓄品を点検します。\n\n点検は年2回です。",
        "本市では、令和6年度から\n避難所の備蓄品を点検します。",
        "本市は令和6年度から避難所の備蓄計画\nを改定し、点検を年2回とします。",
        "　本市は令和6年度から避難所の備蓄計画\nを改定し、点検を年2回とします。",
        "避難所の備蓄品の点検は、年2回\n\n実施します。",
        "避難所の備蓄品の点検を\n\n年2回実施します。",
        # A heading, an item, a speaker's line or a date: not the text's name.
        "第1章 総則\n\n本計画は、備蓄について定める。",
        "1. はじめに\n\n本計画は、備蓄について定める。",
        "目次\n\n第1章 総則",
        "○議長（山田太郎君）\n\nただいまから会議を開きます。",
        "令和６年３月５日（火曜日）\n\n会議を開きます。",
        # A handout's label, a page number, a document number, an addressee, a date.
        "資料１\n\n本市では、令和6年度から避難所の備蓄品を点検します。",
        "P.1\n\n本計画は、備蓄について定める。",
        "1/10\n\n本計画は、備蓄について定める。",
        "総務第123号\n\n本計画は、備蓄について定める。",
        "各課長　様\n\n本計画は、備蓄について定める。",
        "令和６年４月１日現在\n\n本計画は、備蓄について定める。",
        # Too long for a title line.
        "避難所" * 25 + "\n\n本文です。",
    ],
)
def test_txt_opening_with_body_text_is_named_by_its_file(text: str) -> None:
    [parsed] = parse_file("r6_1teirei.txt", text.encode())
    assert parsed.title == "r6_1teirei"


@pytest.mark.parametrize(
    "text",
    [
        "第1条 この規則は、公布の日から施行する。",
        "住民票の写し",  # a short file as well
        "課税標準額",  # kanji only
        "固定資産税の納期\n第1期 4月30日\n第2期 7月31日\n",
    ],
)
def test_txt_in_euc_jp_is_read(text: str) -> None:
    # Exports of old Unix systems (例規 databases, 基幹系) are EUC-JP.
    [parsed] = parse_file("reiki.txt", text.encode("euc_jp"))
    assert parsed.sections[0].text == text.strip()


@pytest.mark.parametrize("text", ["ﾃﾞｰﾀ", "ｶﾌﾞｼｷｶﾞｲｼｬ ﾃｽﾄｼｮｳｼﾞ"])
def test_shift_jis_half_width_kana_that_also_decodes_as_euc_jp_stays_shift_jis(text: str) -> None:
    # Old host systems write names in half-width kana; these bytes are valid EUC-JP kanji too.
    [parsed] = parse_file("kana.txt", text.encode("cp932"))
    assert parsed.sections[0].text == text


@pytest.mark.parametrize(
    "data",
    [
        b"\x81\x20\x82\x7f broken shift_jis",
        b"caf\xe9 cr\xe8me br\xfbl\xe9e",  # Latin-1
        "UTF-16 without BOM".encode("utf-16-le"),
    ],
)
def test_txt_in_other_encodings_is_refused_naming_the_file(data: bytes) -> None:
    message = refusal("legacy.txt", data)
    assert "「legacy.txt」は UTF-8・Shift_JIS・EUC-JP のいずれのテキストでもありません" in message


# --- Markdown -------------------------------------------------------------------------------


MARKDOWN = """# 窓口案内

市役所の窓口の案内です。

## 第1章 住民票

### 1.1 交付

住民票の写しは**1通300円**です。

- 本人確認書類が必要です
- 代理人は委任状が必要です

| 証明書 | 手数料 |
|---|---|
| 住民票 | 300円 |

### 1.2 郵送

```
〒100-0001 市民課 郵送係
```

## 第2章 印鑑登録

印鑑登録は本人が申請します。
"""


def test_markdown_sections_by_heading_path() -> None:
    [parsed] = parse_file("guide.md", MARKDOWN.encode())
    assert parsed.kind == "markdown"
    assert parsed.title == "窓口案内"
    by_heading = {s.heading: s for s in parsed.sections}
    assert list(by_heading) == [
        "窓口案内",
        "窓口案内 > 第1章 住民票 > 1.1 交付",
        "窓口案内 > 第1章 住民票 > 1.2 郵送",
        "窓口案内 > 第2章 印鑑登録",
    ]
    issue = by_heading["窓口案内 > 第1章 住民票 > 1.1 交付"]
    assert issue.position == issue.heading
    assert "住民票の写しは1通300円です。" in issue.text  # emphasis markers dropped
    assert "・本人確認書類が必要です" in issue.text
    assert "証明書 | 手数料\n住民票 | 300円" in issue.text
    assert "郵送係" in by_heading["窓口案内 > 第1章 住民票 > 1.2 郵送"].text


@pytest.mark.parametrize("name", ["粗大ごみ.md", "粗大ごみ.docx"])
def test_an_empty_cell_keeps_the_cells_after_it_under_their_columns(name: str) -> None:
    rows = [["品目", "料金", "備考"], ["テレビ台", "", "要予約"], ["自転車", "500円", ""]]
    if name.endswith(".md"):
        lines = ["## 料金", "", "| 品目 | 料金 | 備考 |", "|---|---|---|"]
        data = "\n".join(lines + [f"| {' | '.join(row)} |" for row in rows[1:]]).encode()
    else:
        document = Document()
        table = document.add_table(rows=len(rows), cols=3)
        for cells, row in zip(table.rows, rows, strict=True):
            for cell, text in zip(cells.cells, row, strict=True):
                cell.text = text
        out = BytesIO()
        document.save(out)
        data = out.getvalue()
    [parsed] = parse_file(name, data)
    [section] = parsed.sections
    assert section.text.endswith("品目 | 料金 | 備考\nテレビ台 |  | 要予約\n自転車 | 500円")
    # An answer quotes the rows with their columns' names: 要予約 is a note, not a fee.
    quoted = [unit.text for unit in passage_units(section.text)]
    assert quoted == ["品目: テレビ台、備考: 要予約", "品目: 自転車、料金: 500円"]


def test_markdown_without_heading_uses_file_name() -> None:
    [parsed] = parse_file("memo.markdown", "ただの本文です。".encode())
    assert parsed.title == "memo"
    assert parsed.sections[0].text == "ただの本文です。"


# --- HTML -----------------------------------------------------------------------------------


HTML = """<!DOCTYPE html>
<html><head><meta charset="shift_jis"><title>ごみの出し方｜テスト市</title>
<style>body { color: red }</style><script>alert("x")</script></head>
<body>
<header>テスト市ホーム</header><nav><a href="/">トップ</a> メニュー</nav>
<h1>ごみの出し方</h1>
<p>収集日は地区ごとに異なります。</p>
<h2>燃やすごみ</h2>
<p>週2回、<b>朝8時まで</b>に出してください。</p>
<table><tr><th>地区</th><th>曜日</th></tr><tr><td>東地区</td><td>月・木</td></tr></table>
<h3>出せないもの</h3><ul><li>電池</li><li>スプレー缶</li></ul>
<h2>資源ごみ</h2><div>月1回です。<p>詳しくは</p>清掃課へ。</div>
<footer>Copyright テスト市</footer>
</body></html>
"""


def test_html_main_text_by_heading() -> None:
    [parsed] = parse_file("gomi.HTM", HTML.encode("cp932"))
    assert parsed.kind == "html"
    assert parsed.title == "ごみの出し方｜テスト市"
    everything = "\n".join(s.text for s in parsed.sections)
    for furniture in ("alert", "color: red", "テスト市ホーム", "メニュー", "Copyright"):
        assert furniture not in everything
    by_heading = {s.heading: s.text for s in parsed.sections}
    assert by_heading["ごみの出し方"] == "収集日は地区ごとに異なります。"
    burnable = by_heading["ごみの出し方 > 燃やすごみ"]
    assert "週2回、朝8時までに出してください。" in burnable
    assert "地区 | 曜日\n東地区 | 月・木" in burnable
    assert by_heading["ごみの出し方 > 燃やすごみ > 出せないもの"] == "・電池\n・スプレー缶"
    assert by_heading["ごみの出し方 > 資源ごみ"] == "月1回です。\n詳しくは\n清掃課へ。"


def test_html_title_falls_back_to_first_h1() -> None:
    [parsed] = parse_file("a.html", "<h1>防災情報</h1><p>避難所一覧</p>".encode())
    assert parsed.title == "防災情報"


def test_furniture_of_a_page_built_before_html5_is_left_out() -> None:
    # Many municipal sites mark their banner, menus, breadcrumbs and footer with ids and
    # classes rather than <header>, <nav> and <footer>.
    page = """<html><head><title>ごみの出し方｜テスト市</title></head><body>
<div id="header"><a href="/">テスト市トップ</a> 文字サイズ 拡大 標準</div>
<ul id="gnavi"><li>くらし</li><li>観光</li></ul>
<div class="breadcrumb clearfix">ホーム &gt; くらし &gt; ごみ</div>
<div id="contents"><div class="header"><h1>ごみの出し方</h1></div>
<p>燃やすごみは月曜と木曜に出してください。</p>
<div class="related">関連：粗大ごみの申込み</div></div>
<div role="navigation">このページの先頭へ</div>
<div id="Footer">Copyright テスト市 〒100-0001 本町1-1 電話 03-0000-0000</div>
</body></html>"""
    [parsed] = parse_file("gomi.html", page.encode())
    assert [(s.heading, s.text) for s in parsed.sections] == [
        ("ごみの出し方", "燃やすごみは月曜と木曜に出してください。\n関連：粗大ごみの申込み")
    ]


def test_a_page_declared_shift_jis_with_windows_characters_is_read() -> None:
    # ①, Ⅱ, ㈱ and 髙 are CP932 (Windows) characters outside Shift_JIS proper; pages that
    # declare Shift_JIS use them all the time, and browsers read them.
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
        "<title>窓口案内</title></head><body><h1>窓口案内</h1>"
        "<p>髙橋市民センターの窓口は①番、㈱テスト市サービスが受託しています（Ⅱ期）。</p>"
        "</body></html>"
    )
    [parsed] = parse_file("madoguchi.html", page.encode("cp932"))
    assert parsed.title == "窓口案内"
    assert [s.text for s in parsed.sections] == [
        "髙橋市民センターの窓口は①番、㈱テスト市サービスが受託しています（Ⅱ期）。"
    ]


@pytest.mark.parametrize("declared", ['<meta charset="EUC-JP">', ""])
def test_euc_jp_written_on_windows_with_nec_characters_is_read(declared: str) -> None:
    # EUC-JP from Windows (eucJP-ms) holds ①, Ⅱ and ㈱ at the codes of JIS X 0213 row 13.
    text = "申請は①窓口、②郵送のいずれかで受け付けます（Ⅱ期は㈱テスト市サービスが受託）。"
    page = f"<html><head>{declared}<title>申請方法</title></head><body><p>{text}</p></body></html>"
    [parsed] = parse_file("shinsei.html", page.encode("euc_jis_2004"))
    assert [s.text for s in parsed.sections] == [text]
    [plain] = parse_file("shinsei.txt", text.encode("euc_jis_2004"))
    assert plain.sections[0].text == text


@pytest.mark.parametrize("codec", ["euc_jp", "cp932"])
def test_a_page_saved_without_meta_charset_is_read_in_its_japanese_encoding(codec: str) -> None:
    # An old municipal page saved to a file: its server named the character set, the page
    # does not.
    page = (
        "<html><head><title>テスト市情報公開条例</title></head><body>"
        "<h1>テスト市情報公開条例</h1><p>第1条 この条例は、市民の知る権利を尊重し、"
        "公文書の公開を請求する権利を明らかにすることを目的とする。</p></body></html>"
    )
    [parsed] = parse_file("reiki.html", page.encode(codec))
    assert parsed.title == "テスト市情報公開条例"
    assert [s.text for s in parsed.sections] == [
        "第1条 この条例は、市民の知る権利を尊重し、公文書の公開を請求する権利を明らかにする"
        "ことを目的とする。"
    ]
    [short] = parse_file("short.html", "<p>住民票の写し</p>".encode(codec))
    assert short.sections[0].text == "住民票の写し"


# --- JSON / JSON Lines ----------------------------------------------------------------------


def test_jsonl_rows_become_sections() -> None:
    rows = [
        {"id": "a1", "title": "児童手当", "text": "児童手当は中学生まで支給されます。"},
        {"text": "タイトルのない行"},
    ]
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()
    [parsed] = parse_file("faq.jsonl", data + b"\n\n")
    assert [(s.heading, s.position, s.text) for s in parsed.sections] == [
        ("児童手当", "1行目", "児童手当は中学生まで支給されます。"),
        ("", "2行目", "タイトルのない行"),
    ]
    assert parsed.sections[0].extra == {"id": "a1"}


def test_jsonl_malformed_line_is_named() -> None:
    data = b'{"text": "ok"}\n{"text": broken}\n'
    message = refusal("faq.jsonl", data)
    assert "「faq.jsonl」の2行目が JSON として正しくありません" in message


def test_jsonl_row_without_text_is_named() -> None:
    message = refusal("faq.jsonl", b'{"text": "ok"}\n{"title": "x"}\n')
    assert "2行目" in message and '"text"' in message


def test_json_array() -> None:
    data = json.dumps([{"title": "Q1", "text": "回答1"}, {"text": "回答2"}]).encode()
    [parsed] = parse_file("faq.json", data)
    assert [s.text for s in parsed.sections] == ["回答1", "回答2"]
    assert parsed.sections[1].position == "2件目"


def test_json_syntax_error_names_the_line() -> None:
    message = refusal("faq.json", b'[\n  {"text": "a"},\n  {"text": }\n]')
    assert "「faq.json」の3行目" in message


def test_html_article_header_keeps_its_heading() -> None:
    page = (
        "<body><header>テスト市公式サイト</header><main><article>"
        "<header><h1>国民健康保険税の減免</h1></header><p>災害の場合は減免できます。</p>"
        "</article></main><footer>テスト市役所</footer></body>"
    )
    [parsed] = parse_file("kokuho.html", page.encode())
    assert parsed.title == "国民健康保険税の減免"
    assert [(s.heading, s.text) for s in parsed.sections] == [
        ("国民健康保険税の減免", "災害の場合は減免できます。")
    ]


def test_txt_without_blank_lines_is_cut_between_lines() -> None:
    lines = [
        f"{n}行目の文章です。" + "窓口の受付時間は午前8時30分から午後5時15分までです。" * 2
        for n in range(60)
    ]
    [parsed] = parse_file("no-blank.txt", "\n".join(lines).encode())
    assert len(parsed.sections) > 3
    assert parsed.sections[0].position.startswith("1〜")
    assert parsed.sections[-1].position.endswith("〜60行")
    assert "\n".join(s.text for s in parsed.sections).replace("\n\n", "\n") == "\n".join(lines)


RULE_TXT = """テスト市粗大ごみ収集規則
令和8年3月1日 規則第5号
第1章 総則
第1条 この規則は、粗大ごみの収集に関し必要な事項を定める。
第2条（申込み）　粗大ごみの収集を受けようとする者は、市長に申し込まなければならない。
２　前項の申込みは、収集日の7日前までにしなければならない。
第2章 手数料
第三条の二　手数料は、1点につき300円とする。
附　則
第1条 この規則は、令和8年4月1日から施行する。
"""


def test_a_rule_typed_as_plain_text_is_cited_by_article() -> None:
    [parsed] = parse_file("粗大ごみ収集規則.txt", RULE_TXT.encode())
    cited = [(s.position, s.heading) for s in parsed.sections]
    assert cited == [
        ("1〜2行", ""),
        ("第1条", "第1章 総則"),
        ("第2条", "第1章 総則"),
        ("第三条の二", "第2章 手数料"),
        ("附則第1条", ""),
    ]
    second = parsed.sections[2].text
    assert second.startswith("第2条（申込み）") and second.endswith(
        "7日前までにしなければならない。"
    )
    # One line that starts with 「第1条」 is not a rule: paragraphs, by line range.
    [notice] = parse_file("お知らせ.txt", "第1条の改正について\n\n詳しくは窓口へ。".encode())
    assert [s.position for s in notice.sections] == ["1〜3行"]
    assert notice.title == "お知らせ"
    # A rule is titled by its title line, not by whatever its file is called.
    [named] = parse_file("reiki.txt", RULE_TXT.encode())
    assert named.title == RULE_TXT.splitlines()[0]


ORDINANCE_WITH_CONTENTS = """テスト市公文書管理条例
目次
第1章　総則（第1条・第2条）
第2章　公文書の管理（第3条）
附則
第1章　総則
（目的）
第1条　この条例は、公文書の適正な管理に関し必要な事項を定める。
（定義）
第2条　この条例において「公文書」とは、職員が職務上作成した文書をいう。
第2章　公文書の管理
（保存期間）
第3条　公文書の保存期間は、30年を超えることができない。
附　則
この条例は、令和5年4月1日から施行する。
"""


def test_an_ordinance_with_a_table_of_contents_is_cited_by_its_own_articles() -> None:
    # The 「附則」 line of the 目次 does not make every article after it a 附則 article, and
    # an article's caption 「（目的）」 opens that article instead of closing the one before.
    [parsed] = parse_file("公文書管理条例.txt", ORDINANCE_WITH_CONTENTS.encode())
    cited = [(s.position, s.heading, s.text.split("\n")[0]) for s in parsed.sections]
    assert cited == [
        ("1〜2行", "", "テスト市公文書管理条例"),
        ("第1条", "第1章 総則", "（目的）"),
        ("第2条", "第1章 総則", "（定義）"),
        ("第3条", "第2章 公文書の管理", "（保存期間）"),
        ("附則", "", "この条例は、令和5年4月1日から施行する。"),
    ]
    assert parsed.sections[2].text.endswith("職員が職務上作成した文書をいう。")
