"""A turn stopped mid-answer (the process shutting down) is in the audit log all the same:
every question asked is recorded, answered or not."""

from __future__ import annotations

import asyncio

import pytest
from fakes.openai_server import FakeOpenAIServer, Hang

from admin.orgs import create_org
from bot.asker import Asker
from bot.services import open_services
from bot.summary_sources import SummaryRequest

QUESTION = "転入届は何日以内に出しますか"


@pytest.mark.parametrize("kind", ["question", "summary"])
async def test_a_turn_cancelled_while_the_model_writes_is_recorded(
    make_db_settings, openai_fake: FakeOpenAIServer, kind: str
) -> None:
    openai_fake.script(Hang())  # the model never answers
    settings = make_db_settings(
        llm_base_url=openai_fake.url, llm_api_key="sk-test", llm_model="gpt-test"
    )
    services = await open_services(settings)
    try:
        org = create_org(services.engine, "テスト市")
        asker = Asker(org.id, "cli")
        if kind == "question":
            turn = services.assistant.ask(QUESTION, asker)
        else:
            request = SummaryRequest(doc_id="地方自治法第242条")
            turn = services.summarizer.summarize(request, asker)
        asking = asyncio.create_task(turn)

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
    asked = QUESTION if kind == "question" else "summarize 地方自治法第242条"
    assert [t["payload"]["question"] for t in turns] == [asked]
    assert turns[0]["outcome"] == "error"
    assert "中断" in turns[0]["payload"]["answer"]
