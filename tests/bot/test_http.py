"""HTTP routes through aiohttp's test client, with the real core and the sample dataset."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.engine import make_url
from support import org_with_key
from typer.testing import CliRunner

from admin.db import create_db_engine
from bot.app import READY_TIMEOUT_S, create_app
from bot.cli import app as cli
from bot.settings import Settings

SAMPLE_QUESTION = "引っ越したら何日以内に届け出ますか"
EGOV = Path(__file__).resolve().parent.parent / "fixtures" / "egov"
AiohttpClient = Callable[..., Any]


def api_key(settings: Settings, org: str = "テスト市") -> str:
    return org_with_key(settings.data_dir, org)


async def client_for(aiohttp_client: AiohttpClient, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))  # type: ignore[no-any-return]


def asker_in(client: TestClient) -> Callable[[str, str], Any]:
    """Asks a question on the web page's route in a thread and returns the reply's JSON."""

    async def ask(question: str, thread: str) -> dict[str, Any]:
        response = await client.post("/api/v1/ask", json={"question": question, "thread": thread})
        return await response.json()  # type: ignore[no-any-return]

    return ask


async def test_ask_with_api_key_cites_the_statute(aiohttp_client, make_settings) -> None:
    settings = make_settings(host="0.0.0.0")
    key = api_key(settings)
    client = await client_for(aiohttp_client, settings)
    response = await client.post(
        "/api/v1/ask",
        json={"question": SAMPLE_QUESTION},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status == 200
    body = await response.json()
    titles = [c["title"] for c in body["citations"]]
    assert "住民基本台帳法 第二十三条" in titles
    assert [c["n"] for c in body["citations"]] == list(range(1, len(titles) + 1))
    assert body["citations"][0]["url"].startswith("https://laws.e-gov.go.jp/law/")
    assert "[1]" in body["answer"]
    assert "確認" in body["footer"]
    assert body["usage"]["total_tokens"] == 0
    assert len(body["turn_id"]) == 32


async def test_a_cited_statute_version_says_what_its_dates_are(
    aiohttp_client, make_settings
) -> None:
    settings = make_settings(host="0.0.0.0")
    key = api_key(settings)
    law = EGOV / "330AC1000000186_20250606_505AC0000000044.xml"
    ingest = [
        "ingest",
        str(law),
        "--dataset",
        "国の法令",
        "--org",
        "テスト市",
        "--category",
        "法令",
    ]
    env = {"BAIBAIN_DATA_DIR": str(settings.data_dir)}
    assert (await asyncio.to_thread(CliRunner().invoke, cli, ingest, env=env)).exit_code == 0
    client = await client_for(aiohttp_client, settings)
    response = await client.post(
        "/api/v1/ask",
        json={"question": "原子力基本法の目的は"},
        headers={"Authorization": f"Bearer {key}"},
    )
    cited = (await response.json())["citations"][0]
    # Which date is which, as chat says it: the web page shows ``details`` after the title.
    assert cited["published"] == "1955-12-19" and cited["enforced"] == "2025-06-06"
    assert cited["details"] == "第一条・国の法令・テスト市・1955-12-19 公布・2025-06-06 施行"
    page = await (await client.get("/", headers={"Host": "127.0.0.1"})).text()
    assert "c.details" in page and "data.notice" in page


async def test_unrelated_question_says_nothing_was_found(aiohttp_client, make_settings) -> None:
    client = await client_for(aiohttp_client, make_settings())
    response = await client.post("/api/v1/ask", json={"question": "今日のランチのおすすめは"})
    body = await response.json()
    assert response.status == 200
    assert body["answer"].startswith("該当する資料が見つかりませんでした")
    assert body["citations"] == [] and body["footer"] == ""  # no sources to check


async def test_a_chat_command_typed_on_the_web_page_says_where_commands_work(
    aiohttp_client, make_settings
) -> None:
    client = await client_for(aiohttp_client, make_settings(host="127.0.0.1"))
    for typed, named in (
        ("/datasets", "/datasets"),
        ("／データセット", "/datasets"),
        ("/summarize 地方自治法第242条", "/summarize"),
        ("/baibain quota", "/quota"),
        ("データセット一覧", "/datasets"),
    ):
        response = await client.post("/api/v1/ask", json={"question": typed})
        body = await response.json()
        assert response.status == 200 and body["citations"] == []
        assert body["answer"] == (
            f"「{named}」などのコマンドは、Slack・Teams・LoGoチャットでバイバインに送ると使えます。"
            "ここでは、ご質問をそのまま入力してください（例: 引っ越したら何日以内に届け出ますか）。"
        )
    # Anything else after a slash is still searched: a path is no command.
    path = await client.post("/api/v1/ask", json={"question": "/etc/hosts とは"})
    assert "などのコマンドは" not in (await path.json())["answer"]


async def test_a_new_question_in_a_thread_is_not_mixed_with_the_earlier_one(
    aiohttp_client, make_settings
) -> None:
    ask = asker_in(await client_for(aiohttp_client, make_settings()))

    await ask("転入届は何日以内に出しますか", "t-1")
    # Offline, the words of 転入届 and 何日以内 would be searched with it and nothing found.
    other = await ask("生活保護の申請は誰ができますか", "t-1")
    assert other["outcome"] == "answered"
    assert "生活保護法 第七条" in [c["title"] for c in other["citations"]]
    # A question naming one thing still continues the earlier one: its deadline.
    await ask("出生届は何日以内に出さなければなりませんか", "t-2")
    death = await ask("死亡届は？", "t-2")
    assert "戸籍法 第八十六条" in [c["title"] for c in death["citations"]]
    # A question on something the earlier ones never spoke of is searched on its own when
    # their words would only find passages that never mention it.
    await ask("引っ越したら何日以内に届け出ますか", "t-3")
    await ask("転居のときも同じですか", "t-3")
    shelter = await ask("避難所はどこですか", "t-3")
    assert shelter["citations"][0]["title"].startswith("災害対策基本法"), shelter["citations"]
    # One that points back stays with them, though 期限 alone would find other laws' dues.
    await ask("引っ越したら何日以内に届け出ますか", "t-4")
    due = await ask("その期限は？", "t-4")
    assert due["citations"][0]["title"].startswith("住民基本台帳法"), due["citations"]


async def test_a_question_about_it_with_nothing_before_asks_what_it_is(
    aiohttp_client, make_settings
) -> None:
    ask = asker_in(await client_for(aiohttp_client, make_settings()))

    unclear = await ask("それって何日以内？", "t-1")
    assert unclear["outcome"] == "unclear" and unclear["citations"] == []
    assert unclear["answer"].startswith("「それ」が何を指しているのか分かりませんでした。")
    # The asker's reply in the thread completes the question.
    named = await ask("情報公開請求の開示決定のことです", "t-1")
    assert named["citations"][0]["title"] == "行政機関の保有する情報の公開に関する法律 第十条"
    assert "三十日以内" in named["answer"], named["answer"]
    # What the question names before the pronoun, or an earlier turn, says what it is.
    own = await ask("転入届を出したいのですが、それは何日以内ですか", "t-2")
    assert own["outcome"] == "answered"
    assert "住民基本台帳法 第二十二条" in [c["title"] for c in own["citations"]]
    await ask("出生届は何日以内に出さなければなりませんか", "t-3")
    later = await ask("それは誰が届け出ますか", "t-3")
    assert later["outcome"] == "answered" and later["citations"][0]["title"].startswith("戸籍法")
    # So does a demonstrative pointing with a noun; 「その他」 is a word of its own, and a
    # question with lines under it points at them.
    pointing = await ask("その期限は何日ですか？", "t-5")
    assert pointing["outcome"] == "unclear"
    assert pointing["answer"].startswith("「その期限」が何を指しているのか分かりませんでした。")
    other = await ask("その他に転入届で必要な届出はありますか", "t-6")
    assert other["outcome"] == "answered", other["answer"]
    quoted = await ask("「その届けはいつまで？」と聞かれました。転入届は何日以内ですか", "t-8")
    assert quoted["outcome"] == "answered", quoted["answer"]  # someone's words, quoted
    provision = "転入をした者は、転入をした日から十四日以内に"
    pasted = await ask(f"この条文の期限は何日以内ですか\n{provision}", "t-7")
    assert pasted["outcome"] == "answered", pasted["answer"]


async def test_the_web_page_summarizes_what_a_question_asks_to_summarize(
    aiohttp_client, make_settings
) -> None:
    ask = asker_in(await client_for(aiohttp_client, make_settings()))

    named = await ask("住民基本台帳法第22条を要約して", "t-1")
    assert named["answer"].startswith("「住民基本台帳法 第二十二条」の要約です"), named["answer"]
    await ask(SAMPLE_QUESTION, "t-2")
    cited = await ask("[1]を要約して", "t-2")
    assert "の要約です" in cited["answer"], cited["answer"]
    assert cited["citations"][0]["title"].startswith("住民基本台帳法"), cited["citations"]


async def raw_status(client: TestClient, version: str, path: str, body: dict[str, Any]) -> int:
    """The status of one POST sent as nginx's default proxy_pass sends it (``HTTP/1.0``,
    ``Host`` the upstream's address, ``Connection: close``), or in another ``version``."""
    payload = json.dumps(body).encode()
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        head = (
            f"POST {path} {version}\r\nHost: {client.host}:{client.port}\r\n"
            f"Connection: close\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        await writer.drain()
        return int((await reader.readline()).split()[1])
    finally:
        writer.close()


async def test_key_required_unless_bound_to_loopback(aiohttp_client, make_settings) -> None:
    public = await client_for(aiohttp_client, make_settings(host="0.0.0.0"))
    response = await public.post("/api/v1/ask", json={"question": SAMPLE_QUESTION})
    assert response.status == 401
    assert "APIキー" in (await response.json())["error"]["message"]
    page = await (await public.get("/")).text()
    assert "const REQUIRES_KEY = true;" in page


async def test_local_demo_needs_no_key_but_checks_the_host(aiohttp_client, make_settings) -> None:
    local = await client_for(aiohttp_client, make_settings(host="127.0.0.1"))
    page = await (await local.get("/")).text()
    assert "const REQUIRES_KEY = false;" in page and "自治体版バイバイン" in page
    ok = await local.post("/api/v1/ask", json={"question": SAMPLE_QUESTION})
    assert ok.status == 200
    # A page on another site that resolves its own name to 127.0.0.1 (DNS rebinding).
    rebound = await local.post(
        "/api/v1/ask", json={"question": SAMPLE_QUESTION}, headers={"Host": "evil.example:8080"}
    )
    assert rebound.status == 401
    # A reverse proxy on the same host (nginx sends Host: 127.0.0.1:8080 by default).
    proxied = await local.post(
        "/api/v1/ask",
        json={"question": SAMPLE_QUESTION},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert proxied.status == 401
    page = await (await local.get("/", headers={"X-Real-IP": "203.0.113.7"})).text()
    assert "const REQUIRES_KEY = true;" in page
    # nginx's default proxy_pass adds no such header but speaks HTTP/1.0 to its upstream.
    question = {"question": SAMPLE_QUESTION}
    assert await raw_status(local, "HTTP/1.0", "/api/v1/ask", question) == 401
    assert await raw_status(local, "HTTP/1.1", "/api/v1/ask", question) == 200
    # Credentials of another form are wrong, not absent, even locally.
    for header in ("Basic dXNlcjpwYXNz", "Bearer ", "bb_1_secret"):
        wrong = await local.post(
            "/api/v1/ask", json={"question": SAMPLE_QUESTION}, headers={"Authorization": header}
        )
        assert wrong.status == 401, header


async def test_wrong_and_revoked_keys_are_refused(aiohttp_client, make_settings) -> None:
    settings = make_settings(host="0.0.0.0")
    key = api_key(settings)
    client = await client_for(aiohttp_client, settings)
    for bad in (key + "x", "bb_nothing_here", "not-a-key"):
        response = await client.post(
            "/api/v1/ask", json={"question": "x"}, headers={"Authorization": f"Bearer {bad}"}
        )
        assert response.status == 401, bad
        assert (await response.json())["error"]["code"] == "unauthorized"
        # The scheme a client should use, as HTTP clients read it off a 401.
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="baibain"'
    missing = await client.get("/api/v1/quota")
    assert missing.status == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")


async def test_a_header_too_long_to_read_keeps_the_key_out_of_the_log(
    aiohttp_client, make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(host="0.0.0.0")
    key = api_key(settings)
    client = await client_for(aiohttp_client, settings)
    caplog.set_level(logging.DEBUG)
    # A client that pads its header past what the server reads (8 KB), key first.
    padded = {"Authorization": f"Bearer {key}{'A' * 9000}"}
    response = await client.post("/api/v1/ask", json={"question": "x"}, headers=padded)
    assert response.status == 400
    assert "unreadable request refused: LineTooLong" in caplog.text
    assert key not in caplog.text
    # A client's mistake, not the server's: nothing at ERROR for alerting to page anyone on.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_bad_bodies_get_json_errors(aiohttp_client, make_settings) -> None:
    client = await client_for(aiohttp_client, make_settings())
    cases = [
        ({"data": "not json", "headers": {"Content-Type": "application/json"}}, "JSON"),
        ({"json": ["a list"]}, "オブジェクト"),
        ({"json": {"question": 3}}, "question"),
        ({"json": {"question": "   "}}, "質問を入力"),
        ({"json": {"question": "あ" * 2001}}, "長すぎます"),
        (
            {"data": '{"question": "\\ud800"}', "headers": {"Content-Type": "application/json"}},
            "文字",
        ),
        ({"data": "{}", "headers": {"Content-Type": "application/json; charset=bogus"}}, "JSON"),
        ({"data": "[" * 100_000, "headers": {"Content-Type": "application/json"}}, "JSON"),
    ]
    for kwargs, fragment in cases:
        response = await client.post("/api/v1/ask", **kwargs)
        assert response.status == 400, kwargs
        assert fragment in (await response.json())["error"]["message"]
    # A body of another media type: 415, which says the client's Content-Type is what to fix.
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/json"):
        response = await client.post(
            "/api/v1/ask", data="question=x", headers={"Content-Type": content_type}
        )
        error = (await response.json())["error"]
        assert response.status == 415 and error["code"] == "unsupported_media_type", content_type
        assert "Content-Type: application/json" in error["message"]
    # A name far too long is refused without being repeated back whole.
    for path, body in (
        ("/api/v1/summarize", {"doc_id": "あ" * 100_000}),
        ("/api/v1/summarize", {"file": {"filename": "あ" * 100_000, "content": "QQ=="}}),
        ("/api/v1/ask", {"question": "住民票", "filters": {"published_from": "日" * 100_000}}),
        ("/api/v1/ask", {"question": "住民票", "filters": {"datasets": ["あ" * 100_000]}}),
    ):
        response = await client.post(path, json=body)
        assert response.status == 400 and len(await response.read()) < 2000, path
    # A lone surrogate in any field, not only the question, is refused as unreadable text.
    json_type = {"Content-Type": "application/json"}
    for path, raw in (
        ("/api/v1/ask", '{"question": "住民票", "thread": "t\\ud800"}'),
        ("/api/v1/ask", '{"question": "住民票", "filters": {"published_from": "x\\ud800"}}'),
        ("/api/v1/summarize", '{"doc_id": "文書\\ud800"}'),
        ("/api/v1/summarize", '{"file": {"filename": "a\\ud800.txt", "content": "QQ=="}}'),
    ):
        response = await client.post(path, data=raw, headers=json_type)
        assert response.status == 400, raw
        assert "読み取れない文字" in (await response.json())["error"]["message"]


async def test_unknown_route_and_method(aiohttp_client, make_settings) -> None:
    client = await client_for(aiohttp_client, make_settings())
    missing = await client.get("/no/such/page")
    assert missing.status == 404
    assert (await missing.json())["error"]["code"] == "not_found"
    wrong = await client.get("/api/v1/ask")
    assert wrong.status == 405 and wrong.headers["Allow"] == "POST"


async def test_health_and_readiness(aiohttp_client, make_settings) -> None:
    client = await client_for(aiohttp_client, make_settings())
    assert (await client.get("/healthz")).status == 200
    ready = await client.get("/readyz")
    assert ready.status == 200 and (await ready.json())["status"] == "ready"


async def test_readiness_reports_an_unreachable_database(aiohttp_client, make_settings) -> None:
    settings = make_settings()
    client = await client_for(aiohttp_client, settings)
    # The database goes away after start (a closed port stands for a stopped server).
    from bot.app_keys import SERVICES

    services = client.app[SERVICES]
    services.engine.dispose()
    services.engine = create_db_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    response = await client.get("/readyz")
    assert response.status == 503
    assert "データベース" in (await response.json())["error"]["message"]


async def test_readiness_answers_in_time_while_the_database_hangs(
    aiohttp_client, make_settings
) -> None:
    import socket
    import threading

    client = await client_for(aiohttp_client, make_settings())
    from bot.app_keys import SERVICES

    # A database host that takes the connection and never answers (a hung server, a firewall
    # holding packets); after a while it gives up, so a blocked process comes back.
    silent = socket.create_server(("127.0.0.1", 0))
    silent.settimeout(30)
    port = silent.getsockname()[1]
    held: list[socket.socket] = []
    asked = threading.Event()

    def hold() -> None:
        try:
            held.append(silent.accept()[0])
        except OSError:  # nobody came, or the server gave up
            return
        asked.set()

    def give_up() -> None:
        for conn in [*held, silent]:
            conn.close()

    threading.Thread(target=hold, daemon=True).start()
    gives_up = threading.Timer(30, give_up)
    gives_up.start()
    services = client.app[SERVICES]
    services.engine.dispose()
    services.engine = create_db_engine(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none")
    try:
        ready = asyncio.ensure_future(client.get("/readyz"))
        assert await asyncio.to_thread(asked.wait, 30)  # the readiness check is under way
        health = await client.get("/healthz")
        assert health.status == 200 and not ready.done()  # the process serves on
        response = await ready
        body = await response.json()
        assert response.status == 503 and body["error"]["code"] == "database_unavailable"
        # A load balancer's check gets its answer: the check stopped waiting, the database
        # never answered.
        assert f"{READY_TIMEOUT_S:g}秒以内に応答がありませんでした" in body["error"]["message"]
    finally:
        gives_up.cancel()
        give_up()


async def test_filters_narrow_the_search(aiohttp_client, make_settings) -> None:
    client = await aiohttp_client(create_app(make_settings()))
    question = "職員の懲戒処分について"
    by_title = await client.post(
        "/api/v1/ask", json={"question": question, "filters": {"laws": ["地方公務員法"]}}
    )
    titles = [c["title"] for c in (await by_title.json())["citations"]]
    assert titles and all(t.startswith("地方公務員法") for t in titles)
    nothing = await client.post(
        "/api/v1/ask", json={"question": question, "filters": {"categories": ["統計"]}}
    )
    assert (await nothing.json())["outcome"] == "not_found"
    undated = await client.post(
        "/api/v1/ask",
        json={"question": question, "filters": {"published_from": "令和元年5月1日"}},
    )
    assert (await undated.json())["outcome"] == "not_found"  # the sample carries no dates
    bad = await client.post(
        "/api/v1/ask", json={"question": question, "filters": {"published_to": "平成31年5月1日"}}
    )
    assert bad.status == 400 and "令和元年5月1日" in (await bad.json())["error"]["message"]
    # A filter mistyped is refused, naming what is wrong, not answered as found nowhere.
    for filters, said in (
        ({"category": ["統計"]}, "使えない項目があります（category）"),
        ({"categories": ["法律"]}, "分類「法律」はありません"),
        ({"datasets": ["存在しない"]}, "データセット「存在しない」は見つかりません"),
    ):
        mistyped = await client.post("/api/v1/ask", json={"question": question, "filters": filters})
        assert mistyped.status == 400 and said in (await mistyped.json())["error"]["message"]
    # A misspelled field beside them, too: 「filter」 would have searched everything.
    for body, said in (
        (
            {"question": question, "filter": {"categories": ["統計"]}},
            "使えない項目があります（filter）",
        ),
        ({"docid": "x"}, "使えない項目があります（docid）"),
    ):
        path = "/api/v1/ask" if "question" in body else "/api/v1/summarize"
        misspelled = await client.post(path, json=body)
        assert misspelled.status == 400 and said in (await misspelled.json())["error"]["message"]
    sample = {"datasets": ["サンプル法令データ"]}
    named = await client.post("/api/v1/ask", json={"question": question, "filters": sample})
    assert (await named.json())["outcome"] == "answered"


async def test_a_database_gone_after_start_is_a_503_not_a_crash(
    aiohttp_client, make_db_settings, app_database_url: str
) -> None:
    if not app_database_url.startswith("postgresql"):
        pytest.skip("needs a server that can refuse connections (PostgreSQL)")
    settings = make_db_settings(host="0.0.0.0", sample_data=False)
    key = org_with_key(settings.data_dir, "テスト市", app_database_url)
    client = await client_for(aiohttp_client, settings)
    auth = {"Authorization": f"Bearer {key}"}
    assert (await client.get("/api/v1/quota", headers=auth)).status == 200
    name = make_url(app_database_url).database
    admin = create_db_engine(
        make_url(app_database_url).set(database="postgres").render_as_string(hide_password=False)
    )
    try:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            )
        for method, path in (("GET", "/api/v1/quota"), ("GET", "/api/v1/datasets")):
            response = await client.request(method, path, headers=auth)
            body = await response.json()
            assert response.status == 503, (path, body)
            assert body["error"]["code"] == "database_unavailable"
            assert "データベースに接続できませんでした" in body["error"]["message"]
        assert (await client.get("/readyz")).status == 503
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.dispose()


async def test_a_wrong_or_revoked_key_is_recorded_on_every_route(
    aiohttp_client, make_settings, run
) -> None:
    settings = make_settings(host="0.0.0.0")
    key = api_key(settings)
    revoked = run("apikey", "revoke", key)
    assert revoked.exit_code == 0, revoked.output
    client = await client_for(aiohttp_client, settings)
    question = {"question": SAMPLE_QUESTION}
    api = await client.post(
        "/api/v1/ask", json=question, headers={"Authorization": f"Bearer {key}"}
    )
    invoked = await client.post("/invoke", json={"inputs": question}, headers={"x-api-key": key})
    assert (api.status, invoked.status) == (401, 401)
    engine = create_db_engine(f"sqlite:///{settings.data_dir / 'baibain.sqlite3'}")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT platform FROM audit_record WHERE kind = 'security' ORDER BY seq"
        ).all()
    engine.dispose()
    assert [platform for (platform,) in rows] == ["api", "invoke"]


async def raw_exchange(client: TestClient, request: bytes) -> tuple[int, Any]:
    """One request written byte for byte (the client library writes only valid UTF-8
    headers): the status and the JSON body of the answer."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        head, _, body = (await reader.read()).partition(b"\r\n\r\n")
    finally:
        writer.close()
    return int(head.split()[1]), json.loads(body)


async def test_a_key_with_bytes_that_are_no_text_is_a_wrong_key(
    aiohttp_client, make_settings
) -> None:
    settings = make_settings(host="0.0.0.0")
    key = api_key(settings).encode()
    client = await client_for(aiohttp_client, settings)
    # The key's id read, its secret hashed: bytes that are no UTF-8 (kept as surrogates) were
    # a server error while hashing.
    for path, header, body in (
        ("/api/v1/ask", b"Authorization: Bearer ", b'{"question": "x"}'),
        ("/invoke", b"x-api-key: ", b'{"inputs": {"question": "x"}}'),
    ):
        request = (
            f"POST {path} HTTP/1.1\r\nHost: example.jp\r\nConnection: close\r\n".encode()
            + header
            + key
            + b"\xff\xfe\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        status, answer = await raw_exchange(client, request)
        assert status == 401, answer
        assert "認証に失敗しました" in json.dumps(answer, ensure_ascii=False)


async def test_a_pasted_notice_is_summarized_up_to_a_limit_said_in_json(
    aiohttp_client, make_settings
) -> None:
    client = await client_for(aiohttp_client, make_settings())
    ask = asker_in(client)
    # Longer than any question may be (2,000 characters): a summary of it is no question.
    notice = "\n".join(
        f"第{n}地区の指定避難所では、備蓄品を年{n % 4 + 1}回点検し、結果を市に報告します。"
        for n in range(1, 120)
    )
    summary = await ask(f"以下の通知を要約してください\n{notice}", "t-1")
    assert summary["answer"].startswith("「貼り付けられた文章」の要約です"), summary["answer"]
    assert summary["citations"][0]["title"] == "貼り付けられた文章"

    too_long = await client.post(
        "/api/v1/ask", json={"question": f"以下の通知を要約してください\n{notice * 20}"}
    )
    assert too_long.status == 400
    message = (await too_long.json())["error"]["message"]
    assert message.startswith("貼り付けられた文章が長すぎます") and "30,000文字以内" in message
