"""Monthly LLM token budgets per organization that cannot be overspent.

Before every LLM call an upper bound (estimated prompt tokens + the call's ``max_tokens``) is
reserved with one conditional UPDATE (``used + reserved + amount <= budget``), which is atomic on
SQLite (write lock) and PostgreSQL (row lock) alike, so concurrent turns in several web
processes can never together commit more than the budget. After the call the actual usage is
committed and the rest of the reservation released; a failed call releases all of it.

The one exception is a server that reports more than was reserved (it ignored ``max_tokens``,
or counts the prompt higher than the estimate): the organization is charged what the server
reported, so ``used`` may pass ``budget``. ``remaining`` is then 0, never negative, and every
later reservation of the month is refused.

Crossing 80 % and 100 % of the budget is told once (``mark_notified``, as conditional as a
reservation). A budget raised so that the usage is below a threshold again untells it, so the
new budget's own crossing is told; a lowered one is told at the next call.

Periods are calendar months in Japan time; a new month starts a fresh account.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import BigInteger, ColumnElement, and_, case, cast, literal, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Mapped
from sqlmodel import Field, Session, SQLModel, col, select

from admin.db import insert_missing
from knowledge.dates import JST, midnight_in_japan
from knowledge.errors import BadInput, QuotaExceeded

log = logging.getLogger(__name__)

THRESHOLDS = (80, 100)


def thresholds_reached(used: int, budget: int) -> list[int]:
    """The thresholds (80, 100) that ``used`` reaches of ``budget``, lowest first; none of a
    budget of 0 (turned off, nothing to use)."""
    return [t for t in THRESHOLDS if used * 100 >= t * budget > 0]


# The largest monthly budget the database columns hold (32-bit integers on PostgreSQL).
MAX_BUDGET = 2**31 - 1


class QuotaSetting(SQLModel, table=True):
    """An organization's own monthly budget and what happens when it is used up."""

    __tablename__ = "quota_setting"

    org_id: str = Field(primary_key=True, max_length=64)
    monthly_budget: int | None = None
    offline_when_exhausted: bool = True


class QuotaAccount(SQLModel, table=True):
    """Tokens of one organization in one month."""

    __tablename__ = "quota_account"

    org_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)  # "2026-11" (Japan time)
    budget: int
    used: int = 0
    reserved: int = 0
    notified_percent: int = 0


class QuotaReservation(SQLModel, table=True):
    """An open reservation; rows left by a crashed process are released by the worker."""

    __tablename__ = "quota_reservation"

    id: str = Field(primary_key=True, max_length=32)
    org_id: str = Field(max_length=64, index=True)
    period: str = Field(max_length=7)
    amount: int
    created_at: datetime


@dataclass(frozen=True)
class QuotaStatus:
    """What ``quota`` shows."""

    org_id: str
    period: str
    budget: int
    used: int
    reserved: int
    reset_on: date
    offline_when_exhausted: bool

    @property
    def remaining(self) -> int:
        return max(self.budget - self.used - self.reserved, 0)

    @property
    def percent_used(self) -> int | None:
        """How much of the budget is used, in whole percent rounded down (79.9 % is 79, not
        past the 80 % mark); ``None`` for a budget of 0 (turned off, nothing to use)."""
        return self.used * 100 // self.budget if self.budget > 0 else None

    @property
    def threshold_reached(self) -> int | None:
        """The highest threshold (80 or 100) the month's usage reaches, ``None`` below 80 %."""
        return max(thresholds_reached(self.used, self.budget), default=None)


@dataclass(frozen=True)
class Reservation:
    """A granted reservation, to be committed or released exactly once."""

    id: str
    org_id: str
    period: str
    amount: int


def period_of(moment: datetime) -> str:
    """The month (Japan time) that ``moment`` falls in, as ``YYYY-MM``."""
    return moment.astimezone(JST).strftime("%Y-%m")


def previous_period(moment: datetime) -> str:
    """The month (Japan time) before the one ``moment`` falls in, as ``YYYY-MM``: at 04:00 on
    1 December in Japan (still 30 November in UTC) it is ``2026-11``."""
    first = moment.astimezone(JST).replace(day=1)
    return period_of(first - timedelta(days=1))


