"""A chat answer the model's content filter withheld, as staff and their administrator see it
on Slack: the quotes marked as such, and the tokens the provider billed in the quota."""

from __future__ import annotations

from chat_harness import SAMPLE_QUESTION
from fakes.openai_server import FakeOpenAIServer, Reply
from support import llm_settings
from test_slack import FORM, send, send_event, slack_chat

WITHHELD = Reply("", finish_reason="content_filter", prompt_tokens=900, completion_tokens=12)


async def test_a_withheld_answer_says_so_and_is_charged(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(WITHHELD)
    chat = await slack_chat(make_chat, slack_fake, **llm_settings(openai_fake.url))
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await chat.drain()
    [update] = slack_fake.of("chat.update")
    assert "安全フィルターにより回答が差し控えられた" in update.block_text
    assert "住民基本台帳法 第二十三条" in update.block_text

    await send(chat, slack_fake, slack_fake.slash_command("quota", user="U0ADMIN"), FORM)
    await chat.drain()
    [quota] = slack_fake.of("response")
    assert "使用済み: 912 / 予約中: 0" in quota.block_text
