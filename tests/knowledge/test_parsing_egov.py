"""e-Gov 法令標準XML: real statutes shipped as fixtures, plus small hand-written edge cases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from knowledge.documents import Section
from knowledge.errors import BadDocument
from knowledge.parsing import ParsedFile, parse_file

EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"
RULE = "419M60400000005_20201228_502M60400000013.xml"
ATOMIC_2015 = "330AC1000000186_20150801_000000000000000.xml"
ATOMIC_2023 = "330AC1000000186_20230607_505AC0000000044.xml"
ATOMIC_2025 = "330AC1000000186_20250606_505AC0000000044.xml"


def parse_fixture(name: str) -> ParsedFile:
    [parsed] = parse_file(name, (EGOV / name).read_bytes())
    return parsed


def by_position(parsed: ParsedFile, position: str) -> list[Section]:
    return [s for s in parsed.sections if s.position == position]


def test_law_metadata_from_file_name_and_attributes() -> None:
    parsed = parse_fixture(RULE)
    assert parsed.kind == "egov-xml"
    assert parsed.name == RULE
    assert parsed.title == parsed.law_title == "届出対象病原体等の運搬の届出等に関する規則"
    assert parsed.law_id == "419M60400000005"
    assert parsed.version == "2020-12-28"
    assert parsed.source_url == (
        "https://laws.e-gov.go.jp/law/419M60400000005/20201228_502M60400000013"
    )
    assert parsed.published == date(2007, 3, 9)  # Era="Heisei" Year="19" 03/09


def test_article_heading_carries_law_title_and_caption() -> None:
    parsed = parse_fixture(RULE)
    [first] = by_position(parsed, "第一条")
    assert first.heading == "届出対象病原体等の運搬の届出等に関する規則 第一条（届出の手続）"
    assert first.extra["article"] == "1"
    assert first.extra["caption"] == "（届出の手続）"


def test_paragraphs_are_numbered_from_the_second_and_items_keep_titles() -> None:
    [first] = by_position(parse_fixture(RULE), "第一条")
    lines = first.text.split("\n")
    assert lines[0].startswith("感染症の予防及び感染症の患者に対する医療に関する法律")
    assert lines[1].startswith("２　前項の届出に係る運搬が二以上の都道府県")
    assert lines[2].startswith("３　第一項の運搬届出書の提出は")
    assert lines[3].startswith("一　当該届出に係る運搬が一の公安委員会")


def test_supplementary_provisions_are_marked() -> None:
    parsed = parse_fixture(RULE)
    plain = by_position(parsed, "附則")
    assert len(plain) == 2  # the original act's and one amendment's, both without articles
    assert plain[0].heading == "届出対象病原体等の運搬の届出等に関する規則 附則"
    assert "平成十九年六月一日" in plain[0].text
    assert "令和元年六月二一日国家公安委員会規則第三号" in plain[1].heading
    [suppl_first] = by_position(parsed, "附則第一条")
    assert "附則" in suppl_first.heading and "（施行期日）" in suppl_first.heading
    assert suppl_first.text == "この規則は、公布の日から施行する。"
    # Main-provision positions are never confused with 附則 ones.
    assert all(not s.position.startswith("附則") for s in parsed.sections[:6])
    assert [s.position for s in parsed.sections[:6]] == [
        "第一条", "第二条", "第三条", "第四条", "第五条", "第六条",
    ]  # fmt: skip


def test_versions_of_one_law_differ_by_enforcement_date() -> None:
    old, mid, new = (parse_fixture(n) for n in (ATOMIC_2015, ATOMIC_2023, ATOMIC_2025))
    assert {p.law_id for p in (old, mid, new)} == {"330AC1000000186"}  # 2015 file lacks LawId
    assert [p.version for p in (old, mid, new)] == ["2015-08-01", "2023-06-07", "2025-06-06"]
    assert old.published == mid.published == date(1955, 12, 19)
    assert old.law_title == "原子力基本法"
    [old_first] = by_position(old, "第一条")
    [mid_first] = by_position(mid, "第一条")
    assert "地球温暖化の防止" not in old_first.text
    assert "地球温暖化の防止" in mid_first.text
    assert by_position(old, "第二条の二") == []
    [added] = by_position(mid, "第二条の二")
    assert added.heading == "原子力基本法 第二条の二（国の責務）"
    assert added.extra["article"] == "2-2"


def test_a_version_saved_under_a_name_of_its_own_keeps_its_enforcement_date() -> None:
    # Downloaded before it came into force: the file states only its scheduled date.
    data = (EGOV / ATOMIC_2025).read_bytes()
    assert b' EnforcementDate="' not in data
    [parsed] = parse_file("原子力基本法.xml", data)
    assert parsed.version == "2025-06-06"


def law_xml(body: str, *, root_attrs: str = 'Era="Reiwa" Year="8" PromulgateMonth="04"') -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<Law {root_attrs} PromulgateDay="01" LawId="508AC0000000099" '
        'EnforcementDate="2026/04/01">'
        f"<LawNum>令和八年法律第九十九号</LawNum><LawBody><LawTitle>テスト法</LawTitle>{body}"
        "</LawBody></Law>"
    ).encode()


SAMPLE = """
<MainProvision><Chapter Num="1"><ChapterTitle>第一章　総則</ChapterTitle>
<Article Num="242_2"><ArticleCaption>（住民訴訟）</ArticleCaption><ArticleTitle>第二百四十二条の二</ArticleTitle>
<Paragraph Num="1"><ParagraphNum/><ParagraphSentence>
  <Sentence>普通地方公共団体の<Ruby>住民<Rt>じゅうみん</Rt></Ruby>は、次に掲げる請求をすることができる。</Sentence>
  <Sentence Function="proviso">ただし、この限りでない。</Sentence></ParagraphSentence>
  <Item Num="1"><ItemTitle>一</ItemTitle><ItemSentence><Column><Sentence>差止めの請求</Sentence></Column>
  <Column><Sentence>行為の全部又は一部</Sentence></Column></ItemSentence>
    <Subitem1 Num="1"><Subitem1Title>イ</Subitem1Title><Subitem1Sentence><Sentence>契約の締結</Sentence></Subitem1Sentence>
      <Subitem2 Num="1"><Subitem2Title>（１）</Subitem2Title><Subitem2Sentence><Sentence>随意契約</Sentence></Subitem2Sentence></Subitem2>
    </Subitem1>
  </Item>
  <TableStruct><Table><TableRow><TableColumn><Sentence>区分</Sentence></TableColumn><TableColumn><Sentence>金額</Sentence></TableColumn></TableRow>
  <TableRow><TableColumn><Sentence>甲</Sentence></TableColumn><TableColumn><Sentence>千円</Sentence></TableColumn></TableRow></Table></TableStruct>
