"""A supervised background task that owns a NATS connection: the relay and the consumers are both one."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from nats.aio.client import Client

from shared.supervision import Supervised

log = structlog.get_logger(__name__)

CLOSE_TIMEOUT = 2.0
"""Seconds a stop waits for NATS to close the connection (a frozen server never answers)."""


class NatsWorker:
    """Runs ``_run`` under a :class:`Supervised` task; a failed run's connection is closed before the restart."""

    def __init__(self, task_name: str) -> None:
        self.task = Supervised(task_name, self._run, cleanup=self._close)
        self._nc: Client | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Run in the background."""
        self.task.start()

    async def stop(self) -> None:
        """Stop the task and close the connection; quiet whatever state they were in."""
        await self.task.stop()
        await self._close()

    async def _close(self) -> None:
        nc, self._nc = self._nc, None
        if nc is None or nc.is_closed:
            return
        try:
            await asyncio.wait_for(nc.close(), CLOSE_TIMEOUT)
        except (TimeoutError, Exception) as exc:  # closing is best effort: the process is going away
            log.info("nats connection not closed cleanly", task=self.task.name, error=repr(exc))

    @property
    def connected(self) -> bool:
        """Whether there is a live NATS connection."""
        return self._nc is not None and self._nc.is_connected

    async def rtt(self, timeout: float = 1.0) -> float | None:  # noqa: ASYNC109 - the health check's limit
        """Seconds for a PING/PONG with the server, or None if not connected or no answer within ``timeout``."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            return None
        with contextlib.suppress(Exception, asyncio.TimeoutError):
            return await asyncio.wait_for(nc.rtt(timeout), timeout)  # type: ignore[arg-type]
        return None
