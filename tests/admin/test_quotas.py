"""Token budgets that cannot be overspent, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fakes.openai_server import FakeOpenAIServer, Hang, Reply, Status
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from support import refusing_inserts

from admin.audit import AuditKeyring, AuditLog, AuditWriteFailed
from admin.quotas import MAX_BUDGET, QuotaService, period_of, previous_period, reset_date
from bot.auditing import Auditor
from bot.metering import LLMAccess, spent_by
from knowledge.errors import QuotaExceeded, UpstreamUnavailable
from knowledge.llm import LLMClient, LLMConfig, OpenAIChatClient


def auditor(engine: Engine, tmp_path: Path) -> Auditor:
    key = base64.b64encode(os.urandom(32)).decode()
    return Auditor(AuditLog(engine, AuditKeyring.load(key, tmp_path)))


async def test_concurrent_calls_never_commit_more_than_the_budget(
    db_engine: Engine, openai_fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    quotas = QuotaService(db_engine, default_budget=1_000_000)
    quotas.set_budget("7", 1000)
    # Every answer costs 300 tokens: 4 prompt tokens (one per character) + 296 completion.
    openai_fake.default = lambda _request: Reply("回答", completion_tokens=296)
    client = OpenAIChatClient(LLMConfig(base_url=openai_fake.url, api_key="k", model="m"))
    llm = LLMAccess(client, quotas, auditor(db_engine, tmp_path)).for_org("7")
    assert llm is not None

    async def ask() -> str:
        try:
            await llm.complete([{"role": "user", "content": "短い質問"}], max_tokens=300)
        except QuotaExceeded as exc:
            return exc.user_message
        return "answered"

    try:
        results = await asyncio.gather(*(ask() for _ in range(20)))
    finally:
        await client.close()
    status = quotas.status("7")
    answered = results.count("answered")
    assert status.used == 300 * answered <= 1000
    assert answered == 3 and status.reserved == 0
    refusals = [r for r in results if r != "answered"]
    assert len(refusals) == 17
    reset = status.reset_on
    # Each says the limit is reached, or how little is left (less than a call reserves).
    assert all(f"{reset.month}月{reset.day}日にリセット" in r for r in refusals)
    assert all(
        "上限（1,000トークン）に達しました" in r or "では回答を作成できません" in r
        for r in refusals
    )
    # Calls that were refused never reached the endpoint.
    assert len(openai_fake.chat_requests) == 3


async def test_failed_calls_release_their_reservation(
    db_engine: Engine, openai_fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    from fakes.openai_server import server_error

    quotas = QuotaService(db_engine, default_budget=1000)
    openai_fake.script(server_error(400))
    client = OpenAIChatClient(LLMConfig(base_url=openai_fake.url, api_key="k", model="m"))
    llm = LLMAccess(client, quotas, auditor(db_engine, tmp_path)).for_org("8")
    assert llm is not None
    with pytest.raises(UpstreamUnavailable):
        await llm.complete([{"role": "user", "content": "質問"}], max_tokens=500)
    await client.close()
    status = quotas.status("8")
    assert (status.used, status.reserved, status.remaining) == (0, 0, 1000)


async def test_a_stream_that_breaks_midway_is_charged_what_the_server_wrote(
    db_engine: Engine, openai_fake: FakeOpenAIServer, tmp_path: Path
) -> None:
    quotas = QuotaService(db_engine, default_budget=1000)
    # Two pieces of the answer come, then nothing until the call's deadline (time enough for
    # the two on a loaded machine).
    openai_fake.script(Reply("住民票の写しの交付手数料は300円です。", stall_after=2), Hang())
    config = LLMConfig(base_url=openai_fake.url, api_key="k", model="m", deadline_s=1.5)
    client = OpenAIChatClient(config)
    llm = LLMAccess(client, quotas, auditor(db_engine, tmp_path)).for_org("8")
    assert llm is not None

    async def read() -> None:
        async for _event in llm.stream([{"role": "user", "content": "質問"}], max_tokens=500):
            pass

    try:
        with pytest.raises(UpstreamUnavailable):
            await read()
        # The prompt (9 tokens estimated) and 「住民票の写しの交」 (8): the provider bills
        # what its model read and wrote, though the answer was never finished.
        assert (quotas.status("8").used, quotas.status("8").reserved) == (17, 0)
        with pytest.raises(UpstreamUnavailable):
            await read()  # nothing came: whether the server read it is unknown
    finally:
        await client.close()
    assert (quotas.status("8").used, quotas.status("8").reserved) == (17, 0)
    assert (spent := spent_by(llm)) is not None and spent.total_tokens == 17


def test_thresholds_are_reported_once(db_engine: Engine) -> None:
    quotas = QuotaService(db_engine, default_budget=100)
    crossings = []
    for _ in range(5):
        reservation = quotas.reserve("9", 20)
        crossings.append(quotas.commit(reservation, 20))
    assert crossings == [None, None, None, 80, 100]
    with pytest.raises(QuotaExceeded, match=r"上限（100トークン）に達しました"):
        quotas.reserve("9", 1)


@dataclass
class HundredTokenCalls:
    """LLM calls of organization 9 (budget 1,000) that cost 100 tokens each (more than they
    reserve, so the last one still starts), and the thresholds its audit log tells."""

    quotas: QuotaService
    log: AuditLog
    llm: LLMClient

    async def __call__(self, n: int = 1) -> None:
        for _ in range(n):
            await self.llm.complete([{"role": "user", "content": "短い質問"}], max_tokens=10)

    def told(self) -> list[int]:
        return [d["percent"] for d in self.told_details()]

    def told_details(self) -> list[dict[str, int]]:
        payloads = [r["payload"] for r in self.log.export("9", None, None, "cli:admin")]
        return [p["details"] for p in payloads if p["action"] == "quota.threshold"]


@pytest.fixture
async def calls(
    db_engine: Engine, openai_fake: FakeOpenAIServer, tmp_path: Path
) -> AsyncIterator[HundredTokenCalls]:
    quotas = QuotaService(db_engine, default_budget=1000)
    openai_fake.default = lambda _request: Reply("回答", prompt_tokens=4, completion_tokens=96)
    client = OpenAIChatClient(LLMConfig(base_url=openai_fake.url, api_key="k", model="m"))
    log = auditor(db_engine, tmp_path).log
    llm = LLMAccess(client, quotas, Auditor(log)).for_org("9")
    assert llm is not None
    try:
        yield HundredTokenCalls(quotas, log, llm)
    finally:
        await client.close()
    assert log.verify().ok


async def test_each_threshold_is_recorded_once_and_one_whose_record_failed_by_the_next_call(
    db_engine: Engine, calls: HundredTokenCalls
) -> None:
    await calls(7)
    with refusing_inserts(db_engine, "audit_record"), pytest.raises(AuditWriteFailed):
        await calls()  # reaches 80 %, and its record cannot be written
    await calls(2)  # 90 % (the 80 % crossing is recorded now), then 100 %
    assert calls.quotas.status("9").used == 1000
    assert calls.told() == [80, 100]
    # Each record names the budget it was a share of, and the usage when it was written.
    assert [(d["used"], d["budget"]) for d in calls.told_details()] == [(900, 1000), (1000, 1000)]


async def test_a_raised_budget_is_told_again_when_its_own_thresholds_are_crossed(
    calls: HundredTokenCalls,
) -> None:
    await calls(9)  # 900 of 1,000: 80 % told
    assert calls.told() == [80]
    calls.quotas.set_budget("9", 1500)  # back to 60 %
    await calls(3)  # 1,200 of 1,500: 80 % of the new budget
    assert calls.told() == [80, 80]
    calls.quotas.set_budget("9", 1400)  # still above 80 %: nothing to tell again
    await calls()
    assert calls.told() == [80, 80]
    await calls()  # 1,400 of 1,400
    assert calls.told() == [80, 80, 100]


def test_a_crossing_of_a_budget_raised_meanwhile_is_not_told_for_the_new_one(
    db_engine: Engine,
) -> None:
    quotas = QuotaService(db_engine, default_budget=1000)
    crossed = quotas.reserve("9", 800)
    assert quotas.commit(crossed, 800) == 80
    # Another process raises the budget before this call records its crossing of 80 %.
    quotas.set_budget("9", 2000)
    with db_engine.begin() as conn:
        assert not quotas.mark_notified(crossed, 80, within=conn)
    # So 80 % of the new budget is told when it is crossed.
    later = quotas.reserve("9", 800)
    assert quotas.commit(later, 800) == 80
    with db_engine.begin() as conn:
        assert quotas.mark_notified(later, 80, within=conn)
        assert not quotas.mark_notified(later, 80, within=conn)


def test_a_budget_in_the_billions_is_set_after_a_crossing(db_engine: Engine) -> None:
    quotas = QuotaService(db_engine, default_budget=200_000_000)
    big = quotas.reserve("9", 160_000_000)  # 100 times it passes 32 bits
    assert quotas.commit(big, 160_000_000) == 80
    quotas.set_budget("9", MAX_BUDGET)
    with db_engine.begin() as conn:
        assert not quotas.mark_notified(big, 80, within=conn)
    assert quotas.status("9").budget == MAX_BUDGET


def test_a_call_larger_than_what_is_left_is_refused_saying_what_is_left(
    db_engine: Engine,
) -> None:
    quotas = QuotaService(db_engine, default_budget=100)
    with pytest.raises(QuotaExceeded) as refused:
        quotas.reserve("9", 101)  # nothing used yet: not "reached"
    assert "残り（100トークン）では回答を作成できません" in refused.value.user_message
    assert "に達しました" not in refused.value.user_message


def test_months_start_fresh_and_reset_on_the_first(db_engine: Engine) -> None:
    now = [datetime(2026, 11, 30, 14, 59, tzinfo=UTC)]  # 23:59 in Japan
    quotas = QuotaService(db_engine, default_budget=50, clock=lambda: now[0])
    quotas.commit(quotas.reserve("1", 50), 50)
    assert quotas.status("1").remaining == 0
    assert quotas.status("1").reset_on == date(2026, 12, 1)
    now[0] = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 00:00 on 12/1 in Japan
    assert quotas.status("1").remaining == 50
    assert period_of(now[0]) == "2026-12" and reset_date("2026-12") == date(2027, 1, 1)
    # The monthly report run at 04:00 on the 1st in Japan (the day before in UTC) reports on
    # the month that just ended.
    assert previous_period(datetime(2026, 11, 30, 19, 0, tzinfo=UTC)) == "2026-11"
    assert previous_period(datetime(2026, 1, 1, 0, 0, tzinfo=UTC)) == "2025-12"


@pytest.mark.parametrize("answered", [True, False])
async def test_a_call_over_midnight_at_the_months_end_is_settled_in_the_month_it_reserved(
    db_engine: Engine, openai_fake: FakeOpenAIServer, tmp_path: Path, answered: bool
) -> None:
    now = [datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)]  # 23:59:59 on 30 November in Japan
    quotas = QuotaService(db_engine, default_budget=1000, clock=lambda: now[0])

    def after_midnight(_request: object) -> Reply | Status:
        now[0] = datetime(2026, 11, 30, 15, 0, 1, tzinfo=UTC)  # 00:00:01 on 1 December
        return Reply("回答", prompt_tokens=4, completion_tokens=96) if answered else Status(400)

    openai_fake.default = after_midnight
    client = OpenAIChatClient(LLMConfig(base_url=openai_fake.url, api_key="k", model="m"))
    llm = LLMAccess(client, quotas, auditor(db_engine, tmp_path)).for_org("1")
    assert llm is not None
    try:
        with contextlib.suppress(UpstreamUnavailable):
            await llm.complete([{"role": "user", "content": "短い質問"}], max_tokens=500)
    finally:
        await client.close()
    december = quotas.status("1")
    assert (december.used, december.reserved, december.remaining) == (0, 0, 1000)
    now[0] = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    november = quotas.status("1")
    assert (november.used, november.reserved) == (100 if answered else 0, 0)


def test_a_reservation_left_over_midnight_is_released_from_its_month(db_engine: Engine) -> None:
    now = [datetime(2026, 11, 30, 14, 59, 59, tzinfo=UTC)]  # 23:59:59 on 30 November in Japan
    quotas = QuotaService(db_engine, default_budget=1000, clock=lambda: now[0])
    quotas.reserve("1", 600)  # its process is killed before the call ends
    now[0] = datetime(2026, 11, 30, 15, 30, tzinfo=UTC)  # 00:30 on 1 December
    assert quotas.release_expired() == 1  # by the worker
    assert quotas.status("1").reserved == 0
    now[0] = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
    assert (quotas.status("1").reserved, quotas.status("1").remaining) == (0, 1000)


def test_a_budget_change_that_fails_changes_nothing(db_engine: Engine) -> None:
    now = [datetime(2026, 11, 10, tzinfo=UTC)]
    quotas = QuotaService(db_engine, default_budget=50, clock=lambda: now[0])
    quotas.set_budget("3", 1000, offline_when_exhausted=True)
    with refusing_inserts(db_engine, "quota_account", "UPDATE"), pytest.raises(SQLAlchemyError):
        quotas.set_budget("3", 5000, offline_when_exhausted=False)
    status = quotas.status("3")
    assert (status.budget, status.offline_when_exhausted) == (1000, True)
    now[0] = datetime(2026, 12, 10, tzinfo=UTC)  # next month's budget is the setting's
    assert quotas.status("3").budget == 1000


def test_the_status_gives_the_percent_used_and_the_threshold_passed(db_engine: Engine) -> None:
    quotas = QuotaService(db_engine, default_budget=10_000)
    shown = []
    for tokens in (7_999, 1, 2_000):  # 79.99 % is not yet the 80 % mark
        quotas.commit(quotas.reserve("4", tokens), tokens)
        status = quotas.status("4")
        shown.append((status.percent_used, status.threshold_reached))
    assert shown == [(79, None), (80, 80), (100, 100)]
    quotas.set_budget("4", 0)  # turned off: no percent of nothing
    assert (quotas.status("4").percent_used, quotas.status("4").threshold_reached) == (None, None)
