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
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any

from knowledge.analysis import Analyzer
from knowledge.documents import Document
from knowledge.terms import BatchTerms, batch_terms

log = logging.getLogger(__name__)

# Below this many chunks, sending the batch to the helper costs more than it saves.
MIN_SHARED_CHUNKS = 256
# A helper that answers nothing for this long is considered stuck.
HELPER_TIMEOUT_S = 600.0
# The helper's share of a batch started ahead, at first and at most (measured on the
# benchmark's sets: about 0.58, when writing takes a third of the time of analyzing half).
DEFAULT_AHEAD_SHARE = 0.58
MIN_HELPER_SHARE, MAX_HELPER_SHARE = 0.3, 0.8


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


@dataclass(frozen=True)
class Pending:
    """A batch whose analysis has begun: ``documents[:split]`` went to the helper."""

    documents: Sequence[Document]
    split: int


class TermAnalysis:
    """``batch_terms`` of many documents, in order, using a helper process when it pays.

    ``start`` sends the helper its part of a batch and returns at once; ``finish`` analyzes the
    rest in the calling thread and collects the helper's part. A caller with several batches
    starts the next one before it writes the current one (``ahead``), so the helper works
    while the caller writes; the helper then takes the larger part, as much as keeps both
    sides busy for the same time (see ``note_writing``).
    """

    def __init__(self, analyzer: Analyzer) -> None:
        self._analyzer = analyzer
        # The helper builds its own analyzer, which is only the same for the stock class.
        self._shared = (
            type(analyzer) is Analyzer and os.name == "posix" and (os.cpu_count() or 1) > 1
        )
        self._helper: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        # The batch the helper is working on, whose answer nobody has read yet.
        self._outstanding: Pending | None = None
        self._ahead_share = DEFAULT_AHEAD_SHARE
        # Of the last batch started ahead: seconds per chunk on our side and the helper's.
        self._rates: tuple[float, float] | None = None

    def analyze(self, documents: Sequence[Document]) -> list[BatchTerms]:
        """Terms of every chunk of ``documents``, as consecutive parts in document order."""
        return self.finish(self.start(documents))

    def start(self, documents: Sequence[Document], *, ahead: bool = False) -> Pending:
        """Send the helper its part of ``documents`` (half, or with ``ahead`` the share that
        balances the caller's writing); small batches are left to ``finish``."""
        sizes = [len(d.chunks) for d in documents]
        total = sum(sizes)
        if not self._shared or total < MIN_SHARED_CHUNKS or len(documents) < 2:
            return Pending(documents, 0)
        share = self._ahead_share if ahead else 0.5
        split, done = 0, 0
        while split < len(documents) - 1 and done + sizes[split] <= share * total:
            done += sizes[split]
            split += 1
        split = max(split, 1)
        pending = Pending(documents, split)
        with self._lock:
            self._drain()  # may give the helper up
            if not self._shared or not self._request(documents[:split]):
                return Pending(documents, 0)
            self._outstanding = pending
        return pending

    def finish(self, pending: Pending) -> list[BatchTerms]:
        """The terms of a started batch: our part analyzed here, the helper's collected (or
        analyzed here too when the helper failed or another caller took its answer)."""
        started = time.perf_counter()
        rest = batch_terms(pending.documents[pending.split :], self._analyzer)
        if not pending.split:
            return [rest]
        ours = time.perf_counter() - started
        with self._lock:
            answer = self._answer() if self._outstanding is pending else None
        if answer is None:
            return [batch_terms(pending.documents[: pending.split], self._analyzer), rest]
        first, helper_busy = answer
        chunks = [
            sum(len(d.chunks) for d in part)
            for part in (pending.documents[pending.split :], pending.documents[: pending.split])
        ]
        self._rates = (ours / max(chunks[0], 1), helper_busy / max(chunks[1], 1))
        return [first, rest]

    def note_writing(self, seconds: float, chunks: int) -> None:
        """The caller wrote a batch of ``chunks`` in ``seconds`` while the helper analyzed the
        next one: move the share of batches started ahead so that the helper's part takes as
        long as our part plus the writing."""
        if self._rates is None or chunks <= 0:
            return
        ours, helpers = self._rates
        if ours <= 0 or helpers <= 0:
            return
        wanted = (ours + seconds / chunks) / (ours + helpers)
        # Halfway there: one noisy batch does not swing the split.
        share = (self._ahead_share + wanted) / 2
        self._ahead_share = min(MAX_HELPER_SHARE, max(MIN_HELPER_SHARE, share))

    def _drain(self) -> None:
        """Read and drop the answer of a batch its caller abandoned (the pipe stays in step)."""
        if self._outstanding is not None:
            self._answer()

    def _request(self, documents: Sequence[Document]) -> bool:
        try:
            if self._helper is None or self._helper.poll() is not None:
                self._helper = subprocess.Popen(
                    [sys.executable, "-m", "knowledge.term_workers"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            assert self._helper.stdin is not None
            _send(self._helper.stdin, documents)
            return True
        except (OSError, ValueError) as exc:
            self._give_up(exc)
            return False

    def _answer(self) -> tuple[BatchTerms, float] | None:
        """The outstanding batch's terms and the helper's seconds on them."""
        self._outstanding = None
        if self._helper is None or self._helper.stdout is None:
            return None
        try:
            answer: tuple[BatchTerms, float] = _receive(
                self._helper.stdout.fileno(), HELPER_TIMEOUT_S
            )
            return answer
        except (OSError, EOFError, TimeoutError, pickle.UnpicklingError) as exc:
            self._give_up(exc)
            return None

    def _give_up(self, exc: BaseException) -> None:
        log.warning("analysis helper unavailable, analyzing in-process: %s", exc)
        self._shared = False
        self._stop()

    def _stop(self) -> None:
        self._outstanding = None
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
        started = time.perf_counter()
        terms = batch_terms(documents, analyzer)
        _send(output, (terms, time.perf_counter() - started))


if __name__ == "__main__":
    _serve()
