"""Verification of the audit chain: every retained record, digest, checkpoint and the head.

A record is checked against the one before it (link, hash, decryption with the key it names)
and against the digests signed for it; the checkpoints left by retention purges, the digests'
own MAC chain and the signed chain head show records cut off at either end. The first problem
found, by record number, is what ``verify`` reports (in Japanese, for the operator). The checks
of rows (``record_problem``, ``signature_valid``, ``check_digests``, ``walk_chain``) take rows
already read; only ``verify_chain`` and ``walk_stored`` query the database.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager

from cryptography.exceptions import InvalidTag
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from admin.audit_crypto import (
    GENESIS_HASH,
    AuditKeyring,
    Fields,
    checkpoint_message,
    digest_message,
    head_message,
    record_aad,
    record_hash,
)
from admin.audit_models import (
    CHECKPOINT,
    DIGEST,
    HEAD,
    HEAD_ID,
    RECEIPT_HASH_CHARS,
    RECORD,
    STREAM,
    Receipt,
    VerifyResult,
    select_rows,
)
from admin.db import lift_bounds

Problem = tuple[int, str]  # (first bad seq, what is wrong)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose queries all see one consistent state of the database."""
    if engine.dialect.name == "postgresql":
        conn = engine.connect().execution_options(isolation_level="REPEATABLE READ")
        with conn, conn.begin():
            lift_bounds(conn)  # reading a whole chain is no user's chat turn
            yield conn
    else:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")  # pysqlite would not open a read transaction itself
            try:
                yield conn
            finally:
                conn.rollback()


def verify_chain(
    conn: Connection, keyring: AuditKeyring, receipt: Receipt | None = None
) -> VerifyResult:
    """The result of checking the chain as ``conn`` sees it (see ``AuditLog.verify``), and
    of comparing it with an earlier ``receipt``."""
    problems: list[Problem] = []
    head = conn.execute(select_rows(HEAD).where(HEAD.c.id == HEAD_ID)).mappings().first()
    start_seq, start_hash = 0, GENESIS_HASH
    order = (CHECKPOINT.c.seq, CHECKPOINT.c.id)
    for cp in conn.execute(select_rows(CHECKPOINT).order_by(*order)).mappings():
        if not signature_valid(keyring, cp, "checkpoint"):
            problems.append(
                (
                    cp["seq"],
                    f"レコード {cp['seq']} の保存期間チェックポイントが偽造されています",
                )
            )
            break
        start_seq, start_hash = cp["seq"], cp["record_hash"]

    digests = conn.execute(select_rows(DIGEST).order_by(DIGEST.c.seq, DIGEST.c.id)).mappings()
    digest_problem, last_digest, signed = check_digests(keyring, digests)
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
        if not signature_valid(keyring, head, "head"):
            problems.append((head["seq"], "チェーンの先頭の署名が正しくありません"))
        elif not digest_problem and last_digest != (head["digest_seq"], head["digest_mac"]):
            missing = f"レコード {head['digest_seq']} のダイジェストがありません"
            problems.append((head["digest_seq"], missing))

    note = ""
    if not problems and receipt is not None:
        if receipt.seq > last_seq:
            problems.append(
                (
                    last_seq + 1,
                    f"控えのレコード {receipt.seq} がありません（いまの最後はレコード"
                    f" {last_seq}）。記録が削除されたか、以前の状態に戻されています",
                )
            )
        elif receipt.seq < start_seq:  # purged by retention, past its signed checkpoint
            note = (
                f"控えのレコード {receipt.seq} は保存期間を過ぎて削除済みのため、照合していません。"
            )
        else:
            stored = start_hash if receipt.seq == start_seq else _hash_of(conn, receipt.seq)
            if not stored.startswith(receipt.hash_prefix):
                problems.append(
                    (
                        receipt.seq,
                        f"レコード {receipt.seq} が控えと一致しません（差し替えられています）",
                    )
                )
    if not problems:
        origin = f"レコード {start_seq} のチェックポイント" if start_seq else "最初"
        summary = f"改ざんなし: {origin}から {checked} 件、ダイジェスト {len(signed)} 件"
        kept = str(Receipt(last_seq, last_hash[:RECEIPT_HASH_CHARS]))
        return VerifyResult(True, checked, None, summary, receipt=kept, note=note)
    problems.sort(key=lambda item: item[0])
    reason = problems[0][1]
    if len(problems) > 1:
        reason += "。ほかに: " + "、".join(text for _, text in problems[1:4])
    return VerifyResult(False, checked, problems[0][0], reason)


def _hash_of(conn: Connection, seq: int) -> str:
    """The stored chain hash of record ``seq`` (already verified to be there)."""
    return str(conn.execute(select(RECORD.c.record_hash).where(RECORD.c.seq == seq)).scalar_one())


