"""``baibain worker --once JOB``: one job run now by an operator, as the worker would run it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from admin.db import create_db_engine
from admin.joblocks import claim_run
from admin.quotas import previous_period


def test_a_job_run_once_does_its_work_and_says_so(run, data_dir: Path) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    result = run("worker", "--once", "usage-report")
    assert result.exit_code == 0, result.output
    assert "ジョブ usage-report を実行しました。" in result.stdout
    last_month = previous_period(datetime.now(UTC))
    assert [p.name for p in (data_dir / "reports").iterdir()] == [f"usage-{last_month}-org1.csv"]


def test_a_mistyped_job_is_named_with_the_likely_one_and_nothing_runs(run, data_dir: Path) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    result = run("worker", "--once", "usage-reprot")
    assert result.exit_code == 2
    assert "ジョブ「usage-reprot」はありません。「usage-report」のことですか？" in result.output
    assert not (data_dir / "reports").exists()


def test_a_job_running_on_a_worker_is_not_started_twice(run, data_dir: Path) -> None:
    assert run("org", "create", "横浜市").exit_code == 0  # creates the database
    engine = create_db_engine(f"sqlite:///{data_dir / 'baibain.sqlite3'}")
    assert claim_run(engine, "usage-report", "2026-12-07T04:00:00+00:00", "host:1:worker")
    result = run("worker", "--once", "usage-report")
    assert result.exit_code == 1
    assert "ほかのワーカーで実行中のため、実行しませんでした" in result.output
    assert not (data_dir / "reports").exists()


def test_a_job_that_fails_exits_non_zero(run, data_dir: Path) -> None:
    assert run("org", "create", "横浜市").exit_code == 0
    (data_dir / "reports").write_text("a file where the reports folder belongs", "utf-8")
    result = run("worker", "--once", "usage-report")
    assert result.exit_code == 1
    assert "ジョブ usage-report は失敗しました" in result.output
