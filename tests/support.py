"""Small helpers shared by tests (importable as ``support``: ``tests/`` is on the path)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Set
from contextlib import asynccontextmanager, contextmanager
from io import BytesIO
from pathlib import Path
from types import MappingProxyType

from aiohttp import web
from aiohttp.test_utils import TestServer
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    FrameBreak,
    PageTemplate,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from sqlalchemy.engine import Engine

from admin.db import create_db_engine, init_db


def free_port() -> int:
    """A port nothing listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def org_with_key(data_dir: Path, name: str, database_url: str = "") -> str:
    """Create an organization in the app's database (default: the data dir's SQLite file);
    returns a new API key of it."""
    from admin.orgs import create_api_key, create_org

    engine = create_db_engine(database_url or f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    try:
        init_db(engine)
        create_org(engine, name)
        return create_api_key(engine, name).secret
    finally:
        engine.dispose()


def engine_with_tables(url: str) -> Iterator[Engine]:
    """For a fixture to ``yield from``: an engine on ``url`` with every table created,
    disposed of after the test."""
    engine = create_db_engine(url)
    init_db(engine)
    yield engine
    engine.dispose()


def llm_settings(base_url: str, variants: int = 0) -> dict[str, object]:
    """Settings fields for a chat model at ``base_url`` (the fake's ``url``), writing
    ``variants`` query variants per question (none by default: one chat request an answer)."""
    return {
        "llm_base_url": base_url,
        "llm_api_key": "sk-test",
        "llm_model": "gpt-test",
        "llm_query_variants": variants,
    }


Route = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serving(routes: dict[str, Route]) -> AsyncIterator[TestServer]:
    """A web site on loopback answering GET ``path`` with its handler (a municipal document
    server, say), closed on exit."""
    site = web.Application()
    for path, handler in routes.items():
        site.router.add_get(path, handler)
    server = TestServer(site, host="127.0.0.1")
    await server.start_server()
    try:
        yield server
    finally:
        await server.close()


class FakeClock:
    """A monotonic clock that moves only when told (circuit breakers)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# Statements that make the database refuse writes (INSERT or UPDATE) to a table, as on a full
# disk, and the one that stops it (SQLite and PostgreSQL).
_REFUSE = {
    "sqlite": (
        [
            "CREATE TRIGGER refuse BEFORE {write} ON {table}"
            " BEGIN SELECT RAISE(FAIL, 'disk full'); END"
        ],
        "DROP TRIGGER refuse",
    ),
    "postgresql": (
        [
            "CREATE OR REPLACE FUNCTION refuse() RETURNS trigger AS $$"
            " BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE {write} ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        "DROP TRIGGER refuse ON {table}",
    ),
}


@contextmanager
def refusing_inserts(engine: Engine, table: str, write: str = "INSERT") -> Iterator[None]:
    """While inside, the database refuses to insert into ``table`` (or to ``write`` it:
    ``"UPDATE"``)."""
    refuse, stop = _REFUSE[engine.dialect.name]
    with engine.begin() as connection:
        for statement in refuse:
            connection.exec_driver_sql(statement.format(table=table, write=write))
    try:
        yield
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql(stop.format(table=table))


def recorded_answer(engine: Engine, turn_id: str, org_id: str) -> None:
    """Record the usage figures every answer leaves (no content), as if ``turn_id`` had been
    answered on Slack."""
    from admin.usage import UsageService

    UsageService(engine).record(
        turn_id=turn_id,
        org_id=org_id,
        platform="slack",
        category="",
        outcome="answered",
        model="extractive",
        input_tokens=0,
        output_tokens=0,
        user_hash="",
    )


FONT = "HeiseiMin-W3"


SCANNED_PAGE = None
"""A page of ``japanese_pdf`` that is a scan: a picture and no text."""


def japanese_pdf(
    pages: list[list[str] | None], title: str | None = None, pictured: Set[int] = frozenset()
) -> bytes:
    """A PDF with one page per entry, each line drawn in a built-in Japanese CID font, a
    ``SCANNED_PAGE`` drawn as a grey picture (as a scanned page inserted into the PDF), as are
    the pages numbered in ``pictured`` (from 1) under their lines (a scan, stamped)."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer)
    if title:
        pdf.setTitle(title)
    for number, lines in enumerate(pages, start=1):
        pdf.setFont(FONT, 12)
        if lines is SCANNED_PAGE or number in pictured:
            pdf.drawImage(ImageReader(Image.new("L", (60, 80), 200)), 72, 200, 450, 600)
        for row, line in enumerate(lines or []):
            pdf.drawString(72, 760 - 20 * row, line)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def columns_pdf(
    lines: list[str | list[str]],
    columns: list[float],
    right_aligned: Set[int] = frozenset(),
    centred: Mapping[tuple[int, int], float] = MappingProxyType({}),
) -> bytes:
    """A page printed as a spreadsheet or a word processor's tab stops print a table without
    ruling lines: each line a string at the left margin, or cells drawn at the x positions
    ``columns``, those of the columns numbered in ``right_aligned`` (from 0) ending there, as
    numbers are set, and the cells at (line, column) of ``centred`` centred on the x given
    (a 「−」 in a column of amounts); nothing drawn but text."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setFont(FONT, 11)
    for row, line in enumerate(lines):
        y = 760 - 18 * row
        if isinstance(line, str):
            pdf.drawString(72, y, line)
            continue
        for column, (x, cell) in enumerate(zip(columns, line, strict=True)):
            if (row, column) in centred:
                pdf.drawCentredString(centred[row, column], y, cell)
                continue
            draw = pdf.drawRightString if column in right_aligned else pdf.drawString
            draw(x, y, cell)
    pdf.save()
    return buffer.getvalue()


def newsletter_pdf(texts: list[str]) -> bytes:
    """A page of text set in columns, as a newsletter is: each text a paragraph filling a
    column of its own, the columns side by side."""
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    style = ParagraphStyle("body", fontName=FONT, fontSize=10, leading=15, wordWrap="CJK")
    gap = 20
    width = (A4[0] - 2 * 72 - gap * (len(texts) - 1)) / len(texts)
    frames = [
        Frame(72 + n * (width + gap), 72, width, A4[1] - 144, id=f"column{n}")
        for n in range(len(texts))
    ]
    buffer = BytesIO()
    document = BaseDocTemplate(buffer, pagesize=A4)
    document.addPageTemplates([PageTemplate(frames=frames)])
    story: list[Flowable] = []
    for text in texts:  # a frame break sends the next text to the next column
        story += [FrameBreak(), Paragraph(text, style)] if story else [Paragraph(text, style)]
    document.build(story)
    return buffer.getvalue()


def japanese_document_pdf(
    blocks: list[str | list[list[str]]],
    font: str = FONT,
    col_widths: list[int] | None = None,
    repeat_header: bool = True,
) -> bytes:
    """A PDF laid out by reportlab's platypus, as a word processor lays out a document: each
    block a paragraph (wrapped at the page's width) or a ruled table whose cells wrap when
    long; a table longer than a page repeats its header row on the next (``repeat_header``)."""
    pdfmetrics.registerFont(UnicodeCIDFont(font))
    style = ParagraphStyle("body", fontName=font, fontSize=10, leading=15, wordWrap="CJK")
    story: list[Flowable] = []
    for block in blocks:
        if isinstance(block, str):
            story += [Paragraph(block, style), Spacer(1, 10)]
            continue
        # Columns of a set width wrap their cells, as paragraphs in them.
        rows = [[Paragraph(c, style) for c in row] if col_widths else row for row in block]
        table = Table(rows, colWidths=col_widths, repeatRows=1 if repeat_header else 0)
        table.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 10),
                    ("GRID", (0, 0), (-1, -1), 0.5, "black"),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [table, Spacer(1, 10)]
    buffer = BytesIO()
    SimpleDocTemplate(buffer).build(story)
    return buffer.getvalue()


MINUTES = """令和6年第3回みどり市議会定例会（第2日）
令和6年9月10日（火曜日）
○出席議員（20名）
　1番　田中一郎君　　2番　山本二郎君
○議事日程
　日程第1　一般質問
◎日程第1　一般質問
○議長（山田太郎君）　次に、日程第1、一般質問を行います。15番田中一郎君。
○15番（田中一郎君）　おはようございます。避難所の備蓄について伺います。
市の指定避難所には、どの程度の食料と水が備蓄されていますか。
○議長（山田太郎君）　危機管理監。
○危機管理監（鈴木次郎君）　お答えいたします。指定避難所には三日分の食料と水を備蓄しております。
また、毛布と簡易トイレも配備しております。
◎日程第2　議案第5号
○議長（山田太郎君）　日程第2、議案第5号を議題といたします。
○市長（佐藤花子君）　提案理由を申し上げます。
"""
"""A council's record of a day (its title without 「会議録」): the attendance, then speakers'
turns under ○ (a member's question, the chair's call, the 危機管理監's reply) and agenda
headings under ◎."""
