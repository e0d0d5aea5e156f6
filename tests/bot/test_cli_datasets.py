"""``baibain dataset list`` lists what the organization's questions are answered from."""

from __future__ import annotations

from pathlib import Path

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
