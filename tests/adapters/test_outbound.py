"""Outbound pacing, retries and splitting, with a fake clock (nothing really waits)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from adapters.background import BackgroundTasks
from adapters.outbound import (
    Outbox,
    RetryableSend,
    SendFailed,
    retry_after_seconds,
    split_answer,
    split_text,
)
from bot.turns import Answer, Citation


class FakeClock:
    """A clock that only moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def outbox(clock: FakeClock, **kwargs: float) -> Outbox:
    return Outbox(clock=clock, sleep=clock.sleep, **kwargs)  # type: ignore[arg-type]


async def test_sends_to_one_conversation_are_paced_others_are_not() -> None:
    clock = FakeClock()
    box = outbox(clock, interval=1.0)
    sent: list[tuple[str, float]] = []

    def call(name: str):  # type: ignore[no-untyped-def]
        async def send() -> None:
            sent.append((name, clock.now))

        return send

    await box.send("slack/T/C/1", call("a1"))
    await box.send("slack/T/C/1", call("a2"))
    await box.send("slack/T/C/2", call("b1"))
    clock.now += 5
    await box.send("slack/T/C/1", call("a3"))
    assert sent == [("a1", 1000.0), ("a2", 1001.0), ("b1", 1001.0), ("a3", 1006.0)]
    assert clock.sleeps == [1.0]


async def test_429_waits_exactly_the_retry_after_then_succeeds() -> None:
    clock = FakeClock()
    box = outbox(clock, interval=0.0)
    attempts: list[float] = []

    async def send() -> str:
        attempts.append(clock.now)
        if len(attempts) < 3:
            raise RetryableSend(429, retry_after=7.0)
        return "ok"

    assert await box.send("logo/o/t/", send) == "ok"
    assert clock.sleeps == [7.0, 7.0]
    assert attempts == [1000.0, 1007.0, 1014.0]


async def test_5xx_without_retry_after_backs_off_then_gives_up() -> None:
    clock = FakeClock()
    box = outbox(clock, interval=0.0, max_attempts=4, base_backoff=1.0)

    async def send() -> None:
        raise RetryableSend(503)

    with pytest.raises(SendFailed) as failed:
        await box.send("teams/t/c/", send)
    assert failed.value.attempts == 4 and failed.value.status == 503
    assert clock.sleeps == [1.0, 2.0, 4.0]


async def test_a_retry_after_beyond_the_limit_is_not_waited_for() -> None:
    clock = FakeClock()
    box = outbox(clock, max_wait=60.0)

    async def send() -> None:
        raise RetryableSend(429, retry_after=3600.0)

    with pytest.raises(SendFailed):
        await box.send("x", send)
    assert clock.sleeps == []


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(" 0 ") == 0.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    later = datetime(2030, 1, 1, tzinfo=UTC)
    now = (later - timedelta(seconds=30)).timestamp()
    assert retry_after_seconds(format_datetime(later, usegmt=True), now=lambda: now) == 30.0


def test_split_text_cuts_at_paragraphs_then_sentences_and_loses_nothing() -> None:
    paragraph = "住民監査請求は住民が行うことができます。" * 10  # 200 characters
    text = "\n\n".join([paragraph] * 5)
    parts = split_text(text, 450)
    assert all(len(p) <= 450 for p in parts)
    assert parts[0] == f"{paragraph}\n\n{paragraph}"
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    long_sentence = "あ" * 1000
    hard = split_text(long_sentence, 300)
    assert [len(p) for p in hard] == [300, 300, 300, 100]
    sentences = split_text("これは文です。" * 100, 100)
    assert all(p.endswith("。") for p in sentences)
    assert split_text("  短い  ", 10) == ["短い"] and split_text("", 10) == []


def test_split_answer_keeps_sources_footer_notice_and_buttons_on_the_last_part() -> None:
    answer = Answer(
        text="第一段落です。\n\n" + "第二段落です。" * 20,
        citations=(Citation(n=1, title="地方自治法"),),
        turn_id="c" * 32,
        notice="※今月のAI利用量が上限の80%に達しました。",
    )
    first, second = split_answer(answer, 100)
    assert first.citations == () and first.footer == "" and not first.feedback
    assert first.notice == "" and second.notice == answer.notice  # told once, at the end
    assert second.citations == answer.citations and second.footer == answer.footer
    assert second.feedback and second.turn_id == answer.turn_id
    assert split_answer(replace_text(answer, "短い"), 100) == [replace_text(answer, "短い")]


def replace_text(answer: Answer, text: str) -> Answer:
    from dataclasses import replace

    return replace(answer, text=text)


async def test_background_tasks_are_joined_and_cancelled_at_shutdown() -> None:
    tasks = BackgroundTasks(max_concurrent=2)
    done: list[str] = []
    forever = asyncio.Event()

    async def quick(name: str) -> None:
        done.append(name)

    async def hangs() -> None:
        await forever.wait()

    async def fails() -> None:
        raise RuntimeError("boom")

    for name in ("a", "b", "c"):
        tasks.spawn(quick(name), name=name)
    tasks.spawn(fails(), name="fails")
    await tasks.join()
    assert sorted(done) == ["a", "b", "c"] and tasks.pending == 0
    tasks.spawn(hangs(), name="hangs")
    await tasks.close(grace=0.01)
    assert tasks.pending == 0
    assert tasks.spawn(quick("late"), name="late") is False
    assert "late" not in done
