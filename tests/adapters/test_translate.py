"""The pure halves of the adapters: platform payload → ``Turn``, ``Answer`` → platform JSON."""

from __future__ import annotations

import json
from dataclasses import replace

from fakes.botframework import TEAM_ID, FakeBotFramework
from fakes.logo import FakeLogo
from fakes.slack_api import FakeSlack

from adapters.logo.models import LogoEvent
from adapters.logo.translate import render as render_logo
from adapters.logo.translate import to_turn as logo_turn
from adapters.openings import Opening
from adapters.slack.translate import clean_text
from adapters.slack.translate import render as render_slack
from adapters.slack.translate import to_feedback as slack_feedback
from adapters.slack.translate import to_turn as slack_turn
from adapters.teams.translate import ChannelReply, channel_reply, read_channel_message
from adapters.teams.translate import render as render_teams
from adapters.teams.translate import to_feedback as teams_feedback
from adapters.teams.translate import to_turn as teams_turn
from bot.turns import AI_FOOTER, Answer, Citation, ConversationRef

ANSWER = Answer(
    text="住民は監査を請求できます。[1] <注意> & 確認",
    citations=(
        Citation(
            n=1,
            title="地方自治法 第二百四十二条",
            dataset="e-Gov法令",
            organization="デジタル庁",
            position="第1項",
            url="https://laws.e-gov.go.jp/law/322AC0000000067",
            published="2024-04-01",
            statute=True,
        ),
        Citation(n=2, title="内部資料 [案]", dataset="例規集"),
    ),
    turn_id="d" * 32,
)


async def test_slack_mention_dm_slash_and_ignored_events(slack_fake: FakeSlack) -> None:
    slack = slack_fake
    mention = slack_turn(slack.mention("  住民監査請求は？ <@U0OTHER> ", thread_ts="1.1", ts="1.2"))
    assert mention is not None
    assert mention.text == "住民監査請求は？ @U0OTHER" and not mention.is_command
    assert mention.conversation == ConversationRef("slack", "T0TEST", "C0CHAN", "1.1")
    assert mention.event_id == "Ev0001" and mention.user_id == "U0USER"
    top = slack_turn(slack.mention("質問", ts="2.5"))
    assert top is not None and top.conversation.thread_id == "2.5"
    command = slack_turn(slack.mention("/quota set 横浜市 100"))
    assert command is not None and command.is_command and command.text == "quota set 横浜市 100"
    dm = slack_turn(slack.direct_message("こんにちは"))
    assert dm is not None and dm.conversation.thread_id == "" and dm.text == "こんにちは"
    assert slack_turn(slack.direct_message("x", user=slack.bot_user_id)) is None
    assert slack_turn({"type": "url_verification", "challenge": "c"}) is None
    assert slack_turn(slack.event({"type": "reaction_added", "user": "U1"})) is None
    from urllib.parse import parse_qsl

    slash = slack_turn(dict(parse_qsl(slack.slash_command("help"))))
    assert slash is not None and slash.is_command and slash.text == "help"
    # Escaped as Slack escapes all text it sends; the conversation is the member's own.
    linked = slack_turn(
        dict(parse_qsl(slack.slash_command("summarize https://e.jp/a?x=1&amp;y=2")))
    )
    assert linked is not None and linked.text == "summarize https://e.jp/a?x=1&y=2"
    assert linked.conversation.member == "U0USER"


def test_slack_markup_is_cleaned() -> None:
    text = "<@UBOT> <https://example.jp/a|資料> と <#C1|general> &lt;b&gt; &amp; <!here>"
    assert clean_text(text, "UBOT") == "資料 と #general <b> & @here"
    # Emoji shortcodes as their emoji; a time, a workspace's own emoji and a link's address
    # as written.
    emoji = "<@UBOT> :man-bowing: 10:30:00 :yokohama-logo: <https://e.jp/a:b:c|:b:>"
    assert clean_text(emoji, "UBOT", urls=True) == (
        "🙇\u200d♂️ 10:30:00 :yokohama-logo: https://e.jp/a:b:c"
    )


