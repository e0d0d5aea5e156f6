"""``baibain dataset list`` lists what the organization's questions are answered from."""

from __future__ import annotations

import json
from pathlib import Path

from support import SCANNED_PAGE, columns_pdf, japanese_document_pdf, japanese_pdf

from admin import orgs
from admin.datasets import DatasetService
from admin.db import create_db_engine

SAMPLE = "・サンプル法令データ（e-Gov法令検索（デジタル庁）の法令、同梱）"


def test_dataset_list_names_the_bundled_statutes_when_the_index_holds_them(
    run, tmp_path: Path
) -> None:
    assert run("org", "create", "テスト市").exit_code == 0
    listed = run("dataset", "list", "--org", "テスト市")
    assert listed.exit_code == 0, listed.output
    assert SAMPLE in listed.output and "まだありません" not in listed.output
    # Without the sample (BAIBAIN_SAMPLE_DATA=0 on a new data dir) there is nothing to list.
    bare = {"BAIBAIN_DATA_DIR": str(tmp_path / "bare"), "BAIBAIN_SAMPLE_DATA": "0"}
    assert run("org", "create", "テスト市", **bare).exit_code == 0
    empty = run("dataset", "list", "--org", "テスト市", **bare)
    assert empty.exit_code == 0, empty.output
    assert "組織「テスト市」が利用できるデータセットはまだありません。" in empty.output
    assert SAMPLE not in empty.output


def test_a_folder_of_formats_not_read_names_them(run, tmp_path: Path) -> None:
    folder = tmp_path / "古い資料"
    folder.mkdir()
    (folder / "議事録.doc").write_bytes(b"\xd0\xcf\x11\xe0old word")
    (folder / "庁舎.png").write_bytes(b"\x89PNG\r\n")
    assert run("org", "create", "テスト市").exit_code == 0
    args = ("--dataset", "資料", "--org", "テスト市", "--category", "計画")
    refused = run("ingest", str(folder), *args)
    assert refused.exit_code == 2
    assert "取り込めるファイルが見つかりませんでした。" in refused.output
    assert "取り込まなかったファイル: 古い資料/庁舎.png、古い資料/議事録.doc" in refused.output
    assert ".doc 形式は .docx 形式で保存し直すと読み込めます。" in refused.output


def test_ingest_names_the_scanned_pages_of_a_pdf_above_its_count(run, tmp_path: Path) -> None:
    folder = tmp_path / "予算"
    folder.mkdir()
    budget = [SCANNED_PAGE, ["令和8年度テスト市予算書", "歳入の総額は512億円です。"]]
    (folder / "予算書.pdf").write_bytes(japanese_pdf(budget))
    (folder / "概要.pdf").write_bytes(japanese_pdf([["予算の概要", "歳出の総額も512億円です。"]]))
    assert run("org", "create", "テスト市").exit_code == 0
    args = ("--dataset", "予算", "--org", "テスト市", "--category", "予算・決算")
    done = run("ingest", str(folder), *args)
    assert done.exit_code == 0, done.output
    assert done.stdout.endswith(
        "「予算/予算書.pdf」の 1ページは文字を読み取れませんでした。"
        "スキャンした画像のページは検索できません（OCR には対応していません）。\n"
        "2 件の文書を取り込みました（変更なし 0 件）。\n"
    )
    assert "概要.pdf" not in done.stdout


def test_a_folder_ingested_again_drops_the_files_it_no_longer_holds(run, tmp_path: Path) -> None:
    folder = tmp_path / "reiki"
    folder.mkdir()
    (folder / "手数料条例.txt").write_text(
        "手数料条例\n第1条 住民票の写しの交付手数料は300円とする。\n"
    )
    (folder / "廃止予定規則.txt").write_text(
        "廃止予定規則\n第1条 公用車の使用は届け出るものとする。\n"
    )
    alone = tmp_path / "要綱.txt"
    alone.write_text("補助金交付要綱\n第1条 補助金の交付は予算の範囲内とする。\n")
    assert run("org", "create", "テスト市").exit_code == 0
    args = ("--dataset", "例規集", "--org", "テスト市", "--category", "条例・規則・例規")
    first = run("ingest", str(folder), str(alone), *args)
    assert first.exit_code == 0, first.output
    assert "3 件の文書を取り込みました（変更なし 0 件）。" in first.output

    (folder / "廃止予定規則.txt").unlink()  # repealed
    again = run("ingest", str(folder), *args)
    assert again.exit_code == 0, again.output
    assert (
        "0 件の文書を取り込みました（変更なし 1 件、フォルダにない 1 件を削除）。" in again.output
    )
    listed = run("dataset", "list", "--org", "テスト市")
    dataset_id = listed.output.split("[", 1)[1].split("]", 1)[0]
    shown = run("dataset", "show", dataset_id, "--org", "テスト市")
    assert "・手数料条例（" in shown.output
    assert (
        "・補助金交付要綱（" in shown.output
    )  # a file named alone stays (titled by its first line)
    assert "廃止予定規則" not in shown.output
    found = run("search", "公用車の使用", "--org", "テスト市", "--json")
    assert "廃止予定規則" not in found.output


def test_ingest_into_a_new_dataset_of_the_sample_s_name_is_refused(run, tmp_path: Path) -> None:
    rule = tmp_path / "規則.txt"
    rule.write_text("テスト市規則\n第1条 この規則は試験用とする。\n", "utf-8")
    assert run("org", "create", "テスト市").exit_code == 0
    args = ("--org", "テスト市", "--category", "法令", "--shareable")
    refused = run("ingest", str(rule), "--dataset", "サンプル法令データ", *args)
    assert refused.exit_code == 2, refused.output
    assert "「サンプル法令データ」は Baibain に同梱されているデータセットの名前" in refused.output
    assert "別の名前を指定してください" in refused.output
    listed = run("dataset", "list", "--org", "テスト市").output
    assert listed.count("サンプル法令データ") == 1 and SAMPLE in listed
    assert '"dataset.create"' not in run("audit", "export", "--org", "テスト市").output


