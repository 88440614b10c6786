"""1. Commands per second: registering persons over HTTP against the real registry process.

The registry runs as its own process (``python -m services.registry serve``) on SQLite or
PostgreSQL, its relay publishing to this run's NATS. After seeding the district, townships and
villages over HTTP, ``clients`` requests are kept in flight; every request registers a different
person (valid certificate numbers, unique resident IDs, seeded). A latency is one request's
round trip, group commit included. Every answer must be 201.

Two clients drive the same load: ``bench/http_client.py`` (stdlib asyncio, a few tens of µs per
request: the headline figure) and ``httpx.AsyncClient`` (one per worker, one connection each),
whose own cost caps it near the echo route's rate. References in the same run:
- *echo route*: each client against a route that authenticates and validates the same body,
  then answers without a database (``bench/echo_service.py``) — the ceiling of HTTP + FastAPI +
  auth on this machine;
- *in-process*: the same registrations through the registry's use case and executor, without
  HTTP, on a fresh database of the same kind — the ceiling of the command path itself;
- *CPU per command*: the server process's CPU time (``/proc/<pid>/stat``) over the timed run,
  divided by the commands: what a command costs, whatever else shares the cores.

With ``--processes P`` (PostgreSQL only), the same registrations also go to 1 and then P registry
processes sharing one database (a new database each), the stdlib client's connections spread
evenly across them: rate, and CPU per registration summed over the processes. Each run then checks
what several processes must keep true: the same resident ID sent to two processes at once is
registered once (the other answer 409); once the leading relay's backlog is empty, every committed
event is on JetStream exactly once, each person's events in version order.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx

from bench.harness import Environment, Figure, Sizes, percentile, process_cpu, say
from bench.http_client import post_all
from bench.workload import establish_organisation, registration_bodies
from services.registry.adapters.tables import metadata as registry_metadata
from services.registry.application import commands as c
from services.registry.application import persons
from services.registry.bootstrap import SYSTEM, build_deps
from services.registry.settings import RegistrySettings
from services.stack.demo.pengshan import seed_organisation
from shared.auth import Principal, Role, TokenService
from shared.messaging.subjects import stream_name
from shared.runtime import ServiceRuntime
from shared.testing.jetstream import stream_envelopes
from shared.testing.processes import ServiceProcess
from shared.testing.servers import free_port
from shared.testing.stack import TEST_SECRET

NAME = "commands"
AIM = 2_000.0


@dataclass(frozen=True)
class Run:
    """One timed burst of requests, and the server's CPU time during it."""

    count: int
    seconds: float
    latencies: list[float]
    server_cpu: float

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.count / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per request."""
        return self.server_cpu / self.count * 1000


async def _httpx_post_all(url: str, token: str, bodies: Sequence[dict[str, Any]],
                          clients: int) -> tuple[float, list[float], list[str]]:
    # One client per worker: a single client's pool of 48 connections costs more than it carries.
    pending = iter(bodies)
    latencies: list[float] = []
    failures: list[str] = []

    async def worker() -> None:
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60.0,
                                     trust_env=False, limits=httpx.Limits(max_connections=1)) as client:
            for body in pending:
                started = time.perf_counter()
                response = await client.post("/persons", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    failures.append(f"{response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    return time.perf_counter() - started, latencies, failures


def drive(process: ServiceProcess, token: str, bodies: Sequence[dict[str, Any]], clients: int,
          *, use_httpx: bool = False) -> Run:
    """POST every body to the process's /persons with ``clients`` in flight; every answer must be 201."""
    cpu_before = process_cpu(process)
    if use_httpx:
        seconds, latencies, failures = asyncio.run(_httpx_post_all(process.url, token, bodies, clients))
    else:
        address = urlsplit(process.url)
        seconds, latencies, failures = asyncio.run(
            post_all(address.hostname or "127.0.0.1", address.port or 80, "/persons", token, bodies, clients))
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(bodies)} registrations failed, e.g. {failures[0]}")
    return Run(len(bodies), seconds, latencies, process_cpu(process) - cpu_before)


def admin_token() -> str:
    """A federation admin's token under the secret every benchmark process uses."""
    principal = Principal(staff_id="bench", department="federation", roles=frozenset({Role.FEDERATION_ADMIN}))
    return TokenService(TEST_SECRET).issue(principal)


