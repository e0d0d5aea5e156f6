"""``baibain org create --operator``, ``org link`` and ``org add-admin``."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from admin import links
from admin.db import create_db_engine
from bot.cli import app


def test_org_link_add_admin_and_operator(tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"BAIBAIN_DATA_DIR": str(tmp_path)}

    def run(*args: str):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), env=env)

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
