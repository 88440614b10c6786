"""Two registry processes on one PostgreSQL database: commands correct in both, one relay at a time.

Always on PostgreSQL (SQLite is one process by design). Commands go to both processes; the one
whose relay holds the lease is killed with SIGKILL; the other's relay takes over and every event
committed by either process reaches JetStream exactly once, each entity's events in order. Two
processes racing on one entity give 409s, never a 500. Two reporting processes share one
database: each durable consumer runs in one of them, both serve reads.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import asyncpg
import httpx
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.messaging.subjects import stream_name
from shared.testing.jetstream import stream_envelopes
from shared.testing.servers import NatsServerProcess, PostgresAdmin, wait_until
from shared.testing.stack import PostgresDatabases, Stack, expect

pytestmark = [pytest.mark.e2e, pytest.mark.processes]

TAKEOVER_LIMIT = 10.0
"""Seconds the standby's relay may take to publish after the leader's process died (lease poll: 1 s)."""


@pytest.fixture
def pg_stack(tmp_path: Path, pg_admin: PostgresAdmin, run_id: str, nats_server: NatsServerProcess) -> Iterator[Stack]:
    """A stack whose services all use PostgreSQL, whatever the run's backend."""
    databases = PostgresDatabases(pg_admin.url, run_id=run_id, label="procs")
    stack = Stack(tmp_path / "stack", nats_server, namespace=f"t{run_id}{uuid.uuid4().hex[:6]}",
                  database_url=databases)
    try:
        yield stack
    finally:
        stack.stop()
        databases.drop()


def _role(client: httpx.Client) -> str:
    response = client.get("/health")
    return str(response.json().get("relay_role")) if response.status_code == 200 else "down"


async def test_two_registry_processes_share_a_database_and_hand_over_the_relay(pg_stack: Stack) -> None:
    stack = pg_stack
    shared_db = stack._database_url("registry")
    stack.add("registry", instance="registry-a", env={"QD_DATABASE_URL": shared_db})
    stack.add("registry", instance="registry-b", env={"QD_DATABASE_URL": shared_db})
    reporting_db = stack._database_url("reporting")
    stack.add("reporting", instance="reporting-a", env={"QD_DATABASE_URL": reporting_db})
    stack.add("reporting", instance="reporting-b", env={"QD_DATABASE_URL": reporting_db})
    # The first of each, alone: it migrates the shared database (operations.md: migrate once).
    stack.start("registry-a", "reporting-a")
    stack.start("registry-b", "reporting-b")
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    clients = {key: stack.client(key, admin) for key in ("registry-a", "registry-b")}
    readers = [stack.client(key, admin) for key in ("reporting-a", "reporting-b")]

    await _wait(stack, lambda: sorted(_role(c) for c in clients.values()) == ["leader", "standby"],
                "one registry relay leading, the other standing by")
    leader = next(k for k, c in clients.items() if _role(c) == "leader")
    standby = next(k for k in clients if k != leader)

    villages = seed_organisation(clients["registry-a"], villages_per_township=2, townships=TOWNSHIPS[:1])
    rng = random.Random(22)
    accepted: list[str] = []
    def register(key: str, i: int) -> None:
        body = person_body(rng, villages[i % 2], i)
        accepted.append(expect(clients[key].post("/persons", json=body), 201)["person_id"])

    for i in range(20):  # both processes write; the leader publishes what either committed
        register(("registry-a", "registry-b")[i % 2], i)

    # Two processes race on one person: each command is 200 or 409 (the unique (stream, version)
    # constraint across processes), never a 500, and the stream holds exactly the accepted ones.
    person = accepted[0]

    def correct(n: int) -> int:
        key = ("registry-a", "registry-b")[n % 2]
        return clients[key].post(f"/persons/{person}/corrections", json={"address": f"门牌 {n} 号"}).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(correct, range(40)))
    assert set(statuses) <= {200, 409}, statuses
    assert statuses[200] >= 1, statuses
    print("racing corrections:", dict(statuses))
    history = expect(clients[standby].get(f"/streams/person-{person}"), 200)
    assert history["chain_intact"], history["problems"]
    assert history["version"] == 1 + statuses[200], (history["version"], statuses)

    # kill -9 the process whose relay leads; commands keep landing on the other; its relay takes over.
    stack.services[leader].kill()
    killed_at = time.monotonic()
    for i in range(20, 30):
        register(standby, i)
    await _wait(stack, lambda: _role(clients[standby]) == "leader", "the standby's relay to take the lease")
    await _wait(stack, lambda: clients[standby].get("/health").json()["outbox_backlog"] == 0,
                "the new leader to publish everything")
    takeover = time.monotonic() - killed_at
    print(f"relay takeover after kill -9: {takeover:.2f} s")
    assert takeover < TAKEOVER_LIMIT, takeover

    # Every committed event on JetStream exactly once; each entity's events in version order.
    async with _connection(stack._database_url("registry")) as conn:
        committed = {row["event_id"] for row in await conn.fetch("SELECT event_id FROM events")}
    published = await stream_envelopes(stack.nats.url, stream_name(stack.namespace, "registry"))
    ids = [envelope["id"] for envelope in published]
    assert len(ids) == len(set(ids)), "an event was published twice"
    assert set(ids) == committed
    versions: dict[str, list[int]] = {}
    for envelope in published:
        versions.setdefault(envelope["streamid"], []).append(envelope["streamversion"])
    assert all(v == list(range(1, len(v) + 1)) for v in versions.values()), versions

    # Two reporting processes on one database: each consumer runs in one of them (its lease), both
    # serve reads, and each accepted registration is counted once.
    def consumer_roles() -> dict[str, list[str]]:
        roles: dict[str, list[str]] = {}
        for reader in readers:
            for consumer in reader.get("/health").json()["consumers"]:
                roles.setdefault(consumer["name"], []).append(consumer["role"])
        return roles

    await _wait(stack, lambda: all(sorted(r) == ["leader", "standby"] for r in consumer_roles().values()),
                "each reporting consumer leading in one process, standing by in the other")

    def registered() -> bool:
        counts = [r.get("/coverage", params={"year": date.today().year}) for r in readers]
        return all(c.status_code == 200 and c.json()["all"]["registered"] == len(accepted) for c in counts)

    await _wait(stack, registered, f"both reporting processes to count {len(accepted)} registrations")
    # A standby is a healthy process: /health is "ok" on every process still running.
    for client in (*readers, clients[standby]):
        await _wait(stack, lambda client=client: client.get("/health").json()["status"] == "ok",
                    f"{client.base_url} healthy")


class _connection:
    """``async with _connection(sqlalchemy_url) as conn``: a plain asyncpg connection to a test database."""

    def __init__(self, url: str) -> None:
        self.dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        self.conn: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self.conn = await asyncpg.connect(self.dsn)
        return self.conn

    async def __aexit__(self, *exc: object) -> None:
        assert self.conn is not None
        await self.conn.close()


async def _wait(stack: Stack, predicate: Callable[[], bool], message: str) -> None:
    try:
        await wait_until(predicate, timeout=30, message=message)
    except AssertionError:
        print(stack.logs())
        raise
