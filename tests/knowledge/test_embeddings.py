"""The embeddings client through the real ``openai`` SDK over HTTP against the in-process fake."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
import pytest
import pytest_asyncio
from fakes.openai_server import FakeOpenAIServer, Hang, Raw, Status, not_json, server_error
from support import FakeClock

from knowledge.embeddings import Embedder, OpenAIEmbedder
from knowledge.errors import UpstreamUnavailable
from knowledge.llm import LLMConfig

KEY = "sk-test-embed-77e1"
TEXTS = ["住民票の写しの交付手数料", "戸籍謄本の請求方法", "住民票の写しの交付手数料"]
EmbedderFactory = Callable[..., OpenAIEmbedder]


@pytest_asyncio.fixture
async def make_embedder(openai_fake: FakeOpenAIServer) -> AsyncIterator[EmbedderFactory]:
    """Build embedders on the fake (keyword arguments override LLMConfig fields); closed after."""
    embedders: list[OpenAIEmbedder] = []

    def make(
        clock: Callable[[], float] = time.monotonic, batch_size: int = 64, **overrides: Any
    ) -> OpenAIEmbedder:
        fields: dict[str, Any] = {
            "base_url": openai_fake.url,
            "api_key": KEY,
            "model": "test-embedding",
            "timeout_s": 5.0,
            "max_retries": 0,
            "deadline_s": 10.0,
        }
        fields.update(overrides)
        embedder = OpenAIEmbedder(LLMConfig(**fields), batch_size=batch_size, clock=clock)
        embedders.append(embedder)
        return embedder

    yield make
    for embedder in embedders:
        await embedder.close()


def sent_inputs(fake: FakeOpenAIServer) -> list[list[str]]:
    return [r.body["input"] for r in fake.embedding_requests]


def embeddings_body(*embeddings: Any, indexes: list[int] | None = None) -> Raw:
    """A 200 embeddings list with exactly these ``embedding`` values."""
    positions = indexes if indexes is not None else list(range(len(embeddings)))
    data = [
        {"object": "embedding", "index": i, "embedding": e}
        for i, e in zip(positions, embeddings, strict=True)
    ]
    return Raw(json.dumps({"object": "list", "data": data, "model": "test-embedding"}))


@pytest.mark.parametrize("route", ["openai", "azure"])
async def test_vectors_are_the_servers_in_input_order_and_unit_length(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory, route: str
) -> None:
    if route == "azure":
        embedder = make_embedder(
            base_url=openai_fake.root_url, model="emb-deploy", api_version="2024-10-21"
        )
    else:
        embedder = make_embedder()
    protocol: Embedder = embedder
    vectors = await protocol.embed(TEXTS)

    assert vectors.dtype == np.float32
    assert vectors.shape == (3, openai_fake.embedding_dimensions)
    for row, text in zip(vectors, TEXTS, strict=True):
        assert row.tolist() == pytest.approx(openai_fake.embedding(text), abs=1e-6)
    assert np.linalg.norm(vectors, axis=1) == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
    assert np.array_equal(vectors[0], vectors[2])
    assert not np.allclose(vectors[0], vectors[1])

    [request] = openai_fake.embedding_requests
    assert request.body["input"] == TEXTS
    assert request.body["encoding_format"] == "float"
    assert request.has_credential(KEY)
    if route == "azure":
        assert request.path == "/openai/deployments/emb-deploy/embeddings"
        assert request.query == {"api-version": "2024-10-21"}
    else:
        assert request.path == "/v1/embeddings"
        assert request.body["model"] == "test-embedding"


async def test_more_texts_than_a_batch_are_sent_in_several_requests(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    texts = [f"第{n}条の規定" for n in range(7)]
    vectors = await make_embedder(batch_size=3).embed(texts)

    assert sent_inputs(openai_fake) == [texts[0:3], texts[3:6], texts[6:7]]
    assert vectors.shape == (7, openai_fake.embedding_dimensions)
    for row, text in zip(vectors, texts, strict=True):
        assert row.tolist() == pytest.approx(openai_fake.embedding(text), abs=1e-6)


async def test_items_are_put_back_by_their_index(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    openai_fake.script_embeddings(embeddings_body([0.0, 2.0], [3.0, 4.0], indexes=[1, 0]))
    vectors = await make_embedder().embed(["a", "b"])

    assert vectors == pytest.approx(np.array([[0.6, 0.8], [0.0, 1.0]]))


async def test_a_zero_vector_stays_zero(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    openai_fake.script_embeddings(embeddings_body([0.0, 0.0], [1.0, 1.0]))
    vectors = await make_embedder().embed(["a", "b"])

    assert vectors[0].tolist() == [0.0, 0.0]
    assert float(np.linalg.norm(vectors[1])) == pytest.approx(1.0)


async def test_blank_texts_are_sent_as_one_space(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    vectors = await make_embedder().embed(["", "住民票", " \n\t"])

    assert sent_inputs(openai_fake) == [[" ", "住民票", " "]]
    assert vectors.shape == (3, openai_fake.embedding_dimensions)
    assert vectors[0].tolist() == pytest.approx(openai_fake.embedding(" "), abs=1e-6)
    assert np.array_equal(vectors[0], vectors[2])
    assert vectors[1].tolist() == pytest.approx(openai_fake.embedding("住民票"), abs=1e-6)


async def test_no_texts_make_no_request(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    vectors = await make_embedder().embed([])

    assert vectors.shape == (0, 0)
    assert vectors.dtype == np.float32
    assert openai_fake.requests == []


async def test_one_str_is_refused(make_embedder: EmbedderFactory) -> None:
    with pytest.raises(TypeError):
        await make_embedder().embed("住民票")


def test_batch_size_must_be_positive(openai_fake: FakeOpenAIServer) -> None:
    with pytest.raises(ValueError):
        OpenAIEmbedder(LLMConfig(base_url=openai_fake.url, api_key=KEY, model="m"), batch_size=0)


async def test_server_errors_are_retried_then_reported(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    fast = {"retry-after-ms": "1"}
    openai_fake.script_embeddings(server_error(503, **fast), server_error(500))
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_embedder(max_retries=1).embed(TEXTS)

    assert raised.value.detail == "embeddings http 500"
    assert raised.value.user_message  # a Japanese message for the edge
    assert len(openai_fake.embedding_requests) == 2


async def test_a_retried_error_that_recovers_succeeds(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    openai_fake.script_embeddings(server_error(500, **{"retry-after-ms": "1"}))
    vectors = await make_embedder(max_retries=1).embed(TEXTS)

    assert vectors.shape == (3, openai_fake.embedding_dimensions)
    assert len(openai_fake.embedding_requests) == 2


async def test_a_failed_batch_fails_the_whole_call(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    openai_fake.script_embeddings(embeddings_body([1.0, 0.0], [0.0, 1.0]), server_error(500))
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_embedder(batch_size=2).embed(["a", "b", "c"])

    assert raised.value.detail == "embeddings http 500"
    assert sent_inputs(openai_fake) == [["a", "b"], ["c"]]


async def test_hanging_endpoint_fails_with_the_deadline(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    openai_fake.script_embeddings(Hang())
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_embedder(timeout_s=30.0, deadline_s=0.3).embed(TEXTS)

    assert raised.value.detail == "embeddings deadline exceeded"


async def test_the_deadline_bounds_each_batch_not_the_whole_upload(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    # Together longer than the deadline; each well within it, even on a loaded machine.
    slow = [Raw(embeddings_body([1.0, 0.0]).body, delay_s=0.45) for _ in range(4)]
    openai_fake.script_embeddings(*slow)
    vectors = await make_embedder(batch_size=1, deadline_s=1.5).embed(["a", "b", "c", "d"])

    assert vectors.shape == (4, 2)
    assert sent_inputs(openai_fake) == [["a"], ["b"], ["c"], ["d"]]


async def test_breaker_opens_after_consecutive_failures_and_half_opens(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    embedder = make_embedder(clock=clock, breaker_failures=2, breaker_reset_s=30.0)
    openai_fake.script_embeddings(server_error(500), server_error(502))
    for _ in range(2):
        with pytest.raises(UpstreamUnavailable):
            await embedder.embed(TEXTS)

    with pytest.raises(UpstreamUnavailable) as raised:
        await embedder.embed(TEXTS)
    assert raised.value.detail == "embeddings circuit breaker open"
    assert len(openai_fake.embedding_requests) == 2  # failed fast: no HTTP request
    assert "embeddings circuit breaker opened after 2 failures" in caplog.text

    clock.advance(30.0)
    vectors = await embedder.embed(TEXTS)  # the trial call, answered normally
    assert vectors.shape == (3, openai_fake.embedding_dimensions)
    assert embedder.breaker.state == "closed"
    assert len(openai_fake.embedding_requests) == 3


async def test_client_errors_do_not_trip_the_breaker(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    embedder = make_embedder(breaker_failures=2)
    openai_fake.script_embeddings(*[Status(400, message="maximum context length")] * 3)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable) as raised:
            await embedder.embed(TEXTS)
        assert raised.value.detail == "embeddings http 400"
    assert embedder.breaker.state == "closed"
    assert len(openai_fake.embedding_requests) == 3


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (embeddings_body([1.0, 0.0]), "1 items for 2 inputs"),
        (embeddings_body([1.0, 0.0], [1.0, 0.0, 0.0]), "mixed dimensions"),
        (embeddings_body(["0.1", "0.2"], ["0.3", "0.4"]), "embedding is not a list of numbers"),
        (embeddings_body([1.0, None], [1.0, 0.0]), "embedding is not a list of numbers"),
        (embeddings_body([], []), "embedding is not a non-empty list"),
        (embeddings_body([1.0, 0.0], [0.0, 1.0], indexes=[0, 0]), "index 0 repeated"),
        (embeddings_body([1.0, 0.0], [0.0, 1.0], indexes=[0, 2]), "item without a valid index"),
        (
            Raw(
                '{"object": "list", "data": [{"index": 0, "embedding": [NaN, 1.0]}, '
                '{"index": 1, "embedding": [1.0, 0.0]}]}'
            ),
            "embedding has non-finite values",
        ),
        (Raw('{"object": "list"}'), "no data"),
        (Raw("[]"), "not an object"),
        (not_json(), "JSONDecodeError"),
    ],
    ids=[
        "too-few-items",
        "mixed-dimensions",
        "strings",
        "null",
        "empty-vectors",
        "repeated-index",
        "index-out-of-range",
        "nan",
        "no-data",
        "json-array",
        "not-json",
    ],
)
async def test_malformed_responses_become_upstream_unavailable(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory, step: Raw, reason: str
) -> None:
    openai_fake.script_embeddings(step)
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_embedder().embed(["住民票", "戸籍"])

    assert raised.value.detail == f"malformed embeddings response: {reason}"
    assert len(openai_fake.embedding_requests) == 1


async def test_batches_of_different_dimensions_are_malformed(
    openai_fake: FakeOpenAIServer, make_embedder: EmbedderFactory
) -> None:
    openai_fake.script_embeddings(embeddings_body([1.0, 0.0]), embeddings_body([1.0, 0.0, 0.0]))
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_embedder(batch_size=1).embed(["住民票", "戸籍"])

    assert raised.value.detail == "malformed embeddings response: mixed dimensions"


async def test_nothing_sensitive_is_logged(
    openai_fake: FakeOpenAIServer,
    make_embedder: EmbedderFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    embedder = make_embedder(batch_size=2)
    await embedder.embed(TEXTS)
    openai_fake.script_embeddings(not_json())
    with pytest.raises(UpstreamUnavailable):
        await embedder.embed(TEXTS)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "embeddings call ok model=test-embedding texts=3 requests=2 dim=16" in logged
    assert "embeddings call failed model=test-embedding" in logged
    for secret in (KEY, *TEXTS):
        assert secret not in logged
    assert KEY not in repr(embedder.config)
