"""Staff and administrators in chat hear that the month's AI budget is 80 % used from the answer
whose turn crossed the mark, once, below its footer; admins who did not ask it hear it under
their next reply, once; the admin's ``quota`` says so too."""

from __future__ import annotations

import asyncio

from chat_harness import SAMPLE_QUESTION, Chat, MakeChat
from fakes.openai_server import FakeOpenAIServer, Reply
from fakes.slack_api import FakeSlack
from support import llm_settings
from test_logo import deliver, logo_chat
from test_slack import FORM, answers_to_mentions, send, send_event, slack_chat

from admin.quotas import QuotaService
from bot.command_replies import FOLLOW_UP_TIP
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


async def budgeted_slack(
    make_chat: MakeChat, fake: FakeSlack, openai_fake: FakeOpenAIServer
) -> Chat:
    """Slack linked to an organization with the admin ``U0ADMIN`` whose month's budget is
    just under 80 % used."""
    chat = await slack_chat(
        make_chat, fake, monthly_token_budget=BUDGET, **llm_settings(openai_fake.url)
    )
    await spent_before(chat, chat.link("横浜市", "slack", fake.team_id, admins=("U0ADMIN",)))
    return chat


async def test_slack_staff_see_the_80_percent_notice_once_and_admins_the_percent(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(TURN, TURN)
    chat = await budgeted_slack(make_chat, slack_fake, openai_fake)

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
    assert EIGHTY not in quota.block_text  # said by the reply itself, and told so
    await send(chat, slack_fake, slack_fake.slash_command("データセット", user="U0ADMIN"), FORM)
    await chat.drain()
    assert "80%" not in slack_fake.of("response")[-1].block_text


async def admin_dm(chat: Chat, fake: FakeSlack, text: str, event_id: str) -> str:
    await send_event(chat, fake, fake.direct_message(text, user="U0ADMIN", event_id=event_id))
    await chat.drain()
    return fake.of("chat.update")[-1].block_text


async def test_slack_admins_hear_of_the_crossing_at_their_next_turn_once(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(TURN)
    chat = await budgeted_slack(make_chat, slack_fake, openai_fake)
    [crossing] = await answers_to_mentions(chat, slack_fake, 1)  # a member's question
    assert EIGHTY in crossing.block_text
    # The admin was not in that thread: their next reply, whatever they asked, says it.
    first = await admin_dm(chat, slack_fake, "データセット", "E-a1")
    assert "利用できるデータセット:" in first
    assert EIGHTY in first and first.endswith("「/baibain quota」で利用状況を確認できます。")
    assert "80%" not in await admin_dm(chat, slack_fake, "データセット", "E-a2")
    # Members are not told again.
    member = slack_fake.direct_message("データセット", user="U0OTHER", event_id="E-m1")
    await send_event(chat, slack_fake, member)
    await chat.drain()
    assert "80%" not in slack_fake.of("chat.update")[-1].block_text


async def test_an_admin_who_crossed_it_is_not_told_again(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(TURN)
    chat = await budgeted_slack(make_chat, slack_fake, openai_fake)
    assert EIGHTY in await admin_dm(chat, slack_fake, SAMPLE_QUESTION, "E-a1")
    assert "80%" not in await admin_dm(chat, slack_fake, "データセット", "E-a2")


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
    # The footer, with how to ask on in the thread the mention opened, then the notice.
    _, notice = reply.text.split(f"{AI_FOOTER}\n{FOLLOW_UP_TIP}\n\n")
    assert notice.startswith(EIGHTY)
    assert notice.endswith("管理者の方は「/quota」で利用状況を確認できます。")


async def test_a_crossing_where_other_organizations_read_is_told_to_the_admin_alone(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(TURN)
    chat = await budgeted_slack(make_chat, slack_fake, openai_fake)
    shared = slack_fake.mention(SAMPLE_QUESTION, event_id="E-x1")
    shared["is_ext_shared_channel"] = True  # a Slack Connect channel
    await send_event(chat, slack_fake, shared)
    await chat.drain()
    crossing = slack_fake.of("chat.update")[-1].block_text
    assert "十四日以内" in crossing and "80%" not in crossing
    assert EIGHTY in await admin_dm(chat, slack_fake, "データセット", "E-a1")
