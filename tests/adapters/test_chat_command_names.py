"""Command names as staff who never read a manual type them: in Japanese, with words a command
does not take, or a lone Japanese word after the slash (LoGo Chat and Slack end to end)."""

from __future__ import annotations

from test_chat_typed_input import operator_chat, said
from test_slack import FORM, send, slack_chat


async def test_quota_and_usage_with_extra_words_say_how_they_are_used(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    quota = await said(chat, logo_fake, "/quota 横浜市 先月")
    assert quota == (
        "「/quota」のあとには何も指定できません。「/quota」とだけ送ると、"
        "組織の今月のトークン上限と使用量を表示します。「/quota set <組織> <トークン数>」で"
        "組織の月間トークン上限を設定します（運用組織の管理者のみ）。"
    )
    usage = await said(chat, logo_fake, "/usage 先月の分")
    assert usage == (
        "「/usage」のあとには何も指定できません。「/usage」とだけ送ると、"
        "組織の利用状況を表示します。"
    )
    # Help shows everything whatever follows it.
    assert "コマンド一覧:" in await said(chat, logo_fake, "/help upload")


async def test_slack_names_the_only_sub_command_of_quota(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await send(chat, slack_fake, slack_fake.slash_command("quota extra", user="U0ADMIN"), FORM)
    await chat.drain()
    [quota] = (c.block_text for c in slack_fake.of("response"))
    assert "「/baibain quota」のあとには何も指定できません" in quota
    assert "「/baibain quota set &lt;組織&gt; &lt;トークン数&gt;」で" in quota
