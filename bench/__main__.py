"""``python -m bench [--quick] [--db sqlite|postgres|both] [--only NAME] [--persons N] [--rows N] [--processes P]``.

Starts its own nats-server (from the wheel, free ports, temporary data folder) and its own
databases (SQLite files in a temporary folder; PostgreSQL databases on 127.0.0.1:5432, dropped
afterwards), and removes everything when done. Progress goes to stderr, the table to stdout.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence

from bench import (
    bench_commands,
    bench_dashboards,
    bench_import,
    bench_latency,
    bench_rebuild,
    bench_relay,
    bench_scale,
)
from bench.harness import FULL, QUICK, CpuMeter, Environment, Figure, Sizes, load_average, machine_lines, table
from bench.workload import Workloads
from shared.interruption import Interruption
from shared.observability import configure_logging

Benchmark = Callable[[Environment, Sequence[str], Sizes, Workloads], list[Figure]]

BENCHMARKS: dict[str, Benchmark] = {
    bench_commands.NAME: lambda env, backends, sizes, _w: bench_commands.run(env, backends, sizes),
    bench_relay.NAME: lambda env, backends, sizes, w: bench_relay.run(env, backends, sizes, w),
    bench_rebuild.NAME: lambda env, backends, sizes, w: bench_rebuild.run(env, backends, sizes, w),
    bench_latency.NAME: lambda env, backends, sizes, _w: bench_latency.run(env, backends, sizes),
    bench_dashboards.NAME: lambda env, backends, sizes, _w: bench_dashboards.run(env, backends, sizes.persons),
    bench_scale.NAME: lambda env, backends, sizes, _w: bench_scale.run(env, backends, sizes.persons),
    bench_import.NAME: lambda env, backends, sizes, _w: bench_import.run(env, backends, sizes.rows),
}
ON_DEMAND = {bench_scale.NAME, bench_import.NAME}
"""Run only when asked for (``--only``, or ``--persons`` alone): they take minutes to hours."""


def main(argv: Sequence[str]) -> int:
    """Parse the arguments, run the chosen benchmarks, print the machine and the table."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run in about a minute")
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both",
                        help="database backend(s) (default: both)")
    parser.add_argument("--only", action="append", choices=tuple(BENCHMARKS), metavar="NAME",
                        help=f"run only this benchmark (repeatable): {', '.join(BENCHMARKS)}")
    parser.add_argument("--persons", type=int, metavar="N",
                        help="registered persons: alone, the scale benchmark with N persons' events (consumers' "
                             "catch-up, rebuild); with --only dashboards, the dashboards' register (default 10,000)")
    parser.add_argument("--rows", type=int, metavar="N",
                        help="with --only import: rows of the imported extract (default 100,000; --quick 2,000)")
    parser.add_argument("--processes", type=int, default=1, metavar="P",
                        help="commands on PostgreSQL: also 1 and P registry processes sharing one database, the "
                             "load spread across them (rate, CPU per registration, duplicates and publication checked)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (service logs)")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    sizes = QUICK if args.quick else FULL
    if args.processes < 1:
        parser.error("--processes must be at least 1")
    sizes = dataclasses.replace(sizes, processes=args.processes)
    if args.persons:
        sizes = dataclasses.replace(sizes, persons=args.persons)
    if args.rows:
        sizes = dataclasses.replace(sizes, rows=args.rows)
    chosen = args.only or ([bench_scale.NAME] if args.persons else [n for n in BENCHMARKS if n not in ON_DEMAND])
    command = "python -m bench " + " ".join(argv)
    configure_logging("WARNING", json=False)  # the library's connection notices would clutter the output
    interruption = Interruption()  # Ctrl-C at any moment: the running benchmark stops, then env.close()
    interruption.install()
    env = Environment(keep=args.keep)
    figures: list[Figure] = []
    started = time.monotonic()
    load_at_start = load_average()
    cpu_lines: list[str] = []
    try:
        env.start()
        print(f"qingdan benchmarks ({'quick' if args.quick else 'full'} sizes), temporary folder {env.root}",
              file=sys.stderr, flush=True)
        workloads = Workloads(env, sizes)
        for name in chosen:
            meter = CpuMeter()
            figures += BENCHMARKS[name](env, backends, sizes, workloads)
            interruption.check()  # a Ctrl-C as the benchmark's last loop ended
            cpu_lines.append(f"{name}: {meter.summary()}")
            print(f"  [{name}] {cpu_lines[-1]}", file=sys.stderr, flush=True)
    except BaseException as exc:
        if not interruption.caused(exc):
            raise
        print("interrupted: stopping the servers and services of this run"
              + ("" if args.keep else " and removing its temporary folder"), file=sys.stderr, flush=True)
        return 130
    finally:
        interruption.ignore_further()  # a second Ctrl-C must not leave servers behind
        env.close()
    print(f"\n`{command.strip()}` — {time.monotonic() - started:,.0f} s in all")
    for line in machine_lines(backends, load_at_start):
        print(f"- {line}")
    for line in cpu_lines:
        print(f"- CPU during {line}")
    print()
    print(table(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
