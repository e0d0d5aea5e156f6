"""Organizations and API keys.

The functions that change them take a ``Bind``: the engine, or the connection of an
``AuditLog.change`` whose record they are then committed with."""

from __future__ import annotations

import difflib
import hashlib
import hmac
import re
import secrets
import shlex
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from admin.db import Bind, insert_missing
from admin.models import ApiKey, Organization, utcnow
from admin.names import has_control, typed_name
from knowledge.errors import BadInput, Conflict, NotFound, Unauthorized

KEY_PREFIX = "bb"
MAX_ORG_NAME = 200
# Key ids are ``secrets.token_hex(6)``; anything else is never echoed (it may be a secret).
_KEY_ID = re.compile(r"[0-9a-f]{1,32}")


@dataclass(frozen=True)
class OrgInfo:
    """An organization as services hand it out."""

    id: str
    name: str


@dataclass(frozen=True)
class NewApiKey:
    """A freshly created key; ``secret`` is shown once and never stored."""

    prefix: str
    secret: str
    org: OrgInfo


@dataclass(frozen=True)
class ApiCaller:
    """Who presents a valid API key: the key's organization and its public id (never the
    secret), by which audit records name the caller."""

    org: OrgInfo
    key_id: str

    @property
    def actor(self) -> str:
        """The caller as audit records name who acted: ``api:<key id>``."""
        return f"api:{self.key_id}"


@dataclass(frozen=True)
class RevokedApiKey:
    """A key just revoked: its id and organization."""

    prefix: str
    org: OrgInfo


def key_id_of(presented: str) -> str:
    """The public id part of a whole key (``bb_<id>_<secret>``), never its secret; ``""`` when
    ``presented`` has no such part."""
    parts = presented.strip().split("_", 2)
    whole = len(parts) == 3 and parts[0] == KEY_PREFIX
    return parts[1] if whole and _KEY_ID.fullmatch(parts[1]) else ""


def _digest(secret: str) -> str:
    # Keys are 256-bit random tokens, so a plain SHA-256 is enough (no password stretching).
    return hashlib.sha256(secret.encode()).hexdigest()


def _info(org: Organization) -> OrgInfo:
    return OrgInfo(id=str(org.id), name=org.name)


def _name_key(name: str) -> str:
    """An organization name as it is compared: width folded (「ｶﾜｻｷ市」 is 「カワサキ市」),
    spaces, full or half width, as one space, and no characters nobody sees."""
    return " ".join(unicodedata.normalize("NFKC", typed_name(name)).split())


def _same_name(session: Session, name: str) -> Organization | None:
    """The organization called ``name``: exactly, or else by ``_name_key``."""
    exact = session.exec(select(Organization).where(Organization.name == name)).first()
    if exact is not None:
        return exact
    key = _name_key(name)
    return next((o for o in session.exec(select(Organization)) if _name_key(o.name) == key), None)


def create_org(bind: Bind, name: str) -> OrgInfo:
    """Create an organization; the name must be new (also once width and spaces are folded).
    Characters nobody sees are left out of it: a name of nothing else is an empty one."""
    name = typed_name(name)
    if not name or len(name) > MAX_ORG_NAME or has_control(name):
        raise BadInput(f"組織名は改行を含まない1〜{MAX_ORG_NAME}文字で指定してください。")
    with Session(bind) as session:
        if (same := _same_name(session, name)) is not None:
            raise Conflict(f"組織「{same.name}」はすでに存在します。")
        # Created meanwhile by another process: refused without ending the caller's
        # transaction (``org create --operator`` goes on with the organization).
        if not insert_missing(session, Organization, name=name):
            raise Conflict(f"組織「{name}」はすでに存在します。")
        org = session.exec(select(Organization).where(Organization.name == name)).one()
        session.commit()
        return _info(org)


def get_org(bind: Bind, name: str) -> OrgInfo:
    """The organization called ``name`` (spaces around it, width and the width of spaces
    inside it and characters nobody sees do not matter)."""
    name = typed_name(name)
    with Session(bind) as session:
        org = _same_name(session, name)
        if org is None:
            known = [o.name for o in session.exec(select(Organization))]
            raise NotFound(_not_found_message(name, known))
        return _info(org)


