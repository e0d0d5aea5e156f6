"""The LLM client through the real ``openai`` SDK over HTTP against the in-process fake."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import openai
import pytest
import pytest_asyncio
from fakes.openai_server import (
    FakeOpenAIServer,
    Hang,
    Raw,
    Reply,
    Status,
    empty_choices,
    empty_content,
    not_json,
    prompt_filtered,
    rate_limited,
    reply_withheld,
    server_error,
)
from support import FakeClock

from knowledge.errors import ContentFiltered, UpstreamUnavailable
from knowledge.llm import (
    CircuitBreaker,
    Completion,
    LLMConfig,
    LLMUsage,
    OpenAIChatClient,
    StreamEnd,
    TextDelta,
    estimate_message_tokens,
    estimate_tokens,
)

KEY = "sk-test-3f9a1c"
PROMPT = [
    {"role": "system", "content": "あなたは丁寧なアシスタントです。"},
    {"role": "user", "content": "住民票の写しの交付手数料はいくらですか？"},
]
ClientFactory = Callable[..., OpenAIChatClient]


@pytest_asyncio.fixture
async def make_client(openai_fake: FakeOpenAIServer) -> AsyncIterator[ClientFactory]:
    """Build clients on the fake (keyword arguments override LLMConfig fields); closed after."""
    clients: list[OpenAIChatClient] = []

    def make(clock: Callable[[], float] = time.monotonic, **overrides: Any) -> OpenAIChatClient:
        fields: dict[str, Any] = {
            "base_url": openai_fake.url,
            "api_key": KEY,
            "model": "test-model",
            "timeout_s": 5.0,
            "max_retries": 2,
            "deadline_s": 10.0,
        }
        fields.update(overrides)
        client = OpenAIChatClient(LLMConfig(**fields), clock=clock)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def collect(client: OpenAIChatClient) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    final: Completion | None = None
    async for event in client.stream(PROMPT, max_tokens=100):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            assert isinstance(event, StreamEnd)
            final = event.completion
    assert final is not None
    return deltas, final


async def call(client: OpenAIChatClient, stream: bool) -> None:
    """One call of the prompt, streamed or not."""
    if stream:
        await collect(client)
    else:
        await client.complete(PROMPT, max_tokens=64)


async def test_completion_returns_text_and_reported_usage(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(Reply("300円です。", prompt_tokens=42, completion_tokens=6))
    completion = await make_client().complete(PROMPT, max_tokens=256, temperature=0.2)

    assert completion.text == "300円です。"
    assert completion.finish_reason == "stop"
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (42, 6)
    assert completion.usage.model == "test-model"
    assert not completion.usage.estimated
    [request] = openai_fake.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == PROMPT
    assert request.body["max_tokens"] == 256
    assert request.body["temperature"] == 0.2
    assert request.has_credential(KEY)
    assert KEY not in str(request.headers)


async def test_usage_is_estimated_when_the_server_omits_it(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(Reply("300円です。", usage=False))
    completion = await make_client().complete(PROMPT, max_tokens=64)

    assert completion.usage.estimated
    assert completion.usage.input_tokens == estimate_message_tokens(PROMPT)
    assert completion.usage.output_tokens == estimate_tokens("300円です。")


def test_token_estimate_counts_japanese_per_character() -> None:
    assert estimate_tokens("住民票") == 3
    assert estimate_tokens("abcdef") == 2
    assert estimate_tokens("令和6年") == 4  # the digit is ASCII: ceil(1/3)
    text = "第242条 住民監査請求は、当該行為のあった日から1年を経過したときは、できない。"
    assert estimate_tokens(text) <= len(text)


async def test_stream_yields_deltas_then_the_usage_chunk(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    text = "住民票の写しの交付手数料は1通300円です。[1]"
    openai_fake.script(Reply(text, chunk_chars=5, prompt_tokens=50, completion_tokens=20))
    deltas, completion = await collect(make_client())

    assert len(deltas) > 1
    assert "".join(deltas) == text == completion.text
    assert (completion.usage.input_tokens, completion.usage.output_tokens) == (50, 20)
    assert not completion.usage.estimated
    assert completion.finish_reason == "stop"
    [request] = openai_fake.requests
    assert request.body["stream"] is True
    assert request.body["stream_options"] == {"include_usage": True}


async def test_stream_without_a_usage_chunk_is_estimated(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(Reply("手数料は300円です。", usage=False))
    _, completion = await collect(make_client())

    assert completion.usage.estimated
    assert completion.usage.output_tokens == estimate_tokens("手数料は300円です。")


async def test_rate_limit_waits_for_retry_after_then_succeeds(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(rate_limited(retry_after="1"), "300円です。")
    completion = await make_client().complete(PROMPT, max_tokens=64)

    assert completion.text == "300円です。"
    first, second = openai_fake.requests
    waited = second.at - first.at
    assert 0.95 <= waited < 1.6  # the header's second, not the 0.5 s default backoff
    assert second.headers.get("x-stainless-retry-count") == "1"


async def test_retry_after_beyond_two_minutes_is_not_waited_for(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(rate_limited(retry_after="300"))
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_client().complete(PROMPT, max_tokens=64)

    assert raised.value.detail == "llm http 429"
    assert len(openai_fake.requests) == 1


async def test_server_error_is_retried_with_backoff(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(server_error(500), "300円です。")
    completion = await make_client().complete(PROMPT, max_tokens=64)

    assert completion.text == "300円です。"
    assert len(openai_fake.requests) == 2


async def test_persistent_server_errors_become_upstream_unavailable(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    fast = {"retry-after-ms": "10"}
    openai_fake.script(server_error(503, **fast), server_error(502, **fast), server_error(500))
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_client(max_retries=2).complete(PROMPT, max_tokens=64)

    assert raised.value.detail == "llm http 500"
    assert raised.value.user_message  # a Japanese message for the edge
    assert len(openai_fake.requests) == 3


async def test_hanging_endpoint_fails_within_the_deadline(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(Hang(), Hang(), Hang())
    client = make_client(timeout_s=30.0, deadline_s=0.5)
    with pytest.raises(UpstreamUnavailable) as raised:
        async with asyncio.timeout(20):  # far below the attempt's 30 s: the deadline ends it
            await client.complete(PROMPT, max_tokens=64)

    assert raised.value.detail == "llm deadline exceeded"


async def test_per_attempt_timeout_is_retried_then_reported(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(Hang(), Hang())
    client = make_client(timeout_s=0.2, max_retries=1, deadline_s=10.0)
    with pytest.raises(UpstreamUnavailable) as raised:
        await client.complete(PROMPT, max_tokens=64)

    assert raised.value.detail == "llm request timed out"
    assert len(openai_fake.requests) == 2


async def test_stream_that_stalls_midway_fails_within_the_deadline(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    openai_fake.script(Reply("住民票の写しの交付手数料は300円です。", stall_after=2))
    # The deadline leaves a loaded machine time for the two deltas that come.
    client = make_client(timeout_s=30.0, deadline_s=1.5)
    deltas: list[str] = []
    with pytest.raises(UpstreamUnavailable) as raised:
        async with asyncio.timeout(20):  # far below the attempt's 30 s: the deadline ends it
            async for event in client.stream(PROMPT, max_tokens=64):
                if isinstance(event, TextDelta):
                    deltas.append(event.text)

    assert len(deltas) == 2
    assert raised.value.detail == "llm deadline exceeded"
    # The server read the prompt and wrote what came: billed, so charged (estimated).
    assert raised.value.billed == LLMUsage(
        model="test-model",
        input_tokens=estimate_message_tokens(PROMPT),
        output_tokens=estimate_tokens("".join(deltas)),
        estimated=True,
    )


@pytest.mark.parametrize(
    "step",
    [not_json(), empty_choices(), empty_content(), Raw("[]"), Raw("plain", "text/plain")],
    ids=["not-json", "empty-choices", "empty-content", "json-array", "text-plain"],
)
async def test_malformed_responses_become_upstream_unavailable(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory, step: Raw
) -> None:
    openai_fake.script(step)
    with pytest.raises(UpstreamUnavailable) as raised:
        await make_client().complete(PROMPT, max_tokens=64)

    assert raised.value.detail.startswith("malformed llm response")
    assert "住民票" not in raised.value.detail  # never the prompt
    assert len(openai_fake.requests) == 1


async def test_breaker_opens_after_consecutive_failures_and_half_opens(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, max_retries=0, breaker_failures=3, breaker_reset_s=30.0)
    openai_fake.script(server_error(500), server_error(500), server_error(500))
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await client.complete(PROMPT, max_tokens=64)
    assert client.breaker.state == "open"

    with pytest.raises(UpstreamUnavailable) as raised:
        await client.complete(PROMPT, max_tokens=64)
    assert raised.value.detail == "llm circuit breaker open"
    assert len(openai_fake.requests) == 3  # failed fast: no HTTP request

    clock.advance(29.0)
    with pytest.raises(UpstreamUnavailable):
        await client.complete(PROMPT, max_tokens=64)
    assert len(openai_fake.requests) == 3

    clock.advance(1.0)
    assert client.breaker.state == "half_open"
    openai_fake.script("300円です。")
    assert (await client.complete(PROMPT, max_tokens=64)).text == "300円です。"
    assert client.breaker.state == "closed"
    assert len(openai_fake.requests) == 4


async def test_failed_trial_call_opens_the_breaker_again(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    clock = FakeClock()
    client = make_client(clock=clock, max_retries=0, breaker_failures=1, breaker_reset_s=10.0)
    openai_fake.script(server_error(500))
    with pytest.raises(UpstreamUnavailable):
        await client.complete(PROMPT, max_tokens=64)
    clock.advance(10.0)
    openai_fake.script(server_error(500))
    with pytest.raises(UpstreamUnavailable):
        await client.complete(PROMPT, max_tokens=64)  # the trial
    assert client.breaker.state == "open"
    assert len(openai_fake.requests) == 2

    clock.advance(9.0)
    with pytest.raises(UpstreamUnavailable):
        await client.stream(PROMPT, max_tokens=64).__anext__()
    assert len(openai_fake.requests) == 2


def test_half_open_breaker_admits_exactly_one_trial() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failures=2, reset_s=5.0, clock=clock)
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"
    clock.advance(5.0)
    assert breaker.before_call() is True
    with pytest.raises(UpstreamUnavailable):
        breaker.before_call()  # a second caller while the trial is in flight
    breaker.release_trial()  # the trial was cancelled: the next caller may try
    assert breaker.before_call() is True
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.before_call() is False


async def test_client_errors_do_not_trip_the_breaker(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    client = make_client(max_retries=0, breaker_failures=2)
    openai_fake.script(*[Status(400, message="context_length_exceeded")] * 3)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.complete(PROMPT, max_tokens=64)
        assert raised.value.detail == "llm http 400"
    assert client.breaker.state == "closed"
    assert len(openai_fake.requests) == 3


async def test_replies_withheld_by_a_content_filter_do_not_trip_the_breaker(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    # Azure OpenAI withholds replies on some topics (DV, self-harm) that staff ask about.
    client = make_client(max_retries=0, breaker_failures=2)
    openai_fake.script(*[empty_content("content_filter")] * 3)
    for _ in range(3):
        with pytest.raises(UpstreamUnavailable):
            await client.complete(PROMPT, max_tokens=64)
    assert client.breaker.state == "closed"
    assert len(openai_fake.requests) == 3


# Azure OpenAI rejects a prompt its content filter flags with 400 content_filter, and withholds
# a reply it flags (finish_reason content_filter), in a stream as in a JSON reply.
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("step", "filtered"),
    [
        (prompt_filtered(), True),
        (reply_withheld(), True),
        (Status(400, message="context_length_exceeded"), False),
        (Reply(""), False),
    ],
    ids=["prompt-filtered", "reply-withheld", "other-400", "empty-reply"],
)
async def test_content_filter_refusals_are_told_apart_from_other_failures(
    openai_fake: FakeOpenAIServer,
    make_client: ClientFactory,
    step: Any,
    filtered: bool,
    stream: bool,
) -> None:
    client = make_client(max_retries=2, breaker_failures=5)
    openai_fake.script(step)
    with pytest.raises(UpstreamUnavailable) as raised:
        await call(client, stream)
    assert isinstance(raised.value, ContentFiltered) is filtered
    assert len(openai_fake.requests) == 1  # a refusal is not retried


# A reply sent with HTTP 200 is billed even when withheld, and says what it cost; an error
# status is not billed, and a reply that reports no usage is not charged on a guess.
@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    ("step", "billed"),
    [
        (Reply("", finish_reason="content_filter", prompt_tokens=70, completion_tokens=3), 73),
        (Reply("", finish_reason="content_filter", usage=False), None),
        (prompt_filtered(), None),
    ],
    ids=["withheld", "withheld-no-usage", "prompt-filtered"],
)
async def test_a_withheld_reply_carries_what_the_server_billed(
    openai_fake: FakeOpenAIServer,
    make_client: ClientFactory,
    step: Any,
    billed: int | None,
    stream: bool,
) -> None:
    client = make_client(max_retries=0)
    openai_fake.script(step)
    with pytest.raises(ContentFiltered) as raised:
        await call(client, stream)
    usage = raised.value.billed
    assert (usage.total_tokens if usage else None) == billed
    assert usage is None or (usage.requests, usage.model) == (1, "test-model")


async def test_azure_uses_the_deployment_path_api_version_and_api_key(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory
) -> None:
    client = make_client(base_url=openai_fake.root_url, model="gpt4o-ja", api_version="2024-10-21")
    openai_fake.script("300円です。", Reply("300円です。"))
    completion = await client.complete(PROMPT, max_tokens=64)
    _, streamed = await collect(client)

    assert completion.text == streamed.text == "300円です。"
    assert completion.usage.model == "gpt4o-ja"
    for request in openai_fake.requests:
        assert request.path == "/openai/deployments/gpt4o-ja/chat/completions"
        assert request.query == {"api-version": "2024-10-21"}
        assert request.has_credential(KEY)
        assert "api-key" in {k.lower() for k in request.headers}
        assert "authorization" not in {k.lower() for k in request.headers}


async def test_nothing_sensitive_is_logged(
    openai_fake: FakeOpenAIServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    secret_answer = "極秘の回答文です。"
    openai_fake.script(server_error(500, **{"retry-after-ms": "1"}), secret_answer, not_json())
    caplog.set_level(logging.DEBUG)
    client = make_client()
    await client.complete(PROMPT, max_tokens=64)
    with pytest.raises(UpstreamUnavailable):
        await client.complete(PROMPT, max_tokens=64)

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "llm call ok" in logged and "llm call failed" in logged
    for secret in (KEY, secret_answer, PROMPT[1]["content"], PROMPT[0]["content"]):
        assert secret not in logged
    assert KEY not in repr(client.config)


async def test_fake_embeddings_are_deterministic_unit_vectors(
    openai_fake: FakeOpenAIServer,
) -> None:
    sdk = openai.AsyncOpenAI(base_url=openai_fake.url, api_key=KEY, max_retries=0)
    azure = openai.AsyncAzureOpenAI(
        azure_endpoint=openai_fake.root_url, api_key=KEY, api_version="2024-10-21"
    )
    try:
        first = await sdk.embeddings.create(model="emb", input=["住民票", "戸籍"])
        again = await sdk.embeddings.create(model="emb", input="住民票", encoding_format="float")
        deployed = await azure.embeddings.create(model="emb-deploy", input="住民票")
    finally:
        await sdk.close()
        await azure.close()

    vectors = [d.embedding for d in first.data]
    assert len(vectors) == 2 and all(len(v) == 16 for v in vectors)
    assert vectors[0] != vectors[1]
    assert again.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert deployed.data[0].embedding == pytest.approx(vectors[0], abs=1e-6)
    assert sum(x * x for x in vectors[0]) == pytest.approx(1.0, abs=1e-5)
    assert openai_fake.requests[-1].path == "/openai/deployments/emb-deploy/embeddings"
