"""Word's footnotes and endnotes are read after the body and cited as 「脚注」; its running
header and footer are not read."""

from __future__ import annotations

from io import BytesIO

from docx import Document
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml

from knowledge.parsing import parse_file

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
# Word keeps a separator and a continuation separator among the notes, with ids -1 and 0.
SEPARATORS = (
    '<w:{0} w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:{0}>'
    '<w:{0} w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
    "</w:r></w:p></w:{0}>"
)


def notes_part(tag: str, texts: list[str]) -> bytes:
    notes = "".join(
        f'<w:{tag} w:id="{n}"><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:{tag}>'
        for n, text in enumerate(texts, 1)
    )
    return f"<w:{tag}s {W}>{SEPARATORS.format(tag)}{notes}</w:{tag}s>".encode()


def plan_with_notes() -> bytes:
    document = Document()
    section = document.sections[0]
    section.header.paragraphs[0].text = "みどり市子ども・子育て支援事業計画"
    section.footer.paragraphs[0].text = "- 1 -"
    document.add_heading("第2章 現状と課題", 1)
    paragraph = document.add_paragraph("令和8年4月1日現在の待機児童数は0人です。")
    paragraph._p.append(parse_xml(f'<w:r {W}><w:footnoteReference w:id="1"/></w:r>'))
    document.add_paragraph("放課後児童クラブの利用希望は増えています。")
    package = document.part.package
    for path, content_type, relation, tag, texts in [
        ("/word/footnotes.xml", CT.WML_FOOTNOTES, RT.FOOTNOTES, "footnote",
         ["国の定義による数値で、特定の保育所のみを希望する児童を含みません。"]),
        ("/word/endnotes.xml", CT.WML_ENDNOTES, RT.ENDNOTES, "endnote",
         ["出典：みどり市保育課調べ"]),
    ]:  # fmt: skip
        part = Part(PackURI(path), content_type, notes_part(tag, texts), package)
        document.part.relate_to(part, relation)
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def test_footnotes_and_endnotes_are_read_and_cited_apart_from_the_body() -> None:
    [parsed] = parse_file("子育て計画.docx", plan_with_notes())
    by_position = {section.position: section.text for section in parsed.sections}
    assert by_position == {
        "第2章 現状と課題": "令和8年4月1日現在の待機児童数は0人です。\n"
        "放課後児童クラブの利用希望は増えています。",
        "脚注": "注1 国の定義による数値で、特定の保育所のみを希望する児童を含みません。",
        "文末脚注": "注1 出典：みどり市保育課調べ",
    }
