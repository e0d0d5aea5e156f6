"""What a dataset's fields may hold: its name, its category (one of the seed categories), text
that fits its columns, and its number as users type it. ``admin.datasets`` applies them."""

from __future__ import annotations

from collections.abc import Collection

from admin.names import has_control, typed_name
from knowledge.errors import BadInput, NotFound

CATEGORIES = (
    "法令",
    "官報",
    "白書",
    "通達・事務連絡",
    "条例・規則・例規",
    "会議録",
    "計画",
    "予算・決算",
    "審議会資料",
    "統計",
)
MAX_NAME = 100
# What the text columns hold (PostgreSQL refuses longer values; SQLite would keep them).
MAX_LICENSE = MAX_PUBLISHER = 200
MAX_SOURCE_URL = 2000
MAX_ATTESTED_BY = 255
# Ids and intervals the database columns hold (32-bit integers on PostgreSQL).
MAX_ID = 2**31 - 1
MAX_REFRESH_HOURS = 24 * 366


def check_category(category: str) -> str:
    """The category if it is one of the seed categories; ``BadInput`` listing them otherwise."""
    category = category.strip()
    if category not in CATEGORIES:
        allowed = "、".join(CATEGORIES)
        if not category:  # left out: there is nothing to call unusable
            raise BadInput(f"分類を指定してください。次のいずれかです: {allowed}")
        raise BadInput(f"分類「{category}」は使えません。次のいずれかを指定してください: {allowed}")
    return category


ATTESTER = "共有が法的に可能であることを確認した担当者"


def dataset_number(typed: str) -> int | None:
    """The dataset id ``typed`` (in a URL or a chat command) stands for; ``None`` when it is
    not ASCII digits (「²」 is a digit to ``str.isdigit`` but no number to ``int``). A number
    of more digits than any id is ``NotFound`` without being repeated whole (``int`` refuses
    one of more than 4,300 digits)."""
    if not (typed.isascii() and typed.isdigit()):
        return None
    digits = typed.lstrip("0") or "0"
    if len(digits) > len(str(MAX_ID)):
        raise missing(f"{digits[:12]}…")
    return int(digits)


class ListedNotFound(NotFound):
    """A dataset or document not found, with where the numbers or ids there are are listed:
    ``user_message`` names the chat command, the CLI's and the REST route (an API client or
    an operator is told all three); chat shows ``what`` with its own command alone
    (``chat``, typed as the platform takes it), as a chat user has no use for the others."""

    def __init__(self, what: str, subject: str, *, chat: str, cli: str, rest: str) -> None:
        self.what, self.subject, self.chat = what, subject, chat
        super().__init__(
            f"{what}{subject}、チャットでは /{chat}、コマンドでは {cli}、REST では {rest} で"
            "確認できます。"
        )


def missing(dataset_id: int | str) -> ListedNotFound:
    """That no dataset the viewer may see has this number, and where the numbers are listed."""
    return ListedNotFound(
        f"データセット {dataset_id} が見つかりません。",
        "番号は",
        chat="datasets",
        cli="baibain dataset list --org 組織名",
        rest="GET /api/v1/datasets",
    )


def within(value: str, label: str, limit: int) -> str:
    """``value`` stripped, or ``BadInput`` when it is longer than its column holds."""
    value = value.strip()
    if len(value) > limit:
        raise BadInput(f"{label}は{limit}文字以内で指定してください（{len(value)}文字あります）。")
    return value


def checked_name(name: str, reserved: Collection[str]) -> str:
    """``name`` as typed (``typed_name``), or ``BadInput`` saying why a dataset cannot be named
    so: nothing visible, too long, holding 「/」, a comma or a line break, a category's name or a
    ``reserved`` one."""
    name = typed_name(name)
    if not name or len(name) > MAX_NAME or "/" in name or has_control(name):
        raise BadInput(
            f"データセット名は「/」や改行を含まない1〜{MAX_NAME}文字で指定してください。"
        )
    if "," in name:  # 源内 (/invoke) tags are separated by commas: no tag would name it
        raise BadInput(
            f"データセット名に半角カンマ「,」は使えません（源内のタグはカンマで区切るため、"
            f"このデータセットを指定できなくなります）。「{name.replace(',', '、')}」のように"
            "読点などに置き換えてください。"
        )
    if name in CATEGORIES:  # a tag (/invoke) naming it would choose the category
        raise BadInput(
            f"分類と同じ名前「{name}」はデータセット名に使えません"
            f"（分類の指定と区別できないため）。「{name}集」のような別の名前を"
            "指定してください。"
        )
    if name in reserved:  # listed beside it, and a filter naming it would take both
        raise BadInput(
            f"「{name}」は Baibain に同梱されているデータセットの名前のため使えません"
            f"（一覧や絞り込みで同梱のデータと区別できないため）。「{name}（〇〇市）」の"
            "ように組織名を付けるなど、別の名前を指定してください。"
        )
    return name
