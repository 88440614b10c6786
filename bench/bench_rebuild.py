"""3. Full rebuild of the coverage read model vs a raw ordered-consumer read of the same stream.

The stream is the workload's (``persons × 5`` events published by the relay: registered, home
visit, plan drawn, item added, item delivered, plus the org units and departments). *Rebuild*:
:func:`shared.rebuild.rebuild` with reporting's ``COVERAGE`` projection into a fresh reporting
database (schema created beforehand, not timed): the staged rebuild (``shared.rebuild_staged``),
chunks folded into staging tables, then swapped in with the checkpoint in one transaction.
Signatures are checked with the registry's public key, as a service's rebuild does (the runs' last signatures
in its helper process, whose CPU is printed apart: `shared.signature_check`).
*Raw*: :func:`shared.messaging.replay.replay` over the same stream with a callback that only counts.
Both rates are stream messages per second (the projection reads all of them, even the types it
skips); rounds alternate and the medians are printed. The replay part of the rebuild is timed too
(until the last message was read: applying is interleaved).
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections.abc import Sequence
from dataclasses import dataclass

import nats
from nats.aio.msg import Msg

from bench.harness import Environment, Figure, Sizes, median, say
from bench.workload import Workloads
from services.reporting.projections.coverage import COVERAGE, cov_persons
from services.reporting.read_models import PROJECTIONS, SCHEMA
from shared.db import create_engine
from shared.eventstore.tables import metadata as core_metadata
from shared.messaging.connection import nats_servers
from shared.messaging.replay import replay, stream_last_sequence
from shared.messaging.subjects import service_subjects, stream_name
from shared.rebuild import rebuild
from shared.signing import KeyRing

NAME = "rebuild"
AIM = 0.5


@dataclass(frozen=True)
class Rebuilt:
    """One timed rebuild."""

    seconds: float
    replay_seconds: float  # until the last message was read (the staged rebuild applies as it reads)
    cpu: float  # CPU seconds of this process (on SQLite with the driver's thread; not PostgreSQL's)
    helper_cpu: float  # CPU seconds of its signature-verifying helper process (shared.signature_check)
    persons: int


async def timed_rebuild(database_url: str, nats_url: str, namespace: str, keyring: KeyRing) -> Rebuilt:
    """Create the reporting schema in a fresh database, then time a full rebuild of coverage into it."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for metadata in (core_metadata, *SCHEMA):
                await conn.run_sync(metadata.create_all)
        loop = asyncio.get_running_loop()
        last_progress = 0.0

        def progress(_done: int, _total: int) -> None:
            nonlocal last_progress
            last_progress = loop.time()

        started, cpu, children = loop.time(), time.process_time(), _children_cpu()
        report = await rebuild(engine, COVERAGE, prefix=PROJECTIONS.prefix, nats_url=nats_url, namespace=namespace,
                               progress=progress, keyring=keyring)
        seconds, cpu = loop.time() - started, time.process_time() - cpu
        helper_cpu = _children_cpu() - children  # the helper has exited (and been waited for) by now
        if not report.replaced:
            raise RuntimeError(f"the rebuild did not replace the model: {report}")
        return Rebuilt(seconds, last_progress - started, cpu, helper_cpu, report.rows[cov_persons.name])
    finally:
        await engine.dispose()


def _children_cpu() -> float:
    """CPU seconds of this process's children that have ended (the rebuild's helper, once it has)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def raw_read(nats_url: str, namespace: str, service: str = "registry") -> tuple[float, float, int]:
    """Seconds (and CPU seconds) to read ``service``'s whole stream with an ordered consumer that only counts;
    the count."""
    loop = asyncio.get_running_loop()
    started, cpu = loop.time(), time.process_time()
    nc = await nats.connect(servers=nats_servers(nats_url))
    try:
        stream = stream_name(namespace, service)
        end = await stream_last_sequence(nc, stream)
        seen = 0

        def count(_msg: Msg) -> None:
            nonlocal seen
            seen += 1

        read = await replay(nc, stream, service_subjects(namespace, service), start=1, end=end, on_message=count)
    finally:
        await nc.close()
    if read != end or seen != end:
        raise RuntimeError(f"the raw read saw {seen} of {end} messages")
    return loop.time() - started, time.process_time() - cpu, end


def run(env: Environment, backends: Sequence[str], sizes: Sizes, workloads: Workloads) -> list[Figure]:
    """Benchmark 3 on each backend (the reporting database is of that backend)."""
    figures: list[Figure] = []
    for backend in backends:
        namespace = workloads.stream(backend)
        # Signatures checked, as every service's rebuild does: the registry's public key
        keyring = KeyRing(folder=workloads.registry(backend).data_dir / "trust")
        raw_rates: list[float] = []
        rebuild_rates: list[float] = []
        replay_rates: list[float] = []
        raw_cpu: list[float] = []
        rebuild_cpu: list[float] = []
        helper_cpu: list[float] = []
        for round_number in range(sizes.rounds):
            seconds, cpu, messages = asyncio.run(raw_read(env.nats.url, namespace))
            raw_rates.append(messages / seconds)
            raw_cpu.append(cpu / messages * 1e6)
            result = asyncio.run(timed_rebuild(env.database_url(backend, "rep"), env.nats.url, namespace, keyring))
            if result.persons != sizes.persons:
                raise RuntimeError(f"the rebuilt model has {result.persons} persons, expected {sizes.persons}")
            rebuild_rates.append(messages / result.seconds)
            replay_rates.append(messages / result.replay_seconds)
            rebuild_cpu.append(result.cpu / messages * 1e6)
            helper_cpu.append(result.helper_cpu / messages * 1e6)
            say(f"[{NAME}] {backend} round {round_number + 1}: raw {raw_rates[-1]:,.0f} msg/s, rebuild "
                f"{rebuild_rates[-1]:,.0f} msg/s ({result.seconds:.2f} s, of which replay into memory "
                f"{result.replay_seconds:.2f} s; {messages:,} messages)")
        rebuilt, raw = median(rebuild_rates), median(raw_rates)
        figures += [
            Figure(NAME, backend, f"coverage rebuild, stream msg/s ({messages:,} msgs)", rebuilt, "/s",
                   reference=raw, aim=f"ratio >= {AIM}", met=rebuilt / raw >= AIM,
                   note="raw = ordered consumer, counting"),
            Figure(NAME, backend, "of which: replay into memory only", median(replay_rates), "/s", reference=raw),
            Figure(NAME, backend, "CPU per message in the rebuilding process", median(rebuild_cpu), "µs",
                   reference=median(raw_cpu), note="rebuild vs raw"),
            Figure(NAME, backend, "CPU per message in its signature helper process", median(helper_cpu), "µs",
                   note="verifies on the other core, in parallel"),
        ]
    return figures
