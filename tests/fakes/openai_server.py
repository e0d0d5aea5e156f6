"""An in-process fake of an OpenAI-compatible API (OpenAI, Azure OpenAI, vLLM) for tests.

It listens on 127.0.0.1 on a random port and speaks the real wire format, so tests go through
the real ``openai`` client over HTTP:

* ``POST /v1/chat/completions`` — JSON, or server-sent events when ``"stream": true``
  (``chat.completion.chunk`` objects, the final usage chunk with empty ``choices`` when
  ``stream_options.include_usage`` is set, then ``data: [DONE]``);
* ``POST /v1/embeddings`` — deterministic unit vectors from a hash of each input, as floats or
  base64 little-endian float32 (what the SDK asks for by default);
* the same under Azure's ``/openai/deployments/{deployment}/…?api-version=…``.

Behaviour is scripted per test with :meth:`FakeOpenAIServer.script`: a queue of steps
(:class:`Reply`, :class:`Status`, :class:`Hang`, :class:`Raw`) consumed one per chat request.
When the queue is empty, :attr:`FakeOpenAIServer.default` computes the step from the request.
Embedding requests have their own queue, :meth:`FakeOpenAIServer.script_embeddings`
(:class:`Status`, :class:`Hang`, :class:`Raw`); when it is empty they get the computed vectors
(:meth:`FakeOpenAIServer.embedding`).
Every request is recorded (:class:`RecordedRequest`) with credentials redacted.

Token counts the fake reports are simple on purpose: one token per character of message
content (prompt) and of the reply (completion).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import math
import struct
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from aiohttp import web

from fakes import FakeServer

_SECRET_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})
_HANG_LIMIT_S = 60.0


@dataclass(frozen=True)
class Reply:
    """A successful chat completion.

    ``prompt_tokens``/``completion_tokens`` override the computed counts; ``usage=False``
    omits usage entirely (JSON and stream). In a stream the text is sent in deltas of
    ``chunk_chars`` characters; ``stall_after`` stops sending (without closing) after that many
    deltas, like a server that hangs midway. ``model`` is the model the reply names (OpenAI
    names the dated snapshot that answered, ``gpt-4o-mini-2024-07-18`` for ``gpt-4o-mini``);
    by default the one requested. With ``after``, the reply is sent once that has returned (a
    model that takes its time, until the test saw what it waits for).
    """

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    usage: bool = True
    chunk_chars: int = 4
    stall_after: int | None = None
    model: str | None = None
    after: Callable[[], Awaitable[object]] | None = None


@dataclass(frozen=True)
class Status:
    """An HTTP error in OpenAI's error format, with optional headers (``Retry-After``)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    message: str = "fake upstream error"


@dataclass(frozen=True)
class Hang:
    """Never answer; the handler waits until the client gives up or the server closes."""


@dataclass(frozen=True)
class Raw:
    """An arbitrary body (for malformed responses), sent after ``delay_s`` seconds."""

    body: str
    content_type: str = "application/json"
    status: int = 200
    delay_s: float = 0.0


Step = Reply | Status | Hang | Raw
EmbeddingStep = Status | Hang | Raw


def rate_limited(retry_after: str = "1") -> Status:
    """429 with ``Retry-After`` (seconds, or an HTTP date)."""
    return Status(429, {"Retry-After": retry_after}, "Rate limit reached")


def server_error(status: int = 500, **headers: str) -> Status:
    """A 5xx error."""
    return Status(status, headers, "The server had an error while processing your request")


def not_json() -> Raw:
    """A 200 whose JSON-typed body is not JSON (a broken proxy page)."""
    return Raw("<html><body>502 Bad Gateway</body></html>")


def empty_choices() -> Raw:
    """A completion object with no choices."""
    body = {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "m"}
    return Raw(json.dumps({**body, "choices": []}))


def empty_content(finish_reason: str = "stop") -> Raw:
    """A completion whose only choice has null content (``content_filter``: what Azure OpenAI
    sends when its content filter withholds the whole reply)."""
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": None},
        "finish_reason": finish_reason,
    }
    body = {"id": "chatcmpl-x", "object": "chat.completion", "created": 0, "model": "m"}
    return Raw(json.dumps({**body, "choices": [choice]}))


