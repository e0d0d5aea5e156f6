"""Keys and integrity of the audit log: the keyring (AES-256-GCM record keys and HMAC keys derived
with HKDF), user-id pseudonyms, the canonical encodings that hashes and MACs cover, sealing and
opening records, and the messages that digests, checkpoints and the chain head sign. The checks of
stored rows against them are in ``admin.audit_verify``.

Nothing here touches the database. Keys are never logged and never appear in error messages.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import secrets
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from knowledge.dates import as_utc
from knowledge.errors import BaibainError

logger = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_FILE_NAME = "audit.key"
GENESIS_HASH = "0" * 64
_HKDF_SALT = b"baibain-audit-log"
_INFO_ENCRYPT = b"baibain audit v1 record encryption"
_INFO_DIGEST = b"baibain audit v1 digest hmac"
_INFO_USER = b"baibain audit v1 user pseudonym"
Fields = Mapping[Any, Any]  # a stored row (SQLAlchemy RowMapping) or the dict about to be stored


class AuditKeyError(BaibainError):
    """The audit key configuration is unusable, or a record needs a key that is not configured."""

    code = "audit_key_invalid"
    status = 500
    default_message = (
        "監査ログの暗号鍵の設定に誤りがあります。管理者が BAIBAIN_AUDIT_KEY を確認してください。"
    )


def new_audit_key() -> str:
    """A fresh random key in the ``BAIBAIN_AUDIT_KEY`` format (base64 of 32 bytes)."""
    return base64.b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def key_id_of(key: bytes) -> str:
    """The public identifier of a key: the first 16 hex characters of its SHA-256."""
    return hashlib.sha256(key).hexdigest()[:16]


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_HKDF_SALT, info=info).derive(key)


def parse_audit_keys(value: str, source: str = "BAIBAIN_AUDIT_KEY") -> list[bytes]:
    """Decode comma-separated base64 keys (newest first); ``AuditKeyError`` names the bad entry."""
    entries = [entry.strip() for entry in value.split(",")]
    if not any(entries):
        raise AuditKeyError(detail=f"{source} contains no key")
    keys: list[bytes] = []
    for position, entry in enumerate(entries, start=1):
        if not entry:
            raise AuditKeyError(detail=f"{source}: entry {position} is empty (stray comma?)")
        try:
            key = base64.b64decode(entry, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AuditKeyError(
                detail=f"{source}: entry {position} is not valid base64 "
                f"(expected base64 of {KEY_BYTES} random bytes)"
            ) from exc
        if len(key) != KEY_BYTES:
            raise AuditKeyError(
                detail=f"{source}: entry {position} decodes to {len(key)} bytes, "
                f"expected {KEY_BYTES}"
            )
        if key in keys:
            raise AuditKeyError(detail=f"{source}: entry {position} repeats an earlier key")
        keys.append(key)
    return keys


@dataclass(frozen=True)
class _Key:
    key_id: str
    aead: AESGCM
    digest_key: bytes
    user_key: bytes


class AuditKeyring:
    """The audit keys, newest first. The newest key encrypts and signs; every key decrypts and
    checks what was written with it, found by key id. Each master key is expanded with HKDF into
    separate keys for record encryption, digest/checkpoint HMACs and user pseudonyms."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise AuditKeyError(detail="the audit keyring needs at least one key")
        self._keys: dict[str, _Key] = {}
        for key in keys:
            if len(key) != KEY_BYTES:
                raise AuditKeyError(detail=f"audit keys must be {KEY_BYTES} bytes")
            key_id = key_id_of(key)
            self._keys[key_id] = _Key(
                key_id=key_id,
                aead=AESGCM(_derive(key, _INFO_ENCRYPT)),
                digest_key=_derive(key, _INFO_DIGEST),
                user_key=_derive(key, _INFO_USER),
            )
        self._current = key_id_of(keys[0])
        # The key file the keys came from (``BAIBAIN_AUDIT_KEY`` unset), and whether this
        # process generated it.
        self.key_file: Path | None = None
        self.generated = False
        # Keys of the data directory's key file that ``BAIBAIN_AUDIT_KEY`` left out, by id:
        # the key file a message can point to when records need one of them.
        self.left_out: dict[str, Path] = {}

    @classmethod
    def load(cls, audit_key: str | None, data_dir: Path) -> AuditKeyring:
        """Keys from ``BAIBAIN_AUDIT_KEY`` (``audit_key``), or else from ``data_dir/audit.key``,
        which is generated (owner-only, created atomically) when missing. Using the file logs a
        warning: whoever can read the data directory can read the audit log."""
        if audit_key is not None and audit_key.strip():
            keyring = cls(parse_audit_keys(audit_key))
            keyring._warn_if_file_key_dropped(data_dir / KEY_FILE_NAME)
            return keyring
        path = data_dir / KEY_FILE_NAME
        created = _create_key_file(path)
        keys = parse_audit_keys(_read_key_file(path), source=str(path))
        logger.warning(
            "BAIBAIN_AUDIT_KEY is not set: the audit log uses the %s key file %s. Back it up "
            "and move it to BAIBAIN_AUDIT_KEY (a secret store) for production.",
            "newly generated" if created else "generated",
            path,
        )
        keyring = cls(keys)
        keyring.key_file, keyring.generated = path, created
        return keyring

    def discard_generated(self) -> None:
        """Remove the key file this process generated (it cannot continue the existing chain),
        so that a later start with the right key does not find a stray key beside it."""
        if self.generated and self.key_file is not None:
            self.key_file.unlink(missing_ok=True)
            self.generated = False

    def _warn_if_file_key_dropped(self, path: Path) -> None:
        # An operator moving from the generated file to BAIBAIN_AUDIT_KEY must carry the old key
        # over, or the records written with it can no longer be read.
        if not path.is_file():
            return
        try:
            file_keys = parse_audit_keys(_read_key_file(path), source=str(path))
        except (AuditKeyError, OSError):
            return
        self.left_out = {key_id_of(k): path for k in file_keys if key_id_of(k) not in self._keys}
        if self.left_out:
            logger.warning(
                "%s holds an audit key that is not in BAIBAIN_AUDIT_KEY; records written with it "
                "cannot be read. Append it to BAIBAIN_AUDIT_KEY (after the new key).",
                path,
            )

    @property
    def current_key_id(self) -> str:
        """Id of the newest key, the one that encrypts and signs new data."""
        return self._current

    @property
    def key_ids(self) -> tuple[str, ...]:
        """Ids of every configured key, newest first."""
        return tuple(self._keys)

    def has_key(self, key_id: str) -> bool:
        """Whether data written under ``key_id`` can be read and checked with this keyring."""
        return key_id in self._keys

    def _key(self, key_id: str) -> _Key:
        try:
            return self._keys[key_id]
        except KeyError:
            raise AuditKeyError(
                detail=f"audit key {key_id} is not configured; add it to BAIBAIN_AUDIT_KEY"
            ) from None

    def encrypt(self, plaintext: bytes, associated_data: bytes) -> tuple[str, bytes, bytes]:
        """``(key_id, nonce, ciphertext)`` under the newest key, with a fresh random nonce."""
        nonce = os.urandom(NONCE_BYTES)
        key = self._keys[self._current]
        return key.key_id, nonce, key.aead.encrypt(nonce, plaintext, associated_data)

    def decrypt(
        self, key_id: str, nonce: bytes, ciphertext: bytes, associated_data: bytes
    ) -> bytes:
        """The plaintext; ``cryptography.exceptions.InvalidTag`` when anything was altered,
        ``AuditKeyError`` when the key is not configured."""
        return self._key(key_id).aead.decrypt(nonce, ciphertext, associated_data)

    def sign(self, message: bytes, key_id: str | None = None) -> tuple[str, str]:
        """``(key_id, hex HMAC-SHA256)`` of ``message`` with the digest key of ``key_id``
        (default: the newest key)."""
        key = self._key(key_id or self._current)
        return key.key_id, hmac.new(key.digest_key, message, hashlib.sha256).hexdigest()

    def check_signature(self, key_id: str, message: bytes, mac: str) -> bool:
        """Whether ``mac`` is the HMAC of ``message`` under ``key_id`` (False if key unknown)."""
        if key_id not in self._keys or not isinstance(mac, str):
            return False
        return hmac.compare_digest(self.sign(message, key_id)[1], mac)

    def user_hash(self, platform: str, user_id: str) -> str:
        """A stable, non-reversible pseudonym of a platform user (HMAC-SHA256, hex). It is keyed by
        the newest key, so a rotation starts new pseudonyms: a leaked old key cannot link users
        across the rotation."""
        key = self._keys[self._current]
        return hmac.new(key.user_key, canonical([platform, user_id]), hashlib.sha256).hexdigest()


