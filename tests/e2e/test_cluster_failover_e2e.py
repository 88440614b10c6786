"""The production shape on loopback: a three-node JetStream cluster, R3 streams, PostgreSQL for every
service, the four services and a second department's checklists instance, under a steady load of
commands while nodes are killed (SIGKILL) and brought back.

Each node is started from deploy/nats/qingdan.conf, the file the deployment uses. Asserted: every
command that got a 2xx is in the read models exactly once; commands never fail for longer than
the stream's leader election takes (they do not wait for NATS at all: the outbox holds the
events); each killed node catches up (its replica's last sequence equals the leader's).
Run alone with ``pytest -m cluster``.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.messaging.subjects import stream_name
from shared.testing.jetstream import Replication, stream_replication
from shared.testing.servers import NatsCluster, NatsServerProcess, PostgresAdmin, wait_until
from shared.testing.stack import PostgresDatabases, Stack, expect

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]

WAIT = 60.0
"""Seconds any one condition may take on a busy two-core CI machine."""
INTERVAL = 0.05
"""Pause between one round of commands and the next (a steady, light load)."""
MAX_ROUNDS = 3000
"""A bound on the load, whatever happens to the test."""


@dataclass
class Outcome:
    """One command: its kind, when it was sent and answered, its HTTP status (0: no answer), its entity id."""

    kind: str
    sent: float
    done: float
    status: int
    entity: str | None


@dataclass
class Load:
    """Commands sent round after round from a thread until stopped (or ``MAX_ROUNDS``)."""

    commands: dict[str, Callable[[int], httpx.Response]]
    id_field: dict[str, str]
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        """Begin sending."""
        self._thread = threading.Thread(target=self._run, name="cluster-load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop after the round in progress."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=WAIT)

    def accepted(self, kind: str) -> list[str]:
        """The entity ids of the commands of ``kind`` that got a 2xx."""
        return [o.entity for o in self.outcomes if o.kind == kind and 200 <= o.status < 300 and o.entity]

    def longest_failure(self) -> float:
        """Seconds of the longest run of failed commands of one kind (first failure sent → next success sent)."""
        longest = 0.0
        for kind in self.commands:
            failing_since: float | None = None
            for o in (o for o in self.outcomes if o.kind == kind):
                if 200 <= o.status < 300:
                    if failing_since is not None:
                        longest = max(longest, o.sent - failing_since)
                    failing_since = None
                elif failing_since is None:
                    failing_since = o.sent
            if failing_since is not None:
                longest = float("inf")  # failing still when the load stopped
        return longest

    def _run(self) -> None:
        for i in range(MAX_ROUNDS):
            if self._stop.is_set():
                return
            for kind, command in self.commands.items():
                sent = time.monotonic()
                try:
                    response = command(i)
                    status = response.status_code
                    entity = response.json().get(self.id_field[kind]) if response.status_code < 300 else None
                except httpx.HTTPError:
                    status, entity = 0, None
                self.outcomes.append(Outcome(kind, sent, time.monotonic(), status, entity))
            self._stop.wait(INTERVAL)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three clustered nats-servers, configured by deploy/nats/qingdan.conf."""
    with NatsCluster(tmp_path / "cluster") as running:
        yield running


@pytest.fixture
def cluster_stack(tmp_path: Path, cluster: NatsCluster, pg_admin: PostgresAdmin, run_id: str) -> Iterator[Stack]:
    """Every service on the cluster with R3 streams, each on a PostgreSQL database of its own."""
    databases = PostgresDatabases(pg_admin.url, run_id=run_id, label="cluster")
    stack = Stack(tmp_path / "stack", cluster, namespace=f"t{run_id}{uuid.uuid4().hex[:6]}",
                  database_url=databases, extra_env={"QD_STREAM_REPLICAS": "3"})
    try:
        yield stack
    finally:
        stack.stop()
        databases.drop()


