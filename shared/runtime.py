"""The moving parts of one service process, started and stopped together.

A service owns a database (engine + single-writer executor + event store), an outbox relay
publishing its events (if it writes any), and durable consumers feeding its read models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine, writer
from shared.eventstore import CommandExecutor, EventStore
from shared.eventstore.tables import dead_letters
from shared.eventstore.tables import metadata as core_metadata
from shared.messaging.consumer import DurableConsumer
from shared.messaging.credentials import WRITING_SERVICES
from shared.messaging.relay import OutboxRelay
from shared.settings import ServiceSettings


@dataclass
class ServiceRuntime:
    """Engine, executor, store, relay and consumers of one service."""

    settings: ServiceSettings
    engine: AsyncEngine
    executor: CommandExecutor
    store: EventStore
    relay: OutboxRelay | None
    consumers: list[DurableConsumer] = field(default_factory=list)
    schema: tuple[MetaData, ...] = ()

    @classmethod
    def build(
        cls, settings: ServiceSettings, *, schema: tuple[MetaData, ...] = (), publishes: bool = True
    ) -> ServiceRuntime:
        """Wire the parts for ``settings``; nothing starts until :meth:`start`."""
        engine = create_engine(settings.effective_database_url)
        relay_holder: list[OutboxRelay] = []
        executor = CommandExecutor(engine, on_commit=lambda: relay_holder[0].wake() if relay_holder else None)
        relay = None
        if publishes:
            relay = OutboxRelay(
                engine,
                executor,
                nats_url=settings.nats_url,
                namespace=settings.namespace,
                service=settings.service,
                replicas=settings.stream_replicas,
                declare_stream=settings.declare_streams,
            )
            relay_holder.append(relay)
        # Only services that own a stream write events, and need a key to sign them with.
        signer = settings.load_signer() if settings.service in WRITING_SERVICES else None
        store = EventStore(settings.service, settings.department, signer=signer)
        return cls(settings, engine, executor, store, relay, schema=schema)

    async def create_schema(self) -> None:
        """Create the event-store tables and the service's own (idempotent)."""
        async with writer(self.engine).begin() as conn:
            for metadata in (core_metadata, *self.schema):
                await conn.run_sync(metadata.create_all)

    async def start(self) -> None:
        """Create the schema, then start the writer, the relay and the consumers."""
        await self.create_schema()
        await self.executor.start()
        if self.relay is not None:
            await self.relay.start()
        keyring = self.settings.load_keyring()
        for consumer in self.consumers:
            consumer.trust(keyring)  # every event applied must be signed by its publisher
            await consumer.start()

    async def stop(self) -> None:
        """Stop everything, finishing queued commands first."""
        for consumer in self.consumers:
            await consumer.stop()
        if self.relay is not None:  # before the writer, which then deletes what the relay published
            await self.relay.stop()
        await self.executor.stop()
        await self.engine.dispose()

    async def health(self) -> dict[str, Any]:
        """What an operator needs to see: database, NATS, outbox backlog, consumer positions."""
        report: dict[str, Any] = {"service": self.settings.service, "department": self.settings.department}
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                report["dead_letters"] = int(
                    (await conn.execute(select(func.count()).select_from(dead_letters))).scalar_one()
                )
            report["database"] = "ok"
        except Exception as exc:
            report["database"] = f"error: {exc!r}"
        if self.relay is not None:
            report["nats_publisher"] = "connected" if self.relay.connected else "disconnected"
            report["outbox_backlog"] = await self.relay.backlog() if report["database"] == "ok" else None
        report["consumers"] = [
            {"name": c.name, "stream": c.stream, "position": c.position, "connected": c.connected}
            for c in self.consumers
        ]
        report["status"] = "ok" if report["database"] == "ok" else "degraded"
        return report


def all_connected(consumers: Sequence[DurableConsumer]) -> bool:
    """Whether every consumer has a NATS connection."""
    return all(c.connected for c in consumers)
