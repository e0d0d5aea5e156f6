"""``baibain summarize`` given a path that names no file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
from support import japanese_pdf

EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"


def test_a_missing_file_or_a_folder_is_said_to_be_one(run, tmp_path: Path) -> None:
    missing = run("summarize", "./計画.pdf")
    assert missing.exit_code == 2
    assert "ファイル ./計画.pdf が見つかりません。パスを確認してください。" in missing.output
    folder = run("summarize", str(tmp_path), "--json")
    assert folder.exit_code == 2
    error = json.loads(folder.stdout)["error"]
    assert error["code"] == "bad_input" and "はフォルダです" in error["message"]
    # A name or a document id is looked up as before.
    assert "住民基本台帳法" in run("summarize", "342AC0000000081#22").output


def test_an_article_joined_to_its_statute_by_no_is_found(run) -> None:
    # Staff type 「個情法の第5条」 as often as 「個情法第5条」.
    for name, title in [
        ("個情法の第5条", "個人情報の保護に関する法律 第五条"),
        ("地方自治法の242条", "地方自治法 第二百四十二条"),
    ]:
        result = run("summarize", name)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(f"「{title}」の要約です"), result.stdout


MINUTES = """令和8年第1回みどり市議会定例会会議録（第2号）
令和8年3月5日（木曜日）
出席議員（20名）
○議長（山田太郎君）
　これより本日の会議を開きます。日程第1、一般質問を行います。
◆１番（佐藤花子君）
　保育所の待機児童対策について質問いたします。本市の待機児童は令和7年4月時点で23人です。
○議長（山田太郎君）
　市長。
◎市長（田中次郎君）
　令和8年度に小規模保育事業所を3か所新設し、定員を57人拡大いたします。
"""


def test_minutes_are_summarized_without_speaker_and_date_lines(run, tmp_path: Path) -> None:
    minutes = tmp_path / "会議録.txt"
    minutes.write_text(MINUTES, "utf-8")
    result = run("summarize", str(minutes), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    summary = result.stdout.split("\n\n")[1]
    assert summary.startswith("これより本日の会議を開きます。")
    assert "小規模保育事業所を3か所新設" in summary
    for boilerplate in ("議長（山田太郎君）", "（佐藤花子君）", "出席議員", "（木曜日）"):
        assert boilerplate not in summary, summary


def test_minutes_in_a_text_file_are_named_by_their_title_line(run, tmp_path: Path) -> None:
    minutes = tmp_path / "r8_1teirei.txt"
    minutes.write_text(MINUTES, "utf-8")
    result = run("summarize", str(minutes), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    title = "令和8年第1回みどり市議会定例会会議録（第2号）"
    # Dated by the meeting's day under the title, said as the day it met, not as published.
    assert result.stdout.startswith(f"「{title}」の要約です（2026-03-05 開催）。"), result.stdout
    assert f"[1] {title}（2026-03-05 開催）\n" in result.stdout  # the citation, too
    assert "r8_1teirei" not in result.stdout


def test_a_record_of_a_meeting_is_cited_with_the_day_it_met(run, tmp_path: Path) -> None:
    # Titled without 「会議録」, but kept in a dataset of the 会議録 category.
    record = tmp_path / "r8_1teirei_2.txt"
    record.write_text(MINUTES.replace("会議録（第2号）", "（第2日）"), "utf-8")
    assert run("org", "create", "みどり市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    ingest = ("ingest", str(record), "--dataset", "市議会", "--org", "みどり市")
    assert run(*ingest, "--category", "会議録", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    asked = run(
        "ask", "待機児童は何人ですか", "--org", "みどり市", "--json", BAIBAIN_SAMPLE_DATA="0"
    )
    citation = json.loads(asked.stdout)["citations"][0]
    assert citation["title"] == "令和8年第1回みどり市議会定例会（第2日）"
    assert citation["published"] == "2026-03-05"
    assert citation["details"].endswith("・2026-03-05 開催"), citation


def test_a_record_in_a_minutes_dataset_is_not_dated_by_its_pages_update(
    run, tmp_path: Path
) -> None:
    # A council's web page of the record: updated after the meeting, titled without 会議録.
    page = (
        "<html><head><title>令和8年第1回定例会（第2日）</title></head><body>"
        "<h1>令和8年第1回定例会（第2日）</h1><p>更新日：令和8年4月20日</p>"
        "<p>開催日：令和8年3月5日</p><p>保育所の待機児童は令和7年4月時点で23人です。</p>"
        "</body></html>"
    )
    (tmp_path / "r8_1_2.html").write_text(page, "utf-8")
    assert run("org", "create", "みどり市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    ingest = ("ingest", str(tmp_path / "r8_1_2.html"), "--dataset", "市議会", "--org", "みどり市")
    assert run(*ingest, "--category", "会議録", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    asked = run(
        "ask", "待機児童は何人ですか", "--org", "みどり市", "--json", BAIBAIN_SAMPLE_DATA="0"
    )
    citation = json.loads(asked.stdout)["citations"][0]
    assert citation["details"].endswith("・2026-03-05 開催"), citation


def test_a_tables_rows_stay_on_their_own_lines(run, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["款", "令和8年度（千円）", "令和7年度（千円）", "増減（千円）", "主な事業"])
    sheet.append(["総務費", 5230000, 4980000, 250000, "庁舎改修、DX推進"])
    sheet.append(["民生費", 18450000, 17900000, 550000, "保育所運営、障害福祉"])
    book.save(tmp_path / "予算.xlsx")
    result = run("summarize", str(tmp_path / "予算.xlsx"), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    assert "主な事業\n総務費 | 5230000" in result.stdout, result.stdout
    assert "DX推進\n民生費" in result.stdout


def test_a_tables_rows_are_summarized_under_the_names_of_their_columns(run, tmp_path: Path) -> None:
    # A list as Excel saves it for Windows: Shift_JIS (CP932, with 髙 and ①), a short header.
    shelters = tmp_path / "避難所一覧.csv"
    shelters.write_bytes(
        "避難所名,所在地,収容人数\n"
        "みどり小学校,みどり市中央1-2-3,450\n"
        "髙橋記念体育館,みどり市東町①番地,600\n".encode("cp932")
    )
    result = run("summarize", str(shelters), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    assert "\n\n避難所名 | 所在地 | 収容人数\nみどり小学校 | みどり市中央1-2-3 | 450\n" in (
        result.stdout
    ), result.stdout
    # Each sheet's rows under its own header, once.
    book = openpyxl.Workbook()
    book.active.append(["款", "予算額"])
    book.active.append(["総務費", "3,210,000千円を計上し、庁舎改修を進めます"])
    grants = book.create_sheet("補助金")
    grants.append(["補助金名", "金額"])
    grants.append(["住宅耐震改修補助金", "1件あたり100万円を上限に交付します"])
    book.save(tmp_path / "予算.xlsx")
    result = run("summarize", str(tmp_path / "予算.xlsx"), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    summary = result.stdout.split("\n\n")[1]
    assert summary.startswith("款 | 予算額\n総務費 | 3,210,000千円"), summary
    assert "\n補助金名 | 金額\n住宅耐震改修補助金 |" in summary
    assert summary.count("款 | 予算額") == 1


def test_a_statute_is_summarized_without_items_torn_from_their_list(run) -> None:
    rule = EGOV / "419M60400000005_20201228_502M60400000013.xml"
    result = run("summarize", str(rule), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    summary = result.stdout.split("\n\n")[1]
    assert summary.startswith("感染症の予防及び感染症の患者に対する医療に関する法律")
    # 「…とは、次に掲げるものをいう。」 without its items, or an item without its list.
    assert "次に掲げる" not in summary, summary
    assert not re.search(r"(^|。)[一二三四五六七八九十]+　", summary), summary


def test_a_statute_file_is_summarized_from_its_main_provision_as_of_its_version(run) -> None:
    order = EGOV / "346CO0000000264_20230607_505CO0000000202.xml"
    result = run("summarize", str(order), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    # The version the file holds (its 施行日), linked to that version on e-Gov.
    header = "「特定工場における公害防止組織の整備に関する法律施行令（2023-06-07 施行）」の要約です"
    assert result.stdout.startswith(header), result.stdout
    # Its date says what it is (the 政令's 公布日), in the header as in the citation; the link
    # ends the citation's line, where nothing after it is taken into it.
    url = "https://laws.e-gov.go.jp/law/346CO0000000264/20230607_505CO0000000202"
    assert result.stdout.startswith(f"{header}（1971-08-11 公布）。\n"), result.stdout
    assert f"施行令（1971-08-11 公布・2023-06-07 施行） {url}\n" in result.stdout
    # Not the 附則 of each amendment: 「この政令は、平成四年八月十日から施行する。」…
    summary = result.stdout.split("\n\n")[1]
    assert "から施行する" not in summary, summary
    assert "公害防止管理者" in summary


def test_an_answer_from_a_statute_file_says_its_promulgation_and_its_version(run) -> None:
    order = EGOV / "346CO0000000264_20230607_505CO0000000202.xml"
    ingest = (
        "ingest",
        str(order),
        "--dataset",
        "公害法令",
        "--org",
        "テスト市",
        "--category",
        "法令",
    )
    assert run("org", "create", "テスト市").exit_code == 0
    assert run(*ingest, BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    result = run("ask", "公害防止管理者は誰から選任しますか", "--org", "テスト市")
    assert result.exit_code == 0, result.output
    # The 公布日, and which version it is, as a summary's 「（2023-06-07 施行）」 says.
    assert "1971-08-11 公布・2023-06-07 施行）" in result.stdout, result.stdout


def test_an_answer_from_versions_of_a_statute_quotes_and_cites_the_one_in_force(run) -> None:
    versions = sorted(str(path) for path in EGOV.glob("330AC1000000186_*.xml"))
    ingest = ("ingest", *versions, "--dataset", "国の法令", "--org", "横浜市", "--category", "法令")
    assert run("org", "create", "横浜市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    assert run(*ingest, BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    result = run("ask", "原子力基本法の目的は何ですか", "--org", "横浜市", BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    # 2015-08-01, 2023-06-07 and 2025-06-06: the last is in force, and the citation says so.
    url = "https://laws.e-gov.go.jp/law/330AC1000000186/20250606_505AC0000000044"
    cited = f"[1] 原子力基本法（第一条・国の法令・横浜市・1955-12-19 公布・2025-06-06 施行） {url}"
    assert cited in result.stdout, result.stdout
    assert "地球温暖化の防止" in result.stdout  # the purpose as amended in 2023
    assert "/20150801_" not in result.stdout and "/20230607_" not in result.stdout


def test_a_plans_table_of_contents_is_not_its_summary(run, tmp_path: Path) -> None:
    contents = [
        "目次",
        "第1章 みどり市の現状と将来の人口見通しについて ・・・・・・・・・ 3",
        "第2章 子育て支援と教育環境の充実に向けた基本的な考え方 ・・・・・ 4",
    ]
    plan = tmp_path / "総合計画.pdf"
    plan.write_bytes(
        japanese_pdf(
            [
                contents,
                ["第1章", "本計画は、人口の見通しを踏まえ、子育て支援を重点施策とします。"],
                ["第2章", "保育所の待機児童を令和10年度までにゼロとします。"],
            ]
        )
    )
    result = run("summarize", str(plan), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    summary = result.stdout.split("\n\n")[1]
    assert summary.startswith("本計画は、人口の見通しを踏まえ"), summary
    assert "・・・" not in summary and "待機児童を令和10年度までにゼロ" in summary


def test_a_renamed_statute_file_is_dated_by_its_promulgation_not_as_published(
    run, tmp_path: Path
) -> None:
    # Saved under a name of one's own, an older e-Gov file (no LawId in it) no longer names its
    # law id; it is a statute all the same, dated by its promulgation (公布), not a 公表日.
    renamed = tmp_path / "原子力基本法.xml"
    renamed.write_bytes((EGOV / "330AC1000000186_20150801_000000000000000.xml").read_bytes())
    summary = run("summarize", str(renamed), BAIBAIN_SAMPLE_DATA="0")
    assert summary.exit_code == 0, summary.output
    assert "（1955-12-19 公布）。" in summary.stdout, summary.stdout
    assert "[1] 原子力基本法（1955-12-19 公布・2015-08-01 施行）" in summary.stdout
    assert "公表" not in summary.stdout
    ingest = ("ingest", str(renamed), "--dataset", "国の法令", "--org", "横浜市")
    assert run("org", "create", "横浜市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    assert run(*ingest, "--category", "法令", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    answer = run("ask", "原子力基本法の目的は", "--org", "横浜市", BAIBAIN_SAMPLE_DATA="0")
    assert "・1955-12-19 公布・2015-08-01 施行）" in answer.stdout, answer.stdout


def test_a_notice_is_dated_by_the_wareki_day_under_its_title(run, tmp_path: Path) -> None:
    notice = tmp_path / "防災訓練.md"
    notice.write_text(
        "# 令和8年度 防災訓練実施要領\n\n令和８年５月１日　危機管理課\n\n"
        "大規模地震を想定し、避難所の開設手順を確認します。\n",
        "utf-8",
    )
    result = run("summarize", str(notice), BAIBAIN_SAMPLE_DATA="0")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "「令和8年度 防災訓練実施要領」の要約です（2026-05-01 公表）。"
    ), result.stdout
    ingest = ("ingest", str(notice), "--dataset", "危機管理", "--org", "みどり市")
    assert run("org", "create", "みどり市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    assert run(*ingest, "--category", "計画", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    answer = run("ask", "避難所の開設手順", "--org", "みどり市", "--json", BAIBAIN_SAMPLE_DATA="0")
    [citation] = json.loads(answer.stdout)["citations"]
    assert citation["published"] == "2026-05-01", citation


def test_a_name_too_long_to_be_a_path_is_looked_up_not_a_traceback(run) -> None:
    # Asking the file system whether 3,000 characters name a file raised 「File name too
    # long」: a traceback instead of the limit of a document's name.
    long_name = "住民基本台帳法" * 400
    summarized = run("summarize", long_name)
    assert summarized.exit_code == 2 and "Traceback" not in summarized.output
    assert "500 文字以内" in summarized.output
    ingested = run("ingest", f"{long_name}.txt", "--dataset", "例規", "--org", "テスト市")
    assert ingested.exit_code == 2
    assert f"{long_name}.txt が見つかりません。パスを確認してください。" in ingested.output
    assert "BAIBAIN_DATA_DIR" not in ingested.output
