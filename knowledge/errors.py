"""The one error root of Baibain, with coded subclasses.

Every error carries a short polite Japanese ``user_message`` that the edge (chat adapters, HTTP
handlers, the CLI) shows to people, an HTTP ``status`` for API clients and a stable ``code``.
``detail`` is for operators' logs and must never contain message text or secrets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from knowledge.llm_protocol import LLMUsage


class BaibainError(Exception):
    """Root of every error Baibain raises on purpose."""

    code = "internal_error"
    status = 500
    default_message = (
        "申し訳ありません。処理中に問題が発生しました。時間をおいてもう一度お試しください。"
    )

    def __init__(self, user_message: str | None = None, *, detail: str = "") -> None:
        self.user_message = user_message or self.default_message
        self.detail = detail
        super().__init__(detail or self.user_message)

    @property
    def retry_at(self) -> datetime | None:
        """When trying again may succeed (API clients get it as ``Retry-After``), if known."""
        return None


class BadInput(BaibainError):
    """The request itself is malformed or out of bounds."""

    code = "bad_input"
    status = 400
    default_message = "入力内容に誤りがあります。内容を確認してもう一度お試しください。"


class Conflict(BadInput):
    """The request is well formed but clashes with what exists (a name already taken).

    A ``BadInput`` for every caller that handles bad input alike; API clients get 409."""

    code = "conflict"
    status = 409


class BadDocument(BaibainError):
    """A file or document could not be read or is not allowed."""

    code = "bad_document"
    status = 400
    default_message = "ファイルを読み込めませんでした。形式と内容を確認してください。"


class NotFound(BaibainError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"
    status = 404
    default_message = "指定されたものが見つかりませんでした。"


class Unauthorized(BaibainError):
    """Missing or wrong credentials."""

    code = "unauthorized"
    status = 401
    default_message = "認証に失敗しました。APIキーを確認してください。"


class Forbidden(BaibainError):
    """Authenticated but not allowed."""

    code = "forbidden"
    status = 403
    default_message = "この操作を行う権限がありません。組織の管理者にお問い合わせください。"


class QuotaExceeded(BaibainError):
    """The organization's token budget is used up.

    ``resets_at`` is when a fresh month's budget can pay again (API clients get it as
    ``Retry-After``); ``None`` for a budget set to 0, which no date brings back."""

    code = "quota_exceeded"
    status = 429
    default_message = "今月の利用上限に達しました。管理者にお問い合わせください。"

    def __init__(
        self,
        user_message: str | None = None,
        *,
        detail: str = "",
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.resets_at = resets_at

    @property
    def retry_at(self) -> datetime | None:
        return self.resets_at


class UpstreamUnavailable(BaibainError):
    """An external service (LLM, embeddings, chat platform) failed or timed out.

    ``billed`` is what the server reported a model call cost when it did answer, with a reply
    that cannot be used (one its content filter withheld), or what a stream that broke midway
    cost so far (estimated: the prompt and the text that came): the provider bills those
    tokens, so budgets and usage count them. ``None`` when nothing was billed, or nothing is
    known to be (an error status, a timeout before any of the reply came).
    """

    code = "upstream_unavailable"
    status = 503
    default_message = (
        "外部サービスに接続できませんでした。しばらく待ってからもう一度お試しください。"
    )

    def __init__(
        self, user_message: str | None = None, *, detail: str = "", billed: LLMUsage | None = None
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.billed = billed


class ContentFiltered(UpstreamUnavailable):
    """The model's content filter refused the prompt or withheld the reply (Azure OpenAI).

    The endpoint is up; this request is what it would not answer. A subclass of
    ``UpstreamUnavailable`` so that every fallback for an unanswered call still applies; the
    edge tells the user the truth instead of that the model could not be reached.
    """

    code = "content_filtered"
    status = 422
    default_message = (
        "AIモデルの安全フィルターにより、回答が差し控えられました。"
        "質問の表現を変えてもう一度お試しください。"
    )


class IndexUnavailable(BaibainError):
    """The search index cannot be reached or opened."""

    code = "index_unavailable"
    status = 503
    default_message = (
        "検索基盤に接続できませんでした。しばらく待ってからもう一度お試しください。"
        "解決しない場合は管理者にお問い合わせください。"
    )


class IndexBoundElsewhere(IndexUnavailable):
    """The index was built with another administrative database: its documents name
    organizations and datasets by that database's numbers, which this one gives out to
    others, so it is refused rather than served (the stores name what to do instead)."""

    code = "index_bound_elsewhere"
    default_message = (
        "検索インデックスは別のデータベースで文書を取り込んだもののため、使用できません。"
        "管理者にお問い合わせください。"
    )


# Why an index bound elsewhere is refused, for the messages of the stores.
BOUND_ELSEWHERE_REASON = (
    "組織やデータセットの番号はデータベースごとに振られるため、このまま使うと別の組織の"
    "非公開の文書が見えてしまいます。"
)
