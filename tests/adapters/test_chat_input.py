"""What staff type and send as it comes: full-width commands, typos, files the bot cannot read
(LoGo Chat end to end, as the platforms share the router)."""

from __future__ import annotations

from typing import Any

from chat_harness import SAMPLE_QUESTION
from fakes.logo import FakeLogo
from test_logo import deliver, logo_chat


async def exchange(make_chat: Any, fake: FakeLogo, *sent: tuple[str, list[Any]]) -> list[str]:
    """Send each (text, files) as a mention in a linked talk; the replies' texts, in order."""
    chat = await logo_chat(make_chat, fake)
    chat.link("横浜市", "logo", fake.org_id)
    for text, files in sent:
        await deliver(chat, fake, fake.event(text, files=files))
        await chat.drain()
    return [reply.text for reply in fake.replies]


async def test_commands_typed_with_the_japanese_input_method_on(make_chat, logo_fake) -> None:
    typed = ("／ｈｅｌｐ", "／ｓｕｍｍａｒｉｚｅ　地方自治法第242条", "／ｈｌｅｐ")
    help_, summary, typo = await exchange(make_chat, logo_fake, *((t, []) for t in typed))
    assert "コマンド一覧" in help_
    assert "「地方自治法 第二百四十二条」の要約です" in summary
    assert "（もしかして: /help）" in typo


async def test_a_command_name_cut_short_suggests_the_whole_names(make_chat, logo_fake) -> None:
    [reply] = await exchange(make_chat, logo_fake, ("/dataset", []))
    # Not 「「dataset」というコマンドはありません（もしかして: /dataset）」.
    assert "（もしかして: /datasets、/dataset delete）" in reply
