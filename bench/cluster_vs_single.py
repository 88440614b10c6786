"""One nats-server against the three-node cluster, in the same run: commands/s, command → read-model
latency, and what a kill -9 of the stream's leader costs.

``.venv/bin/python -m bench.cluster_vs_single [--rate 50] [--seconds 10] [--burst 1000] [--clients 16]``

For each topology (a single server; three nodes from deploy/nats/qingdan.conf with R3 streams) a
registry and a reporting process run on fresh PostgreSQL databases. Measured:

- *commands/s*: ``--burst`` registrations with ``--clients`` in flight (201s per second), and the
  seconds until reporting has committed the last of them;
- *command → read model*: ``--seconds`` of one registration every 1/``--rate`` s, latency from the
  request to reporting's commit of it (its consumer's ack, as in ``bench_latency``), p50/p99;
- *cluster only*, the kill: the same steady load, kill -9 of the node leading the registry's
  stream, then the seconds from the kill to the next accepted command (HTTP 201), to the next
  event published (JetStream acknowledged it: it reached our subscriber) and to the next visible
  in reporting, observed from a connection to a node that is not killed.

Light on purpose (the machine is shared): it compares the two topologies, not the limits.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nats
from nats.js.api import DeliverPolicy

from bench.bench_latency import Observer, _register, _steady, _sync, _wait_visible
from bench.harness import percentile, say
from bench.http_client import Connections
from bench.workload import registration_bodies
from services.reporting.projections.coverage import COVERAGE
from services.reporting.read_models import PROJECTIONS
from services.stack.demo.pengshan import seed_organisation
from shared.auth import Role
from shared.messaging.connection import nats_servers
from shared.messaging.feeds import source_consumer
from shared.messaging.subjects import stream_name
from shared.testing.jetstream import stream_replication
from shared.testing.servers import NatsCluster, NatsServerProcess, PostgresAdmin
from shared.testing.stack import PostgresDatabases, Stack


async def _observe(stack: Stack, url: str) -> tuple[Observer, Any]:
    observer = Observer(stream_name(stack.namespace, "registry"),
                        source_consumer(PROJECTIONS.prefix, COVERAGE.source_service))
    nc = await nats.connect(servers=nats_servers(url), max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    await nc.subscribe("$JS.ACK.>", cb=_sync(observer.on_ack))
    await nc.jetstream().subscribe(f"{stack.namespace}.registry.*.person.registered", ordered_consumer=True,
                                   cb=_sync(observer.on_registered), deliver_policy=DeliverPolicy.ALL)
    return observer, nc


async def _burst(client: Connections, bodies: Sequence[dict[str, Any]], clients: int) -> list[Any]:
    queue = list(bodies)
    sent: list[Any] = []

    async def worker() -> None:
        while queue:
            sent.append(await _register(client, queue.pop()))

    await asyncio.gather(*(worker() for _ in range(clients)))
    return sent


async def measure(stack: Stack, url: str, villages: Sequence[str], args: argparse.Namespace,
                  cluster: NatsCluster | None) -> dict[str, float]:
    """The figures of one topology (the kill only on a cluster)."""
    token = stack.token("bench", Role.FEDERATION_ADMIN)
    client = Connections(stack.services["registry"].url, token)
    steady = int(args.rate * args.seconds)
    bodies = registration_bodies(31, villages, 50 + args.burst + 2 * steady)
    observer, nc = await _observe(stack, url)
    out: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    try:
        warm, _ = await _steady(client, bodies[:50], 50.0)
        await _wait_visible(observer, warm)
        started = loop.time()
        burst = await _burst(client, bodies[50:50 + args.burst], args.clients)
        accepted = loop.time() - started
        await _wait_visible(observer, burst, limit=120)
        out["commands/s"] = len(burst) / accepted
        out["burst visible after (s)"] = max(observer.visible_at(s.person_id) or 0 for s in burst) - started
        rest = bodies[50 + args.burst:]
        sent, _ = await _steady(client, rest[:steady], args.rate)
        await _wait_visible(observer, sent, limit=120)
        latencies = [(observer.visible_at(s.person_id) or float("nan")) - s.sent for s in sent]
        out["latency p50 (ms)"] = percentile(latencies, 50) * 1000
        out["latency p99 (ms)"] = percentile(latencies, 99) * 1000
        if cluster is not None:
            out.update(await _kill_leader(stack, cluster, client, rest[steady:], args.rate))
    finally:
        client.close()
        await nc.close()
    return out


async def _kill_leader(stack: Stack, cluster: NatsCluster, client: Connections,
                       bodies: Sequence[dict[str, Any]], rate: float) -> dict[str, float]:
    leader = (await stream_replication(cluster.url, stream_name(stack.namespace, "registry"))).leader
    # Observed from a node that survives: an observer on the killed node would time its own reconnection.
    survivor = next(node for node in cluster.nodes if node.server_name != leader)
    observer, nc = await _observe(stack, survivor.url)
    try:
        return await _kill_under_load(cluster, leader, client, observer, bodies, rate)
    finally:
        await nc.close()


async def _kill_under_load(cluster: NatsCluster, leader: str, client: Connections, observer: Observer,
                           bodies: Sequence[dict[str, Any]], rate: float) -> dict[str, float]:
    load = asyncio.create_task(_steady(client, bodies, rate))
    await asyncio.sleep(len(bodies) / rate / 4)  # a quarter into the load
    killed = asyncio.get_running_loop().time()
    cluster.node_named(leader).kill()
    say(f"killed {leader}")
    sent, _ = await load
    await _wait_visible(observer, sent, limit=120)
    after = [s for s in sent if s.sent >= killed]
    published = [observer.registered[s.person_id][1] for s in after]
    visible = [observer.visible_at(s.person_id) or float("nan") for s in after]
    return {
        "kill → next accepted command (s)": min(s.answered for s in after) - killed,
        "kill → next event published (s)": min(published) - killed,
        "kill → next event visible (s)": min(visible) - killed,
    }


async def topology(name: str, root: Path, admin: PostgresAdmin, args: argparse.Namespace) -> dict[str, float]:
    """Start ``name`` (single | cluster), the two services on PostgreSQL, and measure."""
    run_id = uuid.uuid4().hex[:6]
    databases = PostgresDatabases(admin.url, run_id=run_id, label=f"bench_{name}")
    nats_: NatsServerProcess | NatsCluster
    nats_ = NatsCluster(root / name) if name == "cluster" else NatsServerProcess(root / name / "data")
    nats_.start()
    stack = Stack(root / f"{name}-stack", nats_, namespace=f"b{run_id}", database_url=databases,
                  extra_env={"QD_STREAM_REPLICAS": "3" if name == "cluster" else "1", "QD_LOG_LEVEL": "WARNING"})
    try:
        stack.add("registry")
        stack.add("reporting")
        stack.start()
        with stack.client("registry", stack.token("bench", Role.FEDERATION_ADMIN)) as registry:
            villages = seed_organisation(registry)
        say(f"{name}: measuring")
        return await measure(stack, nats_.url, villages, args,
                             nats_ if isinstance(nats_, NatsCluster) else None)
    finally:
        stack.stop()
        nats_.stop()
        databases.drop()


def main(argv: Sequence[str]) -> int:
    """Measure both topologies and print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_vs_single", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=50.0, help="steady registrations per second (default 50)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of steady load (default 10)")
    parser.add_argument("--burst", type=int, default=1000, help="registrations in the throughput burst")
    parser.add_argument("--clients", type=int, default=16, help="requests in flight during the burst")
    args = parser.parse_args(argv)
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder, PostgresAdmin.connect() as admin:
        for name in ("single", "cluster"):
            results[name] = asyncio.run(topology(name, Path(folder), admin, args))
    keys = list(dict.fromkeys(k for r in results.values() for k in r))
    print("| figure | single server | three-node cluster (R3) |")
    print("| --- | ---: | ---: |")
    for key in keys:
        cells = [f"{results[n][key]:.2f}" if key in results[n] else "—" for n in ("single", "cluster")]
        print(f"| {key} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
