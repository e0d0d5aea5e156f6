"""Mistakes an administrator makes on the first day, as the ``baibain`` command line answers
them (real database and index in a private data dir)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

from admin.db import create_db_engine


def test_a_mistyped_organization_names_the_one_meant_instead_of_offering_a_second(run) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    for command in (
        ("quota", "set", "横浜", "500000"),
        ("audit", "export", "--org", "横浜"),
        ("apikey", "create", "--org", "横浜"),
    ):
        result = run(*command)
        assert result.exit_code == 2, result.output
        assert "組織「横浜」が見つかりません（似た名前の組織: 「横浜市」）。" in result.stderr
    unrelated = run("quota", "show", "札幌市")
    assert unrelated.exit_code == 2
    assert "登録済みの組織は `baibain org list` で確認できます。" in unrelated.stderr
    assert "`baibain org create 札幌市`" in unrelated.stderr


def test_an_unknown_organization_in_an_empty_database_points_at_the_database_url(run) -> None:
    # BAIBAIN_DATABASE_URL forgotten: the command opens an empty SQLite file in the data dir.
    result = run("quota", "show", "横浜市")
    assert result.exit_code == 2
    assert "このデータベースにはまだ組織がありません。" in result.stderr
    assert "BAIBAIN_DATABASE_URL" in result.stderr


def test_quota_set_takes_the_budget_as_written_with_separators_and_confirms_it(run) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    for typed in ("500,000", "５００，０００"):  # as written in a memo, or with the IME on
        result = run("quota", "set", "横浜市", typed)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith(
            "組織「横浜市」の月間トークン上限を 500,000 トークンに変更しました。"
        )
        assert "上限: 500,000 トークン" in result.stdout
    refused = run("quota", "set", "横浜市", "50万")
    assert refused.exit_code == 2
    assert "トークン数「50万」は使えません。" in refused.stderr
    assert "例: 500000 または 500,000" in refused.stderr
    assert "上限: 500,000 トークン" in run("quota", "show", "横浜市").stdout  # unchanged


def test_a_document_just_ingested_for_an_organization_is_summarized_with_org(
    run, tmp_path: Path
) -> None:
    folder = tmp_path / "reiki"
    folder.mkdir()
    (folder / "窓口案内.txt").write_bytes(
        "窓口の受付時間\n\n市民課の窓口は、平日の午前8時45分から受け付けます。\n".encode(
            "shift_jis"
        )
    )
    assert run("org", "create", "横浜市").exit_code == 0
    ingest = ("ingest", str(folder), "--dataset", "例規集", "--org", "横浜市")
    assert run(*ingest, "--category", "条例・規則・例規").exit_code == 0
    without = run("summarize", "窓口の受付時間")
    assert without.exit_code == 2
    assert "組織内のみのデータセットの文書は、--org に組織名を付けて指定してください。" in (
        without.stderr
    )
    summary = run("summarize", "窓口の受付時間", "--org", "横浜市")
    assert summary.exit_code == 0, summary.output
    assert summary.stdout.startswith("「窓口の受付時間」の要約です。")
    assert "平日の午前8時45分から" in summary.stdout


def test_an_audit_export_says_how_many_records_it_wrote_also_when_none(run) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    # The README's example range lies before anything was recorded: an empty file, said so.
    old = run(
        "audit", "export", "--org", "横浜市", "--since", "令和8年4月1日", "--until", "2026-04-30"
    )
    assert old.exit_code == 0, old.output
    assert old.stdout == ""
    assert "組織「横浜市」の監査ログを 0 件書き出しました。" in old.stderr
    recent = run("audit", "export", "--org", "横浜市")
    assert recent.exit_code == 0
    written = len(recent.stdout.splitlines())
    assert written >= 1 and f"監査ログを {written} 件書き出しました。" in recent.stderr


def test_a_database_baibain_never_set_up_is_left_as_it_is_by_other_commands(
    run, database_url: str
) -> None:
    # BAIBAIN_DATABASE_URL naming another database (PostgreSQL's own 「postgres」, say): a
    # listing created Baibain's twenty-odd tables in it.
    for command in (
        ("org", "list"),
        ("quota", "show", "横浜市"),
        ("audit", "verify"),
        ("apikey", "create", "--org", "横浜市"),
    ):
        result = run(*command, BAIBAIN_DATABASE_URL=database_url)
        assert result.exit_code == 2, (command, result.output)
        assert "初期化されていないため、何も作成していません" in result.stderr
        assert "BAIBAIN_DATABASE_URL" in result.stderr and "baibain org create" in result.stderr
    engine = create_db_engine(database_url)
    try:
        assert inspect(engine).get_table_names() == []
    finally:
        engine.dispose()
    # The first organization sets it up; then the rest works on it.
    assert run("org", "create", "横浜市", BAIBAIN_DATABASE_URL=database_url).exit_code == 0
    shown = run("quota", "show", "横浜市", BAIBAIN_DATABASE_URL=database_url)
    assert shown.exit_code == 0 and "横浜市のトークン上限と使用量" in shown.stdout
