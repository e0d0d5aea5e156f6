"""The identity of the administrative database: a random id it is given once.

Organizations, datasets and their documents are known to the search index by this database's
numbers (organization 1, dataset 3), which another database gives out again to others. The
index records the identity of the database it was built with (``knowledge`` calls it the
database it *serves*), so that a process started on another database refuses it instead of
showing one organization another's documents.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from admin.db import insert_missing
from admin.models import utcnow

# The table holds one row, always with this key.
_ROW = 1


class DatabaseIdentity(SQLModel, table=True):
    """The one row naming this database."""

    __tablename__ = "database_identity"

    id: int = Field(default=_ROW, primary_key=True, sa_column_kwargs={"autoincrement": False})
    identity: str = Field(max_length=36)
    created_at: datetime = Field(default_factory=utcnow)


def database_identity(engine: Engine) -> str:
    """This database's identity, made on the first call: every process starting together
    on a new database gets the same one (the first insert wins, the others keep it)."""
    with Session(engine) as session:
        insert_missing(
            session,
            DatabaseIdentity,
            id=_ROW,
            identity=str(uuid.uuid4()),
            created_at=utcnow(),
        )
        found = session.exec(select(DatabaseIdentity.identity)).one()
        session.commit()
    return found
