"""A three-node JetStream cluster on loopback: services given every node in QD_NATS_URL publish and consume.

The production deployment (docker-compose.yml) runs such a cluster with R3 streams; this starts one
from the nats-server wheel, each node configured by deploy/nats/qingdan.conf as in the deployment,
and runs registry → reporting through it, including the loss of the node leading the registry's
stream. test_cluster_failover_e2e.py does the same with every service, under load.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import httpx
import nats
import pytest

from services.stack.demo.pengshan import TOWNSHIPS, person_body, seed_organisation
from shared.auth import Role
from shared.messaging.connection import nats_servers
from shared.messaging.subjects import stream_name
from shared.testing.servers import NatsCluster, NatsServerProcess, wait_until
from shared.testing.stack import Stack, expect

pytestmark = [pytest.mark.e2e, pytest.mark.cluster]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three clustered nats-servers for this test alone."""
    with NatsCluster(tmp_path / "cluster") as running:
        yield running


async def _stream_replicas(url: str, stream: str) -> tuple[int, str, int]:
    """(configured replicas, leader's server name, replicas current with the leader)."""
    nc = await nats.connect(servers=nats_servers(url))
    try:
        info = await nc.jetstream().stream_info(stream)
        assert info.cluster is not None and info.config.num_replicas is not None
        current = sum(1 for peer in info.cluster.replicas or [] if peer.current)
        return info.config.num_replicas, str(info.cluster.leader), current
    finally:
        await nc.close()


async def test_services_publish_and_consume_through_a_three_node_cluster(
    stack_factory: Callable[[NatsServerProcess | NatsCluster], Stack], cluster: NatsCluster
) -> None:
    stack = stack_factory(cluster)  # every node knows the services' users
    env = {"QD_STREAM_REPLICAS": "3"}
    stack.add("registry", env=env)
    stack.add("reporting", env=env)
    stack.start()
    admin = stack.token("admin", Role.FEDERATION_ADMIN)
    registry, reporting = stack.client("registry", admin), stack.client("reporting", admin)
    villages = seed_organisation(registry, villages_per_township=1, townships=TOWNSHIPS[:1])
    rng = random.Random(15)
    expect(registry.post("/persons", json=person_body(rng, villages[0], 0)), 201)
    await _wait(stack, lambda: _registered(reporting) == 1, "reporting to count a registration through the cluster")
    replicas, leader, current = await _stream_replicas(cluster.url, stream_name(stack.namespace, "registry"))
    assert replicas == 3 and current == 2, (replicas, current)

    # The node leading the registry's stream dies: the others elect a leader and both services go on.
    next(n for n in cluster.nodes if n.server_name == leader).kill()
    expect(registry.post("/persons", json=person_body(rng, villages[0], 1)), 201)  # commands never wait for NATS
    await _wait(stack, lambda: _registered(reporting) == 2, "the registration made after the leader died")

    def published_and_healthy() -> bool:
        health = registry.get("/health").json()
        return health["status"] == "ok" and health["outbox_backlog"] == 0

    await _wait(stack, published_and_healthy, "the registry healthy with its outbox empty")
    _, new_leader, _ = await _stream_replicas(cluster.url, stream_name(stack.namespace, "registry"))
    assert new_leader != leader


def _registered(reporting: httpx.Client) -> int:
    response = reporting.get("/coverage", params={"year": date.today().year})
    return int(response.json()["all"]["registered"]) if response.status_code == 200 else -1


async def _wait(stack: Stack, predicate: Callable[[], bool], message: str) -> None:
    try:
        await wait_until(predicate, timeout=45, message=message)
    except AssertionError:
        print(stack.logs())
        raise
