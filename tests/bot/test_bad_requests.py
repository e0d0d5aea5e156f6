"""Requests no client should send but some will: odd digits or thousands of them in a dataset
id, a multipart part in an unknown transfer encoding or named in bytes that are no text, NUL
characters, fields of the wrong JSON type, internal URLs, a body compressed wrongly or in
Shift_JIS undeclared. Each gets a 4xx JSON error saying what to change, on SQLite and
PostgreSQL alike; nothing is written. (JSON saved with a byte order mark is simply read.)"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from support import org_with_key

from bot.app import create_app

JSON_TYPE = {"Content-Type": "application/json"}
RULE = "テスト市粗大ごみ収集規則\n粗大ごみは毎月第二水曜日に収集する。".encode()


@pytest.fixture
async def api(
    aiohttp_client: Any, make_db_settings: Any, data_dir: Path, app_database_url: str
) -> tuple[TestClient, dict[str, str]]:
    """The app on the parametrized database and the headers of an organization admin's key."""
    client = await aiohttp_client(create_app(make_db_settings(host="0.0.0.0")))
    key = org_with_key(data_dir, "テスト市", app_database_url)
    return client, {"Authorization": f"Bearer {key}"}


async def error_of(response: Any, status: int) -> dict[str, str]:
    assert response.status == status, await response.text()
    error: dict[str, str] = (await response.json())["error"]
    return error


async def new_dataset(client: TestClient, auth: dict[str, str]) -> int:
    created = await client.post(
        "/api/v1/datasets", json={"name": "例規", "category": "条例・規則・例規"}, headers=auth
    )
    assert created.status == 201
    return int((await created.json())["id"])


def multipart(*parts: tuple[bytes, bytes]) -> bytes:
    """A multipart/form-data body (boundary ``B``) of ``(headers, content)`` parts, written
    byte for byte: clients send what aiohttp's own writer never would."""
    body = b"".join(
        b"--B\r\n" + headers + b"\r\n\r\n" + content + b"\r\n" for headers, content in parts
    )
    return body + b"--B--\r\n"


def file_part(filename: bytes, extra: bytes = b"") -> bytes:
    return b'Content-Disposition: form-data; name="file"; filename="' + filename + b'"' + extra


async def errors_of_every_dataset_route(
    client: TestClient, auth: dict[str, str], dataset_id: str
) -> list[dict[str, str]]:
    """The 404 error of each route under ``/api/v1/datasets/{dataset_id}``."""
    errors = []
    for method, path in (
        ("GET", ""),
        ("DELETE", ""),
        ("POST", "/attest"),
        ("POST", "/documents"),
        ("DELETE", "/documents/x"),
    ):
        response = await client.request(
            method, f"/api/v1/datasets/{dataset_id}{path}", json={"attested_by": "x"}, headers=auth
        )
        errors.append(await error_of(response, 404))
    return errors


async def test_a_dataset_id_of_other_digits_is_not_found(api) -> None:
    client, auth = api
    # 「²」 and 「٣」 are digits to str.isdigit, but no number to int().
    for dataset_id in ("%C2%B2", "%D9%A3"):
        for error in await errors_of_every_dataset_route(client, auth, dataset_id):
            assert error["code"] == "not_found", dataset_id


async def test_a_dataset_id_of_thousands_of_digits_is_not_found_and_not_repeated(api) -> None:
    client, auth = api
    dataset = await new_dataset(client, auth)
    # Past 4,300 digits int() refuses a number: that was a server error. Below, the whole
    # number came back in the message.
    for digits in ("9" * 5000, "9" * 4000):
        for error in await errors_of_every_dataset_route(client, auth, digits):
            assert error["code"] == "not_found" and len(error["message"]) < 300
            assert "データセット 999999999999… が見つかりません" in error["message"]
    # Leading zeros name the number they lead, as in 「/api/v1/datasets/007」.
    padded = await client.get(f"/api/v1/datasets/{'0' * 4999}{dataset}", headers=auth)
    assert padded.status == 200 and (await padded.json())["id"] == dataset  # nothing deleted


async def test_a_multipart_body_the_parser_cannot_read_is_refused(api) -> None:
    client, auth = api
    dataset = await new_dataset(client, auth)
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
    for part in (
        file_part(b"rule.txt", b"\r\nContent-Transfer-Encoding: bogus"),  # unknown encoding
        file_part(b"rule\x00.txt"),  # a raw NUL: no HTTP header may hold it
    ):
        response = await client.post(
            f"/api/v1/datasets/{dataset}/documents", data=multipart((part, RULE)), headers=headers
        )
        error = await error_of(response, 400)
        assert error["code"] == "bad_input" and "multipart/form-data" in error["message"]


