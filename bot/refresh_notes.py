"""What an organization's admins read of their dataset whose automatic refresh fails (chat's
``datasets``, ``baibain dataset list``/``show``, the REST dataset routes): since when, why, in
a few words, and what to do. Only the owner is told: another organization seeing the dataset
shared has nothing to fix."""

from __future__ import annotations

from admin.datasets import DatasetInfo
from knowledge.dates import minute_in_japan

# After an error on our side: the worker tries again at its next run (every 30 minutes).
_RETRIED = "次回の自動更新で再試行します。続く場合はシステム管理者にお問い合わせください。"

# Why a refresh failed and what to do, by the code ``bot.refresh`` records.
_REASONS: dict[str, tuple[str, str]] = {
    "source_refused": ("取得元のURLから取得できませんでした", "取得元のURLを確認してください。"),
    "source_unreachable": (
        "取得元のサーバーに接続できませんでした",
        "取得元のURLとサーバーの状態を確認してください。",
    ),
    "bad_document": (
        "取得したファイルを読み込めませんでした",
        "取得元のファイルの形式と内容を確認してください。",
    ),
    "index_unavailable": ("検索基盤に接続できませんでした", _RETRIED),
    "index_bound_elsewhere": ("検索基盤に接続できませんでした", _RETRIED),
    "upstream_unavailable": ("外部サービスに接続できませんでした", _RETRIED),
}
_OTHER = ("処理中に問題が発生しました", _RETRIED)


def refresh_failure(dataset: DatasetInfo) -> str:
    """That the dataset's automatic refresh fails, since when (Japan time), why and what to do;
    "" while it works."""
    if not dataset.refresh_error or dataset.refresh_failing_since is None:
        return ""
    reason, action = _REASONS.get(dataset.refresh_error, _OTHER)
    since = minute_in_japan(dataset.refresh_failing_since)
    kept = "前回取り込んだ内容で検索できます。" if dataset.documents else ""
    return f"{since} から自動更新に失敗しています（{reason}）。{action}{kept}"


def refresh_note(dataset: DatasetInfo, viewer_org: str | None) -> str:
    """``refresh_failure`` as a note under the dataset in a chat or command-line reply, for
    its owner alone; "" for other viewers and while the refresh works."""
    failure = refresh_failure(dataset) if viewer_org == dataset.org_id else ""
    return f"※{failure}" if failure else ""
