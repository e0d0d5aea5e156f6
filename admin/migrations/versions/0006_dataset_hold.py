"""dataset.held_by, dataset.held_until: one upload or deletion of a dataset at a time

Columns added in place (no table copy on SQLite, which would have to carry the AUTOINCREMENT
of 0003 over).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dataset",
        sa.Column(
            "held_by",
            sqlmodel.sql.sqltypes.AutoString(length=32),
            nullable=False,
            server_default="",
        ),
    )
    op.add_column("dataset", sa.Column("held_until", sqlmodel.sql.sqltypes.UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("dataset") as batch_op:
        batch_op.drop_column("held_until")
        batch_op.drop_column("held_by")
