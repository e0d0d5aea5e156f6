"""One run at a time per scheduled job, however many workers are running, and every run
finished once.

Each worker computes the same run key for the same scheduled time (the job id plus the time
the run was due). A worker claims a run before starting it and holds it for ``HOLD``, renewed
while the run goes on (``renew_run``); a run that ends is marked finished and never runs again,
one that was cancelled is let go at once (``release_run``), and one whose worker died is let go
when its hold lapses. A run let go is taken up again (``unfinished_runs``). At most one run of
a job is unfinished at a time (a partial unique index), so two workers never run a job at once;
a new run due while an earlier one was let go supersedes it. The rows stay as the job's run
history.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Float,
    Index,
    LargeBinary,
    Table,
    Unicode,
    UniqueConstraint,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from admin.models import utcnow

# How long a claim holds without renewal: a worker killed mid-run (SIGKILL, a lost host)
# leaves its run to the others after this. Renewed every third of it.
HOLD = timedelta(minutes=2)

_UNFINISHED = text("finished_at IS NULL")

# The worker's schedule, APScheduler 3's job store table (``SQLAlchemyJobStore``), made by the
# migrations like every other table: left to the job store, two workers starting together on a
# database no worker had used raced to create it and one of them stopped.
SCHEDULER_JOBS = Table(
    "apscheduler_jobs",
    SQLModel.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)


class JobRun(SQLModel, table=True):
    """A claimed run of a scheduled job."""

    __tablename__ = "job_run"
    __table_args__ = (
        UniqueConstraint("job_id", "run_key"),
        Index(
            "ux_job_run_unfinished",
            "job_id",
            unique=True,
            sqlite_where=_UNFINISHED,
            postgresql_where=_UNFINISHED,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=64)
    run_key: str = Field(max_length=64)
    worker: str = Field(max_length=200)
    claimed_at: datetime
    held_until: datetime | None = None
    finished_at: datetime | None = None


def claim_run(engine: Engine, job_id: str, run_key: str, worker: str) -> bool:
    """True when ``worker`` got the run: it is new, or unfinished and let go. False when it is
    finished, or a run of the job is held (by any worker, this one too)."""
    now = utcnow()
    try:
        with engine.begin() as conn:
            if _take_over(conn, job_id, run_key, worker, now):
                return True
            current = conn.execute(
                select(JobRun.run_key, JobRun.finished_at, JobRun.held_until).where(
                    col(JobRun.job_id) == job_id,
                    (col(JobRun.run_key) == run_key) | col(JobRun.finished_at).is_(None),
                )
            ).all()
            if current:  # this run finished, or a run of the job is held
                return False
            conn.execute(
                JobRun.__table__.insert().values(  # type: ignore[attr-defined]
                    job_id=job_id,
                    run_key=run_key,
                    worker=worker,
                    claimed_at=now,
                    held_until=now + HOLD,
                )
            )
    except IntegrityError:  # another worker inserted a run of the job meanwhile
        return False
    return True


def _take_over(conn: Connection, job_id: str, run_key: str, worker: str, now: datetime) -> bool:
    """Take up this run if it was let go; an earlier run let go is superseded by this one
    (marked finished: this run does its work)."""
    let_go = (
        col(JobRun.finished_at).is_(None),
        col(JobRun.held_until) <= now,
        col(JobRun.job_id) == job_id,
    )
    resumed = conn.execute(
        update(JobRun)
        .where(*let_go, col(JobRun.run_key) == run_key)
        .values(worker=worker, claimed_at=now, held_until=now + HOLD)
    )
    if resumed.rowcount:
        return True
    conn.execute(update(JobRun).where(*let_go).values(finished_at=now))
    return False


def renew_run(engine: Engine, job_id: str, run_key: str, worker: str) -> bool:
    """Extend ``worker``'s hold on the run; False when it no longer holds it."""
    return _update_held(engine, job_id, run_key, worker, held_until=utcnow() + HOLD)


def finish_run(engine: Engine, job_id: str, run_key: str, worker: str) -> bool:
    """Mark the run finished (it never runs again); False when ``worker`` no longer held it."""
    return _update_held(engine, job_id, run_key, worker, finished_at=utcnow())


def release_run(engine: Engine, job_id: str, run_key: str, worker: str) -> bool:
    """Let go of an unfinished run at once (its worker stops), so it is taken up again."""
    return _update_held(engine, job_id, run_key, worker, held_until=utcnow())


def _update_held(
    engine: Engine, job_id: str, run_key: str, worker: str, **values: datetime
) -> bool:
    with engine.begin() as conn:
        changed = conn.execute(
            update(JobRun)
            .where(
                col(JobRun.job_id) == job_id,
                col(JobRun.run_key) == run_key,
                col(JobRun.worker) == worker,
                col(JobRun.finished_at).is_(None),
            )
            .values(**values)
        )
        return bool(changed.rowcount)


def unfinished_runs(engine: Engine) -> list[tuple[str, str]]:
    """``(job_id, run_key)`` of the runs let go unfinished, oldest first."""
    with Session(engine) as session:
        rows = session.exec(
            select(JobRun.job_id, JobRun.run_key)
            .where(col(JobRun.finished_at).is_(None), col(JobRun.held_until) <= utcnow())
            .order_by(col(JobRun.claimed_at))
        ).all()
    return [(job_id, run_key) for job_id, run_key in rows]
