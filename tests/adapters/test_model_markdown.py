"""A model's answer written in Markdown (headings, bold, lists), as OpenAI-compatible models
usually write it, shown on Slack, Teams and LoGo Chat without Markdown's marks."""

from __future__ import annotations

from typing import Any

from chat_harness import SAMPLE_QUESTION
from fakes.openai_server import FakeOpenAIServer
from test_logo import deliver, logo_chat
from test_slack import send_event, slack_chat
from test_teams import TENANT, post, teams_chat

MARKDOWN_ANSWER = (
    "### 届出の期限\n"
    "転入した日から**十四日以内**に、市町村長に届け出なければなりません[1]。\n\n"
    "**届け出る事項**\n"
    "- 氏名・住所[1]\n"
    "* 転入をした年月日[1]\n\n"
    "詳しくは[住民基本台帳法](https://laws.e-gov.go.jp/law/342AC0000000081)をご覧ください。\n\n"
    "| 届出 | 期限 |\n"
    "|---|:---:|\n"
    "| 転入 | 十四日以内[1] |"
)


def llm(fake: FakeOpenAIServer) -> dict[str, Any]:
    fake.script(MARKDOWN_ANSWER)
    return {
        "llm_base_url": fake.url,
        "llm_api_key": "sk-test",
        "llm_model": "gpt-test",
        "llm_query_variants": 0,
    }


async def test_slack_shows_headings_bold_and_lists_without_markdown_marks(
    make_chat, slack_fake, openai_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake, **llm(openai_fake))
    chat.link("横浜市", "slack", slack_fake.team_id)
    await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    await chat.drain()
    update = slack_fake.of("chat.update")[-1]  # the answer, after the text shown meanwhile
    answer = update.blocks[0]["text"]["text"]
    assert "**" not in answer and "###" not in answer  # Slack's mrkdwn shows them as typed
    lines = answer.splitlines()
    assert lines[0] == "*届出の期限*"  # a heading as a bold line
    assert "転入した日から十四日以内に、市町村長に届け出なければなりません[1]。" in lines
    assert "*届け出る事項*" in lines
    assert "• 氏名・住所[1]" in lines and "• 転入をした年月日[1]" in lines
    assert "<https://laws.e-gov.go.jp/law/342AC0000000081|住民基本台帳法>" in answer
    # The notification and preview text: plain words, no Markdown and no link syntax.
    preview = update.body["text"].splitlines()
    assert preview[:2] == [
        "届出の期限",
        "転入した日から十四日以内に、市町村長に届け出なければなりません[1]。",
    ]
    assert "届け出る事項" in preview and "• 氏名・住所[1]" in preview
    assert "詳しくは住民基本台帳法をご覧ください。" in preview


async def test_teams_shows_headings_as_bold_lines(
    make_chat, botframework_fake, openai_fake
) -> None:
    fake = botframework_fake
    chat = await teams_chat(make_chat, fake, **llm(openai_fake))
    chat.link("横浜市", "teams", TENANT)
    await post(chat, fake.activity(SAMPLE_QUESTION), fake.token())
    await chat.drain()
    update = fake.of("PUT")[-1]  # the answer, after the text shown meanwhile
    answer = update.card["body"][0]["text"]
    assert "#" not in answer  # Adaptive Cards have no headings: 「### 届出の期限」 as typed
    assert answer.splitlines()[0] == "**届出の期限**"
    assert "**十四日以内**" in answer  # bold and lists are Adaptive Card Markdown already
    assert "転入／十四日以内[1]" in answer and "| 転入" not in answer  # no table drawn
    # The notification text (activity summary) is plain.
    summary = update.body["summary"]
    assert summary.startswith("届出の期限\n転入した日から十四日以内に、")
    assert "*" not in summary and "#" not in summary


async def test_logo_shows_plain_text_with_link_addresses(make_chat, logo_fake, openai_fake) -> None:
    chat = await logo_chat(make_chat, logo_fake, **llm(openai_fake))
    chat.link("横浜市", "logo", logo_fake.org_id)
    await deliver(chat, logo_fake, logo_fake.event(SAMPLE_QUESTION))
    await chat.drain()
    [reply] = logo_fake.replies
    lines = reply.text.splitlines()
    assert "**" not in reply.text and "#" not in reply.text  # LoGo shows text as typed
    assert lines[:2] == [
        "届出の期限",
        "転入した日から十四日以内に、市町村長に届け出なければなりません[1]。",
    ]
    assert "• 氏名・住所[1]" in lines
    link = "住民基本台帳法 https://laws.e-gov.go.jp/law/342AC0000000081 "  # nothing taken in
    assert f"詳しくは{link}をご覧ください。" in lines
    assert "届出／期限" in lines and "転入／十四日以内[1]" in lines  # a table's rows, as lines
    assert "|" not in reply.text
