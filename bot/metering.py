"""Every LLM call of an organization is paid from its monthly budget.

``LLMAccess.for_org`` wraps the shared client so that each call reserves an upper bound
(estimated prompt tokens + ``max_tokens``) first, commits the actual usage after, and releases
the reservation when the call fails (unless the server billed it: a reply its content filter
withheld, a stream that broke after some of the reply came). Crossing 80 % and 100 % of the
budget is recorded once (again when a raised budget is crossed in turn), and the turn whose
call recorded it says so under its answer (``LLMAccess.crossing_notice``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from admin.audit_models import AuditEvent
from admin.quotas import QuotaService, QuotaStatus, Reservation, exhausted
from bot.asker import Asker
from bot.auditing import Auditor
from bot.command_replies import typed
from bot.turns import Answer, ConversationRef, Usage
from knowledge.errors import UpstreamUnavailable
from knowledge.llm import (
    NO_USAGE,
    Completion,
    LLMClient,
    LLMUsage,
    Message,
    StreamEnd,
    StreamEvent,
    estimate_message_tokens,
)

log = logging.getLogger(__name__)


_T = TypeVar("_T")


async def _to_the_end(
    settle: Callable[..., _T], *args: object, undo: Callable[[_T], object] | None = None
) -> _T:
    """``settle(*args)`` in a thread, awaited to its end even when the caller is cancelled
    meanwhile (which is then raised, after ``undo`` of what it returned): a charge or a
    reservation goes on in its thread regardless, so a turn that stops waiting (a summary's
    other part failed, shutdown) must neither answer before its budget is settled nor leave a
    reservation to expire."""
    running = asyncio.ensure_future(asyncio.to_thread(settle, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait([running])
        if undo is not None and not running.cancelled() and running.exception() is None:
            await asyncio.to_thread(undo, running.result())
        raise


class MeteredLLM:
    """An ``LLMClient`` that charges an organization's quota for every call.

    ``spent`` adds up what its calls were charged, so that work which fails after some calls
    (a summary whose last step fails) still reports what it cost. ``crossed`` is the highest
    threshold (80 or 100) whose crossing its calls recorded, so that the turn tells its asker.
    """

    def __init__(
        self, inner: LLMClient, quotas: QuotaService, auditor: Auditor, org_id: str
    ) -> None:
        self._inner = inner
        self._quotas = quotas
        self._auditor = auditor
        self.org_id = org_id
        self.spent: LLMUsage = NO_USAGE
        self.crossed: int | None = None

    async def _reserve(self, messages: Sequence[Message], max_tokens: int) -> Reservation:
        amount = estimate_message_tokens(messages) + max_tokens
        return await _to_the_end(
            self._quotas.reserve, self.org_id, amount, undo=self._quotas.release
        )

    async def _commit(self, reservation: Reservation, usage: LLMUsage) -> None:
        try:
            crossed = await _to_the_end(self._quotas.commit, reservation, usage.total_tokens)
        except asyncio.CancelledError:  # charged in its thread all the same
            self.spent = self.spent + usage
            raise
        self.spent = self.spent + usage
        if crossed is None:
            return
        # The record says what was crossed of which budget: an auditor reading "80 %" a month
        # later cannot tell it from a budget changed since.
        status = await asyncio.to_thread(self._quotas.status, self.org_id)
        event = AuditEvent.admin(
            org_id=self.org_id,
            platform="system",
            user_id="",
            action="quota.threshold",
            details={
                "percent": crossed,
                "period": status.period,
                "used": status.used,
                "budget": status.budget,
            },
        )
        # Marked as told with its record, or not at all: a crossing whose record failed is
        # recorded by the next call.
        if await self._auditor.change(
            lambda conn: self._quotas.mark_notified(reservation, crossed, within=conn),
            lambda marked: event if marked else None,
        ):
            log.warning("quota threshold org=%s percent=%d", self.org_id, crossed)
            self.crossed = max(crossed, self.crossed or 0)

    async def _failed(self, reservation: Reservation, exc: BaseException) -> None:
        """Settle the reservation of a call that failed: what the server billed for a reply it
        sent (one its content filter withheld) is charged, otherwise nothing is."""
        billed = exc.billed if isinstance(exc, UpstreamUnavailable) else None
        if billed is None:
            await _to_the_end(self._quotas.release, reservation)
        else:
            await self._commit(reservation, billed)

    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
    ) -> Completion:
        reservation = await self._reserve(messages, max_tokens)
        try:
            completion = await self._inner.complete(
                messages, max_tokens=max_tokens, temperature=temperature
            )
        except BaseException as exc:
            await self._failed(reservation, exc)
            raise
        await self._commit(reservation, completion.usage)
        return completion

    async def stream(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
    ) -> AsyncIterator[StreamEvent]:
        reservation = await self._reserve(messages, max_tokens)
        settled = False
        try:
            async for event in self._inner.stream(
                messages, max_tokens=max_tokens, temperature=temperature
            ):
                if isinstance(event, StreamEnd):
                    await self._commit(reservation, event.completion.usage)
                    settled = True
                yield event
        except BaseException as exc:  # the stream failed, or its reader stopped reading
            if not settled:
                settled = True
                await self._failed(reservation, exc)
            raise

    async def close(self) -> None:
        """The shared client is closed by its owner, not per organization."""


def spent_by(llm: LLMClient | None) -> LLMUsage | None:
    """What ``llm``'s calls were charged so far, ``None`` when nothing (or it is unmetered)."""
    return llm.spent if isinstance(llm, MeteredLLM) and llm.spent.requests else None


