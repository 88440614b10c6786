"""The dashboards benchmark on a database that is kept between runs (filling 1,000,000 persons takes
6–14 minutes; measuring, seconds).

```sh
.venv/bin/python -m bench.dashboards_kept fill URL --persons 1000000   # a new, empty database
.venv/bin/python -m bench.dashboards_kept measure URL [--requests 50]  # as often as wanted
```

``URL`` is a SQLAlchemy URL (``sqlite+aiosqlite:////tmp/dash.db``,
``postgresql+asyncpg://postgres@127.0.0.1:5432/dash``; create the PostgreSQL database first).
``fill`` creates reporting's schema by its migrations and writes the rows `bench_dashboards.fill`
writes; ``measure`` times every route exactly as ``python -m bench --only dashboards`` does
(``bench_dashboards._measure``: in-process app, view cache off, 50 requests a route), with its own
nats-server in a temporary folder. It migrates the database to the code's schema first, so a
database filled by older code is measured with today's indexes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_dashboards import _measure, fill
from bench.harness import percentile
from shared.db import create_engine
from shared.natsserver import NatsServerProcess


async def _fill(url: str, persons: int) -> dict[str, int]:
    engine = create_engine(url)
    try:
        return await fill(engine, persons)
    finally:
        await engine.dispose()


def main(argv: list[str]) -> int:
    """Fill a database for the dashboards, or measure the dashboards on one filled before."""
    parser = argparse.ArgumentParser(prog="python -m bench.dashboards_kept")
    parser.add_argument("action", choices=("fill", "measure"))
    parser.add_argument("url", help="the database's SQLAlchemy URL")
    parser.add_argument("--persons", type=int, default=100_000, help="fill: persons to write (default 100,000)")
    parser.add_argument("--requests", type=int, default=50, help="measure: requests per route (default 50)")
    args = parser.parse_args(argv)
    if args.action == "fill":
        started = time.monotonic()
        rows = asyncio.run(_fill(args.url, args.persons))
        print(f"{sum(rows.values()):,} rows in {time.monotonic() - started:,.0f} s: {rows}")
        return 0
    load = Path("/proc/loadavg").read_text().split()[:3]
    with tempfile.TemporaryDirectory(prefix="qd-dash-") as folder, NatsServerProcess(Path(folder) / "nats") as nats:
        results = asyncio.run(_measure(args.url, nats.url, args.requests))
    print(f"load average before: {' '.join(load)}, after: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")
    print("| route | p50 ms | p99 ms | CPU ms a request (this process) |")
    print("| --- | ---: | ---: | ---: |")
    for label, walls, cpu in results:
        print(f"| {label} | {percentile(walls, 50):.1f} | {percentile(walls, 99):.1f} | {cpu:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