</Paragraph>
<Paragraph Num="2"><ParagraphNum>２</ParagraphNum><ParagraphSentence><Sentence>前項の請求は、出訴期間内にしなければならない。</Sentence></ParagraphSentence></Paragraph>
</Article></Chapter></MainProvision>
<SupplProvision><SupplProvisionLabel>附　則</SupplProvisionLabel>
<Article Num="1"><ArticleCaption>（施行期日）</ArticleCaption><ArticleTitle>第一条</ArticleTitle>
<Paragraph Num="1"><ParagraphNum/><ParagraphSentence><Sentence>この法律は、令和八年四月一日から施行する。</Sentence></ParagraphSentence></Paragraph></Article>
</SupplProvision>
<AppdxTable Num="1"><AppdxTableTitle>別表第一</AppdxTableTitle><RelatedArticleNum>（第二条関係）</RelatedArticleNum>
<TableStruct><Table><TableRow><TableColumn><Sentence>一</Sentence></TableColumn><TableColumn><Sentence>手数料</Sentence></TableColumn></TableRow></Table></TableStruct></AppdxTable>
"""  # noqa: E501


def test_nested_structure_tables_ruby_and_appendix() -> None:
    [parsed] = parse_file("tesuto.xml", law_xml(SAMPLE))
    assert parsed.law_id == "508AC0000000099"  # no file-name pattern: from the attribute
    assert parsed.version == "2026-04-01"  # from EnforcementDate
    assert parsed.published == date(2026, 4, 1)
    article, suppl, appendix = parsed.sections
    assert article.heading == "テスト法 第二百四十二条の二（住民訴訟）"
    assert article.position == "第二百四十二条の二"
    assert article.extra["article"] == "242-2"
    assert article.text.split("\n") == [
        "普通地方公共団体の住民は、次に掲げる請求をすることができる。ただし、この限りでない。",
        "一　差止めの請求　行為の全部又は一部",
        "イ　契約の締結",
        "（１）　随意契約",
        "区分 | 金額",
        "甲 | 千円",
        "２　前項の請求は、出訴期間内にしなければならない。",
    ]
    assert suppl.position == "附則第一条"
    assert suppl.heading == "テスト法 附則第一条（施行期日）"
    assert appendix.position == "別表第一"
    assert appendix.heading == "テスト法 別表第一（第二条関係）"
    assert appendix.text == "一 | 手数料"


def test_law_without_articles_becomes_one_section() -> None:
    body = (
        "<MainProvision><Paragraph Num='1'><ParagraphNum/><ParagraphSentence>"
        "<Sentence>本則の本文。</Sentence></ParagraphSentence></Paragraph></MainProvision>"
    )
    [parsed] = parse_file("short.xml", law_xml(body))
    [section] = parsed.sections
    assert (section.position, section.text) == ("本則", "本則の本文。")


def test_external_entities_are_not_resolved() -> None:
    body = (
        "<MainProvision><Article Num='1'><ArticleTitle>第一条</ArticleTitle><Paragraph Num='1'>"
        "<ParagraphSentence><Sentence>&xxe;秘密</Sentence></ParagraphSentence></Paragraph>"
        "</Article></MainProvision>"
    )
    xml = law_xml(body).replace(
        b"<Law ", b'<!DOCTYPE Law [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><Law ', 1
    )
    [parsed] = parse_file("xxe.xml", xml)
    assert "root:" not in parsed.sections[0].text
    assert "秘密" in parsed.sections[0].text


def test_other_xml_is_refused_as_unsupported() -> None:
    with pytest.raises(BadDocument) as caught:
        parse_file("feed.xml", b"<?xml version='1.0'?><rss><channel/></rss>")
    assert "「feed.xml」は対応していない XML 形式です" in caught.value.user_message
    assert "e-Gov" in caught.value.user_message


def test_broken_xml_is_refused() -> None:
    with pytest.raises(BadDocument) as caught:
        parse_file("broken.xml", b"<Law><LawBody><LawTitle>x</LawBody>")
    assert "「broken.xml」は XML として正しくありません" in caught.value.user_message
