"""A chat answer the model's content filter withheld, as staff and their administrator see it
on Slack: the quotes marked as such, the tokens the provider billed in the quota, and the turn
counted apart in the usage figures."""

from __future__ import annotations

from fakes.openai_server import FakeOpenAIServer, Reply
from support import llm_settings
from test_slack import FORM, answers_to_mentions, send, slack_chat

WITHHELD = Reply("", finish_reason="content_filter", prompt_tokens=900, completion_tokens=12)


async def test_a_withheld_answer_says_so_is_charged_and_counted_apart(
    make_chat, slack_fake, openai_fake: FakeOpenAIServer
) -> None:
    openai_fake.script(WITHHELD, Reply("転入した日から十四日以内です[1]。", prompt_tokens=88))
    chat = await slack_chat(make_chat, slack_fake, **llm_settings(openai_fake.url))
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    withheld, answered = await answers_to_mentions(chat, slack_fake, 2)
    assert "安全フィルターにより回答が差し控えられた" in withheld.block_text
    assert "住民基本台帳法 第二十三条" in withheld.block_text
    assert "転入した日から十四日以内です[1]。" in answered.block_text

    for command in ("quota", "usage"):
        slash = slack_fake.slash_command(command, user="U0ADMIN", key=command)
        await send(chat, slack_fake, slash, FORM)
        await chat.drain()
    quota, usage = (r.block_text for r in slack_fake.of("response"))
    used = 912 + 88 + len("転入した日から十四日以内です[1]。")
    assert f"使用済み: {used:,} / 予約中: 0" in quota
    # The quota command before it is a turn too (each command is in the audit log).
    assert "結果別: 回答 1件、あいさつ・使い方など 1件、安全フィルターで差し控え 1件" in usage
    assert chat.turn_outcomes() == ["filtered", "answered", "command", "command"]
