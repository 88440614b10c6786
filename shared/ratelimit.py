"""Per-caller rate limits over a moving window, with the ``limits`` library.

Used where each answer can reveal a little (a lookup by certificate number; a sign-in attempt,
per client address): a caller over the limit gets 429 with ``Retry-After``. The counts live in
the process's memory, so with P processes the effective limit is up to P times the configured
one (docs/registry.md); a shared ``limits`` storage (Redis, …) can be passed as ``storage``.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from shared.errors import TooManyRequests


class PerMinuteLimit:
    """At most ``per_minute`` hits per caller in any 60 seconds, for one named action."""

    def __init__(self, action: str, per_minute: int, *, storage: Storage | None = None) -> None:
        if per_minute < 1:
            raise ValueError("a limit allows at least one hit per minute")
        self.action = action
        self._item = RateLimitItemPerMinute(per_minute)
        self._limiter = MovingWindowRateLimiter(storage or MemoryStorage())

    def hit(self, caller: str) -> None:
        """Count one hit for ``caller``; :class:`TooManyRequests` (429) once over the limit."""
        if self._limiter.hit(self._item, self.action, caller):
            return
        reset_at = self._limiter.get_window_stats(self._item, self.action, caller).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        raise TooManyRequests(
            f"{self.action}: at most {self._item.amount} per minute; try again in {retry_after} s",
            retry_after=retry_after,
        )
