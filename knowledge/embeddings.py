"""Text embeddings from any OpenAI-compatible endpoint (OpenAI, Azure OpenAI, vLLM, …).

:meth:`Embedder.embed` turns texts into a ``float32`` array of shape ``(len(texts), dim)``,
row ``i`` for ``texts[i]``, each row L2-normalized (a zero vector stays zero), so a dot product
is the cosine similarity. ``embed([])`` is ``(0, 0)`` and makes no request. Every call is
bounded and fails in one way only, :class:`UpstreamUnavailable`:

* **Batches.** At most ``batch_size`` texts go in one request, one request after the other;
  rows are put back in input order by each item's ``index``.
* **Blank texts.** The API rejects an empty input, so a text that is empty or whitespace only
  is sent as a single space. Its row is a valid unit vector of the right dimension but carries
  no meaning; callers that care should not embed blank texts.
* **Retries, deadline, breaker** as for chat (:mod:`knowledge.llm`): the SDK retries
  408/409/429/5xx, timeouts and connection errors ``max_retries`` times per request;
  ``timeout_s`` bounds each HTTP attempt and ``deadline_s`` each batch, its retries and waits
  included (a question is one batch; an upload sends many, and on a CPU-only local server one
  batch of statute articles alone takes tens of seconds). After ``breaker_failures``
  consecutive failed calls the embedder fails fast, with no HTTP request, for
  ``breaker_reset_s``, then lets one trial call through. 4xx answers other than 408/409/429 do
  not feed the breaker. One call is one verdict, however many batches it sends; a failed batch
  fails the whole call (no partial result).
* **Malformed output** (not JSON, the wrong number of items, bad or repeated indexes, empty,
  non-numeric or non-finite vectors, rows of different dimensions) is an upstream failure too.

Nothing here logs texts or the API key: a log line carries the model, the number of texts and
requests, the dimension, retries, latency and, on failure, the reason and breaker state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
import openai

from knowledge.errors import UpstreamUnavailable
from knowledge.llm import LLMConfig, MalformedResponse, OpenAIService, classify_error

log = logging.getLogger(__name__)

_SERVICE = "embeddings"
# What a blank text is sent as (the API rejects the empty string).
_BLANK_STANDIN = " "


class Embedder(Protocol):
    """An embedding model.

    ``embed`` either succeeds or raises :class:`UpstreamUnavailable`, within the embedder's
    deadline.
    """

    @property
    def model(self) -> str:
        """The model (Azure: deployment) name, for logs and for telling indexes apart."""
        ...

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """``float32`` rows of unit length (or zero), shape ``(len(texts), dim)``."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _vector(value: object) -> np.ndarray:
    """One item's ``embedding`` as a float64 vector, or :class:`MalformedResponse`."""
    if not isinstance(value, list) or not value:
        raise MalformedResponse("embedding is not a non-empty list")
    vector = np.array(value)
    if vector.ndim != 1 or vector.dtype.kind not in "fi":
        raise MalformedResponse("embedding is not a list of numbers")
    vector = vector.astype(np.float64)
    if not np.isfinite(vector).all():
        raise MalformedResponse("embedding has non-finite values")
    return vector


def _parse_batch(body: bytes, count: int) -> np.ndarray:
    """The ``(count, dim)`` float64 rows of one response, in input order."""
    data = json.loads(body)  # ValueError on a non-JSON body
    if not isinstance(data, Mapping):
        raise MalformedResponse("not an object")
    items = data.get("data")
    if not isinstance(items, list):
        raise MalformedResponse("no data")
    if len(items) != count:
        raise MalformedResponse(f"{len(items)} items for {count} inputs")
    rows: list[np.ndarray | None] = [None] * count
    for item in items:
        index = item.get("index") if isinstance(item, Mapping) else None
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < count:
            raise MalformedResponse("item without a valid index")
        if rows[index] is not None:
            raise MalformedResponse(f"index {index} repeated")
        rows[index] = _vector(item.get("embedding"))
    vectors = [row for row in rows if row is not None]  # all set: count distinct indexes
    if len({row.shape[0] for row in vectors}) != 1:
        raise MalformedResponse("mixed dimensions")
    return np.stack(vectors)


def _normalized(rows: list[np.ndarray]) -> np.ndarray:
    """Stack batches into one float32 array of unit rows (zero rows stay zero)."""
    if len({batch.shape[1] for batch in rows}) != 1:
        raise MalformedResponse("mixed dimensions")
    matrix = np.concatenate(rows)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.where(norms > 0.0, norms, 1.0)).astype(np.float32)


class OpenAIEmbedder(OpenAIService):
    """:class:`Embedder` on ``openai.AsyncOpenAI`` (or ``AsyncAzureOpenAI`` for Azure).

    ``config.model`` is the embedding model (Azure: its deployment).
    """

    service = _SERVICE

    def __init__(
        self,
        config: LLMConfig,
        *,
        batch_size: int = 64,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        super().__init__(config, clock=clock)
        self.batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts``; see the module docstring for batches, retries, deadline, breaker."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        inputs = [text if text.strip() else _BLANK_STANDIN for text in texts]
        if not inputs:
            return np.zeros((0, 0), dtype=np.float32)
        started = time.perf_counter()
        try:
            trial = self.breaker.before_call()
        except UpstreamUnavailable as err:
            self._log_failure(err.detail, len(inputs), 0, started)
            raise
        settled = False
        requests = retries = 0
        try:
            try:
                batches: list[np.ndarray] = []
                for start in range(0, len(inputs), self.batch_size):
                    batch = inputs[start : start + self.batch_size]
                    requests += 1
                    async with asyncio.timeout(self.config.deadline_s):
                        raw = await self._sdk.embeddings.with_raw_response.create(
                            model=self.config.model, input=batch, encoding_format="float"
                        )
                    retries += raw.retries_taken
                    batches.append(_parse_batch(raw.content, len(batch)))
                vectors = _normalized(batches)
            except (openai.OpenAIError, TimeoutError, ValueError, MalformedResponse) as err:
                settled = True
                detail, unhealthy = classify_error(err, _SERVICE)
                if unhealthy:
                    self.breaker.record_failure()
                else:
                    self.breaker.record_success()  # the endpoint answered; it is up
                self._log_failure(detail, len(inputs), requests, started)
                raise UpstreamUnavailable(detail=detail) from err
            settled = True
            self.breaker.record_success()
            log.info(
                "embeddings call ok model=%s texts=%d requests=%d dim=%d retries=%d latency_ms=%d",
                self.config.model,
                len(inputs),
                requests,
                vectors.shape[1],
                retries,
                (time.perf_counter() - started) * 1000,
            )
            return vectors
        finally:
            if trial and not settled:
                self.breaker.release_trial()

    def _log_failure(self, detail: str, texts: int, requests: int, started: float) -> None:
        log.warning(
            "embeddings call failed model=%s texts=%d requests=%d reason=%r latency_ms=%d "
            "breaker=%s",
            self.config.model,
            texts,
            requests,
            detail,
            (time.perf_counter() - started) * 1000,
            self.breaker.state,
        )
