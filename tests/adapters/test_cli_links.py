"""``baibain org create --operator``, ``org link`` / ``unlink``, ``org add-admin`` /
``remove-admin``, ``org list`` and ``apikey list``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admin import links
from admin.db import create_db_engine
from bot.cli import app


@pytest.fixture
def run(tmp_path: Path):
    runner = CliRunner()
    env = {"BAIBAIN_DATA_DIR": str(tmp_path)}
    return lambda *args: runner.invoke(app, list(args), env=env)


def test_org_link_add_admin_and_operator(run, tmp_path: Path) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    created = run("org", "create", "運用センター", "--operator")
    assert created.exit_code == 0 and "運用組織として作成しました" in created.output
    promoted = run("org", "create", "横浜市", "--operator")
    assert promoted.exit_code == 0 and "運用組織に設定しました" in promoted.output
    linked = run("org", "link", "横浜市", "slack", "T0123")
    assert linked.exit_code == 0 and "T0123" in linked.output
    assert run("org", "add-admin", "横浜市", "slack", "U0ADMIN").exit_code == 0
    taken = run("org", "link", "運用センター", "slack", "T0123")
    assert taken.exit_code == 2 and "すでに組織「横浜市」に関連付けられています" in taken.output
    wrong = run("org", "link", "横浜市", "line", "X")
    assert wrong.exit_code == 2 and "slack / teams / logo" in wrong.output
    missing = run("org", "add-admin", "名古屋市", "teams", "aad-1")
    assert missing.exit_code == 2 and "見つかりません" in missing.output

    engine = create_db_engine(f"sqlite:///{tmp_path / 'baibain.sqlite3'}")
    try:
        org = links.org_for_workspace(engine, "slack", "T0123")
        assert org is not None and org.name == "横浜市"
        assert links.is_admin(engine, org.id, "slack", "U0ADMIN")
        assert links.is_operator(engine, org.id)
    finally:
        engine.dispose()


def test_unlink_remove_admin_and_list(run, tmp_path: Path) -> None:
    assert "組織はまだありません" in run("org", "list").output
    run("org", "create", "横浜市")
    run("org", "create", "運用センター", "--operator")
    run("org", "link", "横浜市", "slack", "T0123")
    run("org", "link", "横浜市", "teams", "tenant-1")
    run("org", "add-admin", "横浜市", "slack", "U0ADMIN")
    run("apikey", "create", "--org", "横浜市")
    listed = run("org", "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    yokohama = (
        "横浜市 id 1: ワークスペース slack T0123、teams tenant-1 / "
        "管理者 1 人（slack U0ADMIN） / APIキー 1 件"
    )
    operator = "運用センター（運用組織） id 2: ワークスペース なし / 管理者 0 人 / APIキー 0 件"
    assert yokohama in lines and operator in lines

    removed = run("org", "remove-admin", "横浜市", "slack", "U0ADMIN")
    assert removed.exit_code == 0 and "管理者から外しました" in removed.output
    again = run("org", "remove-admin", "横浜市", "slack", "U0ADMIN")
    assert again.exit_code == 2 and "管理者ではありません" in again.output
    unlinked = run("org", "unlink", "横浜市", "slack", "T0123")
    assert unlinked.exit_code == 0 and "関連付けを解除しました" in unlinked.output
    elsewhere = run("org", "unlink", "運用センター", "teams", "tenant-1")
    assert elsewhere.exit_code == 2 and "関連付けられていません" in elsewhere.output

    engine = create_db_engine(f"sqlite:///{tmp_path / 'baibain.sqlite3'}")
    try:
        assert links.org_for_workspace(engine, "slack", "T0123") is None  # refused again
        still = links.org_for_workspace(engine, "teams", "tenant-1")
        assert still is not None and not links.is_admin(engine, still.id, "slack", "U0ADMIN")
    finally:
        engine.dispose()
    exported = run("audit", "export", "--org", "横浜市")
    actions = [line for line in exported.output.splitlines() if "org.unlink" in line]
    assert exported.exit_code == 0 and len(actions) == 1
    # Who was made admin, and who was removed, is in the record.
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    changes = [r["payload"] for r in rows if "admin" in r["payload"].get("action", "")]
    assert [(c["action"], c["details"]) for c in changes] == [
        ("org.add_admin", {"platform": "slack", "user_id": "U0ADMIN"}),
        ("org.remove_admin", {"platform": "slack", "user_id": "U0ADMIN"}),
    ]
    assert "管理者 0 人 /" in run("org", "list").output


def test_apikey_list_shows_ids_and_states_never_secrets(run) -> None:
    run("org", "create", "横浜市")
    assert "APIキーはまだありません" in run("apikey", "list", "--org", "横浜市").output
    first = run("apikey", "create", "--org", "横浜市").output.splitlines()[-1]
    second = run("apikey", "create", "--org", "横浜市").output.splitlines()[-1]
    first_id = first.split("_")[1]
    run("apikey", "revoke", first_id)
    listed = run("apikey", "list", "--org", "横浜市")
    lines = listed.output.splitlines()
    assert listed.exit_code == 0 and len(lines) == 2
    assert lines[0].startswith(first_id) and "無効化 20" in lines[0]
    assert lines[1].startswith(second.split("_")[1]) and lines[1].endswith("有効")
    assert first not in listed.output and second not in listed.output
    assert run("apikey", "list", "--org", "名古屋市").exit_code == 2


def test_apikey_revoke_is_audited_for_its_organization_and_never_echoes_the_secret(run) -> None:
    run("org", "create", "横浜市")
    key = run("apikey", "create", "--org", "横浜市").output.splitlines()[-1]
    key_id, secret = key.split("_")[1], key.split("_", 2)[2]
    # A whole key pasted by mistake revokes that key; its secret is not repeated.
    revoked = run("apikey", "revoke", key)
    assert revoked.exit_code == 0, revoked.output
    assert f"組織「横浜市」のAPIキー {key_id} を無効にしました" in revoked.output
    assert secret not in revoked.output
    again = run("apikey", "revoke", key_id)
    assert again.exit_code == 2 and f"APIキー {key_id} はすでに無効化されています" in again.output
    unknown = run("apikey", "revoke", "bb_0123456789ab_ThisIsNoSecretOfOurs")
    assert unknown.exit_code == 2 and "0123456789ab が見つかりません" in unknown.output
    assert "ThisIsNoSecretOfOurs" not in unknown.output
    pasted_secret = run("apikey", "revoke", secret)  # only the secret part, say
    assert pasted_secret.exit_code == 2 and secret not in pasted_secret.output

    exported = run("audit", "export", "--org", "横浜市")
    rows = [json.loads(line) for line in exported.stdout.splitlines()]
    revokes = [r["payload"] for r in rows if r["payload"].get("action") == "apikey.revoke"]
    assert revokes == [{"action": "apikey.revoke", "details": {"key_id": key_id}}]
    assert secret not in exported.output
