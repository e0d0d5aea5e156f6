"""Verification of the audit chain: every retained record, digest, checkpoint and the head.

A record is checked against the one before it (link, hash, decryption with the key it names)
and against the digests signed for it; the checkpoints left by retention purges, the digests'
own MAC chain and the signed chain head show records cut off at either end. The first problem
found, by record number, is what ``verify`` reports (in Japanese, for the operator).
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.engine import Connection

from admin import audit_crypto as crypto
from admin.audit_crypto import GENESIS_HASH, AuditKeyring
from admin.audit_models import (
    CHECKPOINT,
    DIGEST,
    HEAD,
    HEAD_ID,
    RECORD,
    STREAM,
    VerifyResult,
    select_rows,
)


def verify_chain(conn: Connection, keyring: AuditKeyring) -> VerifyResult:
    """The result of checking the chain as ``conn`` sees it (see ``AuditLog.verify``)."""
    problems: list[crypto.Problem] = []
    head = conn.execute(select_rows(HEAD).where(HEAD.c.id == HEAD_ID)).mappings().first()
    start_seq, start_hash = 0, GENESIS_HASH
    order = (CHECKPOINT.c.seq, CHECKPOINT.c.id)
    for cp in conn.execute(select_rows(CHECKPOINT).order_by(*order)).mappings():
        if not crypto.signature_valid(keyring, cp, "checkpoint"):
            problems.append(
                (
                    cp["seq"],
                    f"レコード {cp['seq']} の保存期間チェックポイントが偽造されています",
                )
            )
            break
        start_seq, start_hash = cp["seq"], cp["record_hash"]

    digests = conn.execute(select_rows(DIGEST).order_by(DIGEST.c.seq, DIGEST.c.id)).mappings()
    digest_problem, last_digest, signed = crypto.check_digests(keyring, digests)
    if digest_problem:
        problems.append(digest_problem)
    checked, last_hash, problem = walk_stored(conn, keyring, start_seq, start_hash, signed, None)
    last_seq = start_seq + checked
    if problem:
        problems.append(problem)
    elif head is None:
        if last_seq or signed:
            problems.append((start_seq + 1, "チェーンの先頭の情報がありません"))
    elif head["seq"] > last_seq:
        missing = f"レコード {last_seq + 1} がありません（チェーンの先頭はレコード {head['seq']}）"
        problems.append((last_seq + 1, missing))
    elif head["seq"] < last_seq:
        problems.append(
            (head["seq"] + 1, f"レコード {head['seq'] + 1} がチェーンの先頭より後にあります")
        )
    elif head["head_hash"] != last_hash:
        problems.append(
            (head["seq"], f"レコード {head['seq']} がチェーンの先頭の記録と一致しません")
        )
    elif max(signed, default=0) > last_seq:
        problems.append((last_seq + 1, "存在しないレコードを対象とするダイジェストがあります"))
    if head is not None:
        if not crypto.signature_valid(keyring, head, "head"):
            problems.append((head["seq"], "チェーンの先頭の署名が正しくありません"))
        elif not digest_problem and last_digest != (head["digest_seq"], head["digest_mac"]):
            missing = f"レコード {head['digest_seq']} のダイジェストがありません"
            problems.append((head["digest_seq"], missing))

    if not problems:
        origin = f"レコード {start_seq} のチェックポイント" if start_seq else "最初"
        summary = f"改ざんなし: {origin}から {checked} 件、ダイジェスト {len(signed)} 件"
        return VerifyResult(True, checked, None, summary)
    problems.sort(key=lambda item: item[0])
    reason = problems[0][1]
    if len(problems) > 1:
        reason += "。ほかに: " + "、".join(text for _, text in problems[1:4])
    return VerifyResult(False, checked, problems[0][0], reason)


def walk_stored(
    conn: Connection,
    keyring: AuditKeyring,
    start_seq: int,
    start_hash: str,
    signed: Mapping[int, str],
    upto: int | None,
) -> tuple[int, str, crypto.Problem | None]:
    """``walk_chain`` over the stored records: every one, or those after ``start_seq`` up to
    ``upto`` (verification must also see records that should not be there)."""
    statement = select_rows(RECORD).order_by(RECORD.c.seq)
    if upto is not None:
        statement = statement.where(RECORD.c.seq > start_seq, RECORD.c.seq <= upto)
    result = conn.execute(statement, execution_options=STREAM).mappings()
    try:
        return crypto.walk_chain(keyring, result, start_seq, start_hash, signed)
    finally:
        result.close()