async def test_a_command_keeps_the_address_of_a_link(slack_fake: FakeSlack) -> None:
    slack = slack_fake
    # Slack sends a typed address as <http://…|…> without its scheme in the label.
    link = "<http://www.city.example.lg.jp/a.pdf|www.city.example.lg.jp/a.pdf>"
    turn = slack_turn(slack.mention(f"/summarize {link}"))
    assert turn is not None and turn.is_command
    assert turn.text == "summarize http://www.city.example.lg.jp/a.pdf"
    question = slack_turn(slack.mention(f"{link} の内容は"))
    assert question is not None and question.text == "www.city.example.lg.jp/a.pdf の内容は"


async def test_slack_feedback_from_a_button_click(slack_fake: FakeSlack) -> None:
    slack = slack_fake
    from urllib.parse import parse_qsl

    payload = json.loads(
        dict(parse_qsl(slack.button_click("baibain_feedback_up", "e" * 32)))["payload"]
    )
    feedback = slack_feedback(payload)
    assert feedback is not None
    assert (feedback.rating, feedback.turn_id, feedback.workspace_id) == ("up", "e" * 32, "T0TEST")
    payload["actions"][0]["action_id"] = "other"
    assert slack_feedback(payload) is None


def test_slack_render_links_citations_and_escapes() -> None:
    message = render_slack(ANSWER)
    blocks = message["blocks"]
    assert blocks[0]["text"]["text"] == "住民は監査を請求できます。[1] &lt;注意&gt; &amp; 確認"
    # The notification text too: Slack reads it as mrkdwn (「<!channel>」 would notify).
    assert message["text"] == "住民は監査を請求できます。[1] &lt;注意&gt; &amp; 確認"
    sources = blocks[1]["text"]["text"]
    assert sources.startswith("*出典*\n[1] <https://laws.e-gov.go.jp/law/322AC0000000067|")
    assert "（第1項・e-Gov法令・デジタル庁・2024-04-01 公布）" in sources
    assert "[2] 内部資料 [案]（例規集）" in sources
    assert blocks[2]["elements"][0]["text"] == AI_FOOTER
    assert [e["value"] for e in blocks[3]["elements"]] == ["d" * 32] * 2
    long = render_slack(Answer(text="あ。" * 4000, footer="", feedback=False))
    assert all(len(b["text"]["text"]) <= 3000 for b in long["blocks"])
    assert len(long["blocks"]) == 4 and len(long["text"]) <= 1000


async def test_teams_mentions_threads_personal_and_feedback(
    botframework_fake: FakeBotFramework,
) -> None:
    bf = botframework_fake
    turn = teams_turn(bf.activity("住民監査請求は？ &amp; 条例"))
    assert turn is not None and turn.text == "住民監査請求は？ & 条例"
    assert turn.conversation == ConversationRef(
        "teams", "tenant-test", "19:general@thread.tacv2", "1700000000000"
    )
    assert turn.user_id == "aad-user-1" and turn.event_id.endswith("|1700000000100")
    root = teams_turn(bf.activity("質問", conversation_id="19:x@thread.tacv2", activity_id="42"))
    assert root is not None and root.conversation.thread_id == "42"
    personal = teams_turn(
        bf.activity("/help", conversation_id="a:1", conversation_type="personal", mention=False)
    )
    assert personal is not None and personal.is_command and personal.text == "help"
    assert personal.conversation.thread_id == ""
    own = bf.activity("x")
    own["from"] = own["recipient"]
    assert teams_turn(own) is None
    assert teams_turn({**bf.activity("x"), "type": "conversationUpdate"}) is None
    click = bf.activity(
        "", value={"kind": "baibain.feedback", "turn_id": "f" * 32, "rating": "down"}
    )
    assert teams_turn(click) is None
    feedback = teams_feedback(click)
    assert feedback is not None and feedback.rating == "down" and feedback.user_id == "aad-user-1"
    [up, _down] = render_teams(replace(ANSWER, turn_id="f" * 32))["attachments"][0]["content"][
        "actions"
    ]
    pressed = bf.card_action(up, card_id="bot-activity-1")
    assert teams_turn(pressed) is None
    assert teams_feedback(pressed) == replace(feedback, rating="up")
    pressed["value"]["action"]["data"]["kind"] = "other"
    assert teams_feedback(pressed) is None


