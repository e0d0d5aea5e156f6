"""Meeting records (会議録) read turn by turn, each passage under its speaker."""

from __future__ import annotations

from io import BytesIO

from docx import Document
from support import MINUTES, japanese_pdf

from knowledge.chunking import chunk_sections
from knowledge.corpus import CorpusDefaults
from knowledge.documents import MINUTES_CATEGORY, Section
from knowledge.ingest import documents_from_bytes
from knowledge.parsing import parse_file


def turns(sections: tuple[Section, ...]) -> list[tuple[str, str, str]]:
    """Each section's speaker, position and the start of its first line."""
    return [(s.heading, s.position, s.text.split("\n")[0][:16]) for s in sections]


def test_minutes_in_a_minutes_dataset_are_read_turn_by_turn_under_their_speakers() -> None:
    [parsed] = parse_file("r6_3teirei_2.txt", MINUTES.encode(), meeting=True)
    # The attendance and the agenda before the first speaker stay one passage, as before.
    assert parsed.sections[0].text.startswith("令和6年第3回みどり市議会定例会（第2日）")
    assert parsed.sections[0].text.endswith("◎日程第1 一般質問")
    assert parsed.sections[0].heading == ""
    assert turns(parsed.sections[1:]) == [
        ("議長（山田太郎君）", "発言1", "○議長（山田太郎君） 次に、日程"),
        ("15番（田中一郎君）", "発言2", "○15番（田中一郎君） おはよう"),
        ("議長（山田太郎君）", "発言3", "○議長（山田太郎君） 危機管理監"),
        ("危機管理監（鈴木次郎君）", "発言4", "○危機管理監（鈴木次郎君） お答"),
        # An agenda item's heading opens the turn after it, not the one before.
        ("議長（山田太郎君）", "発言5", "◎日程第2 議案第5号"),
        ("市長（佐藤花子君）", "発言6", "○市長（佐藤花子君） 提案理由を"),
    ]
    # A turn keeps the lines below its speaker's: the question is not cut from its speaker.
    assert parsed.sections[2].text.endswith("どの程度の食料と水が備蓄されていますか。")
    assert "毛布と簡易トイレ" in parsed.sections[4].text
    assert "日程第2" not in parsed.sections[4].text


def test_a_long_turn_is_cut_into_passages_that_keep_their_speaker_and_ids() -> None:
    reply = "指定避難所の備蓄品は、毎年度点検し、期限の近いものから入れ替えております。" * 40
    text = MINUTES.replace(
        "○市長（佐藤花子君）　提案理由を申し上げます。", f"○市長（佐藤花子君）　{reply}"
    )
    [parsed] = parse_file("r6_3teirei_2.txt", text.encode(), meeting=True)
    chunks = chunk_sections("市議会/r6_3teirei_2.txt", parsed.sections)
    mayor = [c for c in chunks if c.position == "発言6"]
    assert len(mayor) > 1
    assert {c.heading for c in mayor} == {"市長（佐藤花子君）"}
    [again] = parse_file("r6_3teirei_2.txt", text.encode(), meeting=True)
    same = chunk_sections("市議会/r6_3teirei_2.txt", again.sections)
    assert [c.chunk_id for c in same] == [c.chunk_id for c in chunks]
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_minutes_titled_so_are_read_turn_by_turn_in_any_dataset() -> None:
    titled = MINUTES.replace("（第2日）", " 会議録（第2号）")
    [parsed] = parse_file("r6_3teirei_2.txt", titled.encode())
    assert parsed.sections[4].heading == "危機管理監（鈴木次郎君）"


