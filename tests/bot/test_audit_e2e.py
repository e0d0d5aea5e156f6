"""Every turn is audited: encrypted at rest, verifiable, exportable, readable after rotation."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support import org_with_key
from typer.testing import CliRunner

from admin.db import create_db_engine
from bot.app import create_app
from bot.cli import app as cli

QUESTION = "住民監査請求をすることができるのは誰ですか（ＱＸＪ）"
MARKER = QUESTION


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def invoke(runner: CliRunner, *args, **kwargs):  # type: ignore[no-untyped-def]
    """Run the CLI off the event loop (it starts its own)."""
    return await asyncio.to_thread(runner.invoke, *args, **kwargs)


def _files_containing(root: Path, needle: str) -> list[Path]:
    raw = needle.encode("utf-8")
    return [p for p in root.rglob("*") if p.is_file() and raw in p.read_bytes()]


@pytest.fixture
def org_key(data_dir: Path) -> str:
    return org_with_key(data_dir, "監査市")


async def test_turns_are_encrypted_verifiable_and_exportable(
    aiohttp_client, make_settings, data_dir: Path, org_key: str, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    old_key, new_key = _key(), _key()
    settings = make_settings(host="0.0.0.0", audit_key=old_key)
    client = await aiohttp_client(create_app(settings))
    response = await client.post(
        "/api/v1/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {org_key}"}
    )
    assert response.status == 200
    bad = await client.post(
        "/api/v1/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer bb_x_y"}
    )
    assert bad.status == 401
    await client.close()

    env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": old_key}
    runner = CliRunner()
    assert (await invoke(runner, cli, ["ask", QUESTION, "--org", "監査市"], env=env)).exit_code == 0

    # Nothing in the data dir (database, WAL, index) nor in the logs holds the question.
    assert _files_containing(data_dir, MARKER) == []
    assert MARKER not in caplog.text

    verified = await invoke(runner, cli, ["audit", "verify"], env=env)
    assert verified.exit_code == 0, verified.output

    # Rotation: the new key first, the old one still listed; old records stay readable.
    rotated = {**env, "BAIBAIN_AUDIT_KEY": f"{new_key},{old_key}"}
    assert (
        await invoke(runner, cli, ["ask", QUESTION, "--org", "監査市"], env=rotated)
    ).exit_code == 0
    assert (await invoke(runner, cli, ["audit", "verify"], env=rotated)).exit_code == 0
    exported = await invoke(runner, cli, ["audit", "export", "--org", "監査市"], env=rotated)
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    turns = [r for r in rows if r["kind"] == "turn"]
    assert [r["platform"] for r in turns] == ["api", "cli", "cli"]
    assert all(r["payload"]["question"] == QUESTION for r in turns)
    assert turns[0]["payload"]["citations"]
    # The export itself is audited.
    again = await invoke(runner, cli, ["audit", "export", "--org", "監査市"], env=rotated)
    rows = [json.loads(line) for line in again.stdout.splitlines()]
    exports = [r for r in rows if r["payload"].get("action") == "audit.export"]
    # Named like every other command-line action: cli:<OS account>.
    assert exports and all(r["user_id"].startswith("cli:") for r in exports)


def test_verify_names_a_tampered_record(data_dir: Path, org_key: str) -> None:
    env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": _key()}
    runner = CliRunner()
    for _ in range(3):
        assert runner.invoke(cli, ["ask", QUESTION, "--org", "監査市"], env=env).exit_code == 0
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE audit_record SET output_tokens = 7 WHERE seq = 2")
    engine.dispose()
    result = runner.invoke(cli, ["audit", "verify"], env=env)
    assert result.exit_code == 1
    assert "#2" in result.output
    # An export reaching that record stops there, and says what it wrote is not the whole.
    exported = runner.invoke(cli, ["audit", "export", "--org", "監査市"], env=env)
    assert exported.exit_code == 1
    assert "件目のあとで中断しました。書き出された内容は不完全です。" in exported.stderr


def test_a_wrong_audit_key_stops_commands_before_they_change_anything(data_dir: Path) -> None:
    key, other = _key(), _key()
    runner = CliRunner()

    def run(audit_key: str, *args: str):  # type: ignore[no-untyped-def]
        env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": audit_key}
        return runner.invoke(cli, list(args), env=env)

    assert run(key, "org", "create", "横浜市").exit_code == 0
    # Another valid key, as when the checklist's key line is run again in a new shell.
    refused = run(other, "org", "create", "神戸市")
    assert refused.exit_code == 1
    assert (
        "BAIBAIN_AUDIT_KEY にない鍵" in refused.output and "何も変更していません" in refused.output
    )
    assert run(other, "ask", QUESTION, "--org", "横浜市").exit_code == 1
    listed = run(key, "org", "list")
    assert "横浜市" in listed.output and "神戸市" not in listed.output
    assert run(key, "audit", "verify").exit_code == 0
    # Verified with the other key, the log is not called tampered with: the key is.
    mistaken = run(other, "audit", "verify")
    assert mistaken.exit_code == 1 and "鍵を取り違えていないか" in mistaken.output
    # Unset, a key file is generated to stand in for it: refused too, and the file removed,
    # so that the right key later finds no stray key beside it.
    unset = runner.invoke(cli, ["org", "create", "神戸市"], env={"BAIBAIN_DATA_DIR": str(data_dir)})
    assert unset.exit_code == 1 and "BAIBAIN_AUDIT_KEY が設定されていないため" in unset.output
    assert not (data_dir / "audit.key").exists()
    # A rotation lists the new key first and keeps the old one: that is not refused.
    assert run(f"{other},{key}", "org", "create", "神戸市").exit_code == 0
    assert run(f"{other},{key}", "audit", "verify").exit_code == 0


def test_moving_from_the_generated_key_file_to_the_variable_is_told_how(data_dir: Path) -> None:
    runner = CliRunner()
    local = {"BAIBAIN_DATA_DIR": str(data_dir)}
    assert runner.invoke(cli, ["org", "create", "横浜市"], env=local).exit_code == 0  # make run
    new = _key()
    # The first day: a new key in the variable, the demo's key file left out of it.
    refused = runner.invoke(
        cli, ["org", "create", "神戸市"], env={**local, "BAIBAIN_AUDIT_KEY": new}
    )
    assert refused.exit_code == 1
    key_file = data_dir / "audit.key"
    assert f"データディレクトリの鍵ファイル {key_file} の鍵で暗号化されています" in refused.output
    assert "その鍵ファイルの中身をカンマ区切りで後ろに" in refused.output
    both = {**local, "BAIBAIN_AUDIT_KEY": f"{new},{key_file.read_text().strip()}"}
    assert runner.invoke(cli, ["org", "create", "神戸市"], env=both).exit_code == 0
    assert runner.invoke(cli, ["audit", "verify"], env=both).exit_code == 0


def test_verify_without_the_audit_key_says_it_is_unset_and_leaves_no_key_file(
    data_dir: Path, caplog
) -> None:
    key = _key()
    runner = CliRunner()
    env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": key}
    assert runner.invoke(cli, ["org", "create", "横浜市"], env=env).exit_code == 0
    unset = runner.invoke(cli, ["audit", "verify"], env={"BAIBAIN_DATA_DIR": str(data_dir)})
    assert unset.exit_code == 1
    assert "BAIBAIN_AUDIT_KEY が設定されていないため" in unset.output
    assert "検証に失敗しました" not in unset.output
    # No stray key file: the right key later is not told to add it to BAIBAIN_AUDIT_KEY.
    assert not (data_dir / "audit.key").exists()
    caplog.clear()
    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 0
    assert "audit.key" not in caplog.text


def test_verify_gives_a_receipt_that_a_later_verify_checks(data_dir: Path) -> None:
    runner = CliRunner()
    env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": _key()}
    assert runner.invoke(cli, ["org", "create", "横浜市"], env=env).exit_code == 0
    first = runner.invoke(cli, ["audit", "verify"], env=env)
    assert first.exit_code == 0 and "控え: " in first.output
    receipt = first.output.split("控え: ", 1)[1].split("（", 1)[0]
    assert runner.invoke(cli, ["org", "create", "神戸市"], env=env).exit_code == 0
    later = runner.invoke(cli, ["audit", "verify", "--receipt", receipt], env=env)
    assert later.exit_code == 0, later.output
    assert "指定された控えの記録も残っています（削除や巻き戻しはありません）。" in later.stdout
    typo = runner.invoke(cli, ["audit", "verify", "--receipt", "12"], env=env)
    assert typo.exit_code == 2 and "前回の検証で表示された控え" in typo.output
    too_far = runner.invoke(cli, ["audit", "verify", "--receipt", "999-0123456789abcdef"], env=env)
    assert too_far.exit_code == 1 and "控えのレコード 999 がありません" in too_far.output


ENTRY = [sys.executable, "-c", "from bot.entry import main; main()"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_export_onto_a_full_disk_says_it_is_incomplete(data_dir: Path) -> None:
    env = {**os.environ, "BAIBAIN_DATA_DIR": str(data_dir)}
    env.pop("BAIBAIN_DATABASE_URL", None)
    assert CliRunner().invoke(cli, ["org", "create", "横浜市"], env=env).exit_code == 0
    # Written onto a disk with no space left, the export ended in a traceback.
    with open("/dev/full", "w") as full:
        exported = subprocess.run(
            [*ENTRY, "audit", "export", "--org", "横浜市"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    assert exported.returncode == 1
    assert "Traceback" not in exported.stderr
    assert "書き出された内容は不完全です。書き出し先の空き容量を確認してください" in exported.stderr


async def test_the_summary_of_several_files_is_recorded_as_shown(
    aiohttp_client, make_settings, data_dir: Path, org_key: str
) -> None:
    audit_key = _key()
    client = await aiohttp_client(create_app(make_settings(host="0.0.0.0", audit_key=audit_key)))
    files = [
        {"filename": name, "content": base64.b64encode(text.encode()).decode()}
        for name, text in (
            ("窓口案内.txt", "窓口は午前8時30分に開きます。"),
            ("休日.txt", "土日は休み"),
        )
    ]
    response = await client.post(
        "/invoke",
        json={"inputs": {"files": [{"key": "doc", "files": files}]}},
        headers={"x-api-key": org_key},
    )
    shown = (await response.json())["outputs"]
    assert "最初の「窓口案内.txt」だけを要約しました" in shown
    await client.close()

    env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": audit_key}
    exported = await invoke(CliRunner(), cli, ["audit", "export", "--org", "監査市"], env=env)
    [turn] = [json.loads(line) for line in exported.stdout.splitlines() if '"turn"' in line]
    # The audit log holds the answer the asker saw, the note on the files left out included.
    assert turn["payload"]["answer"].startswith("添付ファイルが 2 件あったため、"), turn


async def test_asking_back_which_source_to_summarize_is_recorded_as_shown(
    aiohttp_client, make_settings, data_dir: Path, org_key: str
) -> None:
    audit_key = _key()
    client = await aiohttp_client(create_app(make_settings(host="0.0.0.0", audit_key=audit_key)))
    headers = {"Authorization": f"Bearer {org_key}"}

    async def ask(question: str, thread: str | None = None) -> dict:  # type: ignore[type-arg]
        body = {"question": question, **({"thread": thread} if thread else {})}
        response = await client.post("/api/v1/ask", json=body, headers=headers)
        assert response.status == 200
        return await response.json()

    cited = await ask("住民監査請求は誰ができますか", "t-1")
    assert len(cited["citations"]) >= 2
    missing = await ask("[9]を要約して", "t-1")
    assert "前の回答に出典[9]はありません" in missing["answer"]
    # Asked back, the thread still chooses among the sources of the answer before.
    second = await ask("[2]を要約して", "t-1")
    assert second["answer"].startswith(f"「{cited['citations'][1]['title']}」の要約です")
    nothing = await ask("この条文を要約して")
    assert nothing["answer"].startswith("要約する資料が分かりませんでした。")
    await client.close()

    env = {"BAIBAIN_DATA_DIR": str(data_dir), "BAIBAIN_AUDIT_KEY": audit_key}
    exported = await invoke(CliRunner(), cli, ["audit", "export", "--org", "監査市"], env=env)
    turns = [json.loads(line) for line in exported.stdout.splitlines() if '"turn"' in line]
    recorded = {t["payload"]["question"]: t for t in turns}
    # Each reply asking which document is meant is in the audit log as the asker saw it.
    for question, shown in (("[9]を要約して", missing), ("この条文を要約して", nothing)):
        assert recorded[question]["payload"]["answer"] == shown["answer"], question
        assert recorded[question]["outcome"] == "unclear" == shown["outcome"]
        assert recorded[question]["payload"]["turn_id"] == shown["turn_id"] != ""
    assert len(turns) == 4
