"""A circuit breaker: after repeated failures, stop calling a department for a while."""

from __future__ import annotations

import time
from collections.abc import Callable


class CircuitBreaker:
    """Closed until `threshold` failures in a row; then open for `cool_down` seconds; then one
    trial call (half-open) decides whether it closes again."""

    def __init__(
        self,
        threshold: int = 5,
        cool_down: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = threshold
        self._cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self._opened_at >= self._cool_down else "open"

    def allows(self) -> bool:
        """May a call go out now? In half-open, exactly one trial call may."""
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial:
            self._trial = True
            return True
        return False

    def succeeded(self) -> None:
        self._failures, self._opened_at, self._trial = 0, None, False

    def failed(self) -> None:
        self._failures += 1
        if self._trial or self._failures >= self._threshold:
            self._opened_at, self._trial = self._clock(), False
