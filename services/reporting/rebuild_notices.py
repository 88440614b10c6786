"""Hear that a rebuild swapped a read model, so that the dashboards' view cache lets go of it.

``python -m services.reporting rebuild`` runs in a process of its own and replaces the tables in one
transaction; no event comes with that. It announces the swap on a core NATS subject
(:func:`shared.rebuild.rebuilt_subject`) and every serving reporting process, listening here, clears
its view cache and tells its open pages to refetch.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from nats.aio.msg import Msg

from shared.messaging.connection import connect_until_ready
from shared.messaging.worker import NatsWorker
from shared.rebuild import rebuilt_subject

log = structlog.get_logger(__name__)


class RebuildListener(NatsWorker):
    """Calls ``on_rebuilt(read_model)`` for every swap a rebuild announces."""

    def __init__(self, nats_url: str, namespace: str, prefix: str, on_rebuilt: Callable[[str], None]) -> None:
        super().__init__("reporting-rebuild-notices")
        self._nats_url = nats_url
        self._subject = rebuilt_subject(namespace, prefix)
        self._on_rebuilt = on_rebuilt
        self.subscribed = False

    async def _run(self) -> None:
        self._nc = await connect_until_ready(self._nats_url, name="qingdan-reporting-rebuild-notices")

        async def heard(msg: Msg) -> None:
            name = msg.data.decode(errors="replace")
            log.info("a rebuild swapped a read model", read_model=name)
            self._on_rebuilt(name)

        await self._nc.subscribe(self._subject, cb=heard)
        await self._nc.flush()  # the server knows the subscription before we say we are listening
        self.subscribed = True
        # The subscription lives as long as this task: a supervised task that returns counts as a failure.
        await asyncio.Event().wait()
