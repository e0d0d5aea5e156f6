"""Property: whatever JSON, bytes, multipart, query or dataset id in the URL a client sends
to the REST and 源内 routes, the answer is never a server error, and an error is the route's
JSON error shape (``{"error": {"code", "message"}}``; ``{"error": "…"}`` for ``/invoke``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import org_with_key

from bot.app import create_app

# One app serves every example of a test: state left by one (a dataset created, a file
# uploaded) is what a real server would have too.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FIELDS = (
    "question", "thread", "filters", "doc_id", "url", "file", "filename", "content", "inputs",
    "files", "key", "tags", "name", "category", "license", "source_url", "publisher",
    "refresh_hours", "attested_by", "categories", "datasets", "laws", "published_from",
    "published_to",
)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["", "\x00", "\ud800", "法令", "令和5年4月1日", "QQ==", "http://127.0.0.1/"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=10,
)
# Objects with the routes' own fields, so that examples get past the first check.
OBJECTS = st.dictionaries(st.sampled_from(FIELDS), VALUES, max_size=5)
BODIES = (
    OBJECTS.map(lambda o: json.dumps(o).encode())
    | st.builds(lambda o: json.dumps({"inputs": o}).encode(), OBJECTS)
    | VALUES.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=40)
)
JSON_ROUTES = (
    "/api/v1/ask",
    "/api/v1/summarize",
    "/invoke",
    "/api/v1/datasets",
    "/api/v1/datasets/1/attest",
)
QUERY_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@pytest.fixture
async def api(aiohttp_client: Any, make_settings: Any, data_dir: Path) -> tuple[TestClient, str]:
    """The app (public bind: keys required) and an organization admin's key; the key's
    organization owns dataset 1."""
    client = await aiohttp_client(create_app(make_settings(host="0.0.0.0")))
    key = org_with_key(data_dir, "テスト市")
    created = await client.post(
        "/api/v1/datasets",
        json={"name": "例規", "category": "条例・規則・例規"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert created.status == 201
    return client, key


async def check(response: Any, path: str) -> None:
    """Never a 5xx; an error is JSON of the route's error shape."""
    raw = await response.read()
    assert response.status < 500, (path, response.status, raw[:300])
    if response.status < 400:
        return
    assert response.content_type == "application/json", (path, raw[:300])
    error = json.loads(raw)["error"]
    if path == "/invoke":
        assert isinstance(error, str) and error
    else:
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


@FUZZ
@given(
    path=st.sampled_from(JSON_ROUTES),
    body=BODIES,
    content_type=st.sampled_from(["application/json", "application/json; charset=latin-1"]),
)
async def test_json_routes_answer_any_body_with_a_json_error(
    api, path: str, body: bytes, content_type: str
) -> None:
    client, key = api
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {key}", "x-api-key": key}
    await check(await client.post(path, data=body, headers=headers), path)


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(["period", "format", "limit"]) | QUERY_TEXT, QUERY_TEXT, max_size=3
    ),
    path=st.sampled_from(["/api/v1/usage", "/api/v1/quota", "/api/v1/datasets"]),
)
async def test_get_routes_answer_any_query_with_a_json_error(
    api, path: str, query: dict[str, str]
) -> None:
    client, key = api
    response = await client.get(path, params=query, headers={"Authorization": f"Bearer {key}"})
    await check(response, path)


NAMES = st.binary(max_size=16).filter(lambda b: not any(c in b for c in b'"\r\n'))
PART_HEADERS = st.sampled_from(
    [b"", b"\r\nContent-Transfer-Encoding: base64", b"\r\nContent-Transfer-Encoding: x"]
)


@FUZZ
@given(parts=st.lists(st.tuples(NAMES, PART_HEADERS, st.binary(max_size=40)), max_size=4))
async def test_uploads_answer_any_multipart_with_a_json_error(
    api, parts: list[tuple[bytes, bytes, bytes]]
) -> None:
    client, key = api
    body = b"".join(
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
        + name
        + b'"'
        + extra
        + b"\r\n\r\n"
        + content
        + b"\r\n"
        for name, extra, content in parts
    )
    headers = {
        "Authorization": f"Bearer {key}",
        "Content-Type": "multipart/form-data; boundary=B",
    }
    path = "/api/v1/datasets/1/documents"
    await check(await client.post(path, data=body + b"--B--\r\n", headers=headers), path)


PATH_TEXT = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=12)
DATASET_IDS = (
    PATH_TEXT
    | st.integers(min_value=-(2**70), max_value=2**70).map(str)
    # Runs of digits past a bigint and past the 4,300 int() reads, with leading zeros or not.
    | st.tuples(
        st.integers(0, 5), st.sampled_from("019"), st.sampled_from([1, 10, 20, 4300, 6000])
    ).map(lambda t: "0" * t[0] + t[1] * t[2])
)


@FUZZ
@given(
    dataset_id=DATASET_IDS,
    doc_id=PATH_TEXT,
    route=st.sampled_from(
        [("GET", ""), ("POST", "/attest"), ("POST", "/documents"), ("DELETE", "/documents/")]
    ),
)
async def test_dataset_routes_answer_any_id_with_a_json_error(
    api, dataset_id: str, doc_id: str, route: tuple[str, str]
) -> None:
    client, key = api
    method, tail = route
    path = f"/api/v1/datasets/{quote(dataset_id, safe='')}{tail}"
    if tail.endswith("/"):
        path += quote(doc_id, safe="")
    response = await client.request(
        method, path, json={"attested_by": "法務課"}, headers={"Authorization": f"Bearer {key}"}
    )
    await check(response, path)
