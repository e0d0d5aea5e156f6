"""Values and helpers shared by the format parsers."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

from knowledge.dates import InvalidDate, parse_date, parse_fiscal_year
from knowledge.documents import TABLE_CELL, Section
from knowledge.errors import BadDocument


@dataclass(frozen=True)
class ParseLimits:
    """Bounds that protect the parser from oversized files and zip bombs."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_archive_members: int = 2000
    max_expanded_bytes: int = 500 * 1024 * 1024
    max_compression_ratio: float = 100.0


@dataclass(frozen=True)
class ParsedFile:
    """One parsed file: its sections in reading order and what is known about it.

    ``name`` is the file name (or the member's path inside an archive); ``kind`` names the format
    (``"pdf"``, ``"egov-xml"``, …). ``law_id``, ``law_title``, ``version`` (the enforcement
    date, ISO) and ``source_url`` (that version's page on e-Gov 法令検索) are filled for e-Gov
    statutes; ``published`` when the file states it. ``unread_pages`` are a PDF's pages (1-based)
    that show something but hold no text to read (a scanned page, a page whose only text is
    its number), which are not searchable; other formats have none.
    """

    name: str
    title: str
    sections: tuple[Section, ...]
    kind: str
    published: date | None = None
    law_id: str = ""
    law_title: str = ""
    version: str = ""
    source_url: str = ""
    unread_pages: tuple[int, ...] = ()


def quoted(name: str) -> str:
    """How messages name a file: 「name」."""
    return f"「{name}」"


def size_label(size: int) -> str:
    """A byte count as people read it in messages: 「50MB」, 「53.9MB」, 「500KB」."""
    if size >= 1024 * 1024:
        return f"{round(size / (1024 * 1024), 1):g}MB"
    return f"{max(size // 1024, 1)}KB"


def stem(name: str) -> str:
    """The file name without folders and suffix, used as a fallback title."""
    path = PurePosixPath(name.replace("\\", "/"))
    return path.stem or path.name or name


_SPACES = re.compile(r"[ \t\u3000\xa0]+")


