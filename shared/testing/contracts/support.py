"""Building blocks of the contract suite: sample events, tables, NATS probes.

Nothing here asserts; the contracts do. Everything works the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RawStreamMsg
from nats.js.errors import NotFoundError
from sqlalchemy import Boolean, Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.catalogue import EventPayload
from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope, utcnow
from shared.eventstore import CommandContext, CommandExecutor, EventStore
from shared.eventstore.outbox import Outbox
from shared.eventstore.tables import events
from shared.ids import new_id
from shared.messaging.connection import nats_servers
from shared.messaging.relay import OutboxRelay
from shared.messaging.subjects import event_subject, stream_name
from shared.migrations import migrate
from shared.migrations.trees import EVENTSTORE

SERVICE = "contract"
"""The service the contract suite's event store and relay act as."""
SOURCE = "source"
"""The service whose stream the consumer and rebuild contracts read."""
DEPARTMENT = "federation"

# Tables the contracts write besides the event store's own.
metadata = MetaData()

notes = Table(
    "contract_notes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("note", String(100), nullable=False),
)

applied = Table(
    "contract_applied", metadata,
    Column("event_id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("times", Integer, nullable=False, default=0),
)

rows = Table(
    "contract_rows", metadata,
    Column("grp", String(10), primary_key=True),
    Column("item", Integer, primary_key=True),
    Column("label", String(50)),
    Column("hits", Integer, nullable=False, default=0),
    Column("flag", Boolean, nullable=False, default=False),
    Column("total", Integer),
)

units = Table(
    "contract_units", metadata,
    Column("code", String(12), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("level", String(10), nullable=False),
    Column("parent_code", String(12)),
)

levels = Table(
    "contract_levels", metadata,
    Column("level", String(10), primary_key=True),
    Column("units", Integer, nullable=False, default=0),
)

level_counts = Table(
    "contract_level_counts", metadata,
    Column("level", String(10), primary_key=True),
    Column("units", Integer, nullable=False, default=0),
    Column("named", Integer, nullable=False, default=0),
)
"""Counters of a tally over ``units`` (by their level): how many units, and how many renamed."""


def context() -> CommandContext:
    """The actor of every contract command."""
    return CommandContext(actor="contract-tester", department=DEPARTMENT)


def unit(number: int, name: str | None = None, *, level: str = "village") -> OrgUnitEstablished:
    """A small, valid event: an org unit (village) with a numbered code."""
    return OrgUnitEstablished(code=f"511403{number:06d}", name=name or f"demo village {number}", level=level)


def unique_namespace(run_id: str) -> str:
    """A NATS namespace of one test alone, so that streams never collide."""
    return f"c{run_id}{uuid.uuid4().hex[:6]}"


async def create_schema(engine: AsyncEngine) -> None:
    """The event store's tables, by its migrations (as a service makes them), and the contracts' own."""
    await migrate(engine, (EVENTSTORE,))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)


async def count(engine: AsyncEngine, table: Table) -> int:
    """How many rows ``table`` holds."""
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def table_rows(conn: AsyncConnection, table: Table) -> list[dict[str, Any]]:
    """Every row of ``table`` as dicts, in primary-key order."""
    result = await conn.execute(select(table).order_by(*table.primary_key.columns))
    return [dict(row._mapping) for row in result]


def sealed_chain(stream_id: str, payloads: Sequence[EventPayload], *, source: str = SOURCE) -> list[Envelope]:
    """Envelopes of one stream, hash-chained as the event store writes them (for publishing by hand)."""
    chain: list[Envelope] = []
    prev_hash = ""
    for version, payload in enumerate(payloads, start=1):
        envelope = Envelope(
            id=new_id(), source=f"qingdan/{source}/{DEPARTMENT}", type=payload.event_type, time=utcnow(),
            subject=stream_id, stream_id=stream_id, stream_type=payload.stream_type, stream_version=version,
            schema_version=payload.schema_version, actor="contract-tester", department=DEPARTMENT,
            correlation_id=new_id(), data=payload.model_dump(mode="json"),
        ).sealed(prev_hash)
        prev_hash = envelope.hash
        chain.append(envelope)
    return chain


async def insert_envelope(conn: AsyncConnection, envelope: Envelope) -> None:
    """Write an envelope into the events table by hand, as an old version of the code would have."""
    await conn.execute(insert(events).values(
        event_id=envelope.id, stream_id=envelope.stream_id, stream_type=envelope.stream_type,
        version=envelope.stream_version, event_type=envelope.type, schema_version=envelope.schema_version,
        department=envelope.department, occurred_at=envelope.time, envelope=envelope.to_json().decode(),
        hash=envelope.hash,
    ))


class JetStreamProbe:
    """A test's own NATS connection, to publish to and look into a stream."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self.js: JetStreamContext = nc.jetstream()

    async def count(self, stream: str) -> int:
        """Messages in ``stream`` (0 if it does not exist yet)."""
        try:
            return int((await self.js.stream_info(stream)).state.messages)
        except NotFoundError:
            return 0

    async def messages(self, stream: str) -> list[RawStreamMsg]:
        """Every message of ``stream`` in sequence order."""
        state = (await self.js.stream_info(stream)).state
        return [await self.js.get_msg(stream, seq) for seq in range(state.first_seq, state.last_seq + 1)]

    async def publish_envelope(self, namespace: str, envelope: Envelope) -> None:
        """Publish an envelope on the source service's subject, as a relay would."""
        subject = event_subject(namespace, SOURCE, envelope.department, envelope.type)
        await self.js.publish(subject, envelope.to_json(), headers={"Nats-Msg-Id": envelope.id})

    async def publish_raw(self, namespace: str, event_type: str, body: bytes) -> None:
        """Publish arbitrary bytes on a source subject (a poison message)."""
        await self.js.publish(event_subject(namespace, SOURCE, DEPARTMENT, event_type), body)


@asynccontextmanager
async def jetstream(url: str) -> AsyncIterator[JetStreamProbe]:
    """A :class:`JetStreamProbe` connected to ``url`` for the block."""
    nc = await nats.connect(servers=nats_servers(url), max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        yield JetStreamProbe(nc)
    finally:
        await nc.close()


@dataclass
class Publisher:
    """A service's write side as it runs: the single writer, the store and the outbox relay."""

    executor: CommandExecutor
    relay: OutboxRelay
    store: EventStore
    stream: str

    async def commit(self, stream_id: str, payloads: Sequence[EventPayload]) -> list[Envelope]:
        """Run one command appending ``payloads`` to ``stream_id`` and return its envelopes."""
        return await self.executor.run(lambda conn: self.store.append(conn, stream_id, payloads, context()))


@asynccontextmanager
async def publishing(
    engine: AsyncEngine, nats_url: str, namespace: str, *, executor: CommandExecutor | None = None
) -> AsyncIterator[Publisher]:
    """Run a writer and its outbox relay (woken on commit, as in a service) for the block."""
    if executor is None:
        executor = CommandExecutor(engine, outbox=Outbox(engine))
    assert executor.outbox is not None, "the executor must write through an outbox"
    relay = OutboxRelay(executor.outbox, nats_url=nats_url, namespace=namespace, service=SERVICE,
                        publish_timeout=1.0, poll_interval=0.2)
    await executor.start()
    await relay.start()
    try:
        yield Publisher(executor, relay, EventStore(SERVICE, DEPARTMENT), stream_name(namespace, SERVICE))
    finally:
        await relay.stop()
        await executor.stop()
