"""A clock that tests move by hand."""

from __future__ import annotations


class ManualClock:
    """A monotonic clock for tests: call it for the time; ``clock.now += seconds`` moves it.
    Patch it in where the code under test reads ``time.monotonic``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
