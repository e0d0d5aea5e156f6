"""Usage per organization and month, for operations and for evaluating the trial.

One ``UsageEvent`` row per turn holds only what the figures need — no question or answer text:
platform, the category of the top source, outcome, tokens, model and a pseudonymous user hash.
Feedback (👍/👎) is joined by turn id. Costs come from a per-model price table.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from admin.models import AnswerFeedback
from admin.quotas import period_of

# Price per 1,000 tokens (input, output) in yen, by model name.
Prices = Mapping[str, tuple[float, float]]


class UsageEvent(SQLModel, table=True):
    """Figures of one turn (no content)."""

    __tablename__ = "usage_event"

    id: int | None = Field(default=None, primary_key=True)
    turn_id: str = Field(max_length=64, index=True)
    org_id: str = Field(default="", max_length=64, index=True)
    period: str = Field(max_length=7, index=True)
    created_at: datetime
    platform: str = Field(max_length=16)
    category: str = Field(default="", max_length=32)
    outcome: str = Field(max_length=16)
    model: str = Field(default="", max_length=200)
    input_tokens: int = 0
    output_tokens: int = 0
    user_hash: str = Field(default="", max_length=64)


@dataclass
class UsageReport:
    """One organization's month."""

    org_id: str
    period: str
    questions: int = 0
    users: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_yen: float = 0.0
    not_found_share: float = 0.0
    by_platform: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    by_outcome: dict[str, int] = field(default_factory=dict)
    feedback: dict[str, int] = field(default_factory=dict)


class UsageService:
    """Recording and reporting usage."""

    def __init__(self, engine: Engine, prices: Prices | None = None) -> None:
        self._engine = engine
        self._prices = dict(prices or {})

    def record(
        self,
        *,
        turn_id: str,
        org_id: str | None,
        platform: str,
        category: str,
        outcome: str,
        model: str,
        input_tokens: int,
        output_tokens: int,
        user_hash: str,
    ) -> None:
        """Add one turn's figures."""
        now = datetime.now(UTC)
        with Session(self._engine) as session:
            session.add(
                UsageEvent(
                    turn_id=turn_id,
                    org_id=org_id or "",
                    period=period_of(now),
                    created_at=now,
                    platform=platform,
                    category=category,
                    outcome=outcome,
                    model=model,
                    input_tokens=input_tokens,
                    output_tokens=output_tokens,
                    user_hash=user_hash,
                )
            )
            session.commit()

    def report(self, org_id: str, period: str | None = None) -> UsageReport:
        """The figures of one organization for a month (default: the current one)."""
        period = period or period_of(datetime.now(UTC))
        with Session(self._engine) as session:
            events = session.exec(
                select(UsageEvent).where(UsageEvent.org_id == org_id, UsageEvent.period == period)
            ).all()
            turn_ids = [e.turn_id for e in events]
            ratings = (
                session.exec(
                    select(AnswerFeedback.rating).where(
                        col(AnswerFeedback.turn_id).in_(turn_ids),
                        # Clicks of the organization's own users: an answer seen by others
                        # (a shared channel, a forwarded id) is not theirs to rate.
                        AnswerFeedback.org_id == int(org_id),
                    )
                ).all()
                if turn_ids
                else []
            )
        report = UsageReport(org_id=org_id, period=period)
        report.questions = len(events)
        report.users = len({e.user_hash for e in events if e.user_hash})
        report.input_tokens = sum(e.input_tokens for e in events)
        report.output_tokens = sum(e.output_tokens for e in events)
        report.cost_yen = round(sum(self._cost(e) for e in events), 2)
        report.by_platform = dict(Counter(e.platform for e in events))
        report.by_category = dict(Counter(e.category or "（なし）" for e in events))
        report.by_outcome = dict(Counter(e.outcome for e in events))
        report.feedback = dict(Counter(ratings))
        # Of the questions asked of the documents: thanks, greetings and requests for help
        # (outcome ``command``) looked nothing up.
        if asked := sum(1 for e in events if e.outcome != "command"):
            report.not_found_share = round(report.by_outcome.get("not_found", 0) / asked, 4)
        return report

    def _cost(self, event: UsageEvent) -> float:
        price_in, price_out = self._price(event.model)
        return (event.input_tokens * price_in + event.output_tokens * price_out) / 1000

    def _price(self, model: str) -> tuple[float, float]:
        """The price of ``model``: its own, or that of the model a dated snapshot is of
        (OpenAI and Azure name the snapshot that answered: ``gpt-4o-mini-2024-07-18`` for
        ``gpt-4o-mini``, ``gpt-3.5-turbo-0613``)."""
        if model in self._prices:
            return self._prices[model]
        return self._prices.get(_SNAPSHOT.sub("", model), (0.0, 0.0))


# The date suffix of a model snapshot's name.
_SNAPSHOT = re.compile(r"-(?:\d{4}-\d{2}-\d{2}|\d{4})$")


def report_csv(report: UsageReport) -> str:
    """The report as CSV rows (metric, key, value), for spreadsheets: UTF-8 text opening with a
    byte order mark, without which Excel on Japanese Windows reads it as Shift_JIS."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["period", "metric", "key", "value"])
    for metric in (
        "questions",
        "users",
        "input_tokens",
        "output_tokens",
        "cost_yen",
        "not_found_share",
    ):
        writer.writerow([report.period, metric, "", getattr(report, metric)])
    for metric in ("by_platform", "by_category", "by_outcome", "feedback"):
        for key, value in sorted(getattr(report, metric).items()):
            writer.writerow([report.period, metric, key, value])
    return "\ufeff" + buffer.getvalue()
