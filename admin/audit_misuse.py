"""Misuse signals from the audit log: patterns in who asked what that deserve a human look.

Three kinds: a user with unusual volume (over ``VOLUME_FACTOR`` times the median and over
``VOLUME_MIN_TURNS`` turns), a user with ``REFUSED_MIN`` or more refused commands, and a user
whose questions try to make the bot ignore or reveal its instructions (the questions are
decrypted for this scan only; a signal never carries their text).
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Engine, RowMapping
from sqlalchemy.exc import SQLAlchemyError

from admin.audit_models import RECORD, STREAM, AuditUnavailable, MisuseSignal, select_rows
from knowledge.dates import as_utc

VOLUME_FACTOR = 3
VOLUME_MIN_TURNS = 50
REFUSED_MIN = 3
_OVERRIDE_JA = re.compile(
    r"(以上|上記|これまで|今まで|前|先ほど|最初)の(すべての|全ての|全部の)?"
    r"(指示|命令|ルール|設定|プロンプト)を(無視|忘れ)"
    r"|システムプロンプト(を|の内容を)?(表示|教え|見せ|出力|開示)"
)
_OVERRIDE_EN = re.compile(
    r"\b(ignore|disregard|forget) (all )?(the |your |any )?(previous|prior|above|earlier) "
    r"(instructions|prompts|rules)"
    r"|\b(reveal|show|print|display|tell me) (me )?(your|the) system prompt"
)

QuestionOf = Callable[[RowMapping], "str | None"]


def scan_misuse(
    engine: Engine,
    question_of: QuestionOf,
    org_id: str | None,
    since: datetime,
    until: datetime | None = None,
) -> list[MisuseSignal]:
    """The signals of records since ``since`` (and before ``until``) for one organization (or
    all with ``None``); ``question_of`` decrypts a turn record's question. By kind, then most
    frequent first."""
    scope = [RECORD.c.created_at >= as_utc(since)]
    if until is not None:
        scope.append(RECORD.c.created_at < as_utc(until))
    if org_id is not None:
        scope.append(RECORD.c.org_id == org_id)
    per_user = select(RECORD.c.user_hash, func.count().label("n")).group_by(RECORD.c.user_hash)
    signals: list[MisuseSignal] = []
    try:
        with engine.connect() as conn:
            turns_by_user = per_user.where(*scope, RECORD.c.kind == "turn")
            turns: dict[str, int] = {
                row["user_hash"]: row["n"] for row in conn.execute(turns_by_user).mappings()
            }
            refused_by_user = per_user.where(*scope, RECORD.c.outcome == "refused")
            for row in conn.execute(refused_by_user).mappings():
                user, count = row["user_hash"], row["n"]
                if count >= REFUSED_MIN:
                    detail = f"権限のないコマンドが{count}件拒否されました"
                    signals.append(MisuseSignal("refused_commands", user, count, detail))
            overrides = _override_attempts(conn, scope, question_of)
    except SQLAlchemyError as exc:
        raise AuditUnavailable(detail=f"audit misuse scan failed: {type(exc).__name__}") from exc
    median = statistics.median(turns.values()) if turns else 0
    for user, count in turns.items():
        if count > VOLUME_FACTOR * median and count > VOLUME_MIN_TURNS:
            detail = f"質問が{count}件あります（利用者あたりの中央値は{median:g}件）"
            signals.append(MisuseSignal("unusual_volume", user, count, detail))
    for user, seqs in overrides.items():
        shown = ", ".join(str(seq) for seq in seqs[:10]) + (" …" if len(seqs) > 10 else "")
        detail = f"回答の規則を書き換えさせようとする質問があります（監査記録 {shown}）"
        signals.append(MisuseSignal("instruction_override", user, len(seqs), detail))
    return sorted(signals, key=lambda s: (s.kind, -s.count, s.user_hash))


def _override_attempts(
    conn: Connection, scope: list[Any], question_of: QuestionOf
) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    statement = select_rows(RECORD).where(*scope, RECORD.c.kind == "turn")
    rows = conn.execute(statement.order_by(RECORD.c.seq), execution_options=STREAM)
    for row in rows.mappings():
        question = question_of(row)
        if question is not None and looks_like_instruction_override(question):
            found.setdefault(row["user_hash"], []).append(row["seq"])
    return found


def looks_like_instruction_override(question: str) -> bool:
    """Whether ``question`` tries to make the bot ignore or reveal its instructions."""
    text = unicodedata.normalize("NFKC", question).lower()
    if _OVERRIDE_JA.search(re.sub(r"\s+", "", text)):
        return True
    return bool(_OVERRIDE_EN.search(re.sub(r"\s+", " ", text)))
