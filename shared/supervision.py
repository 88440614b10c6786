"""Background tasks that never die silently: failures are logged at once, restarted, and reported.

A service's background work (the outbox relay, each durable consumer, the dashboards' day clock)
runs as a :class:`Supervised` task. If it raises, the traceback is logged immediately (not at
shutdown, as an un-awaited task's would be), the task is restarted after a back-off, and
:attr:`Supervised.failure` says what went wrong until the task reports that it works again
(:meth:`Supervised.recovered`), so that ``/health`` can name it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

import structlog

from shared.messaging.retry import Backoff
from shared.observability import TASK_RESTARTS, TASK_UP

log = structlog.get_logger(__name__)


class Supervised:
    """Runs ``body`` as a task, restarting it with back-off whenever it raises or returns.

    ``cleanup`` runs after each failed run (for example to close a half-open connection) before
    the next starts. A run that returns is restarted too: background tasks are meant to run until
    stopped.
    """

    def __init__(
        self,
        name: str,
        body: Callable[[], Awaitable[None]],
        *,
        cleanup: Callable[[], Awaitable[None]] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.name = name
        self._body = body
        self._cleanup = cleanup
        self._backoff = backoff or Backoff(0.1, 5.0)
        self._task: asyncio.Task[None] | None = None
        self.failure: str | None = None
        self.failed_at: float | None = None
        self.restarts = 0
        # Looked up once: ``labels()`` is a lock and a dict lookup, and the relay reports recovery
        # after every batch it publishes (each lone command's).
        self._up = TASK_UP.labels(name)

    @property
    def running(self) -> bool:
        """Whether the supervising task is alive (it is until :meth:`stop`)."""
        return self._task is not None and not self._task.done()

    @property
    def healthy(self) -> bool:
        """Running, and not failed since it last reported progress."""
        return self.running and self.failure is None

    def start(self) -> None:
        """Start supervising (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._supervise(), name=self.name)
            self._up.set(1)

    def recovered(self) -> None:
        """Called by the task when it works again (connected, subscribed, published): clears the failure."""
        if self.failure is not None:
            log.info("background task recovered", task=self.name, restarts=self.restarts)
        self.failure = None
        self.failed_at = None
        self._backoff.reset()
        self._up.set(1)

    async def stop(self) -> None:
        """Cancel the task and wait for it; never raises (shutdown must be quiet)."""
        task, self._task = self._task, None
        if task is not None:
            await _cancel(task, self.name)
        self._up.set(0)

    async def _supervise(self) -> None:
        while True:
            try:
                await self._body()
                error = "the task returned"
                log.error("background task ended unexpectedly, restarting", task=self.name)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = repr(exc)
                log.exception("background task failed, restarting", task=self.name, error=error)
            self.failure = error
            self.failed_at = self.failed_at or time.time()
            self.restarts += 1
            self._up.set(0)
            TASK_RESTARTS.labels(self.name).inc()
            if self._cleanup is not None:
                try:
                    await self._cleanup()
                except Exception as exc:  # cleaning up a broken run must not stop the restart
                    log.warning("cleanup after failure failed", task=self.name, error=repr(exc))
            await self._backoff.sleep()


_STOP_TRIES = 20


async def _cancel(task: asyncio.Task[None], name: str) -> None:
    """Cancel ``task`` and wait for it to end, cancelling again while it does not.

    On Python 3.11, ``asyncio.wait_for`` swallows a cancellation that arrives as its inner awaitable
    completes (CPython gh-86296); nats-py's connect uses it, so a task cancelled at that moment
    carries on, and a plain ``await task`` after one ``cancel()`` waited forever (a test's shutdown
    hung so under load). Each try waits half a second; after ten seconds the task is left behind.
    """
    for _ in range(_STOP_TRIES):
        task.cancel()
        await asyncio.wait({task}, timeout=0.5)
        if task.done():
            if not task.cancelled():
                with contextlib.suppress(Exception):
                    task.exception()  # retrieved, so asyncio does not log it as never retrieved
            return
    log.error("background task did not stop when cancelled; left behind", task=name)
