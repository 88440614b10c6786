"""2. Outbox relay publish rate vs raw ``js.publish_async`` with ``Nats-Msg-Id``, same server, same run.

The workload's registry database holds ``persons × 5`` events in its outbox (NATS never saw
them). *Relay*: the real :class:`~shared.messaging.relay.OutboxRelay` is started on it and timed
until it has had every event acknowledged by JetStream (read from the database in batches,
published, outbox rows deleted through the executor). *Raw*: the same envelopes, subjects and
headers, already in memory, published with ``publish_async`` (4,000 in flight) and
``publish_async_completed()``, every future checked. Each round publishes into fresh streams
(a new namespace: the same message ids in one stream would be dropped as duplicates); after a
relay round the outbox is refilled with one INSERT … SELECT. Rounds alternate raw and relay; the
medians are printed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import nats
from sqlalchemy import select

from bench.harness import Environment, Figure, Sizes, median, say
from bench.workload import Workloads, refill_outbox, relay_outbox
from shared.db import create_engine
from shared.eventstore.tables import events
from shared.messaging.connection import nats_servers
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import event_subject

NAME = "relay"
AIM = 0.6

Message = tuple[str, bytes, dict[str, str]]


async def load_events(database_url: str) -> list[tuple[str, str, str, bytes]]:
    """Department, type, id and envelope of every event in the log, in order."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(events.c.department, events.c.event_type, events.c.event_id,
                                              events.c.envelope).order_by(events.c.position))).all()
    finally:
        await engine.dispose()
    return [(r.department, r.event_type, r.event_id, r.envelope.encode()) for r in rows]


def as_published(rows: Sequence[tuple[str, str, str, bytes]], namespace: str) -> list[Message]:
    """Subject, body and headers of each event, as the relay publishes them into ``namespace``."""
    return [(event_subject(namespace, "registry", department, event_type), body,
             {"Nats-Msg-Id": event_id, "Content-Type": "application/cloudevents+json"})
            for department, event_type, event_id, body in rows]


async def raw_publish(nats_url: str, namespace: str, messages: Sequence[Message]) -> tuple[float, float]:
    """Seconds (and CPU seconds) to publish ``messages`` with publish_async, 4,000 in flight, until all are acked."""
    nc = await nats.connect(servers=nats_servers(nats_url))
    try:
        js = nc.jetstream(publish_async_max_pending=4000)
        stream = await ensure_service_stream(js, namespace, "registry")
        loop = asyncio.get_running_loop()
        started, cpu = loop.time(), time.process_time()
        futures = [await js.publish_async(subject, body, headers=headers) for subject, body, headers in messages]
        await js.publish_async_completed()
        seconds, cpu = loop.time() - started, time.process_time() - cpu
        failed = [f for f in futures if f.exception() is not None]
        if failed:
            raise RuntimeError(f"{len(failed)} raw publishes failed, e.g. {failed[0].exception()!r}")
        stored = (await js.stream_info(stream)).state.messages
        if stored != len(messages):
            raise RuntimeError(f"stream {stream} holds {stored} messages, expected {len(messages)}")
        return seconds, cpu
    finally:
        await nc.close()


def run(env: Environment, backends: Sequence[str], sizes: Sizes, workloads: Workloads) -> list[Figure]:
    """Benchmark 2 on each backend."""
    figures: list[Figure] = []
    for backend in backends:
        filled = workloads.registry(backend)
        rows = asyncio.run(load_events(filled.database_url))
        raw_rates: list[float] = []
        relay_rates: list[float] = []
        raw_cpu: list[float] = []
        relay_cpu: list[float] = []
        for round_number in range(sizes.rounds):
            raw_ns = env.unique("raw")
            seconds, cpu = asyncio.run(raw_publish(env.nats.url, raw_ns, as_published(rows, raw_ns)))
            raw_rates.append(len(rows) / seconds)
            raw_cpu.append(cpu / len(rows) * 1e6)
            if round_number:
                asyncio.run(refill_outbox(filled.database_url))
            namespace = env.unique("rel")
            seconds, cpu = asyncio.run(relay_outbox(filled.database_url, env.nats.url, namespace, filled.events))
            relay_rates.append(filled.events / seconds)
            relay_cpu.append(cpu / filled.events * 1e6)
            workloads.remember_stream(backend, namespace)
            say(f"[{NAME}] {backend} round {round_number + 1}: raw {raw_rates[-1]:,.0f}/s ({raw_cpu[-1]:.0f} µs CPU "
                f"each), relay {relay_rates[-1]:,.0f}/s ({relay_cpu[-1]:.0f} µs CPU each; {filled.events:,} events)")
        relay, raw = median(relay_rates), median(raw_rates)
        figures += [
            Figure(NAME, backend, f"outbox relay, events/s ({filled.events:,} events)", relay, "/s",
                   reference=raw, aim=f"ratio >= {AIM}", met=relay / raw >= AIM,
                   note="raw = publish_async + msg ids"),
            Figure(NAME, backend, "CPU per event in the publishing process", median(relay_cpu), "µs",
                   reference=median(raw_cpu), note="relay vs raw"),
        ]
    return figures
