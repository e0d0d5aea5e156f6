"""A turn stopped mid-answer (the process shutting down) is in the audit log all the same:
every question asked is recorded, answered or not."""

from __future__ import annotations

import asyncio

import pytest
from fakes.openai_server import FakeOpenAIServer, Hang

from admin.orgs import create_org
from bot.asker import Asker
from bot.services import open_services

QUESTION = "転入届は何日以内に出しますか"


async def test_a_question_cancelled_while_the_model_writes_is_recorded(
    make_db_settings, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(Hang())  # the model never answers
    settings = make_db_settings(
        llm_base_url=openai_fake.url, llm_api_key="sk-test", llm_model="gpt-test"
    )
    services = await open_services(settings)
    try:
        org = create_org(services.engine, "テスト市")
        asking = asyncio.create_task(services.assistant.ask(QUESTION, Asker(org.id, "cli")))

        async def model_asked() -> None:
            while not openai_fake.chat_requests:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(model_asked(), 30)
        asking.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asking
        records = list(services.auditor.log.export(org.id, None, None, actor="test"))
    finally:
        await services.close()
    turns = [r for r in records if r["kind"] == "turn"]
    assert [t["payload"]["question"] for t in turns] == [QUESTION]
    assert turns[0]["outcome"] == "error"
    assert "中断" in turns[0]["payload"]["answer"]
