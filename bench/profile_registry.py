"""Profile the registry process under the ``commands`` benchmark's load (not part of ``python -m bench``).

```sh
.venv/bin/python -m bench.profile_registry [--db sqlite|postgres] [--count 6000] [--rate 0] [--out FILE]
```

Starts the real registry process as benchmark 1 does (its own nats-server and database), seeds
the district, warms up, then records it with ``py-spy`` (a dev dependency, sampling from outside:
the process runs unmodified) while registrations are sent with 48 in flight — or, with ``--rate``,
one at a time at that many per second (the quiet cost of benchmark 4). Prints the registry's CPU per
registration over the recorded run and writes py-spy's ``raw`` (collapsed stacks) output, which
``--top`` summarises by function (own and total share of the samples).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench.bench_commands import admin_token
from bench.harness import Environment, load_average, process_cpu, say
from bench.http_client import post_all
from bench.workload import registration_bodies
from services.stack.demo.pengshan import seed_organisation


async def _paced(host: str, port: int, token: str, bodies: list[dict[str, object]], rate: float) -> None:
    """One registration every 1/rate seconds, each on its own task (as benchmark 4 sends them)."""
    interval, started, tasks = 1.0 / rate, time.perf_counter(), []
    for i, body in enumerate(bodies):
        delay = started + i * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(post_all(host, port, "/persons", token, [body], 1)))
    for task in tasks:
        _seconds, _latencies, failures = await task
        if failures:
            raise RuntimeError(failures[0])


def top(raw: Path, limit: int = 40) -> list[str]:
    """The functions with the most samples: own (leaf) and total (anywhere on the stack)."""
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples += count
        frames = stack.split(";")
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "own%  total%  function"]
    for frame, count in own.most_common(limit):
        lines.append(f"{100 * count / samples:5.1f} {100 * total[frame] / samples:6.1f}  {frame}")
    lines.append("--- by total")
    for frame, count in total.most_common(limit):
        lines.append(f"{100 * own[frame] / samples:5.1f} {100 * count / samples:6.1f}  {frame}")
    return lines


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds so far of each thread of ``pid``: ``main``, or ``tid N``."""
    ticks: collections.Counter[str] = collections.Counter()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue  # the thread ended
        name = "main" if task.name == str(pid) else f"tid {task.name}"
        ticks[name] += sum(int(v) for v in stat.rsplit(")", 1)[1].split()[11:13])
    return {name: count / os.sysconf("SC_CLK_TCK") for name, count in ticks.items()}


def main(argv: list[str]) -> int:
    """Run the registry under load with py-spy attached; print CPU per registration and the top functions."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_registry")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--count", type=int, default=6000)
    parser.add_argument("--rate", type=float, default=0.0, help="paced registrations/s instead of 48 in flight")
    parser.add_argument("--out", type=Path, default=Path("/tmp/registry-profile.txt"))
    parser.add_argument("--no-profile", action="store_true", help="only the CPU per registration")
    parser.add_argument("--native", action="store_true",
                        help="py-spy --native: C frames too (it pauses the process at each sample: commands queue "
                             "and batch, so the CPU figure is not a lone command's)")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    env = Environment()
    try:
        env.start()
        stack = env.stack(args.db, "prof")
        process = stack.add("registry")
        stack.start()
        token = admin_token()
        with stack.client("registry", token) as client:
            villages = seed_organisation(client)
        bodies = registration_bodies(11, villages, 500 + args.count)
        address = urlsplit(process.url)
        host, port = address.hostname or "127.0.0.1", address.port or 80
        asyncio.run(post_all(host, port, "/persons", token, bodies[:500], 48))
        pid = process._proc.pid  # type: ignore[union-attr]  # the harness's own child (as process_cpu)
        recorder = None if args.no_profile else subprocess.Popen(
            [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "250",
             "--output", str(args.out), *(["--native"] if args.native else ["--nonblocking"])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(1.0)
        say(f"load {load_average()}")
        threads, cpu, started = thread_cpu(pid), process_cpu(process), time.perf_counter()
        if args.rate:
            asyncio.run(_paced(host, port, token, bodies[500:], args.rate))
        else:
            _s, _l, failures = asyncio.run(post_all(host, port, "/persons", token, bodies[500:], 48))
            if failures:
                raise RuntimeError(failures[0])
        seconds, cpu = time.perf_counter() - started, process_cpu(process) - cpu
        say(f"{args.count} registrations in {seconds:.1f} s ({args.count / seconds:,.0f}/s), registry CPU "
            f"{cpu / args.count * 1000:.3f} ms each, {100 * cpu / seconds:.0f}% of a core; load {load_average()}")
        after = thread_cpu(pid)
        say("  by thread: " + ", ".join(f"{name} {(after[name] - threads.get(name, 0.0)) / args.count * 1000:.3f} ms"
                                        for name in sorted(after, key=lambda n: threads.get(n, 0.0) - after[n])
                                        if after[name] > threads.get(name, 0.0)))
        if recorder is not None:
            recorder.send_signal(2)
            recorder.wait(timeout=60)
            for line in top(args.out):
                print(line)
        stack.stop()
    finally:
        env.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
