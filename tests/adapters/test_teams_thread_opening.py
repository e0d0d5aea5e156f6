"""A mention replying in a Teams channel thread a colleague opened is read with the thread's
root message, as on Slack (Teams end to end: signed activities into ``create_app(...)``, the
root message from the fake Microsoft Graph, read with a Graph token from the fake Entra ID)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from chat_harness import SAMPLE_QUESTION, Chat, MakeChat
from fakes.botframework import BOT_SCOPE, GRAPH_SCOPE, TEAM_ID, Failure, FakeBotFramework
from fakes.graph import CHANNEL, ROOT, TEAM, FakeGraph
from support import serving
from test_slack_thread_opening import NOTICE_PAGE, OPENING, UNCLEAR, audited_turns
from test_teams import TENANT, post, teams_chat

# As Teams writes it: a colleague mentioned, a link under its label, an entity.
OPENING_HTML = (
    '<p><at id="0">田中 課長</at> 来月から<a href="https://www.city.example.lg.jp/tesuryo" '
    'rel="noreferrer noopener" target="_blank">住民票の写し</a>の交付手数料が変わるそうです'
    " &amp; 要確認</p>"
)
OPENING_READ = "田中 課長 来月から住民票の写しの交付手数料が変わるそうです & 要確認"
GROUNDS = "これの根拠となる条例や法律は？"


async def linked(make_chat: MakeChat, bf: FakeBotFramework, graph: FakeGraph, **kw: Any) -> Chat:
    """The app answering Teams, reading Graph at the fake, its tenant linked to 横浜市."""
    chat = await teams_chat(make_chat, bf, teams_graph_url=graph.url, **kw)
    chat.link("横浜市", "teams", TENANT)
    return chat


async def ask_in_thread(
    chat: Chat, bf: FakeBotFramework, text: str, n: int, root: str = ROOT, **where: Any
) -> str:
    """What the bot shows for a mention of ``text`` replying in the thread of ``root``."""
    activity = bf.activity(
        text,
        activity_id=f"170000020{n}000",
        conversation_id=f"{CHANNEL};messageid={root}",
        **{"team": TEAM, **where},
    )
    assert (await post(chat, activity, bf.token())).status == 200
    await chat.drain()
    return bf.of("PUT")[-1].card_text


async def test_a_question_pointing_at_a_colleagues_post_is_answered_from_it(
    make_chat, botframework_fake, graph_fake, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    bf, graph = botframework_fake, graph_fake
    chat = await linked(make_chat, bf, graph)
    graph.post(OPENING_HTML)
    other = "1700000000900"
    graph.post(OPENING, message_id=other, content_type="text")

    grounds = await ask_in_thread(chat, bf, GROUNDS, 1)
    deadline = await ask_in_thread(chat, bf, "その届出の期限は？", 2, root=other)

    for answer in (grounds, deadline):
        assert UNCLEAR not in answer and "住民基本台帳法" in answer
    assert "住民基本台帳法 第十二条" in grounds  # the article on issuing 住民票の写し
    assert [(r.team, r.channel, r.message) for r in graph.requests] == [
        (TEAM, CHANNEL, ROOT),
        (TEAM, CHANNEL, other),
    ]
    # Read with a token for Graph, which the Bot Connector's token is not.
    assert {(r.scope, r.status) for r in graph.requests} == {(GRAPH_SCOPE, 200)}
    assert [r["scope"] for r in bf.token_requests] == [BOT_SCOPE, GRAPH_SCOPE]
    assert chat.turn_outcomes() == ["answered", "answered"]
    turns = audited_turns(chat)
    assert [t["question"] for t in turns] == [GROUNDS, "その届出の期限は？"]
    assert [t["thread_opening"] for t in turns] == [OPENING_READ, OPENING]
    assert "住民票" not in caplog.text and "根拠" not in caplog.text


async def test_no_root_message_is_read_for_a_post_of_its_own_nor_outside_channels(
    make_chat, botframework_fake, graph_fake, caplog
) -> None:
    bf, graph = botframework_fake, graph_fake
    chat = await linked(make_chat, bf, graph)
    graph.post(OPENING_HTML)
    caplog.set_level(logging.WARNING)
    # The mention in the root post itself is the opening: there is nothing else to read.
    root = bf.activity(SAMPLE_QUESTION, activity_id=ROOT, team=TEAM)
    personal = bf.activity(
        SAMPLE_QUESTION,
        activity_id="1700000000300",
        conversation_id="a:1personal",
        conversation_type="personal",
        mention=False,
    )
    group = bf.activity(
        SAMPLE_QUESTION,
        activity_id="1700000000400",
        conversation_id="19:group@thread.v2",
        conversation_type="groupChat",
    )
    for activity in (root, personal, group):
        await post(chat, activity, bf.token())
        await chat.drain()
    assert graph.requests == []
    assert [r["scope"] for r in bf.token_requests] == [BOT_SCOPE]

    # A team the Bot Connector does not know by its Teams id: Graph cannot be asked.
    asked = await ask_in_thread(chat, bf, GROUNDS, 5, root="1700000000900", team="")
    assert asked.startswith("「これ」" + UNCLEAR) and graph.requests == []
    assert "teams thread opening not read: connector refused status=404" in caplog.text
    assert chat.turn_outcomes() == ["answered", "answered", "answered", "unclear"]


async def test_the_team_a_message_names_by_its_teams_id_is_looked_up_once(
    make_chat, botframework_fake, graph_fake
) -> None:
    bf, graph = botframework_fake, graph_fake
    chat = await linked(make_chat, bf, graph)
    # Message activities name the team by its Teams id only; Graph names it by its group id,
    # which the Bot Connector's team details give.
    bf.team_groups[TEAM_ID] = TEAM
    graph.post(OPENING_HTML)
    other = "1700000000900"
    graph.post(OPENING, message_id=other, content_type="text")

    grounds = await ask_in_thread(chat, bf, GROUNDS, 1, team="")
    deadline = await ask_in_thread(chat, bf, "その届出の期限は？", 2, root=other, team="")

    for answer in (grounds, deadline):
        assert UNCLEAR not in answer and "住民基本台帳法" in answer
    assert bf.team_lookups == [TEAM_ID]  # once for the team's threads
    assert [(r.team, r.message) for r in graph.requests] == [(TEAM, ROOT), (TEAM, other)]


async def test_the_local_mode_reads_no_root_message(
    make_chat, botframework_fake, graph_fake
) -> None:
    bf, graph = botframework_fake, graph_fake
    bf.accept_anonymous = True  # like the Bot Framework Emulator
    graph.post(OPENING_HTML)
    local = await make_chat(allow_insecure_local=True, teams_graph_url=graph.url)
    local.link("横浜市", "teams", TENANT)
    activity = bf.activity(GROUNDS, activity_id="1700000000500", team=TEAM)
    assert (await post(local, activity, None)).status == 200
    await local.drain()
    assert bf.of("PUT")[-1].card_text.startswith("「これ」" + UNCLEAR)
    assert graph.requests == [] and bf.token_requests == []


async def test_a_threads_root_message_is_read_once_for_all_its_mentions(
    make_chat, botframework_fake, graph_fake
) -> None:
    bf, graph = botframework_fake, graph_fake
    chat = await linked(make_chat, bf, graph)
    graph.post(OPENING_HTML)

    await ask_in_thread(chat, bf, GROUNDS, 1)
    later = await ask_in_thread(chat, bf, "その手数料はいくらですか", 2)

    assert UNCLEAR not in later
    assert len(graph.requests) == 1
    assert [r["scope"] for r in bf.token_requests] == [BOT_SCOPE, GRAPH_SCOPE]


async def test_without_consent_the_question_is_asked_back_as_before(
    make_chat, botframework_fake, graph_fake, caplog
) -> None:
    # The team's owner added the app without granting ChannelMessage.Read.Group.
    bf, graph = botframework_fake, graph_fake
    graph.script(Failure(403))
    graph.post(OPENING_HTML)
    caplog.set_level(logging.DEBUG)
    chat = await linked(make_chat, bf, graph)

    asked = await ask_in_thread(chat, bf, GROUNDS, 1)

    assert asked.startswith("「これ」" + UNCLEAR)
    assert [r.status for r in graph.requests] == [403]  # not retried
    assert chat.turn_outcomes() == ["unclear"]
    assert all("thread_opening" not in t for t in audited_turns(chat))
    assert "teams thread opening not read: graph refused status=403" in caplog.text
    assert "住民票" not in caplog.text and "根拠" not in caplog.text
    assert bf.issued and not any(token in caplog.text for token in bf.issued)


async def test_a_graph_server_error_is_tried_again_once(
    make_chat, botframework_fake, graph_fake, caplog
) -> None:
    bf, graph = botframework_fake, graph_fake
    graph.script(*[Failure(503, {"Retry-After": "0"})] * 3)
    graph.post(OPENING_HTML)
    graph.post(OPENING, message_id="1700000000900", content_type="text")
    caplog.set_level(logging.WARNING)
    chat = await linked(make_chat, bf, graph)

    asked = await ask_in_thread(chat, bf, GROUNDS, 1)
    answered = await ask_in_thread(chat, bf, "その届出の期限は？", 2, root="1700000000900")

    assert asked.startswith("「これ」" + UNCLEAR)  # given up after the second try
    assert UNCLEAR not in answered and "住民基本台帳法" in answered  # read at the second
    assert [r.status for r in graph.requests] == [503, 503, 503, 200]
    assert "teams thread opening not read: status=503" in caplog.text


async def test_a_question_is_not_held_back_while_graph_asks_to_wait(
    make_chat, botframework_fake, graph_fake, caplog
) -> None:
    # Throttled for a minute: the asker gets the answer their own words allow now, and no
    # read is tried in the tenant until the minute is over.
    bf, graph = botframework_fake, graph_fake
    graph.script(Failure(429, {"Retry-After": "60"}))
    graph.post(OPENING_HTML)
    graph.post(OPENING, message_id="1700000000900")
    caplog.set_level(logging.DEBUG)
    chat = await linked(make_chat, bf, graph)

    asked = await ask_in_thread(chat, bf, GROUNDS, 1)
    again = await ask_in_thread(chat, bf, "その届出の期限は？", 2, root="1700000000900")

    assert asked.startswith("「これ」" + UNCLEAR) and again.startswith("「その届出」" + UNCLEAR)
    assert [r.status for r in graph.requests] == [429]  # neither retried nor tried
    assert "teams thread opening not read: status=429" in caplog.text
    assert "rate limited" in caplog.text and "住民票" not in caplog.text


async def test_a_root_message_the_bot_wrote_or_that_was_deleted_is_not_read_as_a_question(
    make_chat, botframework_fake, graph_fake
) -> None:
    bf, graph = botframework_fake, graph_fake
    chat = await linked(make_chat, bf, graph)
    posted, deleted = "1700000000300", "1700000000400"
    graph.post(OPENING, message_id=posted, content_type="text", bot=True)
    graph.post(OPENING_HTML, message_id=deleted, deleted=True)

    for n, root in enumerate((posted, deleted)):
        answer = await ask_in_thread(chat, bf, GROUNDS, n, root=root)
        assert answer.startswith("「これ」" + UNCLEAR)
    assert [(r.message, r.status) for r in graph.requests] == [(posted, 200), (deleted, 200)]
    assert chat.turn_outcomes() == ["unclear", "unclear"]


async def test_the_page_a_colleague_linked_to_is_what_a_mention_asks_about(
    make_chat, botframework_fake, graph_fake
) -> None:
    async def page(_request: web.Request) -> web.Response:
        return web.Response(text=NOTICE_PAGE, content_type="text/html")

    bf, graph = botframework_fake, graph_fake
    async with serving({"/entyo": page}) as server:
        chat = await linked(make_chat, bf, graph, fetch_allowed_networks="127.0.0.0/8")
        address = str(server.make_url("/entyo"))
        graph.post(f'<div>窓口延長のお知らせが出ました <a href="{address}">お知らせ</a></div>')

        summary = await ask_in_thread(chat, bf, "要約して", 1)
        answered = await ask_in_thread(chat, bf, "この延長時間中は何を受け付けますか", 2)

    assert "「窓口延長のお知らせ」の要約です" in summary and "午後7時" in summary
    assert "転入・転出の届出のみ" in answered
    assert len(graph.requests) == 1