def test_ingest_into_a_dataset_of_the_sample_s_name_made_before_keeps_working(
    run, data_dir: Path, tmp_path: Path
) -> None:
    rule = tmp_path / "規則.txt"
    rule.write_text("テスト市規則\n第1条 この規則は試験用とする。\n", "utf-8")
    assert run("org", "create", "テスト市").exit_code == 0
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    try:  # as a release that did not reserve the name created it
        org_id = orgs.get_org(engine, "テスト市").id
        DatasetService(engine).create(org_id, "サンプル法令データ", "条例・規則・例規")
    finally:
        engine.dispose()
    added = run("ingest", str(rule), "--dataset", "サンプル法令データ", "--org", "テスト市")
    assert added.exit_code == 0, added.output
    assert "1 件の文書を取り込みました" in added.output
    assert "サンプル法令データ（条例・規則・例規・組織内のみ・1件）" in (
        run("dataset", "list", "--org", "テスト市").output
    )


def test_a_question_on_a_row_of_a_pdf_table_is_answered_with_that_row(run, tmp_path: Path) -> None:
    schedule = [
        ["地区", "収集日", "品目"],
        ["東町", "月曜日・木曜日", "燃やすごみ"],
        ["西町", "火曜日・金曜日", "燃やすごみ"],
        ["南町", "水曜日", "資源ごみ（びん・缶）"],
    ]
    notice = tmp_path / "ごみ収集日程.pdf"
    notice.write_bytes(
        japanese_document_pdf(
            ["令和7年度 ごみ収集日程表", "収集日の朝8時30分までに出してください。", schedule]
        )
    )
    assert run("org", "create", "テスト市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    ingest = ("ingest", str(notice), "--dataset", "環境", "--org", "テスト市", "--category", "計画")
    assert run(*ingest, BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    asked = run(
        "ask",
        "西町の燃やすごみは何曜日ですか",
        "--org",
        "テスト市",
        "--json",
        BAIBAIN_SAMPLE_DATA="0",
    )
    answer = json.loads(asked.stdout)
    # The row, read with its column names, not the cells of the whole table one by one.
    assert "地区: 西町、収集日: 火曜日・金曜日、品目: 燃やすごみ" in answer["answer"], answer
    assert answer["citations"][0]["position"] == "1ページ 表1 1〜3行"


def test_a_question_on_a_row_of_a_table_without_rules_is_answered_with_its_columns(
    run, tmp_path: Path
) -> None:
    budget: list[str | list[str]] = [
        "令和7年度 一般会計歳出予算（款別）",
        "単位：千円",
        ["款", "本年度", "前年度", "比較"],
        ["議会費", "312,000", "305,500", "6,500"],
        ["総務費", "5,820,000", "6,010,000", "△190,000"],
        ["民生費", "21,400,000", "20,950,000", "450,000"],
        ["衛生費", "4,150,000", "4,080,000", "70,000"],
    ]
    book = tmp_path / "予算書.pdf"  # amounts set to the right in columns, no rules drawn
    book.write_bytes(columns_pdf(budget, [72, 260, 380, 500], right_aligned={1, 2, 3}))
    assert run("org", "create", "テスト市", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    ingest = ("ingest", str(book), "--dataset", "予算", "--org", "テスト市")
    assert run(*ingest, "--category", "予算・決算", BAIBAIN_SAMPLE_DATA="0").exit_code == 0
    asked = run(
        "ask",
        "民生費の前年度の予算額はいくらですか",
        "--org",
        "テスト市",
        "--json",
        BAIBAIN_SAMPLE_DATA="0",
    )
    answer = json.loads(asked.stdout)
    # The row read with its columns: which amount is last year's is plain.
    row = "款: 民生費、本年度: 21,400,000、前年度: 20,950,000、比較: 450,000"
    assert row in answer["answer"], answer
    assert answer["citations"][0]["position"] == "1ページ 表1 1〜4行"


def test_dataset_list_and_show_tell_the_owner_that_a_refresh_fails(
    run, data_dir: Path, tmp_path: Path
) -> None:
    rule = tmp_path / "施設.txt"
    rule.write_text("テスト市施設規則\n市民体育館の休館日は毎週月曜日とする。\n", "utf-8")
    assert run("org", "create", "テスト市").exit_code == 0
    url = ("--category", "条例・規則・例規", "--source-url", "https://example.jp/shisetsu.txt")
    added = run("ingest", str(rule), "--dataset", "施設", "--org", "テスト市", *url)
    assert added.exit_code == 0, added.output
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    try:  # as the worker records a refresh the source's server did not answer
        datasets = DatasetService(engine)
        dataset = datasets.by_name(orgs.get_org(engine, "テスト市").id, "施設")
        assert dataset is not None
        datasets.refresh_failed(dataset.id, "source_unreachable")
    finally:
        engine.dispose()
    note = "自動更新に失敗しています（取得元のサーバーに接続できませんでした）。"
    listed = run("dataset", "list", "--org", "テスト市").output
    assert "施設（条例・規則・例規・組織内のみ・1件）\n  ※" in listed and note in listed
    shown = run("dataset", "show", str(dataset.id), "--org", "テスト市").output
    assert shown.count(note) == 1
