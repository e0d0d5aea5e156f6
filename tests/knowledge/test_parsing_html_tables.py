"""HTML pages as municipal sites write them: tables whose cells hold line breaks and
paragraphs, pages laid out in tables, furniture named after a CMS's template."""

from __future__ import annotations

from knowledge.parsing import parse_file


def test_a_cell_of_several_lines_stays_in_its_row() -> None:
    page = """<html><head><title>ごみ収集日</title></head><body><h1>ごみ収集日</h1>
<table><caption>収集日一覧</caption>
<tr><th>地区</th><th>収集日</th><th>備考</th></tr>
<tr><td>東町</td><td>月曜日<br>木曜日</td><td><p>午前8時30分まで</p><p>祝日も収集</p></td></tr>
<tr><td>西町</td><td></td><td>収集日は別途お知らせします</td></tr>
</table></body></html>"""
    [parsed] = parse_file("gomi.html", page.encode())
    [section] = parsed.sections
    assert section.text.splitlines() == [
        "収集日一覧",
        "地区 | 収集日 | 備考",
        "東町 | 月曜日 木曜日 | 午前8時30分まで 祝日も収集",
        "西町 |  | 収集日は別途お知らせします",
    ]


def test_a_page_laid_out_in_a_table_is_read_as_text() -> None:
    # Pages built before CSS place their menu and article side by side in a table's cells.
    page = """<html><head><title>お知らせ</title></head><body><table><tr>
<td><ul><li>くらし</li><li>子育て</li></ul></td>
<td><h1>窓口時間の変更</h1><p>4月から窓口は午後5時までです。</p>
<table><tr><th>窓口</th><th>時間</th></tr><tr><td>市民課</td><td>8:30-17:00</td></tr></table>
</td></tr></table></body></html>"""
    [parsed] = parse_file("oshirase.html", page.encode())
    article = {s.heading: s.text for s in parsed.sections}["窓口時間の変更"]
    assert article.splitlines() == [
        "4月から窓口は午後5時までです。",
        "窓口 | 時間",
        "市民課 | 8:30-17:00",
    ]


def test_furniture_named_after_a_cms_template_is_left_out() -> None:
    page = """<html><head><title>ごみの出し方</title></head><body>
<div id="tmp_header">みどり市 文字サイズ 拡大</div>
<div id="tmp_gnavi"><ul><li>くらし</li><li>観光</li></ul></div>
<div id="tmp_pankuzu">ホーム &gt; くらし</div>
<div id="tmp_contents"><h1>ごみの出し方</h1><p>燃やすごみは月曜と木曜です。</p></div>
<div id="tmp_footer">みどり市役所 〒100-0001 本町1-1</div></body></html>"""
    [parsed] = parse_file("gomi.html", page.encode())
    assert [(s.heading, s.text) for s in parsed.sections] == [
        ("ごみの出し方", "燃やすごみは月曜と木曜です。")
    ]
