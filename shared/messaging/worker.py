"""A background task that owns a NATS connection: the relay and the consumers are both one."""

from __future__ import annotations

import asyncio
import contextlib

from nats.aio.client import Client


class NatsWorker:
    """Starts ``_run`` as a task; stopping cancels it and closes the connection it opened."""

    def __init__(self, task_name: str) -> None:
        self._task_name = task_name
        self._task: asyncio.Task[None] | None = None
        self._nc: Client | None = None

    async def _run(self) -> None:
        raise NotImplementedError

    async def start(self) -> None:
        """Run in the background."""
        self._task = asyncio.create_task(self._run(), name=self._task_name)

    async def stop(self) -> None:
        """Stop the task and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._nc is not None and not self._nc.is_closed:
            await self._nc.close()

    @property
    def connected(self) -> bool:
        """Whether there is a live NATS connection."""
        return self._nc is not None and self._nc.is_connected
