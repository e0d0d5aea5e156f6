"""Back ends of the chat commands that manage data: upload, datasets, dataset delete, quota,
quota set and usage. ``ChatRouter`` has already checked the user's role."""

from __future__ import annotations

import asyncio
import re
import unicodedata
from collections.abc import Awaitable, Callable

from admin import orgs
from admin.audit import AuditEvent
from admin.dataset_rules import CATEGORIES, dataset_number
from admin.datasets import DatasetInfo
from admin.orgs import OrgInfo
from bot import command_replies, commands
from bot.cli_quota import changed_line, describe, parse_tokens, tokens_refused
from bot.fetch import Fetched, FetchPolicy, fetch
from bot.refresh_notes import refresh_note
from bot.sample import sample_in_index, sample_line
from bot.services import Services
from bot.turns import Answer, ConversationRef, Turn, notice
from bot.uploads import UploadFile, Uploads
from knowledge.errors import BadInput, NotFound

Handler = Callable[[Turn, OrgInfo, str], Awaitable[Answer]]
# How many documents ``/datasets 番号`` lists.
LISTED_DOCUMENTS = 30


# Brackets around an option (「（分類＝計画）」) and quotes around its value
# (「データセット=「例規集」」), as staff write a value in a sentence: not part of it.
_OPTION_BRACKETS = re.compile(r"[（(](?P<inner>[^（）()]+=[^（）()]*)[）)]")
_QUOTES = {"「": "」", "『": "』", '"': '"', "“": "”", "'": "'"}


def _unquoted(value: str) -> str:
    """``value`` without the quotes around it, if it has a pair."""
    quoted = len(value) >= 2 and _QUOTES.get(value[0]) == value[-1]
    return value[1:-1] if quoted else value


def _dataset_number(typed: str) -> int | None:
    """The dataset number a chat user typed (full-width digits and commas too); ``None`` for
    no number (「²」, 「三」), ``NotFound`` for one past any dataset's."""
    digits = commands.typed_digits(typed)
    return None if digits is None else dataset_number(digits)


def parse_options(args: str) -> tuple[dict[str, str], list[str]]:
    """``分類=例規 共有=可 https://…`` → options and the remaining words (a URL is one, ``=``
    in its query or not); brackets around an option and quotes around its value are dropped;
    ``BadInput`` for an option given twice with different values."""
    options: dict[str, str] = {}
    rest: list[str] = []
    for word in args.split():
        option = word.replace("＝", "=")
        if bracketed := _OPTION_BRACKETS.fullmatch(option):
            option = bracketed["inner"]
        key, sep, value = option.partition("=")
        value = _unquoted(value)
        if not sep or not key or commands.is_web_address(word):
            rest.append(word)
        elif options.setdefault(key, value) != value:
            raise BadInput(f"「{key[:40]}=」が2回指定されています。1つにしてください。")
    return options, rest


# What ``/upload`` understands after its files or URLs.
UPLOAD_OPTIONS = ("データセット", "名前", "分類", "ライセンス", "共有")
UPLOAD_EXAMPLE = "upload https://… データセット=例規集 分類=条例・規則・例規 共有=可"
SHARE_YES = ("可", "はい", "yes")
SHARE_NO = ("不可", "いいえ", "no")


# What confirms deleting a whole dataset: 「/dataset delete 3 すべて」.
DELETE_ALL = ("すべて", "全て", "全部")


def _upload_options_help(where: ConversationRef) -> str:
    """The options ``/upload`` understands, with an example as typed ``where``."""
    return (
        "使える指定は「データセット=名前 分類=… ライセンス=… 共有=可」です"
        f"（例: {command_replies.typed(where, UPLOAD_EXAMPLE)}）。"
    )


def scope_label(shared: bool) -> str:
    """Who sees a dataset, as every list and confirmation says it."""
    return "全参加団体と共有" if shared else "組織内のみ"


def _delete_confirmation(dataset: DatasetInfo, where: ConversationRef) -> str:
    """What deleting the whole dataset would do, and how to confirm it."""
    shared = dataset.visibility == "shared"
    scope = scope_label(shared)
    others = f"{scope}しているため、ほかの団体も検索できなくなります。" if shared else ""
    return (
        f"データセット「{dataset.name}」（{scope}・文書 {dataset.documents} 件）を、"
        f"その文書とともに削除します。削除すると元に戻せません。{others}"
        f"削除する場合は「{command_replies.typed(where, f'dataset delete {dataset.id} すべて')}」"
        "と送ってください（1つの文書だけを削除する場合は"
        f"「{command_replies.typed(where, f'dataset delete {dataset.id} 文書名')}」）。"
    )