def reset_date(period: str) -> date:
    """The first day of the month after ``period``."""
    year, month = map(int, period.split("-"))
    return date(year + month // 12, month % 12 + 1, 1)


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """When ``period`` starts and the next month starts, at midnight in Japan."""
    start = datetime.strptime(period, "%Y-%m").replace(tzinfo=JST)
    return start, midnight_in_japan(reset_date(period))


def _reached(percent: int, budget: ColumnElement[int] | Mapped[int]) -> ColumnElement[bool]:
    """Whether an account's usage reaches ``percent`` of ``budget`` (never of a budget of 0),
    in 64 bits: ``used * 100`` overflows PostgreSQL's 32-bit integers."""
    used = cast(col(QuotaAccount.used), BigInteger)
    return and_(budget > 0, used * 100 >= cast(budget, BigInteger) * percent)


def _highest_reached(budget: int) -> ColumnElement[int]:
    """The highest threshold an account's usage reaches of ``budget`` (0 for none)."""
    reached = ((_reached(t, literal(budget)), literal(t)) for t in reversed(THRESHOLDS))
    return case(*reached, else_=literal(0))


def _exhausted_message(status: QuotaStatus) -> str:
    """The Japanese message for a budget that cannot pay for a call: used up, or with less
    left than one answer may take (a call reserves its prompt and longest reply first)."""
    if status.budget == 0:  # turned off, not spent: nothing comes back on the 1st
        return (
            "この組織のAI利用上限は0トークンに設定されています（AIによる回答は行いません）。"
            "利用したい場合は組織の管理者にご相談ください。"
        )
    reset = f"{status.reset_on.month}月{status.reset_on.day}日"
    if status.remaining > 0:
        reason = f"今月のAI利用の残り（{status.remaining:,}トークン）では回答を作成できません。"
    else:
        reason = f"今月のAI利用上限（{status.budget:,}トークン）に達しました。"
    return f"{reason}{reset}にリセットされます。急ぎの場合は組織の管理者にご相談ください。"


def exhausted(status: QuotaStatus) -> QuotaExceeded:
    """The error for a budget that cannot pay for a call, with when it can again."""
    resets_at = midnight_in_japan(status.reset_on) if status.budget > 0 else None
    return QuotaExceeded(_exhausted_message(status), resets_at=resets_at)


class QuotaService:
    """Budgets, reservations and commits for every organization."""

    def __init__(
        self,
        engine: Engine,
        default_budget: int,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._engine = engine
        self._default = default_budget
        self._clock = clock or (lambda: datetime.now(UTC))

    # -- settings ----------------------------------------------------------------------------

    def _setting(self, session: Session, org_id: str) -> QuotaSetting:
        return session.get(QuotaSetting, org_id) or QuotaSetting(org_id=org_id)

    def set_budget(
        self,
        org_id: str,
        tokens: int,
        *,
        offline_when_exhausted: bool | None = None,
        within: Connection | None = None,
    ) -> None:
        """Set an organization's monthly budget (from now on, this month included): in a
        transaction of its own, or in the caller's on ``within`` (an ``AuditLog.change``)."""
        if not 0 <= tokens <= MAX_BUDGET:
            raise BadInput(f"トークン数は0〜{MAX_BUDGET:,}の整数で指定してください。")
        period = period_of(self._clock())
        # The setting and this month's account change together or not at all.
        with Session(within or self._engine) as session:
            self._open_account(session, org_id, period)
            setting = self._setting(session, org_id)
            setting.monthly_budget = tokens
            if offline_when_exhausted is not None:
                setting.offline_when_exhausted = offline_when_exhausted
            session.add(setting)
            told = col(QuotaAccount.notified_percent)
            still = _highest_reached(tokens)
            session.execute(
                update(QuotaAccount)
                .where(col(QuotaAccount.org_id) == org_id, col(QuotaAccount.period) == period)
                # A threshold the month's usage no longer reaches under the new budget is
                # untold again, so crossing it later notifies again; one still reached stays
                # told (read and written in this one statement, as concurrent commits add up).
                .values(budget=tokens, notified_percent=case((told > still, still), else_=told))
            )
            session.commit()

    def status(self, org_id: str) -> QuotaStatus:
        """Budget, used, reserved and the reset date of the current month."""
        period = period_of(self._clock())
        self._ensure_account(org_id, period)
        with Session(self._engine) as session:
            account = session.get(QuotaAccount, (org_id, period))
            setting = self._setting(session, org_id)
            assert account is not None
            return QuotaStatus(
                org_id=org_id,
                period=period,
                budget=account.budget,
                used=account.used,
                reserved=account.reserved,
                reset_on=reset_date(period),
                offline_when_exhausted=setting.offline_when_exhausted,
            )

    def _ensure_account(self, org_id: str, period: str) -> None:
        with Session(self._engine) as session:
            self._open_account(session, org_id, period)
            session.commit()

    def _open_account(self, session: Session, org_id: str, period: str) -> None:
        """The month's account, with the organization's budget, unless it is open already (also
        when another process opens it meanwhile)."""
        if session.get(QuotaAccount, (org_id, period)) is not None:
            return
        setting = self._setting(session, org_id)
        budget = setting.monthly_budget if setting.monthly_budget is not None else self._default
        insert_missing(session, QuotaAccount, org_id=org_id, period=period, budget=budget)

    # -- reservations ------------------------------------------------------------------------

    def reserve(self, org_id: str, amount: int) -> Reservation:
        """Reserve ``amount`` tokens or raise ``QuotaExceeded`` (with the reset date)."""
        period = period_of(self._clock())
        self._ensure_account(org_id, period)
        reservation = Reservation(uuid.uuid4().hex, org_id, period, max(amount, 0))
        with self._engine.begin() as conn:
            granted = conn.execute(
                update(QuotaAccount)
                .where(
                    col(QuotaAccount.org_id) == org_id,
                    col(QuotaAccount.period) == period,
                    col(QuotaAccount.used) + col(QuotaAccount.reserved) + reservation.amount
                    <= col(QuotaAccount.budget),
                )
                .values(reserved=col(QuotaAccount.reserved) + reservation.amount)
            ).rowcount
            if granted:
                conn.execute(
                    QuotaReservation.__table__.insert().values(  # type: ignore[attr-defined]
                        id=reservation.id,
                        org_id=org_id,
                        period=period,
                        amount=reservation.amount,
                        created_at=self._clock(),
                    )
                )
        if not granted:
            raise exhausted(self.status(org_id))
        return reservation

    def commit(self, reservation: Reservation, used: int) -> int | None:
        """Record the actual usage of a call and free the rest of its reservation.

        ``used`` is charged in full even above the reservation (and the budget): the account
        says what the server reported. Returns the highest percentage threshold (80 or 100)
        that the month's usage has crossed and that is not marked as told yet
        (``mark_notified``), so the caller can tell the organization's admins once.
        """
        if used > reservation.amount:
            log.warning(
                "llm usage above its reservation org=%s used=%d reserved=%d",
                reservation.org_id,
                used,
                reservation.amount,
            )
        return self._settle(reservation, max(used, 0))

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose call failed."""
        self._settle(reservation, 0)

    def _settle(self, reservation: Reservation, used: int) -> int | None:
        table = QuotaReservation.__table__  # type: ignore[attr-defined]
        with self._engine.begin() as conn:
            removed = conn.execute(table.delete().where(table.c.id == reservation.id)).rowcount
            if not removed:
                return None  # already settled (or expired and released by the worker)
            conn.execute(
                update(QuotaAccount)
                .where(
                    col(QuotaAccount.org_id) == reservation.org_id,
                    col(QuotaAccount.period) == reservation.period,
                )
                .values(
                    reserved=col(QuotaAccount.reserved) - reservation.amount,
                    used=col(QuotaAccount.used) + used,
                )
            )
            account = conn.execute(
                select(
                    col(QuotaAccount.used),
                    col(QuotaAccount.budget),
                    col(QuotaAccount.notified_percent),
                ).where(
                    col(QuotaAccount.org_id) == reservation.org_id,
                    col(QuotaAccount.period) == reservation.period,
                )
            ).one()
            reached = thresholds_reached(account.used, account.budget)
            crossed = [t for t in reached if t > account.notified_percent]
            return crossed[-1] if crossed else None

    def mark_notified(self, reservation: Reservation, percent: int, *, within: Connection) -> bool:
        """Mark ``percent`` of the reservation's month as told, in the caller's transaction on
        ``within`` (with the record that tells it, ``AuditLog.change``): False when it was
        marked already (by a concurrent call that crossed it too)."""
        marked = within.execute(
            update(QuotaAccount)
            .where(
                col(QuotaAccount.org_id) == reservation.org_id,
                col(QuotaAccount.period) == reservation.period,
                col(QuotaAccount.notified_percent) < percent,
                # Not a crossing of a budget raised since (``set_budget`` untold it): the new
                # budget's own crossing is the one to tell.
                _reached(percent, col(QuotaAccount.budget)),
            )
            .values(notified_percent=percent)
        )
        return bool(marked.rowcount)

    def release_expired(self, older_than: timedelta = timedelta(minutes=15)) -> int:
        """Release reservations left open by crashed processes; returns how many."""
        cutoff = self._clock() - older_than
        with Session(self._engine) as session:
            stale = session.exec(
                select(QuotaReservation).where(QuotaReservation.created_at < cutoff)
            ).all()
        for row in stale:
            self.release(Reservation(row.id, row.org_id, row.period, row.amount))
        return len(stale)
