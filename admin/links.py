"""Chat platforms and organizations: workspace links, chat admins, operators, event claims and
answer feedback.

A workspace (Slack team id, Teams tenant id, LoGo Chat organization id) belongs to at most one
organization. Admins are platform user ids of one organization. Event claims deduplicate
platform retries across every web process: the first ``claim_event`` for a (platform, event id)
wins, in the database, so two processes receiving the same retry answer it once. The functions
that link, unlink, add and remove take a ``Bind`` (the connection of an ``AuditLog.change``, to
commit with its record).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Delete, delete
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from admin.db import Bind, insert_missing
from admin.models import (
    AnswerFeedback,
    ApiKey,
    ChatAdmin,
    ChatGreeting,
    OperatorOrganization,
    Organization,
    ProcessedEvent,
    WorkspaceLink,
    utcnow,
)
from admin.orgs import OrgInfo, get_org
from admin.usage import UsageEvent
from knowledge.errors import BadInput, NotFound

CHAT_PLATFORMS = ("slack", "teams", "logo")
RATINGS = ("up", "down")
MAX_ID_CHARS = 255
# Event ids longer than this are stored as their SHA-256 (Teams ids include the conversation).
MAX_STORED_EVENT_ID = 200


@dataclass(frozen=True)
class FeedbackInfo:
    """One stored 👍/👎."""

    turn_id: str
    platform: str
    user_hash: str
    rating: str
    org_id: str | None


def check_platform(platform: str) -> str:
    """The platform name, or ``BadInput`` naming the accepted ones."""
    if platform not in CHAT_PLATFORMS:
        raise BadInput(
            f"プラットフォームは {' / '.join(CHAT_PLATFORMS)} のいずれかを指定してください。"
        )
    return platform


def _check_id(value: str, label: str) -> str:
    value = value.strip()
    if not value or len(value) > MAX_ID_CHARS:
        raise BadInput(f"{label}は1〜{MAX_ID_CHARS}文字で指定してください。")
    if not value.isprintable():  # control characters, or none an encoding holds (surrogates)
        raise BadInput(f"{label}に使えない文字が含まれています。IDをコピーし直してください。")
    return value


def hash_user(platform: str, user_id: str) -> str:
    """The pseudonym stored instead of a platform user id (SHA-256, hex)."""
    return hashlib.sha256(f"{platform}\x1f{user_id}".encode()).hexdigest()


def _info(org: Organization) -> OrgInfo:
    return OrgInfo(id=str(org.id), name=org.name)


def link_workspace(bind: Bind, org_name: str, platform: str, workspace_id: str) -> OrgInfo:
    """Link a workspace to an organization (idempotent; a workspace has one organization)."""
    check_platform(platform)
    workspace_id = _check_id(workspace_id, "ワークスペースID")
    org = get_org(bind, org_name)
    with Session(bind) as session:
        existing = session.exec(
            select(WorkspaceLink, Organization)
            .join(Organization)
            .where(WorkspaceLink.platform == platform, WorkspaceLink.workspace_id == workspace_id)
        ).first()
        if existing is not None:
            if str(existing[1].id) == org.id:
                return org
            raise BadInput(
                f"この {platform} ワークスペースはすでに組織「{existing[1].name}」に"
                "関連付けられています。"
            )
        session.add(WorkspaceLink(platform=platform, workspace_id=workspace_id, org_id=int(org.id)))
        try:
            session.commit()
        except IntegrityError as exc:  # linked concurrently
            raise BadInput(
                "このワークスペースは関連付けの処理中です。再度お試しください。"
            ) from exc
    return org


def org_for_workspace(engine: Engine, platform: str, workspace_id: str) -> OrgInfo | None:
    """The organization a workspace is linked to, if any."""
    if not workspace_id:
        return None
    with Session(engine) as session:
        row = session.exec(
            select(Organization)
            .join(WorkspaceLink)
            .where(WorkspaceLink.platform == platform, WorkspaceLink.workspace_id == workspace_id)
        ).first()
        return _info(row) if row else None


def add_admin(bind: Bind, org_name: str, platform: str, user_id: str) -> OrgInfo:
    """Make a platform user an admin of an organization (idempotent, also when added
    concurrently)."""
    check_platform(platform)
    user_id = _check_id(user_id, "ユーザーID")
    org = get_org(bind, org_name)
    with Session(bind) as session:
        insert_missing(session, ChatAdmin, org_id=int(org.id), platform=platform, user_id=user_id)
        session.commit()
    return org


def unlink_workspace(bind: Bind, org_name: str, platform: str, workspace_id: str) -> OrgInfo:
    """Undo ``link_workspace``: the workspace's messages are refused again (``NotFound``
    when it is not linked to that organization)."""
    check_platform(platform)
    workspace_id = _check_id(workspace_id, "ワークスペースID")
    org = get_org(bind, org_name)
    link = delete(WorkspaceLink).where(
        col(WorkspaceLink.org_id) == int(org.id),
        col(WorkspaceLink.platform) == platform,
        col(WorkspaceLink.workspace_id) == workspace_id,
    )
    if not _deleted(bind, link):
        raise NotFound(
            f"{platform} のワークスペース {workspace_id} は組織「{org.name}」に"
            "関連付けられていません。"
        )
    return org


def remove_admin(bind: Bind, org_name: str, platform: str, user_id: str) -> OrgInfo:
    """Undo ``add_admin`` (``NotFound`` when the user is not an admin of that organization)."""
    check_platform(platform)
    user_id = _check_id(user_id, "ユーザーID")
    org = get_org(bind, org_name)
    admin = delete(ChatAdmin).where(
        col(ChatAdmin.org_id) == int(org.id),
        col(ChatAdmin.platform) == platform,
        col(ChatAdmin.user_id) == user_id,
    )
    if not _deleted(bind, admin):
        raise NotFound(
            f"{platform} のユーザー {user_id} は組織「{org.name}」の管理者ではありません。"
        )
    return org


def _deleted(bind: Bind, statement: Delete) -> int:
    """How many rows a delete statement removed (committed, or left to the caller's
    transaction)."""
    with Session(bind) as session:
        removed = session.exec(statement).rowcount
        session.commit()
    return int(removed or 0)


@dataclass(frozen=True)
class OrgOverview:
    """What ``baibain org list`` shows of an organization."""

    org: OrgInfo
    operator: bool
    workspaces: tuple[tuple[str, str], ...]  # (platform, workspace id)
    admins: tuple[tuple[str, str], ...]  # (platform, user id)
    api_keys: int  # not revoked


def _pairs_by_org(
    rows: Iterable[tuple[int, str, str]],
) -> dict[int, tuple[tuple[str, str], ...]]:
    """``(org id, platform, id)`` rows as each organization's ``(platform, id)`` pairs."""
    grouped: dict[int, list[tuple[str, str]]] = {}
    for org_id, platform, value in rows:
        grouped.setdefault(org_id, []).append((platform, value))
    return {org_id: tuple(pairs) for org_id, pairs in grouped.items()}


