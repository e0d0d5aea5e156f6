"""Index-time analysis of large batches, shared with a helper process.

Morphological analysis is most of the cost of ingesting text, and Sudachi holds the GIL, so
threads do not help. For a large batch one helper process analyzes part of the documents while
the calling thread analyzes the rest. The helper is ``python -m knowledge.term_workers``
(not ``multiprocessing``, which would re-run the caller's main script), started on first need
and fed pickled documents over its stdin. Small batches, single-core machines and custom
analyzers stay in-process; if the helper cannot start, fails or stalls, analysis falls back
to the calling thread.
"""

from __future__ import annotations

import logging
import os
import pickle
import select
import subprocess
import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from knowledge.analysis import Analyzer
from knowledge.documents import Document
from knowledge.terms import BatchTerms, batch_terms

log = logging.getLogger(__name__)

# Below this many chunks, sending the batch to the helper costs more than it saves.
MIN_SHARED_CHUNKS = 256
# A helper that answers nothing for this long is considered stuck.
HELPER_TIMEOUT_S = 600.0


def _send(stream: IO[bytes], value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(len(data).to_bytes(8, "little") + data)
    stream.flush()


def _read_exactly(fd: int, size: int, timeout: float | None) -> bytes:
    parts: list[bytes] = []
    while size:
        if timeout is not None and not select.select([fd], [], [], timeout)[0]:
            raise TimeoutError("analysis helper did not answer")
        part = os.read(fd, min(size, 1 << 20))
        if not part:
            raise EOFError("analysis helper closed its output")
        parts.append(part)
        size -= len(part)
    return b"".join(parts)


def _receive(fd: int, timeout: float | None = None) -> Any:
    size = int.from_bytes(_read_exactly(fd, 8, timeout), "little")
    return pickle.loads(_read_exactly(fd, size, timeout))


class TermAnalysis:
    """``batch_terms`` of many documents, in order, using a helper process when it pays."""

    def __init__(self, analyzer: Analyzer) -> None:
        self._analyzer = analyzer
        # The helper builds its own analyzer, which is only the same for the stock class.
        self._shared = (
            type(analyzer) is Analyzer and os.name == "posix" and (os.cpu_count() or 1) > 1
        )
        self._helper: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def analyze(self, documents: Sequence[Document]) -> list[BatchTerms]:
        """Terms of every chunk of ``documents``, as consecutive parts in document order."""
        sizes = [len(d.chunks) for d in documents]
        if not self._shared or sum(sizes) < MIN_SHARED_CHUNKS or len(documents) < 2:
            return [batch_terms(documents, self._analyzer)]
        split, done = 0, 0
        while split < len(documents) - 1 and 2 * (done + sizes[split]) <= sum(sizes):
            done += sizes[split]
            split += 1
        split = max(split, 1)
        with self._lock:
            helper = self._request(documents[:split])
            rest = batch_terms(documents[split:], self._analyzer)
            first = self._answer(helper) if helper else None
        if first is None:
            first = batch_terms(documents[:split], self._analyzer)
        return [first, rest]

    def _request(self, documents: Sequence[Document]) -> subprocess.Popen[bytes] | None:
        try:
            if self._helper is None or self._helper.poll() is not None:
                self._helper = subprocess.Popen(
                    [sys.executable, "-m", "knowledge.term_workers"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            assert self._helper.stdin is not None
            _send(self._helper.stdin, documents)
            return self._helper
        except (OSError, ValueError) as exc:
            self._give_up(exc)
            return None

    def _answer(self, helper: subprocess.Popen[bytes]) -> BatchTerms | None:
        assert helper.stdout is not None
        try:
            terms: BatchTerms = _receive(helper.stdout.fileno(), HELPER_TIMEOUT_S)
            return terms
        except (OSError, EOFError, TimeoutError, pickle.UnpicklingError) as exc:
            self._give_up(exc)
            return None

    def _give_up(self, exc: BaseException) -> None:
        log.warning("analysis helper unavailable, analyzing in-process: %s", exc)
        self._shared = False
        self._stop()

    def _stop(self) -> None:
        helper, self._helper = self._helper, None
        if helper is None:
            return
        for stream in (helper.stdin, helper.stdout):
            if stream is not None:
                stream.close()
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()

    def close(self) -> None:
        """Stop the helper process, if one was started."""
        with self._lock:
            self._stop()


def _serve() -> None:
    """The helper: analyze batches from stdin until it closes."""
    analyzer = Analyzer()
    output = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the answer stream
    while True:
        try:
            documents = _receive(sys.stdin.fileno())
        except EOFError:
            return
        _send(output, batch_terms(documents, analyzer))


if __name__ == "__main__":
    _serve()
