"""e-Gov 法令標準XML (the format of the e-Gov 法令API): one section per article (条).

Layout: ``Law/LawBody`` holds ``LawTitle``, ``MainProvision`` (articles, possibly inside
Part/Chapter/Section/Subsection/Division), ``SupplProvision`` (附則, one per amending act) and
appended tables (``AppdxTable``, 別表). Inside an article: ``ArticleCaption`` （見出し）,
``ArticleTitle`` 第N条, ``Paragraph`` (項) → ``Item`` (号) → ``Subitem1``… (イ, ロ / (1), (2)),
with ``TableStruct`` and ``List`` anywhere below. Ruby readings (``Rt``) are dropped.
"""

from __future__ import annotations

import re
from datetime import date

from lxml import etree

from knowledge.dates import InvalidDate, era_date
from knowledge.documents import TABLE_CELL, Section
from knowledge.errors import BadDocument
from knowledge.parsing.base import ParsedFile, stem

# <LawId>_<enforcement date>_<amending law id>.xml, as e-Gov bulk downloads name files.
_FILE_NAME = re.compile(r"^(?P<law_id>[0-9A-Za-z]+)_(?P<date>\d{8})_(?P<amendment>[0-9A-Za-z]+)$")
_SUBITEM = re.compile(r"^Subitem(\d+)$")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_APPENDICES = ("AppdxTable", "AppdxNote", "AppdxStyle", "AppdxFormat", "AppdxFig", "Appdx")


def egov_url(law_id: str, revision: str = "") -> str:
    """The law's page on e-Gov 法令検索: the version in force, or the one of ``revision``
    (``<施行日>_<改正法令ID>``, as file names and e-Gov's own version links have it)."""
    if not law_id:
        return ""
    return f"https://laws.e-gov.go.jp/law/{law_id}" + (f"/{revision}" if revision else "")


def _parser() -> etree.XMLParser:
    # No DTD, no entity expansion and no network: statutes need none, hostile files do.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def is_egov_law(root: etree._Element) -> bool:
    """Whether a parsed XML document is an e-Gov statute (root element ``Law``)."""
    return etree.QName(root).localname == "Law" and root.find("LawBody") is not None


