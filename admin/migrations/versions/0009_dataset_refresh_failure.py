"""dataset.refresh_error, dataset.refresh_failing_since: why a dataset's refresh fails, since when

The worker keeps the last failed refresh of a dataset with a source URL, so that its
organization's admins see that it stopped updating; the next successful refresh clears it.
Added in place as 0006 added its columns, for the same reason (0003's AUTOINCREMENT).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dataset",
        sa.Column(
            "refresh_error",
            sqlmodel.sql.sqltypes.AutoString(length=32),
            nullable=False,
            server_default="",
        ),
    )
    op.add_column(
        "dataset", sa.Column("refresh_failing_since", sqlmodel.sql.sqltypes.UTCDateTime())
    )


def downgrade() -> None:
    with op.batch_alter_table("dataset") as batch_op:
        batch_op.drop_column("refresh_failing_since")
        batch_op.drop_column("refresh_error")