def org_overview(engine: Engine) -> list[OrgOverview]:
    """Every organization with its workspaces, admins and number of active API keys."""
    with Session(engine) as session:
        organizations = session.exec(select(Organization).order_by(col(Organization.id))).all()
        operators = set(session.exec(select(OperatorOrganization.org_id)).all())
        workspaces = _pairs_by_org(
            (w.org_id, w.platform, w.workspace_id)
            for w in session.exec(select(WorkspaceLink).order_by(col(WorkspaceLink.id)))
        )
        admins = _pairs_by_org(
            (a.org_id, a.platform, a.user_id)
            for a in session.exec(select(ChatAdmin).order_by(col(ChatAdmin.id)))
        )
        keys = Counter(
            session.exec(select(ApiKey.org_id).where(col(ApiKey.revoked_at).is_(None))).all()
        )
    return [
        OrgOverview(
            org=_info(o),
            operator=o.id in operators,
            workspaces=workspaces.get(o.id or 0, ()),
            admins=admins.get(o.id or 0, ()),
            api_keys=keys[o.id or 0],
        )
        for o in organizations
    ]


def is_admin(engine: Engine, org_id: str, platform: str, user_id: str) -> bool:
    """Whether the platform user is an admin of the organization."""
    if not user_id:
        return False
    with Session(engine) as session:
        return (
            session.exec(
                select(ChatAdmin.id).where(
                    ChatAdmin.org_id == int(org_id),
                    ChatAdmin.platform == platform,
                    ChatAdmin.user_id == user_id,
                )
            ).first()
            is not None
        )


def set_operator(bind: Bind, org_name: str) -> OrgInfo:
    """Mark an organization as an operator of the service (idempotent)."""
    org = get_org(bind, org_name)
    with Session(bind) as session:
        insert_missing(session, OperatorOrganization, org_id=int(org.id))
        session.commit()
    return org