async def test_commands_survive_losing_the_stream_leader_and_a_consumers_node(
    cluster: NatsCluster, cluster_stack: Stack
) -> None:
    stack = cluster_stack
    stack.add("registry")
    stack.add("checklists", env={"QD_DEPARTMENT": "federation"})
    stack.add("checklists", instance="checklists-health", env={"QD_DEPARTMENT": "health"})
    stack.add("inspections")
    stack.add("reporting")
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    officer = stack.token("health-officer", Role.DEPARTMENT_OFFICER, department="health")
    registry, health = stack.client("registry", admin), stack.client("checklists-health", officer)
    reporting = stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=2, townships=TOWNSHIPS[:1])
    streams = [stream_name(stack.namespace, s) for s in ("registry", "checklists")]

    rng = random.Random(10)
    load = Load(
        commands={
            "registration": lambda i: registry.post("/persons", json=person_body(rng, villages[i % 2], i)),
            "highlight": lambda i: health.post("/highlights", json={
                "title": f"亮点 {i}", "description": "集群测试(演示)", "evidence": ["https://example.org/e.pdf"]}),
        },
        id_field={"registration": "person_id", "highlight": "highlight_id"},
    )
    load.start()
    try:
        await _wait(stack, lambda: len(load.accepted("highlight")) >= 5, "the load to get going")
        registry_stream = streams[0]
        before = await _replication(cluster, registry_stream)
        assert before is not None and before.replicas == 3, before
        elections = {"stream leader": await _kill_and_return(stack, cluster, before.leader, registry_stream)}

        consumer_nodes = cluster.hosting("qingdan-reporting")
        assert consumer_nodes, "no node has a connection of reporting's consumers"
        victim = consumer_nodes[0].server_name
        assert victim is not None
        elections["consumer's node"] = await _kill_and_return(stack, cluster, victim, registry_stream)
        so_far = len(load.accepted("registration"))
        await _wait(stack, lambda: len(load.accepted("registration")) > so_far + 3 and _healthy(reporting),
                    "more commands accepted, and reporting healthy with its consumers reconnected")
    finally:
        load.stop()

    longest = load.longest_failure()
    print(f"cluster failover: elections {elections}, longest command failure {longest:.3f} s, "
          f"{len(load.outcomes)} commands")
    assert longest <= max(elections.values()), (longest, elections)

    # Every accepted command in the read models exactly once.
    persons, highlights = load.accepted("registration"), load.accepted("highlight")
    assert len(set(persons)) == len(persons) and len(set(highlights)) == len(highlights)

    def read_models_complete() -> bool:
        coverage = reporting.get("/coverage", params={"year": date.today().year})
        wall = reporting.get("/highlights")
        return (coverage.status_code == 200 and coverage.json()["all"]["registered"] == len(persons)
                and wall.status_code == 200 and {h["highlight_id"] for h in wall.json()} == set(highlights))

    await _wait(stack, read_models_complete, f"{len(persons)} registrations and {len(highlights)} highlights")
    wall = expect(reporting.get("/highlights"), 200)
    assert len(wall) == len(highlights)  # no row twice

    # Every node, the two killed ones included, holds every event of every stream.
    for stream in streams:
        state = await _replication(cluster, stream)
        assert state is not None

        def caught_up(stream: str = stream, state: Replication = state) -> bool:
            return all(cluster.replica_last_seq(node, stream) == state.last_seq for node in cluster.nodes)

        await _wait(stack, caught_up, f"every replica of {stream} at sequence {state.last_seq}")
    for key in stack.services:
        await _wait(stack, lambda key=key: _healthy(stack.client(key, admin)), f"{key} healthy")


async def _kill_and_return(stack: Stack, cluster: NatsCluster, name: str, stream: str) -> float:
    """SIGKILL node ``name``; return once a new leader serves ``stream`` (the seconds that took), the
    node is back, JetStream-healthy and current with every stream it replicates."""
    node = cluster.node_named(name)
    node.kill()
    killed = time.monotonic()
    elected: list[float] = []

    async def new_leader() -> bool:
        state = await _replication(cluster, stream)
        if state is not None and state.leader and state.leader != name:
            elected.append(time.monotonic() - killed)
            return True
        return False

    await _wait(stack, new_leader, f"a leader for {stream} other than {name}")
    node.start()  # same ports, same data folder: it rejoins and catches up
    await _wait(stack, lambda: _node_current(node), f"{name} to catch up (/healthz)")
    return elected[0]


async def _replication(cluster: NatsCluster, stream: str) -> Replication | None:
    """The stream's replication as a client of the running nodes sees it; None during an election."""
    url = ",".join(node.url for node in cluster.nodes if node.running)
    try:
        return await stream_replication(url, stream)
    except Exception:  # no leader answers yet, or the node we asked just went: ask again
        return None


def _node_current(node: NatsServerProcess) -> bool:
    """Whether ``node``'s /healthz says its streams and consumers are current (200, not 503)."""
    return NatsCluster.monitor(node, "/healthz") == {"status": "ok"}


def _healthy(client: httpx.Client) -> bool:
    response = client.get("/health")
    body: dict[str, Any] = response.json() if response.status_code == 200 else {}
    return body.get("status") == "ok"


async def _wait(stack: Stack, predicate: Callable[[], Any], message: str) -> None:
    try:
        await wait_until(predicate, timeout=WAIT, interval=0.05, message=message)
    except AssertionError:
        print(stack.logs())
        raise
