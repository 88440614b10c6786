"""The outbox relay: publishes committed events to JetStream, in order, none lost.

Woken by the command executor after each commit (and by a slow poll, for events committed by
another process such as a CLI). Publishes a batch with many acknowledgements in flight
(``publish_async``; awaiting each publish caps a service near 4k events/s, STACK.md), with the
event id as ``Nats-Msg-Id`` so that a retried batch is de-duplicated by JetStream. Only the
prefix of the batch that JetStream acknowledged is removed from the outbox; the rest is retried
after a back-off, so NATS being down only delays publication.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import structlog
from nats.js import JetStreamContext
from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.eventstore.executor import CommandExecutor
from shared.eventstore.tables import events, outbox
from shared.messaging.connection import connect_until_ready
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import event_subject
from shared.messaging.worker import NatsWorker
from shared.observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG

log = structlog.get_logger(__name__)


class OutboxRelay(NatsWorker):
    """Moves events from a service's outbox table to its JetStream stream."""

    def __init__(
        self,
        engine: AsyncEngine,
        executor: CommandExecutor,
        *,
        nats_url: str,
        namespace: str,
        service: str,
        replicas: int = 1,
        declare_stream: bool = True,
        batch_size: int = 4000,
        publish_timeout: float = 5.0,
        poll_interval: float = 1.0,
    ) -> None:
        super().__init__(f"outbox-relay-{service}")
        self._engine = engine
        self._executor = executor
        self._nats_url = nats_url
        self._namespace = namespace
        self._service = service
        self._replicas = replicas
        self._declare_stream_on_start = declare_stream
        self._batch_size = batch_size
        self._publish_timeout = publish_timeout
        self._poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._js: JetStreamContext | None = None
        self.published = 0

    def wake(self) -> None:
        """Tell the relay that new events were committed."""
        self._wake.set()

    async def backlog(self) -> int:
        """How many committed events are waiting to be published (published rows awaiting deletion excluded)."""
        async with self._engine.connect() as conn:
            rows = int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())
        return max(0, rows - len(self._executor.being_forgotten()))

    async def _run(self) -> None:
        self._nc = await connect_until_ready(self._nats_url, name=f"qingdan-{self._service}-relay")
        self._js = self._nc.jetstream(publish_async_max_pending=4000)
        if self._declare_stream_on_start:  # otherwise the operator step made it (services may not)
            await self._retry_forever(self._declare_stream)
        delay = 0.1
        while True:
            self._wake.clear()
            try:
                published = await self.publish_pending()
            except Exception as exc:  # NATS down or slow: keep the outbox, try again later
                log.warning("publishing failed, will retry", error=repr(exc), retry_in=delay)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(asyncio.sleep(delay), delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.1
            if published >= self._batch_size:
                continue  # more are waiting
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    async def _declare_stream(self) -> None:
        assert self._js is not None
        await ensure_service_stream(self._js, self._namespace, self._service, replicas=self._replicas)

    async def _retry_forever(self, action: Any) -> None:
        delay = 0.2
        while True:
            try:
                await action()
                return
            except Exception as exc:
                log.warning("stream declaration failed, retrying", error=repr(exc))
                await asyncio.sleep(delay)  # back-off before retrying a failed declaration
                delay = min(delay * 2, 5.0)

    async def publish_pending(self) -> int:
        """Publish one batch from the outbox; return how many JetStream acknowledged."""
        assert self._js is not None
        skip = sorted(self._executor.being_forgotten())  # published already, deleted with the next batch
        if len(skip) > 20_000:  # a long drain with no commands: let the writer catch up first
            await self._executor.flush_forgotten()
            skip = sorted(self._executor.being_forgotten())
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(events.c.position, events.c.event_id, events.c.event_type,
                           events.c.department, events.c.envelope)
                    .join(outbox, outbox.c.position == events.c.position)
                    # Lets PostgreSQL start the events scan at the oldest unpublished event rather
                    # than at position 1 (without it each batch reads the whole published log).
                    .where(events.c.position >= select(func.min(outbox.c.position)).scalar_subquery())
                    .where(outbox.c.position.not_in(skip) if skip else true())
                    .order_by(outbox.c.position)
                    .limit(self._batch_size)
                )
            ).all()
        OUTBOX_BACKLOG.labels(self._service).set(len(rows))
        if not rows:
            return 0
        if self._nc is None or not self._nc.is_connected:
            # While nats-py reconnects, publishing would only fill its buffer and strand publish slots.
            raise ConnectionError("not connected to NATS")
        futures: list[asyncio.Future[Any]] = []
        try:
            for row in rows:
                subject = event_subject(self._namespace, self._service, row.department, row.event_type)
                futures.append(
                    await self._js.publish_async(
                        subject,
                        row.envelope.encode(),
                        headers={"Nats-Msg-Id": row.event_id, "Content-Type": "application/cloudevents+json"},
                    )
                )
        except Exception:
            for future in futures:  # give their publish slots back; the batch is retried whole
                future.cancel()
            raise
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.wait(futures), self._publish_timeout)
        confirmed = 0
        for future in futures:
            if future.done() and not future.cancelled() and future.exception() is None:
                confirmed += 1
            else:
                break
        for future in futures[confirmed:]:
            future.cancel()
        if confirmed:
            published = [row.position for row in rows[:confirmed]]
            # Exactly the rows published, not "up to the last one": on PostgreSQL another writer's
            # transaction may commit a lower position after we read the outbox, still unpublished.
            self._executor.forget_published(published)
            self.published += confirmed
            EVENTS_PUBLISHED.labels(self._service).inc(confirmed)
        if confirmed < len(rows):
            raise RuntimeError(f"JetStream acknowledged {confirmed} of {len(rows)} events")
        return confirmed

