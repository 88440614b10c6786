"""A supervised background task that owns a NATS connection: the relay and the consumers are both one."""

from __future__ import annotations

import asyncio

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
        """Seconds for a PING/PONG with the server, or None if not connected or no answer within ``timeout``.

        Not ``Client.rtt``: on a timeout nats-py 2.16 cancels the PONG's future, and when the late
        PONG arrives its read loop fails on that future and drops the connection, so a health check
        of a slow server would itself cause a disconnection. Here the future stays pending
        (``shield``) and the late PONG completes it harmlessly.
        """
        nc = self._nc
        if nc is None or not nc.is_connected:
            return None
        loop = asyncio.get_running_loop()
        pong: asyncio.Future[bool] = loop.create_future()
        started = loop.time()
        try:
            await nc._send_ping(pong)
            await asyncio.wait_for(asyncio.shield(pong), timeout)
        except Exception:  # a timeout too
            return None
        return loop.time() - started