async def test_teams_mentions_of_other_people_keep_their_names(
    botframework_fake: FakeBotFramework,
) -> None:
    bf = botframework_fake
    tanaka = (("田中 太郎", "aad-tanaka"),)
    channel = bf.activity("<at>田中 太郎</at>さんの担当業務の根拠規定は？", others=tanaka)
    assert channel["text"].startswith("<at>バイバイン</at> <at>田中 太郎</at>")
    personal = bf.activity(
        "<at>田中 太郎</at>さんの担当業務の根拠規定は？",
        conversation_id="a:1",
        conversation_type="personal",
        mention=False,
        others=tanaka,
    )
    for activity in (channel, personal):
        turn = teams_turn(activity)
        assert turn is not None and turn.text == "田中 太郎さんの担当業務の根拠規定は？"
    command = teams_turn(bf.activity("/ask <at>田中 太郎</at>さんの担当は？", others=tanaka))
    assert (
        command is not None and command.is_command and command.text == "ask 田中 太郎さんの担当は？"
    )


async def test_teams_file_attachments_in_personal_chat(
    botframework_fake: FakeBotFramework,
) -> None:
    bf = botframework_fake
    activity = bf.activity("/upload", conversation_type="personal", mention=False)
    activity["attachments"] = [
        {"contentType": "text/html", "content": "<p>/upload</p>"},
        {
            "contentType": "application/vnd.microsoft.teams.file.download.info",
            "name": "例規.docx",
            "content": {"downloadUrl": "https://tenant.sharepoint.com/x", "fileType": "docx"},
        },
    ]
    turn = teams_turn(activity)
    assert turn is not None
    [attachment] = turn.attachments
    assert attachment.name == "例規.docx" and attachment.url.startswith("https://tenant")


