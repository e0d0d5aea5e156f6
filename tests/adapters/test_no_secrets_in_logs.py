"""Message text, tokens and keys never reach the log, whatever the log level."""

from __future__ import annotations

import json
import logging

QUESTION = "住民監査請求をすることができるのは誰ですか（ログ確認ＺＱ）"


async def test_a_full_turn_on_every_platform_logs_no_text_or_secret(
    make_chat, slack_fake, botframework_fake, logo_fake, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    bf = botframework_fake
    chat = await make_chat(
        slack_bot_token=slack_fake.bot_token,
        slack_signing_secret=slack_fake.signing_secret,
        slack_api_url=slack_fake.api_url,
        teams_app_id=bf.app_id,
        teams_app_password="teams-password-s3cr3t",
        teams_openid_metadata_url=bf.metadata_url,
        teams_token_url=bf.token_url,
        logo_signing_secret=logo_fake.signing_secret,
        logo_reply_token=logo_fake.reply_token,
    )
    bf.app_password = "teams-password-s3cr3t"
    chat.link("横浜市", "slack", slack_fake.team_id)
    chat.link("川崎市", "teams", "tenant-test")
    chat.link("相模原市", "logo", logo_fake.org_id)

    body = json.dumps(slack_fake.mention(QUESTION), ensure_ascii=False)
    headers = {"Content-Type": "application/json", **slack_fake.signed_headers(body)}
    assert (
        await chat.client.post("/slack/events", data=body.encode(), headers=headers)
    ).status == 200
    token = bf.token()
    teams = await chat.client.post(
        "/api/messages", json=bf.activity(QUESTION), headers={"Authorization": f"Bearer {token}"}
    )
    assert teams.status == 200
    raw = logo_fake.encode(logo_fake.event(QUESTION))
    logo = await chat.client.post("/logo/events", data=raw, headers=logo_fake.signed_headers(raw))
    assert logo.status == 200
    await chat.drain()
    assert slack_fake.of("chat.update") and bf.of("PUT") and logo_fake.replies

    logged = caplog.text
    for secret in (
        QUESTION,
        "ログ確認ＺＱ",
        slack_fake.bot_token,
        slack_fake.signing_secret,
        "teams-password-s3cr3t",
        token,
        *bf.issued,
        logo_fake.signing_secret,
        logo_fake.reply_token,
    ):
        assert secret not in logged, secret
