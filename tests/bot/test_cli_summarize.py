"""``baibain summarize`` given a path that names no file."""

from __future__ import annotations

import json
from pathlib import Path


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
