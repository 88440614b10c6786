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
from shared.runtime import ServiceRuntime
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
    return figures
