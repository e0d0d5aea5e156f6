"""A consecutive-failure circuit breaker for calls to external services."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Literal

from knowledge.errors import UpstreamUnavailable

log = logging.getLogger(__name__)


BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Consecutive-failure circuit breaker: closed → open → half-open → closed.

    ``failures`` consecutive failures open it; while open, :meth:`before_call` raises at once.
    ``reset_s`` after opening it lets exactly one trial call through (half-open); the trial's
    success closes the breaker, its failure opens it for another ``reset_s``.
    """

    def __init__(
        self,
        failures: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        service: str = "llm",
    ) -> None:
        self.service = service  # named in log lines and errors
        self.failures = max(1, failures)
        self.reset_s = reset_s
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._trial_in_flight or self._clock() - self._opened_at >= self.reset_s:
            return "half_open"
        return "open"

    def before_call(self) -> bool:
        """Admit a call or raise :class:`UpstreamUnavailable`; True when it is the trial call."""
        state = self.state
        if state == "closed":
            return False
        if state == "half_open" and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        raise UpstreamUnavailable(detail=f"{self.service} circuit breaker open")

    def record_success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._trial_in_flight = False

    def record_failure(self) -> None:
        self._consecutive += 1
        if self._trial_in_flight or self._consecutive >= self.failures:
            if self._opened_at is None or self._trial_in_flight:
                log.warning(
                    "%s circuit breaker opened after %d failures", self.service, self._consecutive
                )
            self._opened_at = self._clock()
        self._trial_in_flight = False

    def release_trial(self) -> None:
        """A trial call ended without a verdict (cancelled): let the next call try again."""
        self._trial_in_flight = False