def _text(element: etree._Element) -> str:
    """Text of an element without ruby readings (``<Ruby>珪弗<Rt>けいふつ</Rt></Ruby>``)."""
    parts = [element.text or ""]
    for child in element:
        if child.tag != "Rt":
            parts.append(_text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _child_text(element: etree._Element, tag: str) -> str:
    child = element.find(tag)
    return _text(child).strip() if child is not None else ""


def _sentences(container: etree._Element | None) -> str:
    """The sentences of a *Sentence element; columns (定義 tables in prose) joined by 「　」."""
    if container is None:
        return ""
    columns = container.findall("Column")
    if columns:
        return "　".join(_sentences(column) for column in columns)
    sentences = container.findall("Sentence")
    if sentences:
        return "".join(_text(s).strip() for s in sentences)
    return _text(container).strip()


def _table(table_struct: etree._Element) -> list[str]:
    lines = [_text(t).strip() for t in table_struct.findall("TableStructTitle")]
    for row in table_struct.iter("TableRow", "TableHeaderRow"):
        cells = [
            " ".join(_block_lines(column)) if len(column) else _text(column).strip()
            for column in row
            if column.tag in ("TableColumn", "TableHeaderColumn")
        ]
        lines.append(TABLE_CELL.join(cells))
    lines += [" ".join(_text(r).split()) for r in table_struct.findall("Remarks")]
    return [line for line in lines if line]


def _block_lines(element: etree._Element) -> list[str]:
    """Lines for the children of a paragraph, item or table cell, in document order."""
    lines: list[str] = []
    for child in element:
        tag = child.tag
        if not isinstance(tag, str):  # entity references left unresolved
            continue
        if tag == "Item" or _SUBITEM.match(tag):
            # Item → ItemTitle/ItemSentence, Subitem2 → Subitem2Title/Subitem2Sentence
            title = _child_text(child, f"{tag}Title")
            sentence = _sentences(child.find(f"{tag}Sentence"))
            lines.append(f"{title}　{sentence}".strip("　"))
            lines += _block_lines(child)
        elif tag == "TableStruct":
            lines += _table(child)
        elif tag in ("List", "Sublist1", "Sublist2", "Sublist3"):
            for part in child:
                if isinstance(part.tag, str) and part.tag.endswith("Sentence"):
                    lines.append(_sentences(part))
            lines += _block_lines(child)
        elif tag == "Sentence":
            lines.append(_text(child).strip())
        elif tag == "AmendProvision":
            lines.append(_sentences(child.find("AmendProvisionSentence")))
            lines += [" ".join(_text(new).split()) for new in child.findall("NewProvision")]
        elif tag in ("Remarks", "StyleStruct", "FigStruct", "NoteStruct"):
            lines.append(" ".join(_text(child).split()))
    return [line for line in lines if line]


def _paragraph_lines(paragraph: etree._Element) -> list[str]:
    lines: list[str] = []
    caption = _child_text(paragraph, "ParagraphCaption")
    if caption:
        lines.append(caption)
    number = _child_text(paragraph, "ParagraphNum")
    if not number and paragraph.get("Num", "1") not in ("", "1"):
        number = paragraph.get("Num", "").translate(_FULLWIDTH)
    sentence = _sentences(paragraph.find("ParagraphSentence"))
    lines.append(f"{number}　{sentence}" if number and number != "１" else sentence)
    lines += _block_lines(paragraph)
    return [line for line in lines if line]


def _article_section(
    article: etree._Element, law_title: str, suppl_label: str = "", suppl_key: str = ""
) -> Section:
    """One article; ``suppl_label`` (「附則」, 「附則（…法律第…号）」) marks 附則 articles."""
    caption = _child_text(article, "ArticleCaption")
    title = _child_text(article, "ArticleTitle")
    lines = [line for p in article.findall("Paragraph") for line in _paragraph_lines(p)]
    extra = {"article": article.get("Num", "").replace("_", "-")}
    if caption:
        extra["caption"] = caption
    if suppl_label:
        extra["suppl"] = suppl_key
    return Section(
        # A repealed article is kept (「削除」) so that questions about it find the fact.
        text="\n".join(lines) or "削除",
        heading=f"{law_title} {suppl_label}{title}{caption}".strip(),
        position=f"{'附則' if suppl_label else ''}{title}",
        extra=extra,
    )


def _suppl_sections(suppl: etree._Element, law_title: str) -> list[Section]:
    """附則 of the original act or of one amending act (``AmendLawNum``)."""
    amend = suppl.get("AmendLawNum", "")
    label = f"附則（{amend}）" if amend else "附則"
    key = amend or "original"
    articles = suppl.findall("Article")
    if articles:
        return [_article_section(a, law_title, label, key) for a in articles]
    lines: list[str] = []
    for child in suppl:
        if child.tag == "Paragraph":
            lines += _paragraph_lines(child)
        elif child.tag != "SupplProvisionLabel" and isinstance(child.tag, str):
            lines += _block_lines(child) or [" ".join(_text(child).split())]
    text = "\n".join(line for line in lines if line)
    if not text:
        return []
    return [
        Section(text=text, heading=f"{law_title} {label}", position="附則", extra={"suppl": key})
    ]


def _appendix_section(appendix: etree._Element, law_title: str) -> Section | None:
    name = appendix.tag
    title = _child_text(appendix, f"{name}Title")
    related = _child_text(appendix, "RelatedArticleNum")
    lines: list[str] = []
    for child in appendix:
        if child.tag in (f"{name}Title", "RelatedArticleNum"):
            continue
        if child.tag == "TableStruct":
            lines += _table(child)
        elif child.tag == "Paragraph":
            lines += _paragraph_lines(child)
        elif isinstance(child.tag, str):
            lines += _block_lines(child) or [" ".join(_text(child).split())]
    text = "\n".join(line for line in lines if line)
    if not text:
        return None
    return Section(text=text, heading=f"{law_title} {title}{related}", position=title or "別表")


def _published(law: etree._Element) -> date | None:
    try:
        return era_date(
            law.get("Era", ""),
            int(law.get("Year", "")),
            int(law.get("PromulgateMonth", "")),
            int(law.get("PromulgateDay", "")),
        )
    except (ValueError, InvalidDate):
        return None


def _version(law: etree._Element, file_date: str) -> str:
    """The version's 施行日 (ISO): the file name's, else the law's own, which a version not
    yet in force when it was downloaded gives as its scheduled date."""
    stated = law.get("EnforcementDate") or law.get("ScheduledEnforcementDate") or ""
    raw = file_date or stated.replace("/", "")
    if not re.fullmatch(r"\d{8}", raw):
        return ""
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:])).isoformat()
    except ValueError:
        return ""


