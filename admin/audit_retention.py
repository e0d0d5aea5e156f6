"""Retention: the oldest audit records deleted a batch at a time, each batch verified first
and closed by a signed checkpoint from which ``verify`` goes on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection

from admin import audit_crypto as crypto
from admin.audit_crypto import GENESIS_HASH, AuditKeyring
from admin.audit_models import CHECKPOINT, RECORD, AuditIntegrityError
from admin.audit_verify import walk_stored


def purge_batch(
    conn: Connection, keyring: AuditKeyring, cutoff: datetime, size: int, now: datetime
) -> tuple[int, int] | None:
    """On ``conn`` (in a transaction holding the chain head), delete up to ``size`` of the
    oldest records older than ``cutoff`` after verifying them, and sign a checkpoint naming
    the last one: (records deleted, the last one's seq), ``None`` when none is left. A
    tampered or missing record is never purged (``AuditIntegrityError``)."""
    last_cp = (
        select(CHECKPOINT.c.seq, CHECKPOINT.c.record_hash)
        .order_by(CHECKPOINT.c.seq.desc(), CHECKPOINT.c.id.desc())
        .limit(1)
    )
    cp = conn.execute(last_cp).first()
    start_seq, start_hash = (cp[0], cp[1]) if cp else (0, GENESIS_HASH)
    first_kept = conn.scalar(select(func.min(RECORD.c.seq)).where(RECORD.c.created_at >= cutoff))
    upto = conn.scalar(select(func.max(RECORD.c.seq)))
    if first_kept is not None:
        upto = first_kept - 1
    if upto is None or upto <= start_seq:
        return None
    upto = min(upto, start_seq + size)
    checked, last_hash, problem = walk_stored(conn, keyring, start_seq, start_hash, {}, upto)
    if problem or checked != upto - start_seq:
        why = problem[1] if problem else "records are missing"
        raise AuditIntegrityError(detail=f"refusing to purge: {why}")
    purged = conn.execute(delete(RECORD).where(RECORD.c.seq <= upto)).rowcount
    row = {"seq": upto, "record_hash": last_hash, "purged": purged, "created_at": now}
    row["key_id"], row["mac"] = keyring.sign(crypto.checkpoint_message(row))
    conn.execute(insert(CHECKPOINT).values(**row))
    return int(purged), upto
