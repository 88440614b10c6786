"""CPU and statements per *lone* registration, in process (not part of ``python -m bench``).

```sh
.venv/bin/python -m bench.lone_commands [--db sqlite|postgres] [--count 1000] [--interval 0.005]
```

The registry's runtime (writer, outbox relay on this run's own nats-server, event store) in this
process, and registrations sent one at a time through the route's own path (``run_buffered``), each
awaited and then ``--interval`` seconds apart, so that every command is its own batch with its own
relay cycle, as at a quiet 200/s. No HTTP, no other process: the CPU (all of this process's
threads, from ``time.process_time``) and the SQL statements per command are those of the write
path and the relay alone, which makes a before/after of a change to them far less noisy on a shared
machine than the HTTP benchmarks. Every event is waited for on JetStream's side (the relay's count)
before the figures are taken.

Trips to the database per command: on SQLite the hand-offs to the driver's thread (every
connection of the process, relay included: aiosqlite's ``Connection._execute`` counted), which is what a statement
costs there (a flush runs several statements in one, unseen by SQLAlchemy's statement count); on
PostgreSQL the statements SQLAlchemy ran plus its ``BEGIN``s (asyncpg's, at the first statement)
and ``COMMIT``/``ROLLBACK``s, plus the statements run on asyncpg directly (``Connection.fetch``:
the relay's read, a lone command's fused flush), each one round trip (asyncpg's prepares of a new
statement not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import time
from functools import partial
from typing import Any

import aiosqlite
import asyncpg
import nats
from sqlalchemy import event

from bench.harness import Environment, load_average, say
from bench.workload import establish_organisation, registration_bodies
from services.registry.adapters.tables import metadata as registry_metadata
from services.registry.application import commands as c
from services.registry.application import persons
from services.registry.bootstrap import SYSTEM, build_deps
from services.registry.settings import RegistrySettings
from shared.messaging.connection import nats_servers
from shared.messaging.credentials import instance_user
from shared.messaging.streams import ensure_service_stream
from shared.runtime import ServiceRuntime

HANDOFFS = [0]
"""Calls run on an aiosqlite connection's thread in this process (each a hand-off there and back),
and statements run on asyncpg directly."""


def _count_calls(owner: Any, name: str) -> None:
    """Count every call of ``owner.name`` (an async method) in :data:`HANDOFFS` (once per process)."""
    original = getattr(owner, name)
    if getattr(original, "counted", False):
        return

    async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        HANDOFFS[0] += 1
        return await original(self, *args, **kwargs)

    counted.counted = True  # type: ignore[attr-defined]
    setattr(owner, name, counted)


def count_handoffs() -> None:
    """Count every aiosqlite hand-off (its ``Connection._execute``) and every statement run on asyncpg
    directly (``Connection.fetch``: the relay's read, a lone command's fused flush)."""
    _count_calls(aiosqlite.Connection, "_execute")
    _count_calls(asyncpg.Connection, "fetch")


async def measure(database_url: str, env: Environment, count: int, interval: float) -> dict[str, float]:
    """CPU ms and SQL statements per lone registration, with the relay publishing each."""
    namespace = env.unique("lone")
    user = instance_user(env.nats.auth, namespace, "registry", {})  # may publish its own subjects only
    env.nats.reload_auth()
    settings = RegistrySettings(database_url=database_url, data_dir=env.root / env.unique("lone"),
                                nats_url=env.nats.plain_url, nats_user=user.name, nats_password=user.password,
                                namespace=namespace,
                                master_key=base64.b64encode(os.urandom(32)).decode())
    count_handoffs()
    runtime = ServiceRuntime.build(settings, schema=(registry_metadata,))
    deps = build_deps(settings, runtime)
    statements = 0
    ends = 0  # BEGIN, COMMIT and ROLLBACK round trips (PostgreSQL)

    def counted(*_: Any) -> None:
        nonlocal statements
        statements += 1

    def ended(*_: Any) -> None:
        nonlocal ends
        ends += 1

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", counted)
    for name in ("begin", "commit", "rollback"):
        event.listen(runtime.engine.sync_engine, name, ended)
    nc = await nats.connect(servers=nats_servers(env.nats.url))  # the operator's step: the stream
    await ensure_service_stream(nc.jetstream(), namespace, "registry")
    await nc.close()
    await runtime.start()
    relay = runtime.relay
    assert relay is not None
    try:
        villages = await establish_organisation(runtime.executor, deps)
        commands = [c.RegisterPerson(**b) for b in registration_bodies(11, villages, 200 + count)]

        async def lone(command: c.RegisterPerson) -> None:
            await runtime.executor.run_buffered(partial(persons.register_person, deps=deps, principal=SYSTEM,
                                                        cmd=command))
            await asyncio.sleep(interval)

        async def published(total: int) -> None:
            while relay.published < total:  # noqa: ASYNC110 - the relay's counter has no event to wait on
                await asyncio.sleep(0.01)

        for command in commands[:200]:  # warm-up
            await lone(command)
        await asyncio.sleep(0.5)
        before, statements, ends, batches = relay.published, 0, 0, runtime.executor.batches
        handoffs = HANDOFFS[0]
        cpu, started = time.process_time(), time.perf_counter()
        for command in commands[200:]:
            await lone(command)
        try:
            await asyncio.wait_for(published(before + count), 30)
        except TimeoutError:
            health = await runtime.health()
            raise RuntimeError(f"published {relay.published - before} of {count}; health {health}") from None
        cpu, seconds = time.process_time() - cpu, time.perf_counter() - started
        direct = HANDOFFS[0] - handoffs  # aiosqlite hand-offs, or asyncpg's direct statements
        trips = direct if runtime.engine.dialect.name == "sqlite" else statements + ends + direct
        return {"cpu_ms": cpu / count * 1000, "statements": statements / count, "trips": trips / count,
                "batches": (runtime.executor.batches - batches) / count, "seconds": seconds}
    finally:
        await runtime.stop()


def main(argv: list[str]) -> int:
    """Print CPU and statements per lone registration on the chosen database."""
    parser = argparse.ArgumentParser(prog="python -m bench.lone_commands")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=0.005)
    args = parser.parse_args(argv)
    env = Environment()
    try:
        env.start()
        say(f"load {load_average()}")
        figures = asyncio.run(measure(env.database_url(args.db, "lone"), env, args.count, args.interval))
        print(f"{args.db}: {args.count} lone registrations, {figures['cpu_ms']:.3f} ms CPU each (this process, "
              f"relay included), {figures['statements']:.2f} SQL statements each (through SQLAlchemy), "
              f"{figures['trips']:.2f} {'driver hand-offs' if args.db == 'sqlite' else 'round trips'} each, "
              f"{figures['batches']:.2f} batches each; load {load_average()}")
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
