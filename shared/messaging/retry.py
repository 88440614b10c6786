"""The one way background work waits and tries again: a back-off, and a retry-until-ready loop.

Every loop that retries something that is not there yet (a NATS server, a stream another service
has not created, a stream declaration during a JetStream election) goes through here, so that the
delays, the logging and the handling of cancellation are the same everywhere.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

T = TypeVar("T")

log = structlog.get_logger(__name__)


class Backoff:
    """Delays that double from ``first`` up to ``maximum``; :meth:`reset` after a success."""

    def __init__(self, first: float = 0.1, maximum: float = 5.0) -> None:
        self.first = first
        self.maximum = maximum
        self.current = first

    def next(self) -> float:
        """The delay to wait now; the one after it is doubled (up to the maximum)."""
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        """Back to the first delay (the thing worked)."""
        self.current = self.first

    async def sleep(self) -> float:
        """Wait the next delay (a back-off between attempts, not a wait for an event); return it."""
        delay = self.next()
        await asyncio.sleep(delay)
        return delay


async def retry_until_ready(
    action: Callable[[], Awaitable[T]],
    *,
    what: str,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    backoff: Backoff | None = None,
    quiet: tuple[type[BaseException], ...] = (),
    **context: object,
) -> T:
    """Run ``action`` until it succeeds, waiting with back-off after each failure in ``retry_on``.

    Other exceptions propagate (a bug, or a permanent error such as an invalid address, should not
    be retried for ever). Failures of a type in ``quiet`` are expected waits and logged at info;
    the others at warning. Cancellation (shutdown) ends the wait at once.
    """
    backoff = backoff or Backoff()
    while True:
        try:
            return await action()
        except retry_on as exc:
            delay = backoff.next()
            level = log.info if isinstance(exc, quiet) else log.warning
            level(f"{what}: not ready, retrying", error=repr(exc), retry_in=delay, **context)
            await asyncio.sleep(delay)
