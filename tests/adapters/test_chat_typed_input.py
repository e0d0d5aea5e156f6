"""Commands as staff type them, odd or not: every message gets one short polite Japanese reply
that says what to do, and a refused command changes nothing (LoGo Chat and Slack end to end;
the platforms share the router)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from chat_harness import SAMPLE_QUESTION, Chat
from fakes.logo import FakeLogo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import serving
from test_logo import deliver, logo_chat
from test_slack import FORM, send, send_event, slack_chat

from adapters.common import FAILURE_TEXT

ADMIN = "admin-1"


async def said(chat: Chat, fake: FakeLogo, text: str, *, user: str = ADMIN, **event: Any) -> str:
    """What the bot replied to ``text`` (a mention by ``user``, an admin and operator)."""
    before = len(fake.replies)
    await deliver(chat, fake, fake.event(text, user_id=user, **event))
    await chat.drain()
    [reply] = [r.text for r in fake.replies[before:]]
    return reply


def desk_guide(fake: FakeLogo, name: str = "案内.txt", file_id: str = "f-1") -> dict[str, Any]:
    """A short counter guide served as a chat attachment, to upload or summarize."""
    return fake.add_file(file_id, name, "窓口案内\n受付は午前9時からです。".encode())


async def operator_chat(make_chat: Any, fake: FakeLogo, **settings: Any) -> Chat:
    """LoGo linked to an operator organization whose admin is ``ADMIN``."""
    chat = await logo_chat(make_chat, fake, **settings)
    chat.link("横浜市", "logo", fake.org_id, admins=(ADMIN,), operator=True)
    return chat


async def test_the_slack_command_name_typed_elsewhere_is_the_command(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    # Staff who use Slack too type its slash command (and Slack's own /baibain help works).
    for typed in ("/baibain help", "／ｂａｉｂａｉｎ　ヘルプ"):
        assert "コマンド一覧" in await said(chat, logo_fake, typed)
    assert "横浜市のトークン上限と使用量" in await said(chat, logo_fake, "/baibain quota")


async def test_invisible_characters_pasted_into_a_message_are_not_read(
    make_chat, logo_fake
) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    # A zero-width space or a byte order mark comes with text copied from web pages and PDFs.
    assert "コマンド一覧" in await said(chat, logo_fake, "/\u200bhelp")
    assert "ご質問をメンションに続けて入力してください" in await said(chat, logo_fake, "\u200b")
    asked = await said(chat, logo_fake, f"\ufeff{SAMPLE_QUESTION}\u2060")
    assert "住民基本台帳法" in asked


async def test_a_number_that_is_no_plain_digits_is_refused_and_changes_nothing(
    make_chat, logo_fake
) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    listed = await said(chat, logo_fake, "/datasets ²")
    assert "データセットの番号を数字で指定してください" in listed
    deleted = await said(chat, logo_fake, "/dataset delete ³ すべて")
    assert "削除するデータセットの番号を指定してください" in deleted
    # 「²」 is no 2: the budget stays as it was, as it does for 「100万」.
    for amount in ("²", "¹²³", "100万", "1e6", "-5"):
        refused = await said(chat, logo_fake, f"/quota set 横浜市 {amount}")
        assert f"トークン数「{amount}」は使えません。0〜2,147,483,647 の整数で" in refused
    assert "上限: 1,000,000 トークン" in await said(chat, logo_fake, "/quota")
    set_ = await said(chat, logo_fake, "/quota set 横浜市 ２，０００，０００")
    assert "上限を 2,000,000 トークンに変更しました" in set_


async def test_an_upload_from_a_url_with_a_query_is_taken(make_chat, logo_fake) -> None:
    async def document(request: web.Request) -> web.Response:
        assert request.query["id"] == "3"
        return web.Response(text="窓口案内\n受付は午前9時からです。", content_type="text/plain")

    chat = await operator_chat(make_chat, logo_fake, fetch_allowed_networks="127.0.0.0/8")
    async with serving({"/reiki": document}) as server:
        url = str(server.make_url("/reiki?id=3"))
        uploaded = await said(chat, logo_fake, f"/upload {url} データセット=窓口 分類=計画")
    assert "「窓口」に 1 件の文書を登録しました" in uploaded


async def test_an_option_given_twice_is_refused_and_nothing_is_created(
    make_chat, logo_fake
) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    memo = desk_guide(logo_fake)
    refused = await said(
        chat, logo_fake, "/upload データセット=窓口 分類=計画 分類=会議録", files=[memo]
    )
    assert "「分類=」が2回指定されています" in refused
    assert "窓口" not in await said(chat, logo_fake, "/datasets")


async def test_words_upload_cannot_read_are_refused_and_nothing_is_created(
    make_chat, logo_fake
) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    memo = desk_guide(logo_fake)
    # A space in a value: the dataset would have been named 「窓口」, 「案内」 dropped unseen.
    refused = await said(chat, logo_fake, "/upload データセット=窓口 案内 分類=計画", files=[memo])
    assert refused.startswith(
        "「案内」を読み取れませんでした。指定は「分類=計画」のように = でつなぎ、"
        "値には空白を入れずに書いてください。使える指定は"
    )
    assert "窓口" not in await said(chat, logo_fake, "/datasets")
    no_category = await said(chat, logo_fake, "/upload データセット=窓口案内", files=[memo])
    assert "新しいデータセットには「分類=計画」のように分類を指定してください" in no_category
    uploaded = await said(chat, logo_fake, "/upload データセット=窓口案内 分類=計画", files=[memo])
    assert "「窓口案内」に 1 件の文書を登録しました" in uploaded


async def test_slack_replies_name_commands_as_slack_takes_them(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0USER",), operator=True)
    for n, text in enumerate(("hlep", "ask", "summarize", "quota set 1000")):
        await send(chat, slack_fake, slack_fake.slash_command(text, key=f"k{n}"), FORM)
        await chat.drain()
    typo, ask, summarize, quota = (c.block_text for c in slack_fake.of("response"))
    # Slack takes a message that starts with /help as its own command, not Baibain's.
    assert "（もしかして: /baibain help）" in typo and "/baibain help で" in typo
    assert "「/baibain ask」に続けて質問を入力してください" in ask
    assert "（例: /baibain summarize 地方自治法第242条）" in summarize
    assert "「/baibain quota set 組織名 トークン数」の形で" in quota


async def test_slack_refusals_and_the_welcome_name_commands_as_slack_takes_them(
    make_chat, slack_fake
) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await send(chat, slack_fake, slack_fake.slash_command("upload"), FORM)  # not an admin
    await chat.drain()
    [refused] = (c.block_text for c in slack_fake.of("response"))
    assert "「/baibain upload」は組織の管理者のみが実行できます" in refused
    shared = slack_fake.mention("/datasets", event_id="E1", user="U0ADMIN")
    shared["is_ext_shared_channel"] = True  # members of other organizations read along
    await send_event(chat, slack_fake, shared)
    await chat.drain()
    [listing] = (c.block_text for c in slack_fake.of("chat.update"))
    assert "「@バイバイン /datasets」は使えません" in listing  # read in the thread
    await send_event(chat, slack_fake, slack_fake.home_opened(event_id="E2"))
    await chat.drain()
    welcome = slack_fake.of("chat.postMessage")[-1].block_text  # after the listing's placeholder
    assert "「/baibain help」で表示します" in welcome
    for text in (refused, listing, welcome):
        assert not re.search("「/(?!baibain )", text), text  # Slack would take 「/upload」


# Pieces of what staff type: command names right, in katakana, full-width or mistyped; numbers
# of every kind; options with = inside, twice, unknown or in full-width brackets; quotes, emoji,
# invisible characters and line breaks of other systems.
NAMES = st.sampled_from(
    [
        "help", "ヘルプ", "ｈｅｌｐ", "hlep", "ask", "summarize", "要約", "upload", "datasets",
        "dataset delete", "dataset", "quota", "quota set", "usage", "baibain", "", "foo",
    ]
)  # fmt: skip
WORDS = st.sampled_from(
    [
        "１２３", "1,000,000", "100万", "1e6", "-5", "0x10", "9999999999999999999", "²", "0",
        "横浜市", "すべて", "分類=計画", "分類＝例規", "（分類＝計画）", "データセット=a=b",
        "共有=可", "共有=Yes", "公開=可", "=値", "「例規集」", '"引用"', "😀", "\u200b", "\ufeff",
        "地方自治法第242条", "ds1/下書き.txt", "https://127.0.0.1/資料 一覧.pdf?id=1",
    ]
)  # fmt: skip
SPACES = st.sampled_from([" ", "\u3000", "\r\n", "\t"])
LINES = st.builds(
    lambda slash, name, words, space: slash + space.join([name, *words]),
    st.sampled_from(["/", "／", "/baibain ", "\u200b/"]),
    NAMES,
    st.lists(WORDS | st.text(max_size=8), max_size=4),
    SPACES,
)


@pytest.fixture
async def typed_to(make_chat: Any, logo_fake: FakeLogo) -> tuple[Chat, FakeLogo]:
    """One app for every example, as a server keeps what earlier commands did."""
    return await operator_chat(make_chat, logo_fake), logo_fake


JAPANESE = re.compile("[ぁ-ゖァ-ヺ一-龯]")


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(line=LINES)
async def test_any_typed_command_gets_one_polite_japanese_reply(
    typed_to: tuple[Chat, FakeLogo], line: str
) -> None:
    reply = await said(*typed_to, line)
    assert reply != FAILURE_TEXT
    assert JAPANESE.search(reply), reply
    assert not re.search(r"Traceback|Error|Exception|\bNone\b", reply), reply
    assert "「baibain」というコマンドはありません" not in reply  # Slack's own, typed anywhere


async def test_a_message_that_is_only_a_url_gets_its_summary(make_chat, logo_fake) -> None:
    async def document(_request: web.Request) -> web.Response:
        text = "窓口案内\n\n市民課の窓口の受付は午前9時から午後5時までです。土日は休みです。"
        return web.Response(text=text, content_type="text/plain")

    chat = await operator_chat(make_chat, logo_fake, fetch_allowed_networks="127.0.0.0/8")
    async with serving({"/madoguchi.txt": document}) as server:
        url = str(server.make_url("/madoguchi.txt"))
        summary = await said(chat, logo_fake, url)
        also = await said(chat, logo_fake, f"{url} の概要")  # as 「… の概要」 already did
    # Not 「該当する資料が見つかりませんでした」 for an address searched as words.
    assert "の要約です" in summary and "受付は午前9時から" in summary
    assert summary == also


async def test_options_in_brackets_or_quotes_are_read_without_them(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    memo = desk_guide(logo_fake)
    typed = '/upload （データセット＝「窓口」） 分類=『計画』 共有="不可"'
    uploaded = await said(chat, logo_fake, typed, files=[memo])
    assert "「窓口」に 1 件の文書を登録しました" in uploaded  # not 「「窓口」」
    assert "[1] 窓口（計画・組織内のみ・1件）" in await said(chat, logo_fake, "/datasets")
