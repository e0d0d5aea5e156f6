"""The bot behind the adapters: organizations, roles, commands and thread follow-ups.

Runs on SQLite and, when configured, PostgreSQL (``db_engine``); the answer core and the audit
log are recording stand-ins so that the routing decisions are visible."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from support import recorded_answer

from admin import links
from admin.orgs import create_org
from admin.quotas import QuotaService
from bot import command_replies, commands
from bot.metering import LLMAccess
from bot.router import ChatRouter
from bot.turns import Answer, ConversationRef, Feedback, Turn
from knowledge.errors import QuotaExceeded

SLACK_THREAD = ConversationRef("slack", "T1", "C1", "1700.0001")


class RecordingAssistant:
    def __init__(self) -> None:
        self.asked: list[tuple[str, Any]] = []
        self.fail_with: Exception | None = None
        self.told: list[str] = []  # messages answered with no question asked, as recorded

    async def replied(self, question: str, asker: Any, reply: Answer, started: float) -> Answer:
        self.told.append(question)
        return reply

    async def ask(self, question: str, asker: Any, on_progress: Any = None) -> Answer:
        self.asked.append((question, asker))
        if self.fail_with:
            raise self.fail_with
        return Answer(text=f"回答: {question}", turn_id="a" * 32)


class RecordingAuditor:
    def __init__(self) -> None:
        self.security_events: list[dict[str, Any]] = []

    async def security(self, **event: Any) -> int:
        self.security_events.append(event)
        return len(self.security_events)


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(db_engine: Engine) -> tuple[ChatRouter, RecordingAssistant, RecordingAuditor, Clock]:
    create_org(db_engine, "横浜市")
    links.link_workspace(db_engine, "横浜市", "slack", "T1")
    links.add_admin(db_engine, "横浜市", "slack", "UADMIN")
    assistant, auditor, clock = RecordingAssistant(), RecordingAuditor(), Clock()
    router = ChatRouter(db_engine, assistant, auditor, clock=clock)  # type: ignore[arg-type]
    return router, assistant, auditor, clock


def turn(
    text: str, *, user: str = "U1", command: bool = False, ref: ConversationRef = SLACK_THREAD
) -> Turn:
    return Turn(conversation=ref, user_id=user, text=text, is_command=command)


async def test_questions_carry_the_thread_so_follow_ups_have_context(setup) -> None:
    router, assistant, _auditor, _clock = setup
    await router.handle(turn("住民監査請求は誰ができますか"))
    await router.handle(turn("期限はありますか"))
    (q1, first), (q2, second) = assistant.asked
    assert (q1, q2) == ("住民監査請求は誰ができますか", "期限はありますか")
    assert first.conversation == second.conversation == SLACK_THREAD
    assert first.org_id == second.org_id and first.platform == "slack" and first.user_id == "U1"


async def test_commands_questions_and_unknown_names(setup) -> None:
    router, assistant, _auditor, _clock = setup
    assert "コマンド一覧" in (await router.handle(turn("", command=True))).text
    assert "コマンド一覧" in (await router.handle(turn("ヘルプ", command=True))).text
    unknown = await router.handle(turn("foo bar", command=True))
    assert "「foo」というコマンドはありません。" in unknown.text and unknown.footer == ""
    typo = await router.handle(turn("qouta", command=True))
    assert "「qouta」というコマンドはありません（もしかして: @バイバイン /quota）" in typo.text
    asked = await router.handle(turn("住民監査請求は誰ができますか", command=True))
    assert asked.text == "回答: 住民監査請求は誰ができますか"
    assert (await router.handle(turn("ask", command=True))).text.startswith(
        "「@バイバイン /ask」に続けて"
    )
    assert (await router.handle(turn("ask 期限は", command=True))).text == "回答: 期限は"
    assert (
        "この機能は準備中です" in (await router.handle(turn("summarize doc-1", command=True))).text
    )
    assert [q for q, _ in assistant.asked] == ["住民監査請求は誰ができますか", "期限は"]


async def test_admin_and_operator_commands(setup, db_engine: Engine) -> None:
    router, _assistant, auditor, _clock = setup
    refused = await router.handle(turn("dataset delete 12", command=True))
    assert refused.outcome == "refused" and "組織の管理者のみ" in refused.text
    allowed = await router.handle(turn("dataset delete 12", user="UADMIN", command=True))
    assert "この機能は準備中です" in allowed.text
    not_operator = await router.handle(turn("quota set 横浜市 10", user="UADMIN", command=True))
    assert not_operator.outcome == "refused"
    assert "運用組織の管理者のみ" in not_operator.text and "運用窓口にご相談" in not_operator.text
    links.set_operator(db_engine, "横浜市")
    operator = await router.handle(turn("quota set 横浜市 10", user="UADMIN", command=True))
    assert "この機能は準備中です" in operator.text
    assert [e["details"]["command"] for e in auditor.security_events] == [
        "dataset delete",
        "quota set",
    ]
    assert all(e["reason"] == "command_refused" for e in auditor.security_events)
    # Named as chat admin actions name who acted (a dataset of another organization refused
    # to an admin is recorded so too), so one person's refusals count together.
    assert [e["user_id"] for e in auditor.security_events] == ["slack:U1", "slack:UADMIN"]


async def test_unknown_workspace_hint_and_errors(setup) -> None:
    router, assistant, auditor, _clock = setup
    stranger = await router.handle(turn("質問", ref=ConversationRef("slack", "T9", "C", "")))
    assert stranger.outcome == "refused" and "利用登録" in stranger.text
    assert auditor.security_events[0]["reason"] == "unknown_workspace"
    assert assistant.asked == []
    hint = await router.handle(turn("   "))
    assert hint.text == command_replies.usage_hint(SLACK_THREAD) and not hint.feedback
    assert "ダイレクトメッセージではそのまま" in hint.text
    assistant.fail_with = QuotaExceeded()
    quota = await router.handle(turn("質問"))
    assert quota.outcome == "quota" and "利用上限" in quota.text


async def test_rejected_requests_are_audited_once_a_minute(setup) -> None:
    router, _assistant, auditor, clock = setup
    for _ in range(5):
        await router.record_security_event("logo", "bad_signature")
    clock.now = 61.0
    await router.record_security_event("logo", "bad_signature")
    await router.record_security_event("slack", "bad_signature")
    details = [(e["platform"], e["details"]) for e in auditor.security_events]
    assert details == [
        ("logo", {}),
        ("logo", {"suppressed_since_last_record": "4"}),
        ("slack", {}),
    ]


async def test_feedback_needs_a_recorded_answer_and_a_linked_workspace(
    setup, db_engine: Engine
) -> None:
    router, _assistant, _auditor, _clock = setup
    org = links.org_for_workspace(db_engine, "slack", "T1")
    assert org is not None
    recorded_answer(db_engine, "b" * 32, org.id)
    good = Feedback(
        turn_id="b" * 32, rating="up", platform="slack", workspace_id="T1", user_id="U1"
    )
    assert (await router.record_feedback(good)).startswith("ご評価ありがとうございました")
    for bad, why in (
        ({"turn_id": "../etc"}, "記録が見つからない"),
        ({"turn_id": "c" * 32}, "記録が見つからない"),
        ({"workspace_id": "T9"}, "利用登録がされていない"),
    ):
        reply = await router.record_feedback(Feedback(**{**good.__dict__, **bad}))
        assert why in reply and "ありがとう" not in reply
    [stored] = links.feedback_for(db_engine, "b" * 32)
    assert stored.rating == "up"


def test_parse_finds_the_longest_command_name() -> None:
    assert commands.parse("dataset delete 12") == (commands.find("dataset delete"), "12")
    assert commands.parse("QUOTA  SET 横浜市　1000") == (commands.find("quota set"), "横浜市　1000")
    assert commands.parse("／help") == (commands.find("help"), "")  # 「/baibain /help」
    assert commands.parse("quota") == (commands.find("quota"), "")
    assert commands.parse("datasets") == (commands.find("datasets"), "")
    assert commands.parse("foo") == (None, "")


def test_help_is_generated_from_the_definitions() -> None:
    text = command_replies.help_text(ConversationRef("logo"))
    for command in commands.COMMANDS:
        line = next(li for li in text.splitlines() if li.startswith(f"・{command.usage} — "))
        assert ("準備中" in line) is (not command.ready)
    assert "・/help — 使い方とコマンドの一覧を表示します" in text
    assert "・/usage — 組織の利用状況を表示します（組織の管理者のみ）" in text
    assert "1対1のトークではそのまま書けます" in text and "Slack" not in text
    # Each platform's words: Slack's commands follow /baibain; Teams has personal chats.
    slack = command_replies.help_text(ConversationRef("slack"))
    assert "・/baibain usage — 組織の利用状況を表示します" in slack
    assert "ダイレクトメッセージではそのまま書けます" in slack
    assert "個人チャットではそのまま書けます" in command_replies.help_text(ConversationRef("teams"))


async def test_an_unlinked_teams_tenant_is_told_in_teams_words(setup) -> None:
    router, _assistant, _auditor, _clock = setup
    stranger = await router.handle(turn("質問", ref=ConversationRef("teams", "T9", "C", "")))
    assert "このテナント（組織）はまだ自治体版バイバインの利用登録がされていません" in stranger.text


async def test_an_admin_hears_the_budget_is_spent_once(setup, db_engine: Engine) -> None:
    router, _assistant, auditor, _clock = setup
    quotas = QuotaService(db_engine, 1000)
    org = links.org_for_workspace(db_engine, "slack", "T1")
    assert org is not None
    quotas.commit(quotas.reserve(org.id, 1000), 1000)
    # Any client: none is called, it only says an LLM is configured.
    router.metering = LLMAccess(object(), quotas, auditor)  # type: ignore[arg-type]
    member = await router.handle(turn("住民監査請求は誰ができますか"))
    told = await router.handle(turn("住民監査請求は誰ができますか", user="UADMIN"))
    again = await router.handle(turn("住民監査請求は誰ができますか", user="UADMIN"))
    assert told.notice.startswith("※今月のAI利用量が上限に達しました。")  # 100 %, recorded
    assert member.notice == again.notice == ""