class LLMAccess:
    """The configured LLM, metered per organization."""

    def __init__(self, llm: LLMClient | None, quotas: QuotaService, auditor: Auditor) -> None:
        self.llm = llm
        self.quotas = quotas
        self.auditor = auditor

    def for_org(self, org_id: str | None) -> LLMClient | None:
        """The client an organization's turn uses; ``None`` when no LLM is configured.

        Turns without an organization (the local demo, operator CLI) are not metered.
        """
        if self.llm is None or org_id is None:
            return self.llm
        return MeteredLLM(self.llm, self.quotas, self.auditor, org_id)

    async def affordable(self, org_id: str | None, tokens: int) -> int:
        """``tokens``, or what the organization has left when that is less (never negative)."""
        if self.llm is None or org_id is None:
            return tokens
        status = await asyncio.to_thread(self.quotas.status, org_id)
        return max(0, min(tokens, status.remaining))

    async def quotes_when_exhausted(self, org_id: str | None) -> bool:
        """Whether an organization whose budget is spent is answered with quotes from the
        documents (the default) rather than refused (``quota set --no-offline``)."""
        if org_id is None:
            return False  # only an organization has a budget to exhaust
        status = await asyncio.to_thread(self.quotas.status, org_id)
        return status.offline_when_exhausted

    async def crossing_notice(self, llm: LLMClient | None, asker: Asker) -> str:
        """What a turn says under its answer when its calls recorded a threshold's crossing
        (``""`` when they did not, and where members of other organizations read the answer:
        the budget is the organization's own business, as the quota command is; its admins
        hear of it at their next chat turn, ``ChatRouter``)."""
        if not isinstance(llm, MeteredLLM) or llm.crossed is None or not asker.own_data:
            return ""
        status = await asyncio.to_thread(self.quotas.status, llm.org_id)
        return threshold_notice(llm.crossed, status, asker.where)

    async def reached(self, org_id: str) -> QuotaStatus | None:
        """The organization's month when an LLM is configured and the usage reaches a
        threshold (80 % or 100 %) of the budget, else ``None``."""
        if self.llm is None:
            return None
        status = await asyncio.to_thread(self.quotas.status, org_id)
        return status if status.threshold_reached is not None else None

    async def check_affordable(self, org_id: str | None, tokens: int) -> None:
        """``QuotaExceeded`` when the organization has less than ``tokens`` left: a turn checks
        that its answer can be paid for before it spends anything on preparatory calls
        (rewriting a follow-up, query variants)."""
        if self.llm is None or org_id is None:
            return
        status = await asyncio.to_thread(self.quotas.status, org_id)
        if status.remaining < tokens:
            raise exhausted(status)


def threshold_notice(percent: int, status: QuotaStatus, where: ConversationRef) -> str:
    """The notice of ``percent`` of the budget crossed: what is left, what happens when it is
    used up (quotes or no answers, as the organization chose) and where admins see more."""
    reset = f"{status.reset_on.month}月{status.reset_on.day}日のリセットまで"
    after = (
        "資料からの抜粋のみでお答えします"
        if status.offline_when_exhausted
        else "AIによる回答を停止します"
    )
    if percent >= 100:
        reached = f"※今月のAI利用量が上限に達しました。{reset}、{after}。"
    else:
        reached = (
            f"※今月のAI利用量が上限の{percent}%に達しました（残り{status.remaining:,}トークン）。"
            f"使い切ると、{reset}{after}。"
        )
    return f"{reached}管理者の方は「{_quota_command(where)}」で利用状況を確認できます。"


def _quota_command(where: ConversationRef) -> str:
    """How an admin in the conversation ``where`` the notice is read looks at the quota."""
    platform = where.platform
    if platform in ("slack", "teams", "logo"):
        return typed(where, "quota")
    return "baibain quota show 組織名" if platform == "cli" else "GET /api/v1/quota"


def usage_of(usage: LLMUsage) -> Usage:
    """The neutral usage value of an LLM usage."""
    return Usage(
        model=usage.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        requests=usage.requests,
    )


def added(first: LLMUsage | None, second: LLMUsage | None) -> LLMUsage | None:
    """What two sets of calls cost together (either may be none)."""
    if first is None or second is None:
        return first or second
    return first + second


def charged(answer: Answer, extra: LLMUsage | None) -> Answer:
    """``answer`` with ``extra`` tokens added to its usage (an offline answer takes the model
    of those calls, so that usage reports price them)."""
    if extra is None:
        return answer
    usage = answer.usage
    return replace(
        answer,
        usage=Usage(
            model=usage.model if usage.requests else extra.model,
            input_tokens=usage.input_tokens + extra.input_tokens,
            output_tokens=usage.output_tokens + extra.output_tokens,
            requests=usage.requests + extra.requests,
        ),
    )
