"""Staff and administrators in chat hear that the month's AI budget is 80 % used from the answer
whose turn crossed the mark, once, below its footer; the admin's ``quota`` says so too."""

from __future__ import annotations

import asyncio

from chat_harness import SAMPLE_QUESTION, Chat
from fakes.openai_server import FakeOpenAIServer, Reply
from support import llm_settings
from test_logo import deliver, logo_chat
from test_slack import FORM, answers_to_mentions, send, slack_chat

from admin.quotas import QuotaService
from bot.turns import AI_FOOTER

BUDGET = 100_000
TURN = Reply("転入した日から十四日以内です[1]。", prompt_tokens=900, completion_tokens=100)
EIGHTY = "※今月のAI利用量が上限の80%に達しました（残り19,500トークン）。"


async def spent_before(chat: Chat, org_id: str) -> None:
    """Charge the organization 79,500 tokens, as its earlier calls this month were: just
    under 80 %."""
    quotas = QuotaService(chat.engine, BUDGET)
    reservation = await asyncio.to_thread(quotas.reserve, org_id, 79_500)
    await asyncio.to_thread(quotas.commit, reservation, 79_500)


async def test_slack_staff_see_the_80_percent_notice_once_and_admins_the_percent(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(TURN, TURN)
    chat = await slack_chat(
        make_chat, slack_fake, monthly_token_budget=BUDGET, **llm_settings(openai_fake.url)
    )
    org_id = chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await spent_before(chat, org_id)

    crossing, after = await answers_to_mentions(chat, slack_fake, 2)
    texts = [b.get("text", {}).get("text", "") for b in crossing.blocks if b["type"] == "section"]
    assert "十四日以内" in texts[0]
    assert texts[-1].startswith(EIGHTY)  # the last section: below the sources and the footer
    assert "資料からの抜粋のみでお答えします。" in texts[-1]
    assert texts[-1].endswith("管理者の方は「@バイバイン /quota」で利用状況を確認できます。")
    assert crossing.block_text.index(AI_FOOTER) < crossing.block_text.index(EIGHTY)
    assert crossing.blocks[-1]["type"] == "actions"  # the 👍/👎 stay last
    assert "十四日以内" in after.block_text and "80%" not in after.block_text

    slash = slack_fake.slash_command("quota", user="U0ADMIN", key="quota")
    await send(chat, slack_fake, slash, FORM)
    await chat.drain()
    [quota] = slack_fake.of("response")
    assert "使用率: 81%（上限の80%に達しています）" in quota.block_text


async def test_logo_staff_see_the_80_percent_notice_after_the_footer(
    make_chat, logo_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(TURN)
    chat = await logo_chat(
        make_chat, logo_fake, monthly_token_budget=BUDGET, **llm_settings(openai_fake.url)
    )
    org_id = chat.link("横浜市", "logo", logo_fake.org_id)
    await spent_before(chat, org_id)

    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION, event_id="ev-q"))
    await chat.drain()

    [reply] = logo_fake.replies
    _, notice = reply.text.split(f"{AI_FOOTER}\n\n")
    assert notice.startswith(EIGHTY)
    assert notice.endswith("管理者の方は「/quota」で利用状況を確認できます。")
