"""dataset.id: never handed out twice (SQLite AUTOINCREMENT)

A deleted dataset's id must not come back: commands, retried deletions and document ids
(ds<id>/…) name datasets by it. PostgreSQL sequences never reuse a value; SQLite reuses the
highest rowid after it is deleted unless the table is declared AUTOINCREMENT, which needs the
table rebuilt.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 18:30:00
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "dataset", recreate="always", table_kwargs={"sqlite_autoincrement": True}
    ):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "dataset", recreate="always", table_kwargs={"sqlite_autoincrement": False}
    ):
        pass
