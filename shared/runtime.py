"""The moving parts of one service process, started and stopped together.

A service owns a database (engine + single-writer executor + event store + outbox), an outbox
relay publishing its events (if it writes any), durable consumers feeding its read models, and
any other supervised background tasks (the dashboards' clock). ``health`` says whether all of
them are doing their job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import MetaData

from shared import gc_tuning
from shared.db import create_engine
from shared.eventstore import CommandExecutor, EventStore
from shared.eventstore.outbox import Outbox
from shared.eventstore.tables import dead_letters
from shared.messaging.consumer import DurableConsumer
from shared.messaging.relay import OutboxRelay
from shared.messaging.worker import NatsWorker
from shared.migrations import check_at_head, migrate, trees_for
from shared.observability import NATS_RTT, OUTBOX_OLDEST_AGE
from shared.settings import ServiceSettings
from shared.supervision import Supervised


@dataclass
class ServiceRuntime:
    """Engine, executor, store, outbox, relay, consumers and other background tasks of one service."""

    settings: ServiceSettings
    engine: AsyncEngine
    executor: CommandExecutor
    store: EventStore
    relay: OutboxRelay | None
    consumers: list[DurableConsumer] = field(default_factory=list)
    schema: tuple[MetaData, ...] = ()
    tasks: list[Supervised] = field(default_factory=list)
    """Other supervised tasks whose failure ``/health`` reports (registered by the service)."""

    @classmethod
    def build(
        cls, settings: ServiceSettings, *, schema: tuple[MetaData, ...] = (), publishes: bool = True
    ) -> ServiceRuntime:
        """Wire the parts for ``settings``; nothing starts until :meth:`start`."""
        engine = create_engine(settings.effective_database_url)
        outbox = Outbox(engine) if publishes else None
        executor = CommandExecutor(engine, outbox=outbox)
        relay = None
        if outbox is not None:
            relay = OutboxRelay(
                outbox,
                nats_url=settings.nats_url,
                namespace=settings.namespace,
                service=settings.service,
                replicas=settings.stream_replicas,
                declare_stream=settings.declare_streams,
                max_event_bytes=settings.max_event_bytes,
            )
        # A service that writes events signs them, also from a process that does not publish them
        # (a CLI command such as `init`: its events are published later by the service's relay).
        signer = settings.load_signer() if publishes or settings.writes_events else None
        store = EventStore(settings.service, settings.department, signer=signer,
                           max_event_bytes=settings.max_event_bytes)
        return cls(settings, engine, executor, store, relay, schema=schema)

    async def create_schema(self) -> None:
        """Make sure the database has this code's schema (never ``create_all``).

        Production (``QD_MODE=production``): only check that every migration tree is at head and
        refuse to start otherwise (``migrate`` is a deliberate step, run before the service).
        Development (the embedded default, tests): migrate to head automatically.
        """
        trees = trees_for(self.settings.service, self.schema)
        if self.settings.mode == "production":
            await check_at_head(self.engine, trees, self.settings.service)
        else:
            await migrate(self.engine, trees)

    async def start(self) -> None:
        """Check (production) or migrate (development) the schema, then start the writer, relay and consumers."""
        await self.create_schema()
        await self.executor.start()
        if self.relay is not None:
            await self.relay.start()
        keyring = self.settings.load_keyring()
        gc_tuning.settle()  # startup's objects are loaded: scan them no more, collect less often
        for consumer in self.consumers:
            if consumer.fetch_timeout is None:
                consumer.fetch_timeout = self.settings.consumer_fetch_timeout
            consumer.trust(keyring)  # every event applied must be signed by its publisher
            await consumer.start()

    async def stop(self) -> None:
        """Stop everything, finishing queued commands first; quiet whatever state NATS is in."""
        # Together: each may wait for a silent server to close its connection (CLOSE_TIMEOUT).
        await asyncio.gather(*(consumer.stop() for consumer in self.consumers))
        if self.relay is not None:  # before the writer: the relay deletes what it published
            await self.relay.stop()
        await self.executor.stop()
        await self.engine.dispose()

    async def health(self) -> dict[str, Any]:
        """What an operator needs to see, and ``status``: ``ok`` only if every part does its job.

        ``problems`` names each reason for ``degraded``: the database, a background task that
        failed (until it recovers), a NATS connection that is down or does not answer a ping within
        ``QD_HEALTH_NATS_TIMEOUT``, an unpublished event older than ``QD_HEALTH_MAX_OUTBOX_AGE``, a
        consumer more than ``QD_HEALTH_MAX_CONSUMER_LAG`` events behind its stream.
        """
        settings = self.settings
        problems: list[str] = []
        report: dict[str, Any] = {"service": settings.service, "department": settings.department}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                report["dead_letters"] = int(
                    (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
                )
            report["database"] = "ok"
        except Exception as exc:
            report["database"] = f"error: {exc!r}"
            problems.append("database unreachable")
        workers: list[NatsWorker] = [*([self.relay] if self.relay else []), *self.consumers]
        rtts = await asyncio.gather(*(w.rtt(settings.health_nats_timeout) for w in workers))
        rtt_of = {w.task.name: rtt for w, rtt in zip(workers, rtts, strict=True)}
        for name, rtt in rtt_of.items():
            NATS_RTT.labels(settings.service, name).set(-1 if rtt is None else rtt)
        if self.relay is not None:
            await self._relay_health(self.relay, rtt_of[self.relay.task.name], report, problems)
        report["consumers"] = []
        for consumer in self.consumers:
            rtt = rtt_of[consumer.task.name]
            report["consumers"].append({
                "name": consumer.name, "stream": consumer.stream, "position": consumer.position,
                "lag": consumer.lag, "connected": consumer.connected, "rtt_ms": _ms(rtt),
                "role": "leader" if consumer.lease.held else "standby",
                "failure": consumer.task.failure,
            })
            _check_worker(consumer, rtt, problems, settings.health_nats_timeout)
            if consumer.lag > settings.health_max_consumer_lag:
                problems.append(f"{consumer.task.name}: {consumer.lag} events behind "
                                f"(limit {settings.health_max_consumer_lag})")
        report["tasks"] = [{"name": t.name, "failure": t.failure, "restarts": t.restarts} for t in self.tasks]
        problems += [f"{t.name} failed: {t.failure or 'not running'}" for t in self.tasks if not t.healthy]
        report["problems"] = problems
        report["status"] = "degraded" if problems else "ok"
        return report

    async def _relay_health(
        self, relay: OutboxRelay, rtt: float | None, report: dict[str, Any], problems: list[str]
    ) -> None:
        settings = self.settings
        report["nats_publisher"] = "connected" if relay.connected else "disconnected"
        # Of several processes on one database, one relay publishes; the others stand by.
        report["relay_role"] = "leader" if relay.leading else "standby"
        report["nats_rtt_ms"] = _ms(rtt)
        report["relay_failure"] = relay.task.failure
        _check_worker(relay, rtt, problems, settings.health_nats_timeout)
        if relay.payload_problem is not None:
            problems.append(relay.payload_problem)
        if relay.permission_problem is not None:
            problems.append(relay.permission_problem)
        if report["database"] != "ok":
            report["outbox_backlog"] = report["outbox_oldest_age_s"] = None
            return
        parked = await relay.parked()
        report["parked_streams"] = [
            {"stream_id": p.stream_id, "event_id": p.event_id, "position": p.position, "reason": p.reason}
            for p in parked
        ]
        problems += [f"stream {p.stream_id} parked: event {p.event_id} cannot be published ({p.reason}); "
                     f"release it with `release-stream` once fixed" for p in parked]
        report["outbox_backlog"] = await relay.backlog()
        age = await relay.outbox.oldest_age()
        OUTBOX_OLDEST_AGE.labels(settings.service).set(age)
        report["outbox_oldest_age_s"] = round(age, 3)
        if age > settings.health_max_outbox_age:
            problems.append(f"oldest unpublished event is {age:.0f} s old (limit {settings.health_max_outbox_age:g} s)")


def _check_worker(worker: NatsWorker, rtt: float | None, problems: list[str], timeout: float) -> None:
    name = worker.task.name
    if not worker.task.healthy:
        problems.append(f"{name} failed: {worker.task.failure or 'not running'}")
    elif not worker.connected:
        problems.append(f"{name}: not connected to NATS")
    elif rtt is None:
        problems.append(f"{name}: NATS did not answer a ping within {timeout:g} s")


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def all_connected(consumers: Sequence[DurableConsumer]) -> bool:
    """Whether every consumer has a NATS connection."""
    return all(c.connected for c in consumers)