def reply_withheld() -> Reply:
    """A reply Azure OpenAI's content filter withheld: no text and finish_reason
    ``content_filter`` (as JSON, or as a stream whose last chunk carries it)."""
    return Reply("", finish_reason="content_filter")


def prompt_filtered() -> Raw:
    """The 400 Azure OpenAI answers when its content filter rejects the prompt, in the error
    shape its content filtering documentation shows (streamed requests get it too)."""
    verdicts = {
        category: {"filtered": False, "severity": "safe"}
        for category in ("hate", "sexual", "violence")
    }
    verdicts["self_harm"] = {"filtered": True, "severity": "medium"}
    error = {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's "
        "content management policy. Please modify your prompt and retry.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": verdicts,
        },
    }
    return Raw(json.dumps({"error": error}), status=400)


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake received. Credentials are redacted from ``headers``; use
    :meth:`has_credential` to check which key was sent."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float
    credential_sha256: str = ""

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    @property
    def streaming(self) -> bool:
        return isinstance(self.body, dict) and bool(self.body.get("stream"))

    def has_credential(self, key: str) -> bool:
        return self.credential_sha256 == hashlib.sha256(key.encode()).hexdigest()


def _credential(request: web.Request) -> str:
    value = request.headers.get("api-key") or request.headers.get("Authorization") or ""
    value = value.removeprefix("Bearer ").strip()
    return hashlib.sha256(value.encode()).hexdigest() if value else ""


def _count_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(len(m.get("content") or "") for m in messages if isinstance(m, dict))


def _vector(text: str, dimensions: int) -> list[float]:
    values: list[float] = []
    counter = 0
    while len(values) < dimensions:
        digest = hashlib.sha256(f"{counter}\x1f{text}".encode()).digest()
        values.extend((b - 127.5) / 127.5 for b in digest)
        counter += 1
    values = values[:dimensions]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _default_reply(request: RecordedRequest) -> Reply:
    return Reply("ご質問の件は資料のとおりです。[1]")


