"""Slack gets its acknowledgement before the database is asked anything about an event, and
the duplicate check that catches Slack's retries runs after it: a slow or failing database
neither delays the ack past Slack's 3 s (which makes Slack retry) nor loses the question."""

from __future__ import annotations

import json

from chat_harness import SAMPLE_QUESTION, Chat
from sqlalchemy.engine import Engine
from test_slack import JSON, send, send_event, slack_chat


async def test_a_mention_is_acknowledged_while_the_database_is_busy_and_answered_once(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id)
    event = slack_fake.mention(SAMPLE_QUESTION)
    retry = {**JSON, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    busy = chat.engine.raw_connection()  # another writer holds the database
    try:
        busy.cursor().execute("BEGIN IMMEDIATE")
        assert (await send_event(chat, slack_fake, event)).status == 200
        # Slack's retry of the same event (had the ack been late) while the first still waits.
        body = json.dumps(event, ensure_ascii=False)
        assert (await send(chat, slack_fake, body, retry)).status == 200
        assert slack_fake.of("chat.postMessage") == []
    finally:
        busy.rollback()
        busy.close()
    await chat.drain()
    assert len(slack_fake.of("chat.postMessage")) == 1  # one placeholder, one answer
    [answer] = slack_fake.of("chat.update")
    assert "住民基本台帳法 第二十三条" in answer.block_text
    assert chat.turn_outcomes() == ["answered"]


async def test_a_mention_whose_event_id_cannot_be_recorded_is_still_answered(
    make_chat, slack_fake, app_database_url: str, app_engine: Engine
) -> None:
    app = await slack_chat(make_chat, slack_fake, database_url=app_database_url)
    chat = Chat(client=app.client, engine=app_engine)
    chat.link("横浜市", "slack", slack_fake.team_id)
    with app_engine.begin() as connection:  # where event ids are recorded fails
        connection.exec_driver_sql("DROP TABLE processed_event")
    response = await send_event(chat, slack_fake, slack_fake.mention(SAMPLE_QUESTION))
    assert response.status == 200
    await chat.drain()
    # Acknowledged, Slack will not send the event again: it is answered, not dropped.
    assert "住民基本台帳法 第二十三条" in slack_fake.of("chat.update")[0].block_text
