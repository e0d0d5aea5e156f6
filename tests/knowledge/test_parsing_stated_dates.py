"""The date a document states near its top (和暦 too) becomes its published date."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from docx import Document
from openpyxl import Workbook
from support import japanese_pdf

from knowledge.parsing import parse_file

BODY = "本計画は、みどり市の今後10年間のまちづくりの方向性を示す最上位の計画です。"


def published(name: str, data: bytes) -> date | None:
    [parsed] = parse_file(name, data)
    return parsed.published


def rule_docx(*opening: str) -> bytes:
    document = Document()
    for line in (*opening, "（目的）", "第1条　この規則は、公用車の管理を定める。"):
        document.add_paragraph(line)
    document.add_paragraph("第2条　公用車の管理責任者は、総務課長とする。")
    out = BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_plan_cover_in_wareki_dates_the_pdf_under_its_running_header() -> None:
    # Each page repeats 「…（案） 令和8年3月」 and 「- n -」; the cover gives the day.
    header = "みどり市第3次総合計画（案） 令和8年3月"
    cover = ["みどり市第3次総合計画（案）", "令和８年３月１５日", "みどり市 企画政策課", BODY]
    pages = [
        [header, *cover, "- 1 -"],
        [header, "第2章 人口の見通し", BODY, "- 2 -"],
        [header, "第3章 重点施策", BODY, "- 3 -"],
    ]
    assert published("総合計画案.pdf", japanese_pdf(pages)) == date(2026, 3, 15)


def test_a_rule_is_dated_by_its_promulgation_line() -> None:
    one_line = rule_docx("みどり市公用車管理規則", "令和7年3月28日規則第12号")
    assert published("公用車管理規則.docx", one_line) == date(2025, 3, 28)
    two_lines = rule_docx("みどり市公用車管理規則", "令和7年3月28日", "規則第12号")
    assert published("公用車管理規則.docx", two_lines) == date(2025, 3, 28)


def test_a_notice_dated_beside_its_issuer_and_a_page_updated_on_a_day() -> None:
    notice = rule_docx("防災訓練実施要領", "令和8年5月1日　危機管理課")
    assert published("要領.docx", notice) == date(2026, 5, 1)
    page = (
        "<html><head><title>ごみの出し方</title></head><body><nav>くらし 子育て</nav>"
        "<h1>ごみの出し方</h1><p>更新日：令和8年4月1日</p><p>週2回出してください。</p>"
        "</body></html>"
    ).encode()
    assert published("gomi.html", page) == date(2026, 4, 1)
    markdown = "# 窓口のご案内\n\nR8.4.1 更新\n\n平日の午前8時30分から受け付けます。\n"
    assert published("窓口.md", markdown.encode()) == date(2026, 4, 1)


def test_dates_inside_sentences_and_tables_are_not_taken_for_the_published_date() -> None:
    text = "防災訓練のお知らせ\n\n令和8年9月1日（火）午前9時から正午まで実施します。\n"
    assert published("訓練.txt", text.encode()) is None
    starts = "令和8年4月1日から新しい窓口で受け付けます。\n"
    assert published("窓口.txt", starts.encode()) is None
    book = Workbook()
    book.active.append(["交付決定日", "補助金名"])
    book.active.append(["令和8年4月10日", "住宅耐震改修補助金"])
    out = BytesIO()
    book.save(out)
    assert published("補助金.xlsx", out.getvalue()) is None


def minutes_page(*opening: str) -> bytes:
    lines = "".join(f"<p>{line}</p>" for line in opening)
    return (
        "<html><head><title>令和8年第1回定例会 会議録</title></head><body>"
        f"<h1>令和8年第1回定例会 会議録</h1>{lines}"
        "<p>○議長（山田太郎君） ただいまから本日の会議を開きます。</p></body></html>"
    ).encode()


def test_minutes_are_dated_by_the_day_the_meeting_was_held_not_their_pages_update() -> None:
    # Citations show a record's date as the day it was held (「2026-03-05 開催」).
    held = minutes_page("更新日：令和8年4月20日", "開催日：令和8年3月5日（木）")
    assert published("kaigiroku.html", held) == date(2026, 3, 5)
    timed = minutes_page("掲載日：令和8年4月20日", "日時　令和8年3月5日（木）午後2時から")
    assert published("kaigiroku.html", timed) == date(2026, 3, 5)
    bare = minutes_page("最終更新日：令和8年4月20日", "令和8年3月5日（木曜日）")
    assert published("kaigiroku.html", bare) == date(2026, 3, 5)
    # A page date is no meeting's: better none than one a citation calls the meeting's.
    assert published("kaigiroku.html", minutes_page("更新日：令和8年4月20日")) is None
    # Other pages keep the date they state first, their update included.
    notice = minutes_page("更新日：令和8年4月20日").replace("会議録".encode(), "お知らせ".encode())
    assert published("oshirase.html", notice) == date(2026, 4, 20)
