"""Pure retry policy: which failures are worth another attempt, and how long to wait first.

Kept free of I/O so it can be tested directly; the client supplies the sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

#: Capacity answers the Runware docs call transient (queue full, temporary, queue wait exceeded).
CAPACITY_STATUSES = frozenset({429, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter; a server's ``Retry-After`` wins."""

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(
        self,
        attempt: int,
        retry_after: float | None = None,
        rng: Callable[[], float] = random.random,
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        # Full jitter: spreads a burst of clients that all hit the same 429 at once.
        ceiling = min(self.max_delay, self.base_delay * 2 ** max(attempt - 1, 0))
        return rng() * ceiling


def is_retryable_status(status_code: int) -> bool:
    """429/503/504 capacity answers, 408 and every other 5xx."""
    return status_code in CAPACITY_STATUSES or status_code == 408 or status_code >= 500


def parse_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or HTTP date), or None when absent/unreadable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
