"""The ``LLMClient`` protocol: what every chat model promises, and the values it exchanges.

Callers (answers, summaries, metering) see only these: the chat messages they send, the
``Completion`` or stream events they get back and the tokens a call cost (``LLMUsage``). Budgets
are planned before a call with ``estimate_tokens``, which a client also falls back on when a
server does not report usage. The OpenAI-compatible implementation is ``knowledge.llm``, which
re-exports all of this.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

Message = Mapping[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": "…"}``."""

# Per-message framing the chat templates add (role markers, separators), and the reply primer.
_TOKENS_PER_MESSAGE = 4
_TOKENS_REPLY_PRIMER = 3
# ASCII text costs about one token per 4 characters in English prose; markup and digits are
# denser, so 3 keeps the estimate on the safe (high) side.
_ASCII_CHARS_PER_TOKEN = 3


def estimate_tokens(text: str) -> int:
    """Upper-bound estimate of the tokens ``text`` costs, without a tokenizer.

    Japanese costs about one token per 1 to 1.5 characters with current BPE vocabularies
    (cl100k, o200k, Llama 3, Qwen). We count **one token per non-ASCII character**, the high end
    of that range, and one per three ASCII characters, so that budgets computed from the
    estimate are not overrun. ``estimate_tokens(t) <= len(t)`` always holds.
    """
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return (len(text) - ascii_chars) + math.ceil(ascii_chars / _ASCII_CHARS_PER_TOKEN)


def estimate_message_tokens(messages: Sequence[Message]) -> int:
    """Estimated prompt tokens of a chat request: contents plus per-message framing."""
    return _TOKENS_REPLY_PRIMER + sum(
        _TOKENS_PER_MESSAGE + estimate_tokens(m.get("content", "")) for m in messages
    )


@dataclass(frozen=True)
class LLMUsage:
    """Tokens one or more model calls cost. ``estimated`` when the server did not report them."""

    model: str
    input_tokens: int
    output_tokens: int
    requests: int = 1
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def __add__(self, other: LLMUsage) -> LLMUsage:
        return LLMUsage(
            model=self.model or other.model,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            requests=self.requests + other.requests,
            estimated=self.estimated or other.estimated,
        )


NO_USAGE = LLMUsage(model="", input_tokens=0, output_tokens=0, requests=0)
"""Usage of work that made no model call (the neutral element of ``+``)."""


# Finish reasons of a reply the server stopped before the model finished it.
_CUT_SHORT = frozenset({"length", "content_filter"})


@dataclass(frozen=True)
class Completion:
    """A finished model reply. ``finish_reason`` is the server's (``stop``, ``length``, …)."""

    text: str
    usage: LLMUsage
    finish_reason: str

    @property
    def cut_short(self) -> bool:
        """Whether the server stopped the reply before the model finished it: the token limit
        (``length``) or a content filter (``content_filter``, Azure OpenAI)."""
        return self.finish_reason in _CUT_SHORT


@dataclass(frozen=True)
class TextDelta:
    """A piece of reply text, as it arrives."""

    text: str


@dataclass(frozen=True)
class StreamEnd:
    """The last event of a stream: the whole reply and its usage."""

    completion: Completion


StreamEvent = TextDelta | StreamEnd


class LLMClient(Protocol):
    """A chat model.

    Both methods either succeed or raise :class:`UpstreamUnavailable`, within the client's
    deadline; its subclass :class:`ContentFiltered` when the server's content filter refused
    the prompt or withheld the reply. ``stream`` yields :class:`TextDelta` events and then
    exactly one :class:`StreamEnd`; if it fails midway, deltas already yielded are not
    retracted, so the caller must discard them.
    """

    async def complete(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
    ) -> Completion:
        """The model's reply to ``messages``."""
        ...

    def stream(
        self, messages: Sequence[Message], *, max_tokens: int, temperature: float = 0.0
    ) -> AsyncIterator[StreamEvent]:
        """The model's reply to ``messages``, piece by piece."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...