def test_speakers_named_without_brackets_and_on_a_line_of_their_own() -> None:
    committee = (
        "総務委員会 会議録\n"
        "○委員長　ただいまから総務委員会を開会いたします。\n"
        "○田中委員\n"
        "　避難所の備蓄の点検はいつですか。\n"
        "◯危機管理課長\n"
        "　毎年6月に点検しております。\n"
        "◆２番（佐藤花子君）\n"
        "　ありがとうございました。\n"
    )
    [parsed] = parse_file("soumu.txt", committee.encode())
    assert turns(parsed.sections[1:]) == [
        ("委員長", "発言1", "○委員長 ただいまから総務委員会"),
        ("田中委員", "発言2", "○田中委員"),
        ("危機管理課長", "発言3", "◯危機管理課長"),
        ("２番（佐藤花子君）", "発言4", "◆２番（佐藤花子君）"),
    ]
    assert parsed.sections[3].text == "◯危機管理課長\n毎年6月に点検しております。"


def test_minutes_in_word_are_read_turn_by_turn() -> None:
    document = Document()
    for line in MINUTES.splitlines():
        document.add_paragraph(line)
    out = BytesIO()
    document.save(out)
    [parsed] = parse_file("r6_3teirei_2.docx", out.getvalue(), meeting=True)
    assert [s.heading for s in parsed.sections[1:]] == [
        "議長（山田太郎君）",
        "15番（田中一郎君）",
        "議長（山田太郎君）",
        "危機管理監（鈴木次郎君）",
        "議長（山田太郎君）",
        "市長（佐藤花子君）",
    ]
    assert parsed.sections[4].position == "発言4"
    assert "三日分の食料と水" in parsed.sections[4].text


def test_a_turn_running_over_a_page_of_a_pdf_is_cited_by_page_and_turn() -> None:
    pages = [
        [
            "令和6年第3回みどり市議会定例会 会議録",
            "○議長（山田太郎君） 危機管理監。",
            "○危機管理監（鈴木次郎君） お答えいたします。",
        ],
        ["指定避難所には三日分の食料と水を備蓄しております。", "○議長（山田太郎君） 以上です。"],
    ]
    [parsed] = parse_file("kaigiroku.pdf", japanese_pdf(pages))
    assert turns(parsed.sections[1:]) == [
        ("議長（山田太郎君）", "1ページ 発言1", "○議長（山田太郎君） 危機管理監"),
        ("危機管理監（鈴木次郎君）", "1ページ 発言2", "○危機管理監（鈴木次郎君） お答"),
        ("危機管理監（鈴木次郎君）", "2ページ 発言2", "指定避難所には三日分の食料と水を"),
        ("議長（山田太郎君）", "2ページ 発言3", "○議長（山田太郎君） 以上です。"),
    ]


def test_other_documents_with_bullet_marks_are_read_as_before() -> None:
    # A plan's bullets look like speakers' lines; only a meeting's record is cut at them.
    plan = (
        "みどり市地域防災計画（概要）\n"
        "○避難所の備蓄　指定避難所には三日分の食料と水を備蓄する。\n"
        "○市長（本部長）　災害対策本部を設置する。\n"
        "◎危機管理監　本部長を補佐する。\n"
    )
    [parsed] = parse_file("bousai.txt", plan.encode())
    assert len(parsed.sections) == 1
    assert parsed.sections[0].heading == ""
    assert parsed.sections[0].position == "1〜4行"


def test_a_file_read_in_other_sections_is_a_new_version_not_skipped() -> None:
    # The same text, read as one section before minutes were read turn by turn, and by turn
    # now: uploading it again must write its turns, not skip it as unchanged.
    as_text = CorpusDefaults(dataset="市議会", category="計画")
    as_minutes = CorpusDefaults(dataset="市議会", category=MINUTES_CATEGORY)
    [before] = documents_from_bytes("r6.txt", MINUTES.encode(), as_text)
    [after] = documents_from_bytes("r6.txt", MINUTES.encode(), as_minutes)
    assert before.content_hash != after.content_hash
    [again] = documents_from_bytes("r6.txt", MINUTES.encode(), as_minutes)
    assert again.content_hash == after.content_hash  # an unchanged file is still skipped
