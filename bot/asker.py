"""Who asks a question, and what counts as one."""

from __future__ import annotations

from dataclasses import dataclass

from bot.turns import ConversationRef, Platform, Turn, without_unseen
from knowledge.errors import BadInput

MAX_QUESTION_CHARS = 2000


@dataclass(frozen=True)
class Asker:
    """Who asks: organization (``None`` = shared data only), platform and user.

    ``own_data`` is False where the answer is read outside the organization (``Turn.
    external_audience``): it is still the organization's turn (its budget, its audit log), but
    its own datasets are not searched. ``answer_thread`` and ``thread_opening``: see ``Turn``.
    """

    org_id: str | None
    platform: Platform
    user_id: str = ""
    conversation: ConversationRef | None = None
    own_data: bool = True
    answer_thread: str = ""
    thread_opening: str = ""

    @classmethod
    def of(cls, turn: Turn, org_id: str) -> Asker:
        """The asker of a chat turn in a conversation of organization ``org_id``."""
        return cls(
            org_id,
            turn.conversation.platform,
            turn.user_id,
            turn.conversation,
            own_data=not turn.external_audience,
            answer_thread=turn.answer_thread,
            thread_opening=turn.thread_opening,
        )

    @property
    def where(self) -> ConversationRef:
        """The conversation the answer is read in (one of its platform alone outside chat)."""
        return self.conversation or ConversationRef(self.platform)

    @property
    def viewer_org(self) -> str | None:
        """The organization whose own datasets the answer may draw on, besides shared ones."""
        return self.org_id if self.own_data else None


def validate_question(text: str) -> str:
    """The question stripped, without the characters nobody sees (as a chat ``Turn`` holds
    it); ``BadInput`` with a Japanese message when empty (or nothing but such characters), too
    long or not text (lone surrogates: bytes of another encoding read as UTF-8)."""
    question = without_unseen(text).strip()
    if not question:
        raise BadInput("質問を入力してください。")
    if any("\ud800" <= c <= "\udfff" for c in question):
        raise BadInput(
            "質問に読み取れない文字が含まれています。文字化けしていないか確認してください。"
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInput(
            f"質問が長すぎます（{len(question)}文字）。{MAX_QUESTION_CHARS}文字以内にしてください。"
            "長い文章について尋ねるときは、ファイルにして添付してください。"
        )
    return question