def dataset_line(d: DatasetInfo, viewer_org: str | None) -> str:
    """One dataset as staff of ``viewer_org`` read it in a list: id, name, category, scope (a
    shared one with the organization that publishes it), documents; for its owner, a note on
    the next line while its automatic refresh fails."""
    scope = scope_label(d.visibility == "shared")
    if d.visibility == "shared" and d.publisher:
        scope = f"{scope}・{d.publisher}"
    line = f"[{d.id}] {d.name}（{d.category}・{scope}・{d.documents}件）"
    note = refresh_note(d, viewer_org)
    return f"{line}\n  {note}" if note else line


def document_lines(dataset: DatasetInfo, titles: list[tuple[str, str]], limit: int) -> list[str]:
    """The documents of a dataset, by title with their ids, at most ``limit`` of them."""
    if not titles:
        return [f"データセット「{dataset.name}」にはまだ文書がありません。"]
    lines = [f"データセット「{dataset.name}」の文書（{len(titles)}件）:"]
    lines += [f"・{title}（文書ID: {doc_id}）" for title, doc_id in titles[:limit]]
    if len(titles) > limit:
        lines.append(f"…ほか {len(titles) - limit} 件")
    return lines


async def delete_dataset_or_document(
    uploads: Uploads, dataset_id: int, org_id: str, doc_id: str, *, who: str, platform: str
) -> str:
    """Delete the organization's dataset, or only its document ``doc_id`` when one is given;
    the reply. Another organization's dataset is refused, and the refusal recorded."""
    action = "document.delete" if doc_id.strip() else "dataset.delete"
    dataset = await uploads.owned(dataset_id, org_id, who=who, platform=platform, action=action)
    if doc_id.strip():
        _, title = await uploads.delete_document(dataset, doc_id, who=who, platform=platform)
        return f"データセット「{dataset.name}」から文書「{title}」を削除しました。"
    removed = await uploads.delete(dataset, who=who, platform=platform)
    return f"データセット「{dataset.name}」と文書 {removed} 件を削除しました。"


