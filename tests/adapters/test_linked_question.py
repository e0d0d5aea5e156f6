"""A question beside a link is answered from the linked document, cited with its address
(LoGo Chat end to end, the document served over HTTP on loopback); a link that gives nothing
to read leaves the question to the index, as if it had no link."""

from __future__ import annotations

from aiohttp import web
from chat_harness import SAMPLE_QUESTION
from support import serving
from test_logo import deliver
from test_pasted_summary import linked, said

GUIDE = """<html><head><title>窓口案内</title></head><body>
<h1>窓口案内</h1>
<p>市民課の窓口受付時間は、平日の午前8時30分から午後5時15分までです。</p>
<p>毎月第2土曜日は、午前9時から正午まで休日窓口を開設します。</p>
</body></html>"""
# A page built by script in the browser (as e-Gov's law pages are): no text to read here.
SCRIPTED = '<html><body><div id="root"></div><script src="/app.js"></script></body></html>'


async def html(text: str) -> web.Response:
    return web.Response(text=text, content_type="text/html")


async def test_a_question_beside_a_link_is_answered_from_the_linked_document(
    make_chat, logo_fake
) -> None:
    routes = {"/madoguchi": lambda _r: html(GUIDE), "/horei": lambda _r: html(SCRIPTED)}
    async with serving(routes) as server:
        chat = await linked(make_chat, logo_fake, fetch_allowed_networks="127.0.0.0/8")
        guide, scripted = (str(server.make_url(p)) for p in ("/madoguchi", "/horei"))

        answer = await said(chat, logo_fake, f"{guide} の休日窓口は何時からですか？")
        nothing_to_read = await said(chat, logo_fake, f"{scripted}\n{SAMPLE_QUESTION}")
        two_links = await said(chat, logo_fake, f"{guide} と {scripted} で{SAMPLE_QUESTION}")
        summary = await said(chat, logo_fake, f"このページを要約してください {guide}")

    assert "午前9時から正午まで" in answer
    assert f"[1] 窓口案内（リンク先の文書）\n    {guide}" in answer  # cited with its address
    assert "住民基本台帳法" not in answer
    for reply in (nothing_to_read, two_links):  # from the index, as without a link
        assert "住民基本台帳法" in reply
    assert summary.startswith("「窓口案内」の要約です") and "休日窓口" in summary
    assert chat.turn_outcomes() == ["answered"] * 4


async def test_the_linked_document_an_answer_cited_is_read_again_to_be_summarized(
    make_chat, logo_fake
) -> None:
    fetched: list[str] = []

    async def guide(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return await html(GUIDE)

    async def in_thread(text: str) -> str:
        await deliver(chat, logo_fake, logo_fake.event(text, thread_id="t-link"))
        await chat.drain()
        return logo_fake.replies[-1].text

    async with serving({"/madoguchi": guide}) as server:
        chat = await linked(make_chat, logo_fake, fetch_allowed_networks="127.0.0.0/8")
        address = str(server.make_url("/madoguchi"))
        answer = await in_thread(f"{address} の休日窓口は何時からですか？")
        summary = await in_thread("[1]を要約して")

    assert "午前9時から正午まで" in answer
    # The page was read for the answer only, and is read again from the address it cited.
    assert summary.startswith("「窓口案内」の要約です") and "休日窓口" in summary
    assert fetched == ["/madoguchi", "/madoguchi"]


async def test_a_link_to_an_internal_address_is_not_fetched(make_chat, logo_fake) -> None:
    fetched: list[str] = []

    async def internal(request: web.Request) -> web.Response:
        fetched.append(request.path)
        return await html(GUIDE)

    async with serving({"/madoguchi": internal}) as server:
        chat = await linked(make_chat, logo_fake)  # loopback not allowed, as by default
        reply = await said(chat, logo_fake, f"{server.make_url('/madoguchi')} {SAMPLE_QUESTION}")

    assert fetched == [] and "住民基本台帳法" in reply
