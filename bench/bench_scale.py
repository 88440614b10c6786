"""``python -m bench --persons N``: consumers and rebuilds at a province's scale.

1. ``N`` persons' registry events (5 a person, plus the organisation), and the checklists' and
   inspections' events of such a register (a task per 50 persons, an inspection per 500:
   ``bench/scale_workload.py``), signed, are published straight into the three services' streams
   of the run's nats-server.
2. *Raw*: each stream read by an ordered consumer that only counts (as benchmark 3).
3. *Catch-up*, for every durable consumer of every stream (:data:`CONSUMERS`: reporting,
   inspections and a checklists instance from the registry; reporting and inspections from
   checklists; reporting from inspections): the real consumer (``shared.messaging.feeds``, the
   key ring trusting the publishers' keys and the collector settled, as ``ServiceRuntime.start``
   does) starts on an empty database and is timed until its checkpoint reaches its stream's end.
   Rate in stream messages per second, the ratio to that stream's raw read, CPU per message
   (this process: on SQLite the driver's thread included, PostgreSQL's own processes not), peak RSS.
4. *Rebuild*: reporting's coverage rebuilt (``shared.rebuild``, signatures checked) into the
   caught-up database: rate, ratio, CPU per message, peak RSS.

Every measurement runs in a fresh process (``spawn``), so its peak RSS is its own. One row per
consumer is printed (progress on stderr, then the table). :func:`populated_reporting` leaves a
caught-up reporting database behind for other benchmarks (the dashboards' queries at scale).
"""


from __future__ import annotations

import asyncio
import multiprocessing
import resource
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from sqlalchemy import MetaData

from bench.bench_rebuild import raw_read
from bench.harness import Environment, Figure, load_average, say
from bench.scale_workload import DEPARTMENT, Keys, publish_province
from shared import gc_tuning
from shared.db import create_engine
from shared.eventstore.tables import metadata as core_metadata
from shared.interruption import end_on_interrupt
from shared.messaging.feeds import ProjectionSet, projection_consumers
from shared.messaging.replay import stream_last_sequence

NAME = "scale"
AIM = 0.5


@dataclass(frozen=True)
class Measured:
    """One timed run in a child process."""

    seconds: float
    cpu: float
    peak_rss_mb: float
    detail: str = ""
    messages: int = 0
    helper_cpu: float = 0.0
    """CPU seconds of the helper processes it started (a consumer's or a rebuild's signature verifier)."""


def _checklists_instance() -> ProjectionSet:
    from services.checklists.projections.departments import DEPARTMENTS
    from shared.staff import STAFF_DIRECTORY

    # An instance's registry-fed projections (its replica reads the checklists streams, empty here).
    return ProjectionSet(prefix=f"checklists-{DEPARTMENT}", projections=(DEPARTMENTS, STAFF_DIRECTORY))


def _projections(service: str) -> ProjectionSet:
    if service == "reporting":
        from services.reporting.read_models import PROJECTIONS as reporting

        return reporting
    if service == "inspections":
        from services.inspections.projections import PROJECTIONS as inspections

        return inspections
    return _checklists_instance()


SERVICES = ("reporting", "inspections", "checklists")
CONSUMERS = (("reporting", "registry"), ("inspections", "registry"), ("checklists", "registry"),
             ("reporting", "checklists"), ("inspections", "checklists"), ("reporting", "inspections"))
"""Every durable consumer measured: (consuming service, source stream). A checklists instance's
replica of the other instances' events is not among them (it needs an instance's event store)."""