def _not_found_message(name: str, known: list[str]) -> str:
    """Why ``name`` names no organization, and the likely fix: the name it resembles (a typo
    must not become a second organization), or, in a database with none at all, a check of
    ``BAIBAIN_DATABASE_URL`` (an unset variable opens an empty SQLite file)."""
    typed = shlex.quote(name) if len(name.split()) > 1 else name  # one argument
    create = f"`baibain org create {typed}`"
    if not known:
        return (
            f"組織「{name}」が見つかりません。このデータベースにはまだ組織がありません。"
            "BAIBAIN_DATABASE_URL が使うデータベースを指しているか確認し、"
            f"初めて使う場合は {create} で作成してください。"
        )
    by_key = {_name_key(k): k for k in known}
    close = difflib.get_close_matches(_name_key(name), list(by_key), n=3, cutoff=0.6)
    if close:
        similar = "、".join(f"「{by_key[c]}」" for c in close)
        return (
            f"組織「{name}」が見つかりません（似た名前の組織: {similar}）。"
            f"名前を確認してください。新しく作る場合は {create} を実行してください。"
        )
    return (
        f"組織「{name}」が見つかりません。登録済みの組織は `baibain org list` で確認できます。"
        f"新しく作る場合は {create} を実行してください。"
    )


def list_orgs(engine: Engine) -> list[OrgInfo]:
    """Every organization, oldest first."""
    with Session(engine) as session:
        return [_info(o) for o in session.exec(select(Organization).order_by(col(Organization.id)))]


def ensure_org(engine: Engine, name: str) -> OrgInfo:
    """The organization called ``name``, created when missing."""
    try:
        return get_org(engine, name)
    except NotFound:
        try:
            return create_org(engine, name)
        except BadInput:  # created concurrently by another process
            return get_org(engine, name)


def create_api_key(bind: Bind, org_name: str) -> NewApiKey:
    """A new API key for the organization; the secret is returned once."""
    org = get_org(bind, org_name)
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    with Session(bind) as session:
        session.add(ApiKey(org_id=int(org.id), prefix=prefix, digest=_digest(secret)))
        session.commit()
    return NewApiKey(prefix=prefix, secret=secret, org=org)


@dataclass(frozen=True)
class ApiKeyInfo:
    """A stored key as an administrator sees it (never its secret)."""

    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def list_api_keys(engine: Engine, org_name: str) -> list[ApiKeyInfo]:
    """The organization's keys, oldest first, revoked ones included."""
    org = get_org(engine, org_name)
    with Session(engine) as session:
        keys = session.exec(
            select(ApiKey).where(ApiKey.org_id == int(org.id)).order_by(col(ApiKey.id))
        ).all()
        return [ApiKeyInfo(k.prefix, k.created_at, k.revoked_at) for k in keys]


def revoke_api_key(bind: Bind, key: str) -> RevokedApiKey:
    """Revoke a key by its id (the part after ``bb_``) or by the whole key, whose secret is
    never repeated in a message. ``NotFound`` for no such key, ``BadInput`` for a key already
    revoked."""
    key = key.strip()
    prefix = key_id_of(key) or key
    if not _KEY_ID.fullmatch(prefix):
        raise NotFound(
            "指定された値に一致するAPIキーIDが見つかりません。"
            "`baibain apikey list --org 組織名` でIDを確認してください。"
        )
    with Session(bind) as session:
        row = session.exec(
            select(ApiKey, Organization).join(Organization).where(ApiKey.prefix == prefix)
        ).first()
        if row is None:
            raise NotFound(
                f"APIキー {prefix} が見つかりません。"
                "`baibain apikey list --org 組織名` でIDを確認してください。"
            )
        stored, org = row
        if stored.revoked_at is not None:
            raise BadInput(f"APIキー {prefix} はすでに無効化されています。")
        stored.revoked_at = utcnow()
        session.add(stored)
        session.commit()
        return RevokedApiKey(prefix=prefix, org=_info(org))


def authenticate_api_key(engine: Engine, secret: str) -> ApiCaller:
    """The organization and id of a valid, unrevoked key; ``Unauthorized`` otherwise."""
    prefix = key_id_of(secret)
    # Keys are ASCII; header bytes that are no UTF-8 arrive as surrogates no hash can encode.
    if not prefix or not secret.isascii():
        raise Unauthorized()
    with Session(engine) as session:
        row = session.exec(
            select(ApiKey, Organization)
            .join(Organization)
            .where(ApiKey.prefix == prefix, ApiKey.revoked_at == None)  # noqa: E711
        ).first()
        if row is None or not hmac.compare_digest(row[0].digest, _digest(secret)):
            raise Unauthorized()
        return ApiCaller(org=_info(row[1]), key_id=row[0].prefix)