async def test_a_file_name_that_is_no_text_is_refused_and_nothing_is_written(api) -> None:
    client, auth = api
    dataset = await new_dataset(client, auth)
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
    for name, shown in (
        (b"\x8f\x8b\x91\xe5\x82\xb2\x82\xdd.txt", "\\udc8f"),  # Shift_JIS bytes, not UTF-8
        (b"rule%00.txt", "rule\\x00.txt"),  # a NUL, percent-encoded (RFC 5987 style)
    ):
        body = multipart((file_part(b"good.txt"), RULE), (file_part(name), RULE))
        response = await client.post(
            f"/api/v1/datasets/{dataset}/documents", data=body, headers=headers
        )
        error = await error_of(response, 400)
        assert error["code"] == "bad_document", name
        assert "ファイル名に読み取れない文字" in error["message"] and shown in error["message"]
    listed = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth)).json()
    assert listed["document_list"] == []  # the good file of each upload was not taken either


# aiohttp warns of the name it cannot decode; the test is about what the client is told.
@pytest.mark.filterwarnings("ignore::aiohttp.multipart.BadContentDispositionParam")
async def test_a_file_whose_encoded_name_cannot_be_decoded_is_named_not_dropped(api) -> None:
    client, auth = api
    dataset = await new_dataset(client, auth)
    headers = {**auth, "Content-Type": "multipart/form-data; boundary=B"}
    # aiohttp gives no name for 「filename*=UTF-8''%ff」: the file was dropped and the upload
    # told 「アップロードするファイルがありません」.
    part = b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''%ff.txt"
    response = await client.post(
        f"/api/v1/datasets/{dataset}/documents", data=multipart((part, RULE)), headers=headers
    )
    error = await error_of(response, 400)
    assert "ファイル名を読み取れないファイルがあります" in error["message"], error


async def test_a_nul_anywhere_in_a_json_body_is_refused_as_unreadable(api) -> None:
    client, auth = api
    for path, raw in (
        ("/api/v1/summarize", '{"doc_id": "例規\\u0000"}'),
        ("/api/v1/ask", '{"question": "住民票\\u0000"}'),
        (
            "/api/v1/datasets",
            '{"name": "例規", "category": "条例・規則・例規", "license": "\\u0000"}',
        ),
    ):
        response = await client.post(path, data=raw, headers={**auth, **JSON_TYPE})
        error = await error_of(response, 400)
        assert error["code"] == "bad_input" and "読み取れない文字" in error["message"], path
    invoked = await client.post(
        "/invoke",
        data='{"inputs": {"question": "住民票\\u0000"}}',
        headers={"x-api-key": auth["Authorization"].split()[1], **JSON_TYPE},
    )
    assert invoked.status == 400 and "読み取れない文字" in (await invoked.json())["error"]


async def test_a_field_of_the_wrong_type_is_named_not_taken_as_absent(api) -> None:
    client, auth = api
    # A false, a 0 or an empty list was taken for "not given": the dataset was created
    # unshared, the question asked outside its thread, the other field summarized.
    for path, body, field in (
        (
            "/api/v1/datasets",
            {"name": "例規", "category": "計画", "attested_by": []},
            "attested_by",
        ),
        (
            "/api/v1/datasets",
            {"name": "例規", "category": "計画", "source_url": False},
            "source_url",
        ),
        ("/api/v1/ask", {"question": "住民票", "thread": 0}, "thread"),
        ("/api/v1/summarize", {"doc_id": [], "url": "https://example.jp/a.pdf"}, "doc_id"),
    ):
        error = await error_of(await client.post(path, json=body, headers=auth), 400)
        assert error["code"] == "bad_input" and f"{field} は文字列" in error["message"], body
    listed = await (await client.get("/api/v1/datasets", headers=auth)).json()
    assert "例規" not in [d["name"] for d in listed["datasets"]]
    invoked = await client.post(
        "/invoke",
        json={"inputs": {"question": False}},
        headers={"x-api-key": auth["Authorization"].split()[1]},
    )
    assert invoked.status == 400
    assert "inputs.question は文字列" in (await invoked.json())["error"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1/", "http://169.254.169.254/latest", "http://[::1]/"]
)
async def test_an_internal_url_is_refused_as_bad_input(api, url: str) -> None:
    client, auth = api
    for path, body in (
        ("/api/v1/datasets", {"name": "例規", "category": "計画", "source_url": url}),
        ("/api/v1/summarize", {"url": url}),
    ):
        error = await error_of(await client.post(path, json=body, headers=auth), 400)
        assert error["code"] == "bad_input" and "内部ネットワーク" in error["message"], path


async def test_an_invoke_file_given_without_its_group_is_named_not_dropped(api) -> None:
    client, auth = api
    # 源内 sends files in groups, {"key", "files": [...]}: a file put in the list directly was
    # dropped, and the caller was told to write a question it had not meant to ask.
    content = base64.b64encode("議事録\n\n本日の議題は予算案である。".encode()).decode()
    invoked = await client.post(
        "/invoke",
        json={"inputs": {"files": [{"filename": "議事録.txt", "content": content}]}},
        headers={"x-api-key": auth["Authorization"].split()[1]},
    )
    assert invoked.status == 400
    assert '{"key", "files": [...]}' in (await invoked.json())["error"]
    grouped = {"key": "file", "files": [{"filename": "議事録.txt", "content": content}]}
    summarized = await client.post(
        "/invoke",
        json={"inputs": {"files": [grouped]}},
        headers={"x-api-key": auth["Authorization"].split()[1]},
    )
    assert summarized.status == 200
    assert "予算案" in (await summarized.json())["outputs"]


