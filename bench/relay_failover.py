"""How long the outbox relay stops publishing when the node leading its stream dies.

``.venv/bin/python -m bench.relay_failover [runs]``: a three-node cluster from the nats-server
wheel, a service runtime (SQLite, R3 stream) committing one event every 50 ms, and, per run, kill -9
of the node leading the stream. Printed per run: the seconds from the kill until the stream has a
new leader, and until the relay has had an event acknowledged that was committed after the kill.
Light on purpose (20 events/s): it measures the relay's reaction, not throughput.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

import nats

from shared.catalogue.people import OrgUnitEstablished
from shared.eventstore import CommandContext
from shared.messaging.connection import nats_servers
from shared.messaging.subjects import stream_name
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings
from shared.testing.servers import NatsCluster, wait_until

SERVICE = "failover"


async def leader_of(js: nats.js.JetStreamContext, stream: str) -> str | None:
    """The server leading ``stream`` now (None during an election)."""
    try:
        info = await js.stream_info(stream)
    except Exception:  # no answer during the election: no leader known
        return None
    return info.cluster.leader if info.cluster else None


async def measure(root: Path, runs: int) -> list[tuple[float, float]]:
    """(seconds to a new leader, seconds to the first acknowledgement of a new event) per run."""
    results: list[tuple[float, float]] = []
    with NatsCluster(root / "nats") as cluster:
        settings = ServiceSettings(service=SERVICE, database_url=f"sqlite+aiosqlite:///{root / 'db.sqlite'}",
                                   nats_url=cluster.url, namespace="bench", stream_replicas=3, data_dir=root,
                                   auth_secret="x" * 40)
        runtime = ServiceRuntime.build(settings)
        relay = runtime.relay
        assert relay is not None
        committed = 0

        async def commit_forever() -> None:
            nonlocal committed
            while True:
                unit = OrgUnitEstablished(code=f"5114{committed:08d}", name=f"u{committed}", level="village")
                await runtime.executor.run(lambda conn, unit=unit: runtime.store.append(
                    conn, f"orgunit-{unit.code}", [unit], CommandContext(actor="bench", department="federation")))
                committed += 1
                await asyncio.sleep(0.05)  # the load: one event every 50 ms

        await runtime.start()
        writer = asyncio.create_task(commit_forever())
        nc = await nats.connect(servers=nats_servers(cluster.url))
        js, stream = nc.jetstream(timeout=0.5), stream_name("bench", SERVICE)
        try:
            for _ in range(runs):
                await wait_until(lambda: relay.published >= committed, timeout=60, message="relay caught up")
                while await leader_of(js, stream) is None:  # noqa: ASYNC110 - polling the server, no event to wait on
                    await asyncio.sleep(0.05)
                leader = await leader_of(js, stream)
                node = next(n for n in cluster.nodes if n.server_name == leader)
                target = committed + 1
                killed = time.monotonic()
                node.kill()
                elected = acked = None
                while elected is None or acked is None:
                    now = time.monotonic() - killed
                    if acked is None and relay.published >= target:
                        acked = now
                    if elected is None and (await leader_of(js, stream)) not in (None, leader):
                        elected = time.monotonic() - killed
                    await asyncio.sleep(0.01)
                results.append((elected, acked))
                print(f"new leader after {elected:.2f} s, first new event acknowledged after {acked:.2f} s",
                      file=sys.stderr)
                await asyncio.to_thread(node.start)
        finally:
            writer.cancel()
            await nc.close()
            await runtime.stop()
    return results


def main() -> None:
    """Run the measurement ``argv[1]`` times (default 3) and print a line per run."""
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as folder:
        results = asyncio.run(measure(Path(folder), runs))
    for elected, acked in results:
        print(f"| {elected:.2f} s | {acked:.2f} s | {acked - elected:+.2f} s |")


if __name__ == "__main__":
    main()