def _children_cpu() -> float:
    """CPU seconds of this process's ended children (a signature verifier once stopped)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _create_schema(database_url: str, projections: ProjectionSet) -> None:
    """The checkpoint tables and every table the projections write (as the service's migrations would)."""
    schema: list[MetaData] = [core_metadata]
    for projection in projections.projections:
        for table in projection.tables:
            if table.metadata not in schema:
                schema.append(table.metadata)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            for metadata in schema:
                await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()


async def _catch_up(service: str, database_url: str, nats_url: str, namespace: str, keys: Keys,
                    source: str = "registry") -> Measured:
    projections = _projections(service)
    await _create_schema(database_url, projections)
    import nats

    from shared.messaging.connection import nats_servers
    from shared.messaging.subjects import stream_name

    nc = await nats.connect(servers=nats_servers(nats_url))
    try:
        end = await stream_last_sequence(nc, stream_name(namespace, source))
    finally:
        await nc.close()
    engine = create_engine(database_url)
    consumers = [c for c in projection_consumers(engine, projections, nats_url=nats_url, namespace=namespace)
                 if c.stream == stream_name(namespace, source)]
    gc_tuning.settle()  # as ServiceRuntime.start does
    loop = asyncio.get_running_loop()
    started, cpu, helper = loop.time(), time.process_time(), _children_cpu()
    try:
        for consumer in consumers:
            consumer.trust(keys.keyring())
            await consumer.start()
        while any(c.position < end for c in consumers):
            if loop.time() - started > 3600:
                raise TimeoutError(f"{service} caught up to {[c.position for c in consumers]} of {end} in an hour")
            await asyncio.sleep(0.05)  # polling a counter; the consumers work meanwhile
        seconds, cpu = loop.time() - started, time.process_time() - cpu
    finally:
        for consumer in consumers:
            await consumer.stop()
        await engine.dispose()
    return Measured(seconds, cpu, _peak_rss_mb(), f"{len(consumers)} consumer(s), {len(projections.projections)} "
                                                  "projections", helper_cpu=_children_cpu() - helper)


async def _rebuild(database_url: str, nats_url: str, namespace: str, keys: Keys) -> Measured:
    from services.reporting.projections.coverage import COVERAGE
    from services.reporting.read_models import PROJECTIONS
    from shared.rebuild import rebuild

    engine = create_engine(database_url)
    loop = asyncio.get_running_loop()
    try:
        started, cpu, helper = loop.time(), time.process_time(), _children_cpu()
        report = await rebuild(engine, COVERAGE, prefix=PROJECTIONS.prefix, nats_url=nats_url, namespace=namespace,
                               keyring=keys.keyring())
        seconds, cpu = loop.time() - started, time.process_time() - cpu
    finally:
        await engine.dispose()
    if not report.replaced:
        raise RuntimeError(f"the rebuild did not replace the model: {report}")
    return Measured(seconds, cpu, _peak_rss_mb(), f"{report.events:,} events applied, rows {report.rows}",
                    helper_cpu=_children_cpu() - helper)


async def _raw(nats_url: str, namespace: str, source: str = "registry") -> Measured:
    seconds, cpu, count = await raw_read(nats_url, namespace, source)
    return Measured(seconds, cpu, _peak_rss_mb(), messages=count)


def _child(what: str, *args: Any) -> Measured:
    """Run one measurement in this (fresh) process."""
    from shared.observability import configure_logging

    configure_logging("WARNING", json=False)
    runs: dict[str, Callable[..., Any]] = {"catch_up": _catch_up, "rebuild": _rebuild, "raw": _raw}
    result: Measured = asyncio.run(runs[what](*args))
    return result


def in_child(what: str, *args: Any) -> Measured:
    """One measurement in a fresh spawned process (its own peak RSS)."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                             initializer=end_on_interrupt) as pool:
        return pool.submit(_child, what, *args).result()


def publish(env: Environment, persons: int) -> tuple[str, Keys, int]:
    """A new namespace whose registry stream holds ``persons`` persons' signed events; its keys; the count."""
    namespace, keys = env.unique("scale"), Keys.generate()
    say(f"[{NAME}] publishing {persons:,} persons' events (about {persons * 5:,}) into {namespace}")
    started = time.monotonic()
    count = asyncio.run(publish_province(env.nats.url, namespace, keys, persons))
    say(f"[{NAME}] {count:,} messages published in {time.monotonic() - started:.0f} s")
    return namespace, keys, count


def populated_reporting(env: Environment, backend: str, persons: int) -> str:
    """A reporting database (its URL) caught up on ``persons`` persons' registry events.

    For benchmarks that query reporting at scale: the database lives as long as ``env``.
    """
    namespace, keys, _count = publish(env, persons)
    url = env.database_url(backend, "srep")
    in_child("catch_up", "reporting", url, env.nats.url, namespace, keys)
    return url


@dataclass(frozen=True)
class Row:
    """One line of the printed per-consumer table."""

    what: str
    rate: float
    cpu_us: float
    peak_rss_mb: float
    load: str
    helper_us: float = 0.0
    """CPU per message of its helper process (signatures verified on the other core), not in ``cpu_us``."""

    @property
    def cpu(self) -> str:
        """CPU per message, the helper's apart."""
        return f"{self.cpu_us:.0f} µs" + (f" + {self.helper_us:.0f} µs helper" if self.helper_us else "")


def summary(backend: str, rows: Sequence[tuple[Row, Row]]) -> list[str]:
    """The per-consumer table (markdown): messages/s, the ratio to its stream's raw read, CPU per
    message, peak RSS and the load average at its end."""
    lines = [f"{backend}: what | msg/s | ratio to raw | CPU per message | peak RSS | load",
             "--- | ---: | ---: | ---: | ---: | ---:"]
    for row, raw in rows:
        lines.append(f"{row.what} | {row.rate:,.0f} | {row.rate / raw.rate:.2f} | {row.cpu} | "
                     f"{row.peak_rss_mb:.0f} MB | {row.load}")
    return lines


def run(env: Environment, backends: Sequence[str], persons: int) -> list[Figure]:
    """The scale benchmark on each backend (one set of streams for all): one row per consumer."""
    namespace, keys, _messages = publish(env, persons)
    raws: dict[str, Measured] = {}
    raw_rows: dict[str, Row] = {}
    for source in dict.fromkeys(source for _service, source in CONSUMERS):
        raws[source] = raw = in_child("raw", env.nats.url, namespace, source)
        raw_rows[source] = Row(f"raw ordered read of the {source} stream ({raw.messages:,} msgs)",
                               raw.messages / raw.seconds, raw.cpu / raw.messages * 1e6, raw.peak_rss_mb,
                               load_average())
        say(f"[{NAME}] raw read of {source}: {raw_rows[source].rate:,.0f} msg/s "
            f"({raw_rows[source].cpu_us:.1f} µs CPU each)")
    figures: list[Figure] = []
    for backend in backends:
        reporting_url = ""
        rows: list[tuple[Row, Row]] = []  # (measured, its stream's raw read)
        for service, source in CONSUMERS:
            url = env.database_url(backend, f"{service[:4]}{source[:4]}")
            if (service, source) == ("reporting", "registry"):
                reporting_url = url
            messages = raws[source].messages
            result = in_child("catch_up", service, url, env.nats.url, namespace, keys, source)
            row = Row(f"{_projections(service).prefix}-from-{source} catch-up ({result.detail})",
                      messages / result.seconds, result.cpu / messages * 1e6, result.peak_rss_mb, load_average(),
                      result.helper_cpu / messages * 1e6)
            rows.append((row, raw_rows[source]))
            say(f"[{NAME}] {backend} {row.what}: {row.rate:,.0f} msg/s, {row.cpu} CPU each, "
                f"peak RSS {row.peak_rss_mb:.0f} MB, load {row.load}")
        result = in_child("rebuild", reporting_url, env.nats.url, namespace, keys)
        messages = raws["registry"].messages
        say(f"[{NAME}] {backend} coverage rebuild: {result.detail}")
        applied = result.detail.split(", rows")[0]  # the rows per table are too wide for the table
        rows.append((Row(f"coverage rebuild, signatures checked ({applied})", messages / result.seconds,
                         result.cpu / messages * 1e6, result.peak_rss_mb, load_average(),
                         result.helper_cpu / messages * 1e6), raw_rows["registry"]))
        say(f"[{NAME}] {backend} {rows[-1][0].what}: {rows[-1][0].rate:,.0f} msg/s, "
            f"peak RSS {rows[-1][0].peak_rss_mb:.0f} MB")
        for line in summary(backend, [*((r, r) for r in raw_rows.values()), *rows]):
            say(line)
        figures += [
            Figure(NAME, backend, f"{row.what}, msg/s", row.rate, "/s", reference=raw.rate, aim=f"ratio >= {AIM}",
                   met=row.rate / raw.rate >= AIM,
                   note=f"CPU {row.cpu}/msg (raw {raw.cpu_us:.0f}); peak RSS {row.peak_rss_mb:.0f} MB; "
                        f"load {row.load}")
            for row, raw in rows
        ]
    return figures