async def test_a_period_that_ends_before_it_begins_is_named_not_searched(api) -> None:
    client, auth = api
    # Nothing is published after its end and before its start: the answer was that nothing
    # was found, as if the statutes held nothing on the question.
    reversed_period = {"published_from": "令和8年1月1日", "published_to": "2020-01-01"}
    response = await client.post(
        "/api/v1/ask", json={"question": "住民票の写し", "filters": reversed_period}, headers=auth
    )
    error = await error_of(response, 400)
    assert error["code"] == "bad_input"
    assert "published_from（2026-01-01）が published_to（2020-01-01）より後" in error["message"]
    same_day = {"published_from": "2020-01-01", "published_to": "令和2年1月1日"}
    response = await client.post(
        "/api/v1/ask", json={"question": "住民票の写し", "filters": same_day}, headers=auth
    )
    assert response.status == 200


async def test_a_body_compressed_wrongly_is_refused_as_unreadable(api) -> None:
    client, auth = api
    dataset = await new_dataset(client, auth)
    # 「Content-Encoding: gzip」 over bytes that are no gzip: aiohttp fails to read the body,
    # which was a server error.
    broken = {"Content-Encoding": "gzip", "Connection": "close"}
    for path, content_type in (
        ("/api/v1/ask", "application/json"),
        ("/api/v1/datasets", "application/json"),
        (f"/api/v1/datasets/{dataset}/documents", "multipart/form-data; boundary=B"),
    ):
        response = await client.post(
            path, data=b"no gzip", headers={**auth, **broken, "Content-Type": content_type}
        )
        error = await error_of(response, 400)
        assert error["code"] == "bad_input" and "圧縮" in error["message"], path
    invoked = await client.post(
        "/invoke",
        data=b"no gzip",
        headers={"x-api-key": auth["Authorization"].split()[1], **broken, **JSON_TYPE},
    )
    assert invoked.status == 400 and "圧縮" in (await invoked.json())["error"]
    listed = await (await client.get(f"/api/v1/datasets/{dataset}", headers=auth)).json()
    assert listed["document_list"] == []


async def test_json_as_windows_tools_save_it_is_read_or_named(api) -> None:
    client, auth = api
    headers = {**auth, **JSON_TYPE}
    question = '{"question": "住民票の写しの交付"}'
    # Notepad's 「UTF-8 (BOM 付き)」: the JSON was refused as unreadable (RFC 8259 lets a
    # reader ignore the mark).
    marked = await client.post(
        "/api/v1/ask", data=b"\xef\xbb\xbf" + question.encode(), headers=headers
    )
    assert marked.status == 200 and (await marked.json())["citations"]
    # Shift_JIS without a charset: what to change, not only that it is no JSON.
    undeclared = await client.post("/api/v1/ask", data=question.encode("cp932"), headers=headers)
    error = await error_of(undeclared, 400)
    assert error["code"] == "bad_input" and "UTF-8" in error["message"]
    assert "charset" in error["message"]
    declared = await client.post(
        "/api/v1/ask",
        data=question.encode("cp932"),
        headers={**auth, "Content-Type": "application/json; charset=Shift_JIS"},
    )
    assert declared.status == 200


async def test_a_question_of_nothing_visible_is_asked_for_not_answered(api) -> None:
    client, auth = api
    key = {"x-api-key": auth["Authorization"].split()[1]}
    # A zero-width space and a byte order mark (what a paste from a web page or PDF leaves)
    # were answered 「ほかにもご質問があれば、いつでもお尋ねください。」, as if thanked.
    unseen = "\u200b\ufeff\u2060 "
    error = await error_of(
        await client.post("/api/v1/ask", json={"question": unseen}, headers=auth), 400
    )
    assert error == {"code": "bad_input", "message": "質問を入力してください。"}
    invoked = await client.post("/invoke", json={"inputs": {"question": unseen}}, headers=key)
    assert invoked.status == 400
    assert (await invoked.json())["error"] == "質問を入力してください。"
    # With a file, nothing visible asks for its summary, as no question at all does.
    content = base64.b64encode("議事録\n\n本日の議題は予算案である。".encode()).decode()
    files = [{"key": "file", "files": [{"filename": "議事録.txt", "content": content}]}]
    summarized = await client.post(
        "/invoke", json={"inputs": {"question": unseen, "files": files}}, headers=key
    )
    assert summarized.status == 200
    assert "「議事録」の要約です" in (await summarized.json())["outputs"]
    # Around a question, such characters are dropped as chat drops them.
    asked = await client.post(
        "/api/v1/ask", json={"question": "\u200b住民票の写し\ufeff"}, headers=auth
    )
    assert asked.status == 200 and (await asked.json())["citations"]
