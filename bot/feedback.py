"""A 👍/👎 on an answer: stored for the organization of the user who pressed it, and what that
user is told. Thanks only when the rating was stored (again, for a second press); otherwise why
not, or that it could not be stored just now."""

from __future__ import annotations

import asyncio
import logging
import re

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from admin import links
from bot.command_replies import workspace_word
from bot.turns import Feedback
from knowledge.errors import BaibainError

log = logging.getLogger(__name__)

TURN_ID = re.compile(r"^[0-9a-f]{32}$")

THANKS_TEXT = "ご評価ありがとうございました。今後の改善に役立てます。"
UNKNOWN_ANSWER_TEXT = (
    "申し訳ありません。この回答の記録が見つからないため、評価を記録できませんでした。"
)
FAILED_TEXT = "申し訳ありません。評価を記録できませんでした。時間をおいてもう一度お試しください。"


def unregistered_text(feedback: Feedback) -> str:
    """Why a press in a workspace linked to no organization was not stored."""
    where = workspace_word(feedback.platform)
    return (
        f"申し訳ありません。この{where}は自治体版バイバインの利用登録がされていないため、"
        "評価を記録できませんでした。"
    )


async def record(engine: Engine, feedback: Feedback) -> str:
    """Store a press on an answer of a linked workspace; returns what to tell the user who
    pressed it (see the module)."""
    if not TURN_ID.match(feedback.turn_id) or not feedback.user_id:
        log.info("feedback ignored platform=%s: malformed", feedback.platform)
        return UNKNOWN_ANSWER_TEXT
    try:
        org = await asyncio.to_thread(
            links.org_for_workspace, engine, feedback.platform, feedback.workspace_id
        )
        if org is None:
            log.info("feedback ignored platform=%s: unknown workspace", feedback.platform)
            return unregistered_text(feedback)
        stored = await asyncio.to_thread(
            links.record_feedback,
            engine,
            turn_id=feedback.turn_id,
            platform=feedback.platform,
            user_id=feedback.user_id,
            rating=feedback.rating,
            org_id=org.id,
        )
    except (SQLAlchemyError, BaibainError) as exc:
        log.warning(
            "feedback not stored platform=%s error=%s", feedback.platform, type(exc).__name__
        )
        return FAILED_TEXT
    if not stored:
        log.info("feedback ignored platform=%s: unknown answer", feedback.platform)
        return UNKNOWN_ANSWER_TEXT
    log.info(
        "feedback stored platform=%s org=%s rating=%s", feedback.platform, org.id, feedback.rating
    )
    return THANKS_TEXT