class DataCommands:
    """The handlers, bound to the process's services."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def handlers(self) -> dict[str, Handler]:
        return {
            "upload": self.upload,
            "datasets": self.datasets,
            "dataset delete": self.delete,
            "quota": self.quota,
            "quota set": self.quota_set,
            "usage": self.usage,
        }

    async def upload(self, turn: Turn, org: OrgInfo, args: str) -> Answer:
        options, rest = parse_options(args)
        platform = turn.conversation.platform
        if unknown := [key for key in options if key not in UPLOAD_OPTIONS]:
            named = "、".join(f"「{key}=」" for key in unknown)
            return notice(f"{named}は使えない指定です。{_upload_options_help(turn.conversation)}")
        if stray := [w for w in rest if not commands.is_web_address(w)]:
            # 「データセット=例規 集」 would name the dataset 「例規」: nothing is taken instead.
            named = "".join(f"「{w[:40]}」" for w in stray[:3])
            return notice(
                f"{named}を読み取れませんでした。指定は「分類=計画」のように = でつなぎ、"
                f"値には空白を入れずに書いてください。{_upload_options_help(turn.conversation)}"
            )
        if options.get("共有", "可") not in (*SHARE_YES, *SHARE_NO):
            return notice(
                "共有は「共有=可」か「共有=不可」で指定してください。"
                + _upload_options_help(turn.conversation)
            )
        name = options.get("データセット") or options.get("名前") or ""
        if not name:
            return notice(
                "取り込み先を「データセット=名前」で指定してください"
                f"（例: {command_replies.typed(turn.conversation, UPLOAD_EXAMPLE)}）。"
            )
        files = [UploadFile(a.name, a.content) for a in turn.attachments if a.content is not None]
        urls = [w for w in rest if commands.is_web_address(w)]
        fetched_from: dict[str, Fetched] = {}
        for url in urls:
            fetched = fetched_from[url] = await fetch(url, FetchPolicy.of(self.services.settings))
            files.append(UploadFile(fetched.name, fetched.data))
        if not files:
            return notice(
                command_replies.ATTACHMENTS_NOT_RECEIVED
                if turn.attachments
                else "取り込む文書を添付するか、URL を指定してください。"
            )
        who = turn.actor
        category = options.get("分類", "")
        dataset = await asyncio.to_thread(self.services.datasets.by_name, org.id, name)
        created = dataset is None
        if dataset is None:
            if not category:
                raise BadInput(
                    "新しいデータセットには「分類=計画」のように分類を指定してください"
                    f"（{'、'.join(CATEGORIES)}）。"
                )
            dataset = await self.services.uploads.create_for_upload(
                org,
                name,
                category,
                license=options.get("ライセンス", ""),
                source_url=urls[0] if len(urls) == 1 else "",
                who=who,
                platform=platform,
            )
        # The dataset's own source, fetched now: what it was read as before is replaced, and
        # the next refresh starts from this fetch.
        source = fetched_from.get(dataset.source_url)
        replaced: list[str] = []
        if source is not None:
            stored = await asyncio.to_thread(self.services.datasets.source_state, dataset.id)
            replaced = [stored.name] if stored.name else []
        try:
            report = await self.services.uploads.upload(
                dataset,
                files,
                publisher=org.name,
                uploader=who,
                platform=platform,
                replaces=replaced,
            )
        except BaseException:
            if created:  # a refused upload leaves no empty dataset behind
                await self.services.uploads.withdraw(dataset, who=who, platform=platform)
            raise
        if source is not None:
            datasets = self.services.datasets
            await asyncio.to_thread(datasets.remember_source, dataset.id, source.state)
        text = report.message()
        if category and category != dataset.category:
            text += f"既存のデータセットの分類「{dataset.category}」のまま登録しました。"
        if options.get("共有") in SHARE_YES:
            await self.services.uploads.attest(report.dataset, who=who, platform=platform)
            text += "全参加団体との共有を有効にしました（共有可能であることの表明を記録しました）。"
        elif report.dataset.visibility != "shared":
            text += "このデータセットは組織内のみで利用されます。"
        return notice(text)

    async def datasets(self, turn: Turn, org: OrgInfo, args: str) -> Answer:
        raw = args.strip()
        if raw:
            return await self._documents(org, raw, turn.conversation)
        rows = await asyncio.to_thread(self.services.datasets.visible, org.id)
        # The bundled statutes answer questions too, though no organization uploaded them.
        sample = await sample_in_index(self.services.index)
        if not rows and not sample:
            return notice("利用できるデータセットはまだありません。")
        lines = ["利用できるデータセット:", *(dataset_line(d, org.id) for d in rows)]
        if sample:
            lines.append(sample_line())
        if rows:
            shown = command_replies.typed(turn.conversation, "datasets 番号")
            lines.append(f"「{shown}」で、そのデータセットの文書を一覧表示します。")
        return notice("\n".join(lines))

    async def _documents(self, org: OrgInfo, raw: str, where: ConversationRef) -> Answer:
        """The documents of one dataset the organization may see, to name one in /summarize."""
        number = _dataset_number(raw)
        meant, rest = commands.parse(f"dataset {raw}")
        if number is None and meant is not None:  # 「/datasets delete 3」: one s too many
            named = command_replies.typed(where, f"{meant.name} {rest}".strip())
            return notice(f"データセットを削除する場合は「{named}」と送ってください。")
        if number is None:
            listed = command_replies.typed(where, "datasets")
            return notice(
                f"データセットの番号を数字で指定してください（{listed} で確認できます）。"
            )
        datasets = self.services.datasets
        dataset = await asyncio.to_thread(datasets.get, number, org.id)
        titles = await asyncio.to_thread(datasets.titles, dataset.id)
        lines = document_lines(dataset, titles, LISTED_DOCUMENTS)
        if note := refresh_note(dataset, org.id):  # above the documents, which may be many
            lines.insert(0, note)
        if titles:
            lines.append(f"「{command_replies.typed(where, 'summarize 文書名')}」で要約できます。")
        return notice("\n".join(lines))

    async def delete(self, turn: Turn, org: OrgInfo, args: str) -> Answer:
        # Split on any space: the Japanese input method types a full-width one (「12　下書き.pdf」).
        words = args.split(maxsplit=1)
        raw, doc_id = [*words, "", ""][:2]
        platform = turn.conversation.platform
        number = _dataset_number(raw)
        if number is None:
            listed = command_replies.typed(turn.conversation, "datasets")
            return notice(
                f"削除するデータセットの番号を指定してください（{listed} で確認できます）。"
            )
        target = unicodedata.normalize("NFKC", doc_id).strip()
        if not target:  # a whole dataset goes only when asked twice: 「/dataset delete ４」 typoed
            dataset = await self.services.uploads.owned(
                number, org.id, who=turn.actor, platform=platform, action="dataset.delete"
            )
            return notice(_delete_confirmation(dataset, turn.conversation))
        return notice(
            await delete_dataset_or_document(
                self.services.uploads,
                number,
                org.id,
                "" if target in DELETE_ALL else doc_id,
                who=turn.actor,
                platform=platform,
            )
        )

    async def quota(self, _turn: Turn, org: OrgInfo, _args: str) -> Answer:
        status = await asyncio.to_thread(self.services.quotas.status, org.id)
        return notice(describe(org.name, status))

    async def quota_set(self, turn: Turn, org: OrgInfo, args: str) -> Answer:
        # The number comes last: an organization's name may hold spaces (「相模原市 中央区」).
        *name, typed = args.split() or [""]
        amount = parse_tokens(typed)
        form = command_replies.typed(turn.conversation, "quota set 組織名 トークン数")
        if not name:
            return notice(f"「{form}」の形で指定してください。")
        if amount is None:
            raise tokens_refused(typed)
        try:
            target = await asyncio.to_thread(orgs.get_org, self.services.engine, " ".join(name))
        except NotFound:  # a typo, most likely: organizations are created on the server
            return notice(
                f"組織「{' '.join(name)}」が見つかりません。組織名を確認してください"
                f"（「{form}」の形で指定します）。"
            )
        tokens = amount
        event = AuditEvent.admin(
            org_id=target.id,
            platform=turn.conversation.platform,
            user_id=turn.user_id,
            action="quota.set",
            details={"tokens": tokens, "by_org": org.id},
        )
        await self.services.auditor.change(
            lambda conn: self.services.quotas.set_budget(target.id, tokens, within=conn),
            lambda _set: event,
        )
        status = await asyncio.to_thread(self.services.quotas.status, target.id)
        return notice(f"{changed_line(target.name, tokens)}\n{describe(target.name, status)}")

    async def usage(self, _turn: Turn, org: OrgInfo, _args: str) -> Answer:
        report = await asyncio.to_thread(self.services.usage.report, org.id, None)
        feedback = report.feedback
        lines = [
            f"{org.name}の利用状況（{report.period}）",
            f"  質問数: {report.questions} / 利用者数: {report.users}",
            f"  トークン: 入力 {report.input_tokens:,} / 出力 {report.output_tokens:,}"
            f"（概算 {report.cost_yen:,.0f} 円）",
            f"  資料が見つからなかった割合: {report.not_found_share:.0%}",
            f"  評価: 👍 {feedback.get('up', 0)} / 👎 {feedback.get('down', 0)}",
        ]
        for label, counts, names in (
            ("結果別", report.by_outcome, OUTCOME_NAMES),
            ("チャネル別", report.by_platform, PLATFORM_NAMES),
        ):
            if counts:
                ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                listed = "、".join(f"{names.get(k, k)} {v}件" for k, v in ranked)
                lines.append(f"  {label}: {listed}")
        return notice("\n".join(lines))


# How each turn ended, as staff call it (usage records keep the outcome's code).
OUTCOME_NAMES = {
    "answered": "回答",
    "not_found": "資料なし",
    "unclear": "質問の聞き返し",
    "filtered": "安全フィルターで差し控え",
    "quota": "利用上限",
    "error": "エラー",
    "command": "あいさつ・使い方など",
}


# Where questions came from, as staff call it (usage records keep the platform's code).
PLATFORM_NAMES = {
    "slack": "Slack",
    "teams": "Teams",
    "logo": "LoGoチャット",
    "api": "API",
    "invoke": "源内",
    "cli": "コマンドライン",
}


def install(router_handlers: dict[str, Handler], services: Services) -> None:
    """Register the data commands' handlers with a ``ChatRouter``."""
    router_handlers.update(DataCommands(services).handlers())
