"""CPU and SQL statements per *lone* live event in reporting (not part of ``python -m bench``).

```sh
.venv/bin/python -m bench.lone_events [--db sqlite|postgres] [--persons 200] [--statements]
```

Reporting's consumer of the registry stream (every reporting projection that reads the registry) runs
in this process over this run's own nats-server and a fresh database. Signed registry events (the
organisation, then 5 per person: registered, visited, plan drawn, item added, item delivered, as
``bench/scale_workload.py`` makes them) are published one at a time, each waited for until the
consumer has committed it, so that every event is a batch of its own, as in quiet hours. The first
fifth of the persons warm up; the figures are over the rest: CPU of this process (all its threads,
``time.process_time``, publishing included: about a tenth of a millisecond), SQL statements through
SQLAlchemy per event and, on SQLite, hand-offs to the driver's thread per event (writes held for
the commit's hand-off run without SQLAlchemy, so the hand-offs are the trips). ``--statements``
lists the statements of the last person's events, with how often each ran.
On PostgreSQL the server's own CPU is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from typing import Any

import nats
from sqlalchemy import event

from bench.bench_scale import _create_schema
from bench.harness import Environment, load_average, say
from bench.lone_commands import HANDOFFS, count_handoffs
from bench.scale_workload import Keys, Message, organisation_messages, person_messages
from services.reporting.read_models import PROJECTIONS
from shared import gc_tuning
from shared.db import create_engine
from shared.envelope import Envelope
from shared.messaging.connection import nats_servers
from shared.messaging.feeds import projection_consumers
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import stream_name


async def measure(database_url: str, nats_url: str, namespace: str, persons: int,
                  list_statements: bool) -> dict[str, Any]:
    """CPU ms and statements per lone event applied by reporting's registry consumer."""
    count_handoffs()
    keys = Keys.generate()
    organisation, villages = organisation_messages(keys, namespace)
    people = person_messages((keys, namespace, villages, 11, 0, persons))
    await _create_schema(database_url, PROJECTIONS)
    nc = await nats.connect(servers=nats_servers(nats_url))
    js = nc.jetstream()
    await ensure_service_stream(js, namespace, "registry")
    engine = create_engine(database_url)
    applied = asyncio.Event()

    def after_commit(_envelopes: list[Envelope]) -> None:
        applied.set()

    consumers = [c for c in projection_consumers(engine, PROJECTIONS, nats_url=nats_url, namespace=namespace,
                                                 after_commit=after_commit)
                 if c.stream == stream_name(namespace, "registry")]
    (consumer,) = consumers
    consumer.trust(keys.keyring())
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_: statements.append(sql))
    gc_tuning.settle()

    async def lone(message: Message) -> None:
        subject, body, event_id = message
        applied.clear()
        ack = await js.publish(subject, body, headers={"Nats-Msg-Id": event_id})
        while consumer.position < ack.seq:
            await asyncio.wait_for(applied.wait(), 30)
            applied.clear()

    try:
        await consumer.start()
        for message in organisation:
            await lone(message)
        warm = len(people) // 5
        for message in people[:warm]:
            await lone(message)
        measured = people[warm:]
        statements.clear()
        handoffs = HANDOFFS[0]
        cpu, started = time.process_time(), time.perf_counter()
        for message in measured[:-5]:
            await lone(message)
        cpu, seconds = time.process_time() - cpu, time.perf_counter() - started
        handoffs = HANDOFFS[0] - handoffs
        count = len(measured) - 5
        total = len(statements)
        statements.clear()
        for message in measured[-5:]:  # the last person's five events, listed on request
            await lone(message)
        last = Counter(statements)
    finally:
        await consumer.stop()
        await engine.dispose()
        await nc.close()
    return {"count": count, "cpu_ms": cpu / count * 1000, "statements": total / count, "seconds": seconds,
            "handoffs": handoffs / count,
            "last": last if list_statements else None}


def main(argv: list[str]) -> int:
    """Print CPU and statements per lone event on the chosen database."""
    parser = argparse.ArgumentParser(prog="python -m bench.lone_events")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--persons", type=int, default=200)
    parser.add_argument("--statements", action="store_true", help="list the last person's statements")
    args = parser.parse_args(argv)
    env = Environment()
    try:
        env.start()
        say(f"load {load_average()}")
        figures = asyncio.run(measure(env.database_url(args.db, "lone"), env.nats.url, env.unique("lone"),
                                      args.persons, args.statements))
        print(f"{args.db}: {figures['count']} lone events, {figures['cpu_ms']:.3f} ms CPU each (this process), "
              f"{figures['statements']:.2f} SQL statements through SQLAlchemy each"
              + (f", {figures['handoffs']:.2f} driver hand-offs each" if args.db == "sqlite" else "")
              + f"; load {load_average()}")
        if figures["last"] is not None:
            print("statements of the last person's 5 events:")
            for sql, times in figures["last"].most_common():
                print(f"  {times} × {' '.join(sql.split())[:200]}")
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
