"""SQLModel tables. Only ``admin`` imports this module."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Organization(SQLModel, table=True):
    """A participating organization (municipality, ministry, the operator)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    """An API key of an organization. Only a SHA-256 digest of the secret is stored."""

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    prefix: str = Field(index=True, unique=True, max_length=16)
    digest: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None


class WorkspaceLink(SQLModel, table=True):
    """A chat workspace (Slack team, Teams tenant, LoGo Chat organization) of an organization."""

    __tablename__ = "workspace_link"
    __table_args__ = (UniqueConstraint("platform", "workspace_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=255)
    org_id: int = Field(foreign_key="organization.id", index=True)
    created_at: datetime = Field(default_factory=utcnow)


class ChatAdmin(SQLModel, table=True):
    """A chat user who may run an organization's admin commands."""

    __tablename__ = "chat_admin"
    __table_args__ = (UniqueConstraint("org_id", "platform", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organization.id", index=True)
    platform: str = Field(max_length=16)
    user_id: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow)


class OperatorOrganization(SQLModel, table=True):
    """The organization(s) operating the service; their admins may run operator commands."""

    __tablename__ = "operator_organization"

    org_id: int = Field(foreign_key="organization.id", primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)


class ProcessedEvent(SQLModel, table=True):
    """A chat event id already claimed by some process (deduplicates platform retries)."""

    __tablename__ = "processed_event"
    __table_args__ = (UniqueConstraint("platform", "event_id"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    event_id: str = Field(max_length=255)
    claimed_at: datetime = Field(default_factory=utcnow, index=True)


class AnswerFeedback(SQLModel, table=True):
    """A 👍/👎 on an answer; one row per (answer, user), the latest click wins."""

    __tablename__ = "answer_feedback"
    __table_args__ = (UniqueConstraint("turn_id", "platform", "user_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    turn_id: str = Field(max_length=64, index=True)
    platform: str = Field(max_length=16)
    user_hash: str = Field(max_length=64)
    rating: str = Field(max_length=8)
    org_id: int | None = Field(default=None, foreign_key="organization.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)


class ChatGreeting(SQLModel, table=True):
    """A chat user the bot has greeted in a direct chat, so that it greets them once:
    ``kind`` is ``welcome``, or ``unregistered`` for the notice of a workspace not yet linked
    (a user told that is welcomed again once it is linked); an admin told that the month's
    budget passed a threshold is recorded so too (``quota80@2026-12``, at most 16 characters)."""

    __tablename__ = "chat_greeting"
    __table_args__ = (UniqueConstraint("platform", "workspace_id", "user_hash", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=16)
    workspace_id: str = Field(max_length=255)
    user_hash: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    greeted_at: datetime = Field(default_factory=utcnow)