def _runs(process: ServiceProcess, token: str, bodies: Sequence[dict[str, Any]], sizes: Sizes) -> tuple[Run, Run]:
    """Warm up, then the timed runs with each client (different bodies: each registers new persons)."""
    warm, n = sizes.warmup, sizes.commands
    drive(process, token, bodies[:warm], sizes.clients)
    main = drive(process, token, bodies[warm:warm + n], sizes.clients)
    with_httpx = drive(process, token, bodies[warm + n:warm + n + n // 2], sizes.clients, use_httpx=True)
    return main, with_httpx


def _bodies_needed(sizes: Sizes) -> int:
    return sizes.warmup + sizes.commands + sizes.commands // 2


def echo_runs(env: Environment, sizes: Sizes) -> tuple[Run, Run]:
    """Both clients against the echo route (no database)."""
    process = ServiceProcess("echo", port=free_port(), env={}, log_path=env.root / "echo.log",
                             module="bench.echo_service")
    process.start()
    try:
        return _runs(process, admin_token(), registration_bodies(11, ["511403001001"], _bodies_needed(sizes)), sizes)
    finally:
        process.stop()


def registry_runs(env: Environment, backend: str, sizes: Sizes) -> tuple[Run, Run]:
    """Both clients against a real registry process on ``backend``."""
    stack = env.stack(backend, "cmd")
    process = stack.add("registry")
    stack.start()
    try:
        token = admin_token()
        with stack.client("registry", token) as client:
            villages = seed_organisation(client)
        return _runs(process, token, registration_bodies(11, villages, _bodies_needed(sizes)), sizes)
    finally:
        stack.stop()


async def in_process(database_url: str, env: Environment, sizes: Sizes) -> tuple[float, float]:
    """Registrations per second and CPU ms per registration through the use case and executor, no HTTP."""
    settings = RegistrySettings(database_url=database_url, data_dir=env.root / env.unique("inproc"),
                                nats_url="nats://127.0.0.1:1", master_key=base64.b64encode(os.urandom(32)).decode())
    runtime = ServiceRuntime.build(settings, schema=(registry_metadata,), publishes=False)
    deps = build_deps(settings, runtime)
    await runtime.create_schema()
    await runtime.executor.start()
    try:
        villages = await establish_organisation(runtime.executor, deps)
        commands = [c.RegisterPerson(**b) for b in registration_bodies(11, villages, sizes.warmup + sizes.commands)]
        # The route's own way of running the use case: the buffered fast path where the executor has one.
        submit: Any = getattr(runtime.executor, "run_buffered", runtime.executor.run)

        def register(command: c.RegisterPerson) -> Any:
            return submit(partial(persons.register_person, deps=deps, principal=SYSTEM, cmd=command))

        pending = iter(commands)

        async def worker() -> None:
            for command in pending:
                await register(command)

        await asyncio.gather(*(register(next(pending)) for _ in range(sizes.warmup)))
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(sizes.clients)))
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        return sizes.commands / seconds, cpu / sizes.commands * 1000
    finally:
        await runtime.executor.stop()
        await runtime.engine.dispose()


DUPLICATES = 40
"""Resident IDs each sent to two processes at once, in the ``--processes`` runs."""


@dataclass(frozen=True)
class Scaled:
    """A timed run over several registry processes on one database, and what was checked after it."""

    processes: int
    run: Run
    duplicates_refused: int
    events: int
    """Committed events, each found on JetStream exactly once, each stream's in version order."""


def _wait(predicate: Any, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.1)


def _address(process: ServiceProcess) -> tuple[str, int]:
    address = urlsplit(process.url)
    return address.hostname or "127.0.0.1", address.port or 80


