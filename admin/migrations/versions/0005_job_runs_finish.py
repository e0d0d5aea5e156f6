"""job_run: a run is held while it runs and marked finished when it ends

A run cancelled by a stopping worker, or left by one that was killed, is taken up again
instead of waiting for the job's next scheduled run; at most one run of a job is unfinished.
Runs claimed before count as finished.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_UNFINISHED = sa.text("finished_at IS NULL")


def upgrade() -> None:
    op.add_column("job_run", sa.Column("held_until", sqlmodel.sql.sqltypes.UTCDateTime()))
    op.add_column("job_run", sa.Column("finished_at", sqlmodel.sql.sqltypes.UTCDateTime()))
    op.execute("UPDATE job_run SET held_until = claimed_at, finished_at = claimed_at")
    op.create_index(
        "ux_job_run_unfinished",
        "job_run",
        ["job_id"],
        unique=True,
        sqlite_where=_UNFINISHED,
        postgresql_where=_UNFINISHED,
    )


def downgrade() -> None:
    op.drop_index("ux_job_run_unfinished", table_name="job_run")
    with op.batch_alter_table("job_run") as batch_op:
        batch_op.drop_column("finished_at")
        batch_op.drop_column("held_until")
