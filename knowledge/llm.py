"""Chat completions from any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, …).

``OpenAIChatClient`` implements the ``LLMClient`` protocol of ``knowledge.llm_protocol``, whose
messages, replies, stream events, usage and token estimates are importable from here too.

Every call is bounded and fails in one way only, :class:`UpstreamUnavailable`:

* **Retries.** The ``openai`` SDK retries 408/409/429/5xx responses, timeouts and connection
  errors ``max_retries`` times. It waits what the server asks for (``retry-after-ms``, or
  ``Retry-After`` in seconds or as an HTTP date, when between 0 and 120 s); otherwise it backs
  off exponentially from 0.5 s up to 8 s with up to 25 % jitter. A ``Retry-After`` above 120 s
  is not retried at all.
* **Deadline.** ``timeout_s`` bounds each HTTP attempt; ``deadline_s`` bounds the whole call,
  retries and waits included (``asyncio.timeout``), so a hanging or throttling endpoint can
  never hold a turn longer than that. For a stream the deadline covers the whole stream.
* **Circuit breaker.** After ``breaker_failures`` consecutive failed calls the client fails
  fast, with no HTTP request, for ``breaker_reset_s``; then one trial call is let through
  (half-open): success closes the breaker, failure opens it again.
* **Malformed output** (not JSON, no choices, empty content) is an upstream failure too; an
  empty reply a content filter withheld (Azure) fails the call but not the breaker.
* **Content filters.** A prompt Azure OpenAI's content filter rejects (400, code
  ``content_filter``) or a reply it withholds (no text, finish_reason ``content_filter``)
  raises :class:`ContentFiltered`, the subclass that lets callers say so truthfully. A reply
  that came with HTTP 200 is billed: the usage it reports is the error's ``billed``; a 400 is
  not billed. So is a stream that broke after some of the reply came: its ``billed`` is the
  prompt and the text that came, estimated. A call that timed out before any of its reply
  came is not (whether the server even read it is unknown).

Token usage comes from the response (``usage``; when streaming, the final usage chunk that
``stream_options={"include_usage": True}`` asks for). When a server omits it, usage is estimated
with :func:`estimate_tokens` and marked ``estimated``.

Nothing here logs prompts, answers or the API key: log lines carry the model, the outcome,
token counts, retries and latency only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import openai

from knowledge.breaker import CircuitBreaker
from knowledge.errors import ContentFiltered, UpstreamUnavailable
from knowledge.llm_protocol import (  # noqa: F401 - NO_USAGE, LLMClient: re-exported for callers
    NO_USAGE,
    Completion,
    LLMClient,
    LLMUsage,
    Message,
    StreamEnd,
    StreamEvent,
    TextDelta,
    estimate_message_tokens,
    estimate_tokens,
)

log = logging.getLogger(__name__)

# Placeholder key for self-hosted servers that need none (the SDK refuses an empty key).
_NO_KEY = "no-key"


@dataclass(frozen=True)
class LLMConfig:
    """How to reach one OpenAI-compatible chat endpoint.

    ``api_version`` set means Azure OpenAI: ``base_url`` is then the resource endpoint
    (``https://NAME.openai.azure.com``) and ``model`` the deployment name. ``timeout_s`` bounds
    one HTTP attempt, ``deadline_s`` the whole call including retries and their waits.
    """

    base_url: str
    api_key: str
    model: str
    api_version: str = ""
    timeout_s: float = 30.0
    max_retries: int = 2
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    deadline_s: float = 60.0

    def __repr__(self) -> str:  # keeps the key out of logs and tracebacks
        return (
            f"LLMConfig(base_url={self.base_url!r}, model={self.model!r}, "
            f"api_version={self.api_version!r}, api_key=<{'set' if self.api_key else 'unset'}>)"
        )


class MalformedResponse(Exception):
    """The server answered 2xx with something that is not a usable result; ``usage`` is what
    it reported that reply cost, if it did."""

    def __init__(self, message: str, usage: LLMUsage | None = None) -> None:
        super().__init__(message)
        self.usage = usage


class WithheldResponse(MalformedResponse):
    """A content filter withheld the whole reply (Azure OpenAI): the endpoint is healthy."""


def _no_content(finish_reason: str, usage: LLMUsage | None) -> MalformedResponse:
    kind = WithheldResponse if finish_reason == "content_filter" else MalformedResponse
    return kind(f"empty content (finish_reason={finish_reason})", usage)


def _filtered(err: BaseException) -> bool:
    """Whether a failed call is a content filter's refusal (Azure OpenAI documents a rejected
    prompt as 400 with ``{"error": {"code": "content_filter", …}}``)."""
    if isinstance(err, openai.APIStatusError):
        return err.status_code == 400 and err.code == "content_filter"
    return isinstance(err, WithheldResponse)


def classify_error(err: BaseException, service: str = "llm") -> tuple[str, bool]:
    """(detail for logs, whether it says the endpoint is unhealthy) for a failed call.

    ``service`` names the caller in the detail (``llm http 500``, ``embeddings http 500``).
    4xx answers other than 408/409/429 come from a reachable, healthy endpoint refusing this
    request (bad key, unknown model, context too long), so they do not feed the breaker; nor
    does a reply a content filter withheld.
    """
    if isinstance(err, TimeoutError):
        return f"{service} deadline exceeded", True
    if isinstance(err, openai.APITimeoutError):
        return f"{service} request timed out", True
    if isinstance(err, openai.APIConnectionError):
        return f"{service} connection failed", True
    if isinstance(err, openai.APIStatusError):
        status = err.status_code
        code = err.code if isinstance(err.code, str) else ""
        unhealthy = status >= 500 or status in (408, 409, 429)
        return f"{service} http {status}{' ' + code if code else ''}", unhealthy
    if isinstance(err, WithheldResponse):
        return f"{service} reply withheld by a content filter", False
    if isinstance(err, MalformedResponse):
        return f"malformed {service} response: {err}", True
    if isinstance(err, openai.APIResponseValidationError | ValueError):
        return f"malformed {service} response: {type(err).__name__}", True
    return f"{service} client error: {type(err).__name__}", True


def openai_sdk(config: LLMConfig) -> openai.AsyncOpenAI:
    """The SDK client for ``config``: ``AsyncAzureOpenAI`` when ``api_version`` is set.

    Raises ``ValueError`` when ``base_url`` or ``model`` is missing, or Azure has no key.
    """
    if not config.base_url or not config.model:
        raise ValueError("LLMConfig needs base_url and model")
    if config.api_version:
        if not config.api_key:
            raise ValueError("Azure OpenAI needs an API key")
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.base_url,
            api_version=config.api_version,
            api_key=config.api_key,
            timeout=config.timeout_s,
            max_retries=config.max_retries,
        )
    return openai.AsyncOpenAI(
        base_url=config.base_url,
        api_key=config.api_key or _NO_KEY,
        timeout=config.timeout_s,
        max_retries=config.max_retries,
    )


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class OpenAIService:
    """One endpoint of an OpenAI-compatible server: its SDK client and its circuit breaker.

    ``clock`` drives the circuit breaker only (inject a fake one in tests); ``service`` names
    the endpoint in log lines.
    """

    service = "llm"

    def __init__(self, config: LLMConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._sdk = openai_sdk(config)
        self.config = config
        self.breaker = CircuitBreaker(
            config.breaker_failures, config.breaker_reset_s, clock, service=self.service
        )

    @property
    def model(self) -> str:
        return self.config.model

    async def close(self) -> None:
        """Close the SDK's HTTP connection pool."""
        await self._sdk.close()