def parse_egov_xml(name: str, data: bytes, label: str) -> ParsedFile:
    """An e-Gov statute: one section per article, 附則 marked, 別表 as sections.

    Heading 「<法令名> 第N条（見出し）」 makes the caption searchable; position is the article
    title (「第二百四十二条」, 「附則第一条」). Any other XML is refused as unsupported.
    """
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise BadDocument(
            f"{label}は XML として正しくありません（{exc.lineno}行目付近）。"
            "ファイルが壊れていないか確認してください。",
            detail="xml syntax error",
        ) from None
    if not is_egov_law(root):
        raise BadDocument(
            f"{label}は対応していない XML 形式です。XML は e-Gov 法令検索の法令標準XML"
            "（ルート要素が Law のもの）のみ読み込めます。",
            detail=f"unsupported xml root {etree.QName(root).localname}",
        )
    body = root.find("LawBody")
    assert body is not None  # checked by is_egov_law
    title_el = body.find("LawTitle")
    law_title = " ".join(_text(title_el).split()) if title_el is not None else ""
    sections: list[Section] = []
    preamble = body.find("Preamble")
    if preamble is not None:
        lines = [line for p in preamble.findall("Paragraph") for line in _paragraph_lines(p)]
        if lines:
            sections.append(Section("\n".join(lines), heading=f"{law_title} 前文", position="前文"))
    main = body.find("MainProvision")
    if main is not None:
        # Articles quoted inside amendment provisions belong to the amended law, not this one.
        articles = [
            a for a in main.iter("Article") if next(a.iterancestors("AmendProvision"), None) is None
        ]
        sections += [_article_section(a, law_title) for a in articles]
        if not articles:  # short statutes consist of paragraphs only
            lines = [line for p in main.iter("Paragraph") for line in _paragraph_lines(p)]
            if lines:
                sections.append(Section("\n".join(lines), heading=law_title, position="本則"))
    for suppl in body.findall("SupplProvision"):
        sections += _suppl_sections(suppl, law_title)
    for appendix in body:
        if appendix.tag in _APPENDICES:
            section = _appendix_section(appendix, law_title)
            if section is not None:
                sections.append(section)
    if not sections:
        raise BadDocument(
            f"{label}に条文が見つかりませんでした。内容を確認してください。", detail="empty law"
        )
    match = _FILE_NAME.match(stem(name))
    law_id = match["law_id"] if match else root.get("LawId", "")
    return ParsedFile(
        name=name,
        title=law_title or stem(name),
        sections=tuple(sections),
        kind="egov-xml",
        published=_published(root),
        law_id=law_id,
        law_title=law_title,
        version=_version(root, match["date"] if match else ""),
        source_url=egov_url(law_id, f"{match['date']}_{match['amendment']}" if match else ""),
    )
