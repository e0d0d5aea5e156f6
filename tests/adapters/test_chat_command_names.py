"""Command names as staff who never read a manual type them: in Japanese, with words a command
does not take, or a lone Japanese word after the slash (LoGo Chat and Slack end to end)."""

from __future__ import annotations

from chat_harness import SAMPLE_QUESTION
from test_chat_typed_input import desk_guide, operator_chat, said
from test_slack import FORM, send, slack_chat

from bot import commands


async def test_japanese_command_names_run_their_commands(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    for typed in ("/データセット", "／データセット一覧", "/baibain データセット"):
        assert "利用できるデータセット:" in await said(chat, logo_fake, typed), typed
    assert "横浜市の利用状況（" in await said(chat, logo_fake, "/利用状況")
    assert "横浜市のトークン上限と使用量" in await said(chat, logo_fake, "/上限")
    changed = await said(chat, logo_fake, "/上限設定 横浜市 2000000")
    assert "上限を 2,000,000 トークンに変更しました" in changed
    assert "取り込み先を「データセット=名前」で指定してください" in await said(
        chat, logo_fake, "/アップロード"
    )
    assert "削除するデータセットの番号を指定してください" in await said(
        chat, logo_fake, "/データセット 削除"
    )
    asked = await said(chat, logo_fake, f"/質問 {SAMPLE_QUESTION}")
    assert "住民基本台帳法" in asked and "出典:" in asked
    # Refused to a member as the English name is, named as the command it is.
    refused = await said(chat, logo_fake, "/利用状況", user="member-1")
    assert "「/usage」は組織の管理者のみが実行できます" in refused


async def test_a_lone_unknown_word_after_the_slash_is_no_question(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    reply = await said(chat, logo_fake, "/データ")
    assert "「データ」というコマンドはありません（もしかして: /データセット）" in reply
    assert "出典:" not in reply
    noun = await said(chat, logo_fake, "/副市長")
    assert "「副市長」というコマンドはありません" in noun
    assert "質問する場合は「/ask 副市長」のように送ってください" in noun
    # A sentence after the slash is still asked, as Slack's /baibain carries questions.
    assert "住民基本台帳法" in await said(chat, logo_fake, f"/{SAMPLE_QUESTION}")


async def test_quota_and_usage_with_extra_words_say_how_they_are_used(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    quota = await said(chat, logo_fake, "/quota 横浜市 先月")
    assert quota == (
        "「/quota」のあとには何も指定できません。「/quota」とだけ送ると、"
        "組織の今月のトークン上限と使用量を表示します。「/quota set <組織> <トークン数>」で"
        "組織の月間トークン上限を設定します（運用組織の管理者のみ）。"
    )
    usage = await said(chat, logo_fake, "/usage 先月の分")
    assert usage == (
        "「/usage」のあとには何も指定できません。「/usage」とだけ送ると、"
        "組織の利用状況を表示します。"
    )
    # Help shows everything whatever follows it.
    assert "コマンド一覧:" in await said(chat, logo_fake, "/help upload")


async def test_slack_takes_japanese_names_and_says_so_in_help(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    for text in ("データセット", "使い方", "副市長"):
        await send(chat, slack_fake, slack_fake.slash_command(text, user="U0ADMIN"), FORM)
        await chat.drain()
    datasets, help_, noun = (c.block_text for c in slack_fake.of("response"))
    assert "利用できるデータセット:" in datasets
    assert "コマンド名は「/baibain データセット」のように日本語でも送れます" in help_
    assert "「/baibain ask 副市長」のように送ってください" in noun


async def test_slack_names_the_only_sub_command_of_quota(make_chat, slack_fake) -> None:
    chat = await slack_chat(make_chat, slack_fake)
    chat.link("横浜市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await send(chat, slack_fake, slack_fake.slash_command("quota extra", user="U0ADMIN"), FORM)
    await chat.drain()
    [quota] = (c.block_text for c in slack_fake.of("response"))
    assert "「/baibain quota」のあとには何も指定できません" in quota
    assert "「/baibain quota set &lt;組織&gt; &lt;トークン数&gt;」で" in quota


def test_every_japanese_name_is_of_a_command_and_names_one_command() -> None:
    named = [n for names in commands.JAPANESE_NAMES.values() for n in names]
    assert len(named) == len(set(named))
    for name, japanese in commands.JAPANESE_NAMES.items():
        for typed in japanese:
            assert commands.parse(f"{typed} 1") == (commands.find(name), "1"), typed


async def test_a_missing_dataset_or_document_is_told_with_the_chat_command_alone(
    make_chat, logo_fake, slack_fake
) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    leaflet = desk_guide(logo_fake, "窓口案内.txt", "f1")
    await said(chat, logo_fake, "/upload データセット=窓口 分類=計画", files=[leaflet])
    missing = await said(chat, logo_fake, "/datasets 7")
    assert missing == "データセット 7 が見つかりません。番号は /datasets で確認できます。"
    no_document = await said(chat, logo_fake, "/dataset delete 1 申請書.pdf")
    assert no_document == (
        "データセット「窓口」に「申請書.pdf」という文書はありません。"
        "文書IDは /datasets 1 で確認できます。"
    )
    # On Slack, as Slack takes it: a bare 「/datasets」 would be Slack's own command.
    slack = await slack_chat(make_chat, slack_fake)
    slack.link("川崎市", "slack", slack_fake.team_id, admins=("U0ADMIN",))
    await send(
        slack, slack_fake, slack_fake.slash_command("dataset delete 7", user="U0ADMIN"), FORM
    )
    await slack.drain()
    [reply] = (c.block_text for c in slack_fake.of("response"))
    assert reply == "データセット 7 が見つかりません。番号は /baibain datasets で確認できます。"


async def test_a_message_that_is_only_a_command_name_runs_it(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    # Without the slash, 「データセット一覧」 was searched and answered with statutes on databases.
    for typed in ("データセット一覧", "datasets"):
        listed = await said(chat, logo_fake, typed, type="message")
        assert listed.startswith("利用できるデータセット:") and "出典:" not in listed, typed
    assert "横浜市の利用状況（" in await said(chat, logo_fake, "利用状況")
    refused = await said(chat, logo_fake, "利用状況", user="member-1")
    assert "「/usage」は組織の管理者のみが実行できます" in refused
    # Anything more is a question, as is 「質問」, which announces one.
    asked = await said(chat, logo_fake, "データセット 住民基本台帳法")
    assert not asked.startswith("利用できるデータセット")
    assert "利用できるデータセット" not in await said(chat, logo_fake, "質問")


async def test_delete_typed_as_staff_guess_it_is_pointed_to(make_chat, logo_fake) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    memo = desk_guide(logo_fake)
    await said(chat, logo_fake, "/upload データセット=窓口 分類=計画", files=[memo])
    plural = await said(chat, logo_fake, "/datasets delete 1")
    assert plural == "データセットを削除する場合は「/dataset delete 1」と送ってください。"
    asked_twice = await said(chat, logo_fake, "/削除 1")  # not searched for statutes on 削除
    assert (
        "データセット「窓口」（組織内のみ・文書 1 件）を、その文書とともに削除します" in asked_twice
    )
    assert "[1] 窓口" in await said(chat, logo_fake, "/datasets")


async def test_a_file_sent_with_the_upload_commands_name_alone_is_uploaded(
    make_chat, logo_fake
) -> None:
    chat = await operator_chat(make_chat, logo_fake)
    leaflet = desk_guide(logo_fake, "窓口案内.txt", "f1")
    # Without the slash, as 「データセット一覧」 runs its command: the file is not summarized.
    reply = await said(chat, logo_fake, "アップロード", files=[leaflet])
    assert "取り込み先を「データセット=名前」で指定してください" in reply, reply
    # A file with 「要約」 alone is still summarized, as the word says.
    assert "の要約です" in await said(chat, logo_fake, "要約", files=[leaflet])
