"""One run per scheduled job run, however many workers are running.

Each worker computes the same run key for the same scheduled time (the job id plus the time
the run was due); the first to insert it runs the job, the others see the unique constraint
and skip. The row stays as the job's run history.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel


class JobRun(SQLModel, table=True):
    """A claimed run of a scheduled job."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_id", "run_key"),)

    id: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(max_length=64)
    run_key: str = Field(max_length=64)
    worker: str = Field(max_length=200)
    claimed_at: datetime


def claim_run(engine: Engine, job_id: str, run_key: str, worker: str) -> bool:
    """True when this worker got the run; False when another one already has it."""
    with Session(engine) as session:
        session.add(
            JobRun(job_id=job_id, run_key=run_key, worker=worker, claimed_at=datetime.now(UTC))
        )
        try:
            session.commit()
        except IntegrityError:
            return False
        return True