class FakeOpenAIServer(FakeServer):
    """The fake; see the module docstring. Start with :meth:`start`, stop with :meth:`close`."""

    def __init__(
        self,
        default: Callable[[RecordedRequest], Step | str] = _default_reply,
        embedding_dimensions: int = 16,
    ) -> None:
        self.default = default
        self.embedding_dimensions = embedding_dimensions
        self.requests: list[RecordedRequest] = []
        self._steps: deque[Step] = deque()
        self._embedding_steps: deque[EmbeddingStep] = deque()
        self._closing = asyncio.Event()
        super().__init__()
        app = self.app
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/openai/deployments/{deployment}/chat/completions", self._chat)
        app.router.add_post("/openai/deployments/{deployment}/embeddings", self._embeddings)

    # -- lifecycle ------------------------------------------------------------------------

    async def close(self) -> None:
        self._closing.set()  # release hanging handlers first so shutdown is quick
        await super().close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` (the OpenAI base URL)."""
        return f"{self.root_url}/v1"

    # -- scripting --------------------------------------------------------------------------

    def script(self, *steps: Step | str) -> None:
        """Queue how the next chat requests are answered (a ``str`` is a :class:`Reply`)."""
        self._steps.extend(Reply(s) if isinstance(s, str) else s for s in steps)

    def script_embeddings(self, *steps: EmbeddingStep) -> None:
        """Queue failures for the next embedding requests (then computed vectors again)."""
        self._embedding_steps.extend(steps)

    @property
    def pending(self) -> int:
        """Scripted steps not consumed yet."""
        return len(self._steps)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    def embedding(self, text: str, dimensions: int | None = None) -> list[float]:
        """The unit vector ``/embeddings`` answers for the input ``text``."""
        return _vector(
            json.dumps(text, ensure_ascii=False), dimensions or self.embedding_dimensions
        )

    # -- handlers ---------------------------------------------------------------------------

    async def _record(self, request: web.Request) -> RecordedRequest:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={
                k: ("<redacted>" if k.lower() in _SECRET_HEADERS else v)
                for k, v in request.headers.items()
            },
            body=body,
            at=time.monotonic(),
            credential_sha256=_credential(request),
        )
        self.requests.append(recorded)
        return recorded

    async def _hang(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), _HANG_LIMIT_S)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        body = recorded.body
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "messages is required", "invalid_request_error")
        model = request.match_info.get("deployment") or body.get("model")
        if not model:
            return _error(400, "model is required", "invalid_request_error")
        step: Step
        if self._steps:
            step = self._steps.popleft()
        else:
            produced = self.default(recorded)
            step = Reply(produced) if isinstance(produced, str) else produced
        if not isinstance(step, Reply):
            return await self._scripted(step)
        if step.after is not None:
            await asyncio.wait_for(step.after(), _HANG_LIMIT_S)
        model = step.model or model
        usage = {
            "prompt_tokens": (
                step.prompt_tokens
                if step.prompt_tokens is not None
                else _count_prompt_tokens(recorded.messages)
            ),
            "completion_tokens": (
                step.completion_tokens if step.completion_tokens is not None else len(step.text)
            ),
        }
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        if recorded.streaming:
            options = body.get("stream_options") or {}
            include_usage = bool(options.get("include_usage")) and step.usage
            return await self._stream(request, step, str(model), usage, include_usage)
        completion: dict[str, Any] = {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": None,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": step.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": step.finish_reason,
                }
            ],
        }
        if step.usage:
            completion["usage"] = usage
        return web.json_response(completion)

    async def _scripted(self, step: Status | Hang | Raw) -> web.Response:
        if isinstance(step, Hang):
            await self._hang()
            return _error(503, "fake server closing", "server_error")
        if isinstance(step, Status):
            kind = "rate_limit_error" if step.status == 429 else "server_error"
            return _error(step.status, step.message, kind, step.headers)
        await asyncio.sleep(step.delay_s)
        return web.Response(status=step.status, text=step.body, content_type=step.content_type)

    async def _stream(
        self,
        request: web.Request,
        step: Reply,
        model: str,
        usage: dict[str, int],
        include_usage: bool,
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        created = int(time.time())

        def chunk(choices: list[dict[str, Any]], chunk_usage: Any = None) -> bytes:
            data: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "system_fingerprint": None,
                "choices": choices,
            }
            if include_usage:
                data["usage"] = chunk_usage
            return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()

        def choice(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

        await response.write(chunk([choice({"role": "assistant", "content": ""})]))
        size = max(1, step.chunk_chars)
        pieces = [step.text[i : i + size] for i in range(0, len(step.text), size)]
        for sent, piece in enumerate(pieces):
            if step.stall_after is not None and sent >= step.stall_after:
                await self._hang()
                return response
            await response.write(chunk([choice({"content": piece})]))
        await response.write(chunk([choice({}, step.finish_reason)]))
        if include_usage:
            await response.write(chunk([], usage))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        body = recorded.body
        if not isinstance(body, dict) or "input" not in body:
            return _error(400, "input is required", "invalid_request_error")
        if self._embedding_steps:
            return await self._scripted(self._embedding_steps.popleft())
        inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
        dimensions = int(body.get("dimensions") or self.embedding_dimensions)
        data = []
        for index, item in enumerate(inputs):
            vector = _vector(json.dumps(item, ensure_ascii=False), dimensions)
            embedding: Any = vector
            if body.get("encoding_format") == "base64":
                packed = struct.pack(f"<{len(vector)}f", *vector)
                embedding = base64.b64encode(packed).decode()
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        tokens = sum(len(json.dumps(i, ensure_ascii=False)) for i in inputs)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": request.match_info.get("deployment") or body.get("model", ""),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )


def _error(
    status: int, message: str, kind: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    return web.json_response(body, status=status, headers=dict(headers or {}))


@pytest_asyncio.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAIServer]:
    """A started :class:`FakeOpenAIServer`; ``.url`` is its ``/v1`` base URL."""
    server = FakeOpenAIServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