def _read_key_file(path: Path) -> str:
    try:
        mode = path.stat().st_mode & 0o777
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditKeyError(detail=f"cannot read the audit key file {path}") from exc
    if os.name == "posix" and mode & 0o077:
        logger.warning(
            "audit key file %s is readable by others (mode %o); run chmod 600 on it", path, mode
        )
    return text


def _create_key_file(path: Path) -> bool:
    """Create ``path`` with a new key, owner-only, unless it exists. True when created.

    The key is written to a private temporary file and hard-linked into place, so the file
    appears complete or not at all, and concurrent first starts agree on one key."""
    if path.exists():
        return False
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(new_audit_key() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.link(tmp, path)
    except FileExistsError:
        return False  # another process created it first; both use that key
    except OSError as exc:
        raise AuditKeyError(detail=f"cannot create the audit key file {path}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return True


# --- canonical encodings and records -------------------------------------------------------------

CLEAR_FIELDS = (
    "seq",
    "created_at",
    "kind",
    "org_id",
    "platform",
    "outcome",
    "user_hash",
    "model",
    "input_tokens",
    "output_tokens",
    "latency_ms",
    "key_id",
    "prev_hash",
)


def canonical(value: object) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces, UTF-8) that hashes and MACs cover."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def as_datetime(value: object) -> datetime:
    """A stored time as read back (a datetime, or SQLite's UTC text); ``ValueError`` if
    malformed."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return datetime.fromisoformat(value)
    raise TypeError("not a time")


def time_text(moment: object) -> str:
    """The canonical text of a stored audit time (UTC, microseconds)."""
    return as_utc(as_datetime(moment)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def record_aad(clear: Fields) -> bytes:
    """Canonical bytes of a record's clear columns (``CLEAR_FIELDS``, including the key id and
    the previous hash): the AES-GCM associated data, so ciphertext moved to another record or
    left under edited metadata fails to decrypt."""
    values = [time_text(clear[n]) if n == "created_at" else clear[n] for n in CLEAR_FIELDS]
    return canonical(["record-v1", *values])


def record_hash(prev_hash: str, aad: bytes, nonce: bytes, ciphertext: bytes) -> str:
    """SHA-256 (hex) over the previous hash, the clear columns, the nonce and the ciphertext."""
    digest = hashlib.sha256(b"baibain-audit-record-v1\x00")
    digest.update(bytes.fromhex(prev_hash))
    for part in (aad, nonce, ciphertext):
        digest.update(struct.pack(">Q", len(part)))
        digest.update(part)
    return digest.hexdigest()


def seal_record(keyring: AuditKeyring, clear: Fields, plaintext: bytes) -> dict[str, Any]:
    """Every stored column of a new record: ``clear`` (whose ``key_id`` must be the keyring's
    newest) plus nonce, ciphertext and record hash."""
    aad = record_aad(clear)
    key_id, nonce, ciphertext = keyring.encrypt(plaintext, aad)
    if key_id != clear["key_id"]:
        raise AuditKeyError(detail="audit record sealed under a key other than the newest")
    hash_ = record_hash(clear["prev_hash"], aad, nonce, ciphertext)
    return {**clear, "nonce": nonce, "ciphertext": ciphertext, "record_hash": hash_}


def open_record(keyring: AuditKeyring, row: Fields) -> bytes:
    """The plaintext of a stored record; ``InvalidTag`` when it or its metadata was altered."""
    return keyring.decrypt(row["key_id"], row["nonce"], row["ciphertext"], record_aad(row))


def digest_message(row: Fields) -> bytes:
    """What a digest's HMAC covers: the chain head at ``seq``, the records since the previous
    digest and that digest's MAC (so digests form their own chain)."""
    fields = ("seq", "head_hash", "records", "reason", "prev_mac")
    return canonical(["digest-v1", time_text(row["created_at"]), *(row[n] for n in fields)])


def checkpoint_message(row: Fields) -> bytes:
    """What a retention checkpoint's HMAC covers: the last purged record and how many went."""
    fields = ("seq", "record_hash", "purged")
    return canonical(["checkpoint-v1", time_text(row["created_at"]), *(row[n] for n in fields)])


def head_message(row: Fields) -> bytes:
    """What the chain head's HMAC covers, so the newest records cannot be cut off unnoticed."""
    fields = ("seq", "head_hash", "last_key_id", "digest_seq", "digest_mac")
    return canonical(["head-v1", *(row[n] for n in fields)])
