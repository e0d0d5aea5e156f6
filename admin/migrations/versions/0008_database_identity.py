"""database_identity: the random identity of the database, which the search index records

The index knows organizations and datasets by this database's numbers; it is bound to the
database it was built with by this identity (``admin.identity``). The row is made by the first
process that asks for it, so a database upgraded from 0007 gets one on its next start.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "database_identity",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("identity", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("database_identity")
