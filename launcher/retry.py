"""Retries with exponential backoff and full jitter, for transient store errors only."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from launcher.errors import StoreError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    """Tries in all (1 = no retry)."""
    base_delay: float = 0.5
    max_delay: float = 10.0

    def delay(self, retry: int) -> float:
        """Sleep before retry number ``retry`` (1-based): uniform in [0, min(max, base * 2^(retry-1))]."""
        import random  # only when a retry happens: keeps the launcher's start fast

        return random.uniform(0, min(self.max_delay, self.base_delay * (2 ** (retry - 1))))


class RetryCounter:
    """Counts retries across all store operations of one attempt (for the record and metrics)."""

    def __init__(self) -> None:
        self.retries = 0


def with_retries(operation: Callable[[], T], *, policy: RetryPolicy, what: str, counter: RetryCounter,
                 say: Callable[[str], None], sleep: Callable[[float], None] = time.sleep) -> T:
    """Run ``operation``; retry a ``StoreError`` marked retryable; re-raise with the number of tries."""
    tries = 0
    while True:
        tries += 1
        try:
            return operation()
        except StoreError as error:
            if not error.retryable or tries >= policy.attempts:
                if tries > 1:
                    raise type(error)(f"{error} (gave up after {tries} tries)", retryable=False) from None
                raise
            delay = policy.delay(tries)
            counter.retries += 1
            say(f"{what}: {error}; retrying in {delay:.1f} s ({tries}/{policy.attempts - 1} retries)")
            sleep(delay)