async def _spread(targets: Sequence[ServiceProcess], token: str, bodies: Sequence[dict[str, Any]],
                  clients: int) -> tuple[float, list[float], list[str]]:
    """POST the bodies round-robin over the processes, ``clients`` connections in all."""
    per = max(1, clients // len(targets))
    started = time.perf_counter()
    results = await asyncio.gather(*(post_all(*_address(p), "/persons", token, bodies[i::len(targets)], per)
                                     for i, p in enumerate(targets)))
    return (time.perf_counter() - started, [x for _, lat, _ in results for x in lat],
            [f for _, _, failures in results for f in failures])


async def _race_duplicates(targets: Sequence[ServiceProcess], token: str,
                           bodies: Sequence[dict[str, Any]]) -> int:
    """Send each body to two processes at once; each must be registered once: return the 409s."""
    sends = [post_all(*_address(targets[(i + side) % len(targets)]), "/persons", token, [body], 1)
             for i, body in enumerate(bodies) for side in (0, 1)]
    failures = [f for _, _, fs in await asyncio.gather(*sends) for f in fs]
    refused = sum(f.startswith("409 ") for f in failures)
    if refused != len(bodies) or len(failures) != refused:
        raise RuntimeError(f"{len(bodies)} resident IDs sent twice: {refused} refused with 409, expected "
                           f"{len(bodies)}; other failures: {[f for f in failures if not f.startswith('409 ')][:3]}")
    return refused


async def _published_once_in_order(database_url: str, nats_url: str, namespace: str) -> int:
    """Every committed event on JetStream exactly once, each stream's in version order; return how many."""
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        committed = {row["event_id"] for row in await conn.fetch("SELECT event_id FROM events")}
        persons = await conn.fetchval("SELECT count(*) FROM persons")
        residents = await conn.fetchval("SELECT count(DISTINCT resident_index) FROM resident_index")
    finally:
        await conn.close()
    if persons != residents:
        raise RuntimeError(f"{persons} persons but {residents} distinct resident IDs: a duplicate got in")
    published = await stream_envelopes(nats_url, stream_name(namespace, "registry"))
    ids = [envelope["id"] for envelope in published]
    if len(ids) != len(set(ids)) or set(ids) != committed:
        raise RuntimeError(f"{len(committed)} events committed, {len(ids)} published "
                           f"({len(ids) - len(set(ids))} twice, {len(committed - set(ids))} missing)")
    versions: dict[str, list[int]] = {}
    for envelope in published:
        versions.setdefault(envelope["streamid"], []).append(envelope["streamversion"])
    disordered = [s for s, v in versions.items() if v != list(range(1, len(v) + 1))]
    if disordered:
        raise RuntimeError(f"{len(disordered)} streams published out of version order, e.g. {disordered[0]}")
    return len(ids)


def processes_run(env: Environment, sizes: Sizes, processes: int) -> Scaled:
    """Registrations spread over ``processes`` registry processes on one new PostgreSQL database."""
    stack = env.stack("postgres", f"p{processes}")
    database_url = env.database_url("postgres", f"procs{processes}")
    keys = [f"registry-{n}" for n in range(1, processes + 1)]
    targets = [stack.add("registry", instance=key, env={"QD_DATABASE_URL": database_url}) for key in keys]
    stack.start(keys[0])  # alone first: it creates the shared database's tables
    if keys[1:]:
        stack.start(*keys[1:])
    try:
        token = admin_token()
        with stack.client(keys[0], token) as client:
            villages = seed_organisation(client)
        clients = [stack.client(key, token) for key in keys]
        try:
            def roles() -> list[str]:
                return sorted(str(c.get("/health").json().get("relay_role")) for c in clients)
            _wait(lambda: roles().count("leader") == 1, "one relay leading")
            bodies = registration_bodies(11, villages, sizes.warmup + sizes.commands + DUPLICATES)
            asyncio.run(_spread(targets, token, bodies[:sizes.warmup], sizes.clients))
            cpu_before = sum(process_cpu(p) for p in targets)
            seconds, latencies, failures = asyncio.run(
                _spread(targets, token, bodies[sizes.warmup:sizes.warmup + sizes.commands], sizes.clients))
            cpu = sum(process_cpu(p) for p in targets) - cpu_before
            if failures:
                raise RuntimeError(f"{len(failures)} of {sizes.commands} registrations failed, e.g. {failures[0]}")
            refused = asyncio.run(_race_duplicates(targets, token, bodies[sizes.warmup + sizes.commands:]))
            _wait(lambda: sum(c.get("/health").json()["outbox_backlog"] for c in clients) == 0,
                  "the leading relay to publish everything")
        finally:
            for client in clients:
                client.close()
        events = asyncio.run(_published_once_in_order(database_url, env.nats.url, stack.namespace))
        return Scaled(processes, Run(sizes.commands, seconds, latencies, cpu), refused, events)
    finally:
        stack.stop()


def scaling_figures(env: Environment, sizes: Sizes) -> list[Figure]:
    """1 and ``sizes.processes`` registry processes on one PostgreSQL database, the load spread over them."""
    figures: list[Figure] = []
    single: Scaled | None = None
    for processes in (1, sizes.processes):
        say(f"[{NAME}] postgres: {processes} registry process(es) on one database, {sizes.commands:,} "
            f"registrations, {sizes.clients} in flight spread over them")
        scaled = processes_run(env, sizes, processes)
        single = single or scaled
        say(f"[{NAME}] postgres, {processes} process(es): {scaled.run.rate:,.0f}/s ({scaled.run.cpu_ms:.2f} ms CPU "
            f"each, all processes); {scaled.duplicates_refused} duplicates refused; {scaled.events:,} events "
            "published once, in order")
        figures += [
            Figure(NAME, "postgres", f"{processes} registry process(es), one database: registrations/s",
                   scaled.run.rate, "/s", reference=single.run.rate if processes > 1 else None,
                   note="raw = 1 process" if processes > 1 else ""),
            Figure(NAME, "postgres", f"{processes} registry process(es): CPU per registration (all processes)",
                   scaled.run.cpu_ms, "ms", note=f"latency p50 {percentile(scaled.run.latencies, 50) * 1000:.1f} ms, "
                   f"p99 {percentile(scaled.run.latencies, 99) * 1000:.1f} ms"),
            Figure(NAME, "postgres", f"{processes} registry process(es): checks", scaled.events, "events",
                   note=f"each published once, in order; {scaled.duplicates_refused} of {DUPLICATES} resident IDs "
                        "sent to two processes at once refused (409)"),
        ]
    return figures


def run(env: Environment, backends: Sequence[str], sizes: Sizes) -> list[Figure]:
    """Benchmark 1 on each backend."""
    say(f"[{NAME}] echo route (no database): {sizes.commands:,} requests, {sizes.clients} in flight")
    echo, echo_httpx = echo_runs(env, sizes)
    say(f"[{NAME}] echo route: {echo.rate:,.0f}/s ({echo.cpu_ms:.2f} ms CPU each); with httpx {echo_httpx.rate:,.0f}/s")
    figures = [
        Figure(NAME, "-", "echo route: auth + validation, no DB (stdlib client)", echo.rate, "/s",
               note=f"server CPU {echo.cpu_ms:.2f} ms/request"),
        Figure(NAME, "-", "echo route with httpx.AsyncClient", echo_httpx.rate, "/s"),
    ]
    for backend in backends:
        say(f"[{NAME}] {backend}: registry process, {sizes.commands:,} registrations, {sizes.clients} in flight")
        main, with_httpx = registry_runs(env, backend, sizes)
        say(f"[{NAME}] {backend}: {main.rate:,.0f}/s ({main.cpu_ms:.2f} ms CPU each); httpx {with_httpx.rate:,.0f}/s; "
            "now in-process")
        inproc, inproc_cpu = asyncio.run(in_process(env.database_url(backend, "inproc"), env, sizes))
        say(f"[{NAME}] {backend}: {inproc:,.0f}/s in-process ({inproc_cpu:.2f} ms CPU each)")
        figures += [
            Figure(NAME, backend, f"registrations/s over HTTP, {sizes.clients} in flight", main.rate, "/s",
                   reference=echo.rate, aim=f">= {AIM:,.0f}/s", met=main.rate >= AIM, note="raw = echo route"),
            Figure(NAME, backend, "latency p50", percentile(main.latencies, 50) * 1000, "ms"),
            Figure(NAME, backend, "latency p99", percentile(main.latencies, 99) * 1000, "ms"),
            Figure(NAME, backend, "registry CPU per registration", main.cpu_ms, "ms",
                   note=f"one core could do {1000 / main.cpu_ms:,.0f}/s"),
            Figure(NAME, backend, "same with httpx.AsyncClient", with_httpx.rate, "/s", reference=echo_httpx.rate),
            Figure(NAME, backend, "in-process: use case + executor, no HTTP", inproc, "/s",
                   note=f"CPU {inproc_cpu:.2f} ms each, DB driver threads included"),
        ]
    if sizes.processes > 1 and "postgres" in backends:
        figures += scaling_figures(env, sizes)
    return figures
