"""A message asking the bot to write (draft, rewrite, translate) is told what the bot does
instead of being searched, which quoted statutes sharing a word with it; a question about
writing something is a question."""

from __future__ import annotations

import pytest
from test_http import asker_in, client_for

from bot.writing_asked import WRITING_REPLY, asks_to_write


@pytest.mark.parametrize(
    "message",
    [
        "住民向けのお知らせ文を作成してください",
        "議会の一般質問の答弁案を考えて",
        "あいさつ文を書いてもらえますか？",
        "次の文章を敬語に直してください\n明日は窓口が休みです。月曜に来てください。",
        "以下をやさしい日本語に書き直して：ごみは決められた日に出すこと。",
        "この文を英語に翻訳してください。",
        "広報記事の下書きをお願いします",
        "ＭＥＭＯの返信メールを作って",
    ],
)
def test_a_request_to_write_is_told_what_the_bot_does(message: str) -> None:
    assert asks_to_write(message)


@pytest.mark.parametrize(
    "message",
    [
        "答弁書を作成する期限は？",
        "議事録は誰が作成しますか",
        "住民への通知はどう書けばいいですか",
        "申請書の書き方を教えて",
        "案内文の作成の根拠となる規定は？",
        "次の文章を要約してください\n明日は窓口が休みです。月曜に来てください。",
        "地方自治法第242条を英語で教えて",
    ],
)
def test_a_question_about_writing_is_a_question(message: str) -> None:
    assert not asks_to_write(message)


async def test_the_web_page_says_what_the_bot_does_instead_of_quoting_statutes(
    aiohttp_client, make_settings
) -> None:
    ask = asker_in(await client_for(aiohttp_client, make_settings()))

    reply = await ask("住民向けのお知らせ文を作成してください", "t-1")

    assert reply["answer"] == WRITING_REPLY and reply["citations"] == []
    assert reply["outcome"] == "command" and reply["usage"]["total_tokens"] == 0
    assert "文章の作成・書き直し・翻訳には対応していません" in WRITING_REPLY

    # A long text to rewrite is told the same, not that a question may be 2,000 characters.
    long = await ask("次の文章を敬語に直してください\n" + "明日は窓口が休みです。" * 300, "t-2")
    assert long["answer"] == WRITING_REPLY