class OpenAIChatClient(OpenAIService):
    """:class:`LLMClient` on ``openai.AsyncOpenAI`` (or ``AsyncAzureOpenAI`` for Azure)."""

    def _request(
        self, messages: Sequence[Message], max_tokens: int, temperature: float, stream: bool
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.config.model,
            "messages": [dict(m) for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stream:
            request["stream"] = True
            request["stream_options"] = {"include_usage": True}
        return request

    @staticmethod
    def _reported(reported: object, model: str) -> LLMUsage | None:
        """The usage the server reported, if it did."""
        if isinstance(reported, Mapping):
            prompt = _int(reported.get("prompt_tokens"))
            completion = _int(reported.get("completion_tokens"))
            if prompt is not None and completion is not None:
                return LLMUsage(model=model, input_tokens=prompt, output_tokens=completion)
        return None

    def _usage(
        self, reported: object, model: str, messages: Sequence[Message], text: str
    ) -> LLMUsage:
        if (usage := self._reported(reported, model)) is not None:
            return usage
        return LLMUsage(
            model=model,
            input_tokens=estimate_message_tokens(messages),
            output_tokens=estimate_tokens(text),
            estimated=True,
        )

    def _failed(
        self, err: BaseException, started: float, stream: bool, written: LLMUsage | None = None
    ) -> UpstreamUnavailable:
        """The error a failed call raises; ``written`` is what a stream that broke midway had
        cost so far (billed when the server reported nothing else)."""
        detail, unhealthy = classify_error(err)
        if unhealthy:
            self.breaker.record_failure()
        else:
            self.breaker.record_success()  # the endpoint answered; it is up
        log.warning(
            "llm call failed model=%s stream=%s reason=%r latency_ms=%d breaker=%s",
            self.config.model,
            stream,
            detail,
            (time.perf_counter() - started) * 1000,
            self.breaker.state,
        )
        kind = ContentFiltered if _filtered(err) else UpstreamUnavailable
        # A reply the server sent with its usage is billed even when unusable (withheld, empty);
        # one without reported usage is not charged on an estimate.
        billed = err.usage if isinstance(err, MalformedResponse) else written
        return kind(detail=detail, billed=billed)

    def _succeeded(
        self, completion: Completion, started: float, retries: int, stream: bool
    ) -> None:
        self.breaker.record_success()
        usage = completion.usage
        log.info(
            "llm call ok model=%s stream=%s finish=%s in=%d out=%d estimated=%s retries=%d "
            "latency_ms=%d",
            usage.model,
            stream,
            completion.finish_reason,
            usage.input_tokens,
            usage.output_tokens,
            usage.estimated,
            retries,
            (time.perf_counter() - started) * 1000,
        )

    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
    ) -> Completion:
        """One chat completion; see the module docstring for retries, deadline and breaker."""
        trial = self.breaker.before_call()
        started = time.perf_counter()
        settled = False
        try:
            try:
                async with asyncio.timeout(self.config.deadline_s):
                    raw = await self._sdk.chat.completions.with_raw_response.create(
                        **self._request(messages, max_tokens, temperature, stream=False)
                    )
                    body = raw.content
                completion = self._parse_completion(body, messages)
            except (openai.OpenAIError, TimeoutError, ValueError, MalformedResponse) as err:
                settled = True
                raise self._failed(err, started, stream=False) from err
            settled = True
            self._succeeded(completion, started, raw.retries_taken, stream=False)
            return completion
        finally:
            if trial and not settled:
                self.breaker.release_trial()

    def _parse_completion(self, body: bytes, messages: Sequence[Message]) -> Completion:
        data = json.loads(body)  # ValueError on a non-JSON body
        if not isinstance(data, Mapping):
            raise MalformedResponse("not an object")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], Mapping):
            raise MalformedResponse("no choices")
        choice = choices[0]
        finish_reason = str(choice.get("finish_reason") or "unknown")
        message = choice.get("message")
        content = message.get("content") if isinstance(message, Mapping) else None
        model = data.get("model")
        model = model if isinstance(model, str) and model else self.config.model
        if not isinstance(content, str) or not content.strip():
            raise _no_content(finish_reason, self._reported(data.get("usage"), model))
        return Completion(
            text=content,
            usage=self._usage(data.get("usage"), model, messages, content),
            finish_reason=finish_reason,
        )

    async def stream(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
    ) -> AsyncIterator[StreamEvent]:
        """Stream a chat completion: :class:`TextDelta` events, then one :class:`StreamEnd`.

        The deadline is absolute (``asyncio.timeout_at``) and checked around every read from
        the server, so time the consumer spends between events counts too.
        """
        trial = self.breaker.before_call()
        started = time.perf_counter()
        deadline = asyncio.get_running_loop().time() + self.config.deadline_s
        settled = False
        sdk_stream: openai.AsyncStream[Any] | None = None
        try:
            parts: list[str] = []
            finish_reason = "unknown"
            reported: object = None
            model = self.config.model
            try:
                async with asyncio.timeout_at(deadline):
                    raw = await self._sdk.chat.completions.with_raw_response.create(
                        **self._request(messages, max_tokens, temperature, stream=True)
                    )
                    parsed = raw.parse()
                if not isinstance(parsed, openai.AsyncStream):
                    raise MalformedResponse("not an event stream")
                sdk_stream = cast("openai.AsyncStream[Any]", parsed)
                events = sdk_stream.__aiter__()
                while True:
                    try:
                        async with asyncio.timeout_at(deadline):
                            chunk = await anext(events)
                    except StopAsyncIteration:
                        break
                    chunk_model = getattr(chunk, "model", None)
                    if isinstance(chunk_model, str) and chunk_model:
                        model = chunk_model
                    usage = getattr(chunk, "usage", None)
                    if usage is not None:
                        reported = {
                            "prompt_tokens": getattr(usage, "prompt_tokens", None),
                            "completion_tokens": getattr(usage, "completion_tokens", None),
                        }
                    for choice in getattr(chunk, "choices", None) or ():
                        if getattr(choice, "index", 0) != 0:
                            continue
                        if getattr(choice, "finish_reason", None):
                            finish_reason = str(choice.finish_reason)
                        delta = getattr(getattr(choice, "delta", None), "content", None)
                        if isinstance(delta, str) and delta:
                            parts.append(delta)
                            yield TextDelta(delta)
                text = "".join(parts)
                if not text.strip():
                    raise _no_content(finish_reason, self._reported(reported, model))
            except (openai.OpenAIError, TimeoutError, ValueError, MalformedResponse) as err:
                settled = True
                # A stream that broke after some of the reply came (the deadline, a dropped
                # connection) was read and written by the server, which bills it: at least
                # the prompt and what came, estimated unless it reported its usage.
                written = self._usage(reported, model, messages, "".join(parts)) if parts else None
                raise self._failed(err, started, stream=True, written=written) from err
            completion = Completion(
                text=text,
                usage=self._usage(reported, model, messages, text),
                finish_reason=finish_reason,
            )
            settled = True
            self._succeeded(completion, started, raw.retries_taken, stream=True)
            yield StreamEnd(completion)
        finally:
            if sdk_stream is not None:
                await sdk_stream.close()
            if trial and not settled:
                self.breaker.release_trial()