def is_operator(engine: Engine, org_id: str) -> bool:
    """Whether the organization operates the service."""
    with Session(engine) as session:
        return session.get(OperatorOrganization, int(org_id)) is not None


def _stored_event_id(event_id: str) -> str:
    if len(event_id) <= MAX_STORED_EVENT_ID:
        return event_id
    return "sha256:" + hashlib.sha256(event_id.encode()).hexdigest()


def claim_event(engine: Engine, platform: str, event_id: str) -> bool:
    """Claim an event id; ``True`` for the first claim only, in any process.

    The unique constraint on (platform, event id) decides: a second insert fails, so two
    processes racing on one retried event cannot both win.
    """
    if not event_id:
        raise ValueError("event_id is required")
    with Session(engine) as session:
        session.add(ProcessedEvent(platform=platform, event_id=_stored_event_id(event_id)))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def claim_greeting(
    engine: Engine, platform: str, workspace_id: str, user_id: str, kind: str
) -> bool:
    """Claim greeting a user of a workspace with ``kind`` (``welcome``, ``unregistered``, or
    a budget notice: ``ChatGreeting``);
    ``True`` for the first claim only, in any process. Kept for good: a user is greeted once."""
    with Session(engine) as session:
        claimed = insert_missing(
            session,
            ChatGreeting,
            platform=platform,
            workspace_id=workspace_id,
            user_hash=hash_user(platform, user_id),
            kind=kind,
            greeted_at=utcnow(),
        )
        session.commit()
    return claimed


def release_greeting(
    engine: Engine, platform: str, workspace_id: str, user_id: str, kind: str
) -> None:
    """Give up a ``claim_greeting`` whose greeting was not delivered: the user is greeted at
    their next opening instead of never."""
    with Session(engine) as session:
        session.exec(
            delete(ChatGreeting).where(
                col(ChatGreeting.platform) == platform,
                col(ChatGreeting.workspace_id) == workspace_id,
                col(ChatGreeting.user_hash) == hash_user(platform, user_id),
                col(ChatGreeting.kind) == kind,
            )
        )
        session.commit()


def purge_processed_events(engine: Engine, older_than: timedelta = timedelta(days=2)) -> int:
    """Forget event claims older than ``older_than`` (platforms retry for minutes, not days)."""
    cutoff = utcnow() - older_than
    with Session(engine) as session:
        result = session.exec(delete(ProcessedEvent).where(col(ProcessedEvent.claimed_at) < cutoff))
        session.commit()
        return int(result.rowcount or 0)


def record_feedback(
    engine: Engine, *, turn_id: str, platform: str, user_id: str, rating: str, org_id: str | None
) -> bool:
    """Store a 👍/👎; a later click by the same user on the same answer replaces it. ``False``
    (nothing stored) when no answer of that turn id was recorded: a rating that no usage
    report could ever count."""
    check_platform(platform)
    if rating not in RATINGS:
        raise BadInput("評価は up か down で指定してください。")
    user_hash = hash_user(platform, user_id)
    with Session(engine) as session:
        answered = select(UsageEvent.id).where(UsageEvent.turn_id == turn_id).limit(1)
        if session.exec(answered).first() is None:
            return False
    for _attempt in range(2):  # a concurrent first click turns the insert into an update
        with Session(engine) as session:
            row = session.exec(
                select(AnswerFeedback).where(
                    AnswerFeedback.turn_id == turn_id,
                    AnswerFeedback.platform == platform,
                    AnswerFeedback.user_hash == user_hash,
                )
            ).first()
            if row is None:
                row = AnswerFeedback(
                    turn_id=turn_id,
                    platform=platform,
                    user_hash=user_hash,
                    rating=rating,
                    org_id=int(org_id) if org_id else None,
                )
            else:
                row.rating = rating
                row.created_at = utcnow()
            session.add(row)
            try:
                session.commit()
                return True
            except IntegrityError:
                session.rollback()
    raise BadInput("評価を保存できませんでした。もう一度お試しください。")


def feedback_for(engine: Engine, turn_id: str) -> list[FeedbackInfo]:
    """The stored feedback on one answer."""
    with Session(engine) as session:
        rows = session.exec(select(AnswerFeedback).where(AnswerFeedback.turn_id == turn_id)).all()
        return [
            FeedbackInfo(
                turn_id=r.turn_id,
                platform=r.platform,
                user_hash=r.user_hash,
                rating=r.rating,
                org_id=str(r.org_id) if r.org_id is not None else None,
            )
            for r in rows
        ]