def walk_stored(
    conn: Connection,
    keyring: AuditKeyring,
    start_seq: int,
    start_hash: str,
    signed: Mapping[int, str],
    upto: int | None,
) -> tuple[int, str, Problem | None]:
    """``walk_chain`` over the stored records: every one, or those after ``start_seq`` up to
    ``upto`` (verification must also see records that should not be there)."""
    statement = select_rows(RECORD).order_by(RECORD.c.seq)
    if upto is not None:
        statement = statement.where(RECORD.c.seq > start_seq, RECORD.c.seq <= upto)
    result = conn.execute(statement, execution_options=STREAM).mappings()
    try:
        return walk_chain(keyring, result, start_seq, start_hash, signed)
    finally:
        result.close()


def record_problem(keyring: AuditKeyring, row: Fields, prev_hash: str) -> str | None:
    """What is wrong with a stored record that should follow ``prev_hash`` (None: intact)."""
    if row["prev_hash"] != prev_hash:
        return "が直前のレコードとつながっていません（削除・挿入・移動）"
    try:
        aad = record_aad(row)
        if record_hash(prev_hash, aad, row["nonce"], row["ciphertext"]) != row["record_hash"]:
            return "が保存されたハッシュと一致しません（改ざん）"
        if not keyring.has_key(row["key_id"]):
            return f"は設定されていない監査鍵 {row['key_id']} で書かれています"
        keyring.decrypt(row["key_id"], row["nonce"], row["ciphertext"], aad)
    except InvalidTag:
        return "を復号できません（内容またはメタデータの改ざん）"
    except (TypeError, ValueError):
        return "に不正な値があります（改ざん）"
    return None


def signature_valid(keyring: AuditKeyring, row: Fields, message: str) -> bool:
    """Whether a signed row (digest, checkpoint, chain head) carries a valid MAC; False also when
    the row is malformed or its key is not configured."""
    build = {"digest": digest_message, "checkpoint": checkpoint_message, "head": head_message}
    key_field = "mac_key_id" if message == "head" else "key_id"
    try:
        body = build[message](row)
    except (TypeError, ValueError):
        return False
    return keyring.check_signature(row[key_field], body, row["mac"])


def check_digests(
    keyring: AuditKeyring, digests: Iterable[Fields]
) -> tuple[Problem | None, tuple[int, str], dict[int, str]]:
    """Check digests in (seq, id) order: signatures, their MAC chain and record counts. Returns
    the first problem, the newest digest's (seq, MAC) and the chain hash signed at each seq."""
    prev_seq, prev_mac, signed = 0, GENESIS_HASH, {}
    for digest in digests:
        seq = digest["seq"]
        if not signature_valid(keyring, digest, "digest"):
            return (seq, f"レコード {seq} のダイジェストの署名が正しくありません"), (0, ""), {}
        if digest["prev_mac"] != prev_mac or digest["records"] != seq - prev_seq:
            return (
                (seq, f"レコード {seq} より前のダイジェストが削除または並べ替えられています"),
                (0, ""),
                {},
            )
        prev_seq, prev_mac = seq, digest["mac"]
        signed[seq] = digest["head_hash"]
    return None, (prev_seq, prev_mac), signed


def walk_chain(
    keyring: AuditKeyring,
    rows: Iterable[Fields],
    start_seq: int,
    start_hash: str,
    signed: Mapping[int, str],
) -> tuple[int, str, Problem | None]:
    """Check records in seq order, following the record ``start_seq`` whose hash is
    ``start_hash``: ``(records that passed, hash of the last one, first problem)``. ``signed``
    maps seqs to the chain hashes digests signed for them."""
    if signed.get(start_seq, start_hash) != start_hash:
        return 0, start_hash, (start_seq, f"レコード {start_seq} がダイジェストと一致しません")
    checked, prev = 0, start_hash
    for row in rows:
        seq = start_seq + checked + 1
        if row["seq"] != seq:
            if isinstance(row["seq"], int) and row["seq"] < seq:
                text = (
                    "は存在しないはずのレコードです（重複、または保存期間チェックポイントより前）"
                )
                return checked, prev, (row["seq"], f"レコード {row['seq']} {text}")
            return checked, prev, (seq, f"レコード {seq} がありません")
        reason = record_problem(keyring, row, prev)
        if reason is None and signed.get(seq, row["record_hash"]) != row["record_hash"]:
            reason = "が署名済みのダイジェストと一致しません"
        if reason is not None:
            return checked, prev, (seq, f"レコード {seq} {reason}")
        checked, prev = checked + 1, row["record_hash"]
    return checked, prev, None