def tidy_lines(text: str) -> str:
    """Collapse runs of spaces inside lines, trim lines and drop empty ones. A table's row
    keeps its empty cells (「テレビ台 |  | 要予約」) but for those that end it: collapsed, its
    cells would shift under the columns before them."""
    lines = (_tidy(line) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _tidy(line: str) -> str:
    if TABLE_CELL not in line:
        return _SPACES.sub(" ", line).strip()
    cells = [_SPACES.sub(" ", cell).strip() for cell in line.split(TABLE_CELL)]
    while cells and not cells[-1]:
        cells.pop()
    return TABLE_CELL.join(cells)


class HeadingPath:
    """The chain of headings above the current position (「第1章 > 1.1」)."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, str]] = []

    def enter(self, level: int, text: str) -> None:
        """Record a heading of ``level`` (1 = top), closing deeper or equal headings."""
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, text))

    def __str__(self) -> str:
        return " > ".join(text for _, text in self._stack)


class SectionBuffer:
    """Collects body lines under the current heading and emits one Section per heading."""

    def __init__(self) -> None:
        self.path = HeadingPath()
        self.sections: list[Section] = []
        self._lines: list[str] = []
        self._heading = ""

    def add(self, line: str) -> None:
        """Append a body line to the current section."""
        if line.strip():
            self._lines.append(line)

    def heading(self, level: int, text: str) -> None:
        """Close the current section and start one under heading ``text``."""
        self.flush()
        self.path.enter(level, text)
        self._heading = str(self.path)

    def flush(self) -> None:
        """Emit the pending lines as a Section (nothing when they are empty)."""
        text = tidy_lines("\n".join(self._lines))
        self._lines = []
        if text:
            self.sections.append(Section(text=text, heading=self._heading, position=self._heading))

    def result(self) -> tuple[Section, ...]:
        """All sections, the pending one included."""
        self.flush()
        return tuple(self.sections)


def require_sections(sections: tuple[Section, ...], label: str) -> tuple[Section, ...]:
    """Refuse a file in which no text was found."""
    if not sections:
        raise BadDocument(
            f"{label}から本文を読み取れませんでした。内容が空でないか確認してください。",
            detail="no text",
        )
    return sections


# A line that starts an article of a rule or ordinance typed as text (「第3条 …」,
# 「第十二条の二（委任）」), a chapter heading (「第2章 避難所」) and the supplementary
# provisions' heading (「附 則」).
ARTICLE_LABEL = r"第[0-9０-９一二三四五六七八九十百千]+条(?:の[0-9０-９一二三四五六七八九十百]+)*"
"""An article's label as a rule typed as text writes it (「第3条」, 「第十二条の二」)."""
_ARTICLE = re.compile(rf"^[ 　]*({ARTICLE_LABEL})(?=[ 　（(]|$)")
_CHAPTER = re.compile(r"^[ 　]*第[0-9０-９一二三四五六七八九十百]+[章節款](?:[ 　]|$)")
# An article's caption, on the line before it: 「（目的）」.
_CAPTION = re.compile(r"^[ 　]*[（(][^（）()]{1,30}[）)][ 　]*$")
_SUPPLEMENT = re.compile(r"^[ 　]*附[ 　]*則[ 　]*(?:（.*）|\(.*\))?[ 　]*$")


def line_kind(line: str) -> str:
    """What a line of a rule is: ``"article"`` (it starts one), ``"chapter"``,
    ``"supplement"`` (附則), or ``""`` (text)."""
    if _ARTICLE.match(line):
        return "article"
    if _CHAPTER.match(line):
        return "chapter"
    return "supplement" if _SUPPLEMENT.match(line) else ""


def rule_title(lines: list[str]) -> str:
    """The title line a rule or ordinance opens with (「テスト市公用車管理規則」, before its
    first article or chapter): its first line when short and not a sentence, else ``""``."""
    kinds = [line_kind(line) for line in lines]
    if kinds.count("article") < 2:
        return ""
    first = next(i for i, kind in enumerate(kinds) if kind in ("article", "chapter"))
    opening = next((line.strip() for line in lines[:first] if line.strip()), "")
    if _DOC_NUMBER.match(opening) or _ADDRESSEE.search(opening) or _is_date(opening):
        return ""  # a circular's header or a date: ``opening_title`` finds what it names
    return opening if len(opening) <= TITLE_CHARS and "。" not in opening else ""


# A title line is one line of a name, not a paragraph.
TITLE_CHARS = 60

# What a title is not: a sentence or part of one (「。」, 「、」, a line ending in a particle or
# punctuation that the next line continues), a heading, article or item of the body
# (「第1章」, 「第1条の…」, 「1.」, 「（1）」, 「目次」), a speaker's or bullet line (「○議長」,
# 「・」, 「※」), a document number (「総務第123号」), an addressee (「各課長 様」), a page
# number (「P.1」, 「Page 1 of 3」, 「1ページ」).
_NOT_TITLE = re.compile(
    r"[。、]|[をにがはへでともやの，,：:・]$"
    rf"|^(?:[○〇◯●◎■□◆◇・※＊*\-]|目\s*次$|{ARTICLE_LABEL}"
    r"|[0-9０-９一二三四五六七八九十]+[.．、)）]|[（(][0-9０-９一二三四五六七八九十]+[)）])"
    r"|第\s*[0-9０-９一二三四五六七八九十百千]+\s*号$|[様殿]$"
    r"|^(?:p(?:age)?\.?\s*[0-9０-９]+(?:\s*(?:of|/)\s*[0-9０-９]+)?|[0-9０-９]+\s*(?:ページ|頁))$",
    re.IGNORECASE,
)
# What shows that the next line starts afresh after a title: a rule, a speaker's or bullet
# mark, a date, a heading, a bracket.
_FRESH_LINE = re.compile(
    r"^(?:[―ー－\-=＝_＿~〜*＊]{3,}|[○〇◯●◎■□◆◇・※【［（(「]|令和|平成|昭和|第)"
)
# What may stand above a title, or before it on its line: a handout's label (「資料１」,
# 「参考資料２－１」, 「別紙」, 「様式第３号」) or a bracketed mark (「（案）」, 「【機密性２】」).
_MARK = (
    r"(?:(?:参考)?資料\s*[0-9０-９]+(?:\s*[-－‐ー−の]\s*[0-9０-９]+)*"
    r"|別\s*[紙添表記](?:\s*[0-9０-９]+)?|様式\s*第?\s*[0-9０-９]+\s*号?"
    r"|[（(【［\[〔<＜《〈][^（）()【】［］\[\]〔〕]*[）)】］\]〕>＞》〉])"
)
_MARK_ALONE = re.compile(_MARK)
_MARK_BEFORE = re.compile(rf"^{_MARK}\s*")
_AS_OF = re.compile(r"\s*(?:現在|時点)$")


def dated_line(text: str) -> date | None:
    """The day a line that only dates the document names (「令和６年３月５日（火曜日）」,
    「資料１ 令和8年4月1日」, 「2026年4月1日現在」; a cover's 「令和８年３月」 as the month's
    first day), else ``None``."""
    core = _AS_OF.sub("", _MARK_BEFORE.sub("", text)).strip()
    with contextlib.suppress(InvalidDate):
        return parse_date(f"{core}1日" if core.endswith("月") else core)
    return None


def _is_date(text: str) -> bool:
    """Whether ``text`` only dates the document (``dated_line``, or 「令和８年度」)."""
    if dated_line(text) is not None:
        return True
    core = _AS_OF.sub("", _MARK_BEFORE.sub("", text)).strip()
    with contextlib.suppress(InvalidDate):
        return core.endswith("年度") and parse_fiscal_year(core) > 0
    return False


# A circular's (通知・通達・事務連絡) header, above its subject: the document number
# (「総行行第123号」, 「事務連絡」), the addressees (「各都道府県知事 殿」, 「各指定都市市長 様」,
# 「各都道府県衛生主管部（局） 御中」, a list of them opening 「各」), and the issuer: an office
# (「総務省自治行政局長」, 「厚生労働省健康局総務課」), maybe with a name (「みどり市長 山田太郎」),
# its sub-unit in brackets or 「（公印省略）」.
_DOC_NUMBER = re.compile(r"^\S*第\s*[0-9０-９一二三四五六七八九十百千]+\s*号$|^事\s*務\s*連\s*絡$")
# 「様」 ends an addressee, not a word of its own (「仕様」, 「同様」, 「多様」).
_ADDRESSEE = re.compile(r"(?:殿|(?<![仕模同多異一態])様|御中|各位)$")
_ADDRESSEES = re.compile(r"^各\S")
_ISSUER_LINE = re.compile(
    r"(?:長|大臣|知事|長官|次官|統括官|審議官|参事官|管理者|委員会|事務局|本部|センター"
    r"|機構|協会|連合会|公社|組合|法人|[省庁局部課室係])"
    r"(?:\s*[（(][^（）()]*[）)])?(?:\s+\S{1,6}){0,2}(?:\s*[（(]公印省略[）)])?$"
)
# How a circular's subject ends: 「…について（通知）」, 「…について（依頼）」, 「…について」.
_SUBJECT = re.compile(r"について\s*(?:[（(][^（）()]{1,10}[）)])?$")
# A line ending so with fewer characters before 「について」 (and no 「、」) ends a subject
# begun above it.
_SUBJECT_TAIL = 8
# An issuer's name on a line of its own (「山田　太郎」), which may stand above the subject.
_NAME_LINE = re.compile(r"\S{1,6}\s+\S{1,6}")
# A circular's header and subject take a page's first lines, blank ones between them too.
_HEADER_LINES = 40


def _circular_subject(lines: list[str], at: int) -> tuple[int, str] | None:
    """Where the subject of a circular opening at ``lines[at]`` stands below its header (see
    ``_DOC_NUMBER``; dates and marks too), and its text: the first line ending
    「…について（通知）」 close below the header (joined to the line above when it is only
    the end of a subject wrapped across two), else the first line that is none of these;
    ``None`` when the text has no number or addressee line before it, so is no circular."""
    circular = False
    ahead = range(at, min(at + _HEADER_LINES, len(lines)))
    filled = [(i, " ".join(lines[i].split())) for i in ahead if lines[i].strip()]
    for rank, (i, line) in enumerate(filled):
        if _DOC_NUMBER.match(line) or _ADDRESSEE.search(line):
            circular = True
        elif not (
            _is_date(line)
            or _MARK_ALONE.fullmatch(line)
            or (circular and (_ADDRESSEES.match(line) or _ISSUER_LINE.search(line)))
        ):
            if not circular:
                return None
            return _subject_below(filled, rank) or (i, line)
    return None


def _subject_below(filled: list[tuple[int, str]], rank: int) -> tuple[int, str] | None:
    """The subject 「…について（通知）」 at ``filled[rank]``, the first line below the header,
    or wrapped from it onto the next, or below an issuer's name the header's patterns missed
    (``_NAME_LINE``); ``None`` when none is there. A body's sentence or a heading below a
    title (「工事期間について」) is not one."""
    for below in range(rank, min(rank + 3, len(filled))):
        j, text = filled[below]
        names = all(_NAME_LINE.fullmatch(line) for _, line in filled[rank : below - 1])
        found = _SUBJECT.search(text)
        if found is None or not names:
            continue
        if below == rank:
            return j, text
        head = filled[below - 1][1]
        if found.start() < _SUBJECT_TAIL and "、" not in text and "。" not in head:
            return j, head + text
        if _NAME_LINE.fullmatch(head):
            return j, text
    return None


def opening_title(lines: list[str], *, apart: bool = False) -> str:
    """The title a text opens with (「令和６年第１回定例会 会議録（第２号）」), else ``""``.

    The first non-empty line, after a handout's label or a mark alone on its line (「資料１」,
    「（案）」), is the title when it is clearly one: short, of words rather than numbers, not
    a sentence or part of one, not a heading or item of the body, not a date, a page number,
    a document number or an addressee, and standing apart (a blank line or a rule after it,
    centred with leading spaces, or followed by a line that starts afresh: a speaker's mark,
    a date, 「第…」, or a line much longer than it). The first line of a paragraph wrapped
    across lines (「本市では、令和6年度から」) is not. ``apart`` says that every line stands
    apart: Word's paragraphs, a PDF's lines once those wrapped at the page's width are joined.

    A circular (通知・事務連絡) is titled by its subject, below the header of number, date,
    addressees and issuer (``_circular_subject``); a subject that ends 「…について（通知）」
    is one even when long or with a 「、」 in it.
    """
    filled = (i for i, line in enumerate(lines) if line.strip())
    at = next((i for i in filled if not _MARK_ALONE.fullmatch(" ".join(lines[i].split()))), None)
    if at is None:
        return ""
    if circular := _circular_subject(lines, at):
        at, subject = circular
        if _SUBJECT.search(subject) and "。" not in subject and len(subject) <= 2 * TITLE_CHARS:
            return subject
    line = lines[at]
    title = " ".join(line.split())
    if (
        not 2 <= len(title) <= TITLE_CHARS
        or sum(map(str.isalpha, title)) < 2
        or _NOT_TITLE.search(title)
        or TABLE_CELL in title  # a table's row
        or line_kind(title)
        or _is_date(title)  # 「令和６年３月５日（火曜日）」 dates the text, it does not name it
    ):
        return ""
    following = lines[at + 1].strip() if at + 1 < len(lines) else ""
    # Centred takes more than the one full-width space a paragraph is indented with.
    centred = len(line) - len(line.lstrip()) >= 2
    fresh = _FRESH_LINE.match(following) or TABLE_CELL in following  # a table's header row
    # The first line of a paragraph wrapped at the page's width is as long as the next one:
    # a line much shorter than the next stands apart (「窓口の受付時間」 above a sentence).
    short = len(title) * 3 <= len(following) * 2
    return title if apart or not following or centred or fresh or short else ""


def article_sections(lines: list[str]) -> list[Section]:
    """A rule or ordinance's lines (plain text, Word paragraphs) as one section per article,
    cited by it (「第3条」, 「附則第1条」) under its chapter heading, with the lines before the
    first one as a section of their own; none when fewer than two lines start an article."""
    kinds = [line_kind(line) for line in lines]
    if kinds.count("article") < 2:
        return []
    first = next(i for i, kind in enumerate(kinds) if kind in ("article", "chapter"))
    sections: list[Section] = []
    if preamble := tidy_lines("\n".join(lines[:first])):
        sections.append(Section(text=preamble, position=f"1〜{first}行"))
    chapter, label, supplement = "", "", False
    body: list[str] = []

    def close_article() -> list[str]:
        """Ends the article; returns the caption that opens the next one (「（目的）」)."""
        caption = [body.pop()] if body and _CAPTION.match(body[-1]) else []
        if joined := tidy_lines("\n".join(body)):
            sections.append(Section(text=joined, heading=chapter, position=label))
        body.clear()
        return caption

    for line, kind in zip(lines[first:], kinds[first:], strict=True):
        caption = close_article() if kind else []
        if kind == "supplement":  # its text before any article is cited as 「附則」
            supplement, chapter, label = True, "", "附則"
        elif kind == "chapter":
            # Chapters are of the main provision: a 附則 before one is a line of the 目次.
            supplement, chapter = False, tidy_lines(line)
        else:
            body.extend(caption)
            if kind == "article":
                found = _ARTICLE.match(line)
                assert found is not None
                label = ("附則" if supplement else "") + unicodedata.normalize("NFKC", found[1])
            body.append(line)
    close_article()
    return sections