def test_teams_render_is_an_adaptive_card() -> None:
    activity = render_teams(ANSWER)
    [attachment] = activity["attachments"]
    card = attachment["content"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    texts = [b["text"] for b in card["body"]]
    assert texts[1] == "出典"
    assert texts[2].startswith("［1］ [地方自治法 第二百四十二条](https://laws.e-gov.go.jp/")
    assert texts[3] == "［2］ 内部資料 ［案］（例規集）" and texts[-1] == AI_FOOTER
    assert [a["data"]["rating"] for a in card["actions"]] == ["up", "down"]
    plain = render_teams(Answer(text="ヘルプ", footer="", feedback=False))
    assert "actions" not in plain["attachments"][0]["content"]


def test_teams_shows_a_notice_last_in_the_card() -> None:
    notice = "※今月のAI利用量が上限の80%に達しました（残り19,500トークン）。"
    card = render_teams(replace(ANSWER, notice=notice))["attachments"][0]["content"]
    texts = [b["text"] for b in card["body"]]
    assert texts[-2:] == [AI_FOOTER, notice]


async def test_teams_channel_reply_names_the_root_message_to_read(
    botframework_fake: FakeBotFramework,
) -> None:
    bf = botframework_fake
    reply = channel_reply(bf.activity("これの根拠は？", team="group-1"))
    assert reply == ChannelReply(
        "tenant-test",
        "group-1",
        "19:general@thread.tacv2",
        "1700000000000",
        team_id=TEAM_ID,
        service_url=bf.service_url,
    )
    # Without the group id, the team's Teams id and the connector that knows its group.
    no_group = channel_reply(bf.activity("これの根拠は？"))
    assert no_group == replace(reply, team="")
    # A reply whose conversation id names no root message, as its ``replyToId`` does.
    bare = bf.activity("x", conversation_id="19:general@thread.tacv2", activity_id="9", team="g")
    assert channel_reply({**bare, "replyToId": "5"}) == replace(reply, team="g", root_id="5")
    root_post = bf.activity("質問", activity_id="1700000000000", team="group-1")
    personal = bf.activity("x", conversation_id="a:1", conversation_type="personal", mention=False)
    group = bf.activity("x", conversation_id="19:g@thread.v2", conversation_type="groupChat")
    for activity in (root_post, bare, personal, group, {**root_post, "type": "invoke"}):
        assert channel_reply(activity) is None


def chat_message(content: str, content_type: str = "html", **extra: object) -> dict[str, object]:
    """A Graph ``chatMessage`` a colleague posted (the fields read)."""
    colleague = {"application": None, "user": {"id": "aad-user-2", "displayName": "田中 花子"}}
    body = {"contentType": content_type, "content": content}
    message = {"messageType": "message", "deletedDateTime": None, "from": colleague, "body": body}
    return message | extra


def test_teams_root_message_html_is_read_as_text_with_its_links() -> None:
    html_body = (
        '<div><div><at id="0">田中 課長</at>&nbsp;来月から'
        '<a href="https://www.city.example.lg.jp/tesuryo?a=1&amp;b=2">住民票の写し</a>の'
        '手数料が変わります<emoji id="1f64f_pray" alt="🙏" title="お願い"></emoji></div>'
        "<div><br></div><p>詳細は https://www.city.example.lg.jp/oshirase をご覧ください。</p>"
        '<p><a href="https://www.city.example.lg.jp/oshirase/">'
        "https://www.city.example.lg.jp/oshirase</a> &lt;必読&gt;</p></div>"
    )
    opening = read_channel_message(chat_message(html_body))
    assert opening.text == (
        "田中 課長 来月から住民票の写しの手数料が変わります🙏\n\n"
        "詳細は https://www.city.example.lg.jp/oshirase をご覧ください。\n"
        "https://www.city.example.lg.jp/oshirase <必読>"
    )
    assert opening.links == (  # an autolinked address is its href, once
        "https://www.city.example.lg.jp/tesuryo?a=1&b=2",
        "https://www.city.example.lg.jp/oshirase",
        "https://www.city.example.lg.jp/oshirase/",
    )
    assert opening.files == ()
    plain = read_channel_message(chat_message(" 通知です https://example.jp/a。\n", "text"))
    assert plain == Opening("通知です https://example.jp/a。", links=("https://example.jp/a",))
    titled = read_channel_message(chat_message("<p>本文です</p>", subject="窓口延長について"))
    assert titled.text == "窓口延長について\n本文です"


def test_teams_root_messages_of_apps_deleted_or_system_are_not_read() -> None:
    bot = {"application": {"id": "app", "applicationIdentityType": "bot"}, "user": None}
    for message in (
        chat_message("<p>回答です</p>", **{"from": bot}),
        chat_message("", deletedDateTime="2024-04-01T01:00:00Z"),
        chat_message("<systemEventMessage/>", messageType="systemEventMessage"),
        chat_message("<p>本文</p><![foo bar]>"),  # markup Python's HTML parser refuses
        {},
    ):
        assert read_channel_message(message) == Opening()


async def test_logo_turns_commands_and_render(logo_fake: FakeLogo) -> None:
    logo = logo_fake
    event = LogoEvent.model_validate(logo.event("<@bot-1> 住民監査請求は？", thread_id=None))
    turn = logo_turn(event)
    assert turn.text == "住民監査請求は？"
    assert turn.conversation == ConversationRef("logo", "logo-org-1", "talk-1", "msg-1")
    command = logo_turn(
        LogoEvent.model_validate(
            logo.event(type="command", command={"name": "/quota", "text": "set 横浜市 100"})
        )
    )
    assert command.is_command and command.text == "quota set 横浜市 100"
    text = render_logo(ANSWER)["text"]
    assert text.startswith("住民は監査を請求できます。[1] <注意> & 確認\n\n出典:\n")
    assert "[1] 地方自治法 第二百四十二条（第1項・e-Gov法令・デジタル庁・2024-04-01 公布）" in text
    assert "    https://laws.e-gov.go.jp/law/322AC0000000067" in text
    assert text.endswith(AI_FOOTER)


def test_possibly_related_documents_are_not_headed_as_sources() -> None:
    related = replace(ANSWER, related_heading="関連する可能性のある資料")
    slack = render_slack(related)["blocks"][1]["text"]["text"]
    assert slack.startswith("*関連する可能性のある資料*\n[1] ")
    teams = [b["text"] for b in render_teams(related)["attachments"][0]["content"]["body"]]
    assert teams[1] == "関連する可能性のある資料"
    assert "\n\n関連する可能性のある資料:\n[1] " in render_logo(related)["text"]
