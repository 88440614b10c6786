"""What every benchmark shares: sizes, the servers of one run, figures and the printed table.

One :class:`Environment` per ``python -m bench`` run owns a temporary folder, a ``nats-server``
from the wheel on free ports, and every database the benchmarks create (SQLite files in the
folder; PostgreSQL databases on 127.0.0.1:5432, dropped at the end). Streams are namespaced per
run and per benchmark, so nothing sees another benchmark's messages.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from shared.testing.processes import ServiceProcess
from shared.testing.servers import NatsServerProcess, PostgresDatabase, nats_server_executable
from shared.testing.stack import Stack


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does."""

    commands: int  # 1: timed registrations over HTTP
    warmup: int  # 1: registrations before timing (JIT-free Python still warms caches, pools, pages)
    clients: int  # 1: requests in flight
    persons: int  # 2, 3: persons in the workload (5 events each)
    rounds: int  # 2, 3: repetitions of each timed path (the median is reported)
    latency_seconds: float  # 4: how long the steady load runs
    latency_rate: float  # 4: commands per second
    rows: int = 100_000  # 8: rows of the imported extract
    processes: int = 1  # 1: registry processes on one PostgreSQL database (``--processes``; 1 = that part is skipped)


QUICK = Sizes(commands=1_000, warmup=100, clients=48, persons=1_000, rounds=1, latency_seconds=5, latency_rate=200,
              rows=2_000)
FULL = Sizes(commands=10_000, warmup=500, clients=48, persons=10_000, rounds=3, latency_seconds=20,
             latency_rate=200)


@dataclass(frozen=True)
class Figure:
    """One printed line: a measured value, optionally against a reference path and an aim."""

    benchmark: str
    db: str
    what: str
    value: float
    unit: str
    reference: float | None = None  # the raw path's figure in the same run
    aim: str = ""
    met: bool | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """``value / reference`` when there is a reference."""
        return self.value / self.reference if self.reference else None


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by the nearest-rank method."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """The median of the rounds."""
    return statistics.median(values)


def say(message: str) -> None:
    """A progress line (to stderr, so the table on stdout stays clean)."""
    print(f"  {message}", file=sys.stderr, flush=True)


class Environment:
    """The servers and databases of one benchmark run; :meth:`close` removes them all."""

    def __init__(self, *, keep: bool = False) -> None:
        self.run_id = uuid.uuid4().hex[:6]
        self.root = Path(tempfile.mkdtemp(prefix=f"qd-bench-{self.run_id}-"))
        self.keep = keep
        self.nats = NatsServerProcess(self.root / "nats", server_name=f"qd-bench-{self.run_id}")
        self._databases: list[PostgresDatabase] = []
        self._stacks: list[Stack] = []
        self._counter = 0

    def start(self) -> None:
        """Start NATS."""
        self.nats.start()

    def unique(self, label: str) -> str:
        """A name unique in this run (for namespaces, files and databases)."""
        self._counter += 1
        return f"b{self.run_id}{label}{self._counter}"

    def database_url(self, backend: str, label: str) -> str:
        """A SQLAlchemy URL of a new, empty database on ``backend``."""
        name = self.unique(label)
        if backend == "sqlite":
            return f"sqlite+aiosqlite:///{self.root / 'db' / name}.db"
        database = PostgresDatabase(run_id=f"bench{self.run_id}")
        self._databases.append(database)
        return database.create(name)

    def stack(self, backend: str, label: str) -> Stack:
        """A stack of service processes on this run's NATS; every service gets a new database."""
        stack = Stack(self.root / self.unique(label), self.nats, namespace=self.unique(label),
                      database_url=lambda key: self.database_url(backend, key[:8]),
                      extra_env={"QD_LOG_LEVEL": "WARNING"})
        self._stacks.append(stack)
        return stack

    def close(self) -> None:
        """Stop every service and NATS, drop the PostgreSQL databases, remove the folder."""
        for stack in self._stacks:
            with contextlib.suppress(Exception):
                stack.stop()
        self.nats.stop()
        for database in self._databases:
            with contextlib.suppress(Exception):
                database.drop()
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def load_average() -> str:
    """The 1-minute load average of the machine."""
    return f"{os.getloadavg()[0]:.2f}"


def code_version() -> str:
    """The commit measured, and whether the working tree had changes."""
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=root, capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() or "unknown (not a git checkout)"


def machine_lines(backends: Sequence[str], load_at_start: str) -> list[str]:
    """What the figures were measured on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 0
    nats = subprocess.run([str(nats_server_executable()), "--version"], capture_output=True, text=True,
                          check=False).stdout.strip()
    lines = [
        f"date: {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
        f"machine: {platform.machine()}, nproc {cores}, {platform.platform(terse=True)}",
        f"python: {platform.python_version()} ({sys.executable})",
        f"nats-server: {nats}; sqlite: {sqlite3.sqlite_version}",
        f"code: {code_version()}",
        f"load average (1 min): {load_at_start} at the start, {load_average()} at the end "
        "(the CPU lines below say who used the cores)",
    ]
    if "postgres" in backends:
        lines.append(f"postgresql: {_postgres_version()}")
    return lines


def _postgres_version() -> str:
    import asyncio

    import asyncpg

    from shared.testing.servers import _plain_dsn, pg_admin_url

    async def version() -> str:
        conn = await asyncpg.connect(_plain_dsn(pg_admin_url()), timeout=5)
        try:
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        return asyncio.run(version())
    except Exception as exc:
        return f"unknown ({exc!r})"


def _number(value: float, unit: str) -> str:
    if unit in ("ms", "µs") and value < 100:
        return f"{value:,.1f}"
    return f"{value:,.0f}"


def table(figures: Sequence[Figure]) -> str:
    """The figures as a Markdown table."""
    rows = [("benchmark", "db", "what", "value", "raw path", "ratio", "aim", "met", "note")]
    for f in figures:
        value = f"{_number(f.value, f.unit)} {f.unit}"
        reference = f"{_number(f.reference, f.unit)} {f.unit}" if f.reference is not None else ""
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        met = {True: "yes", False: "NO", None: ""}[f.met]
        rows.append((f.benchmark, f.db, f.what, value, reference, ratio, f.aim, met, f.note))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "| " + " | ".join("-" * w for w in widths) + " |")
    return "\n".join(lines)


def process_cpu(process: ServiceProcess) -> float:
    """User + system CPU seconds of a service process so far (Linux ``/proc``)."""
    pid = process._proc.pid  # type: ignore[union-attr]  # the harness's own child; it has no public accessor
    return _ticks(f"/proc/{pid}/stat", slice(11, 13)) / os.sysconf("SC_CLK_TCK")


def children_cpu(process: ServiceProcess) -> float:
    """User + system CPU seconds of a service process's children that ended and were waited for
    (its helper processes; Linux ``/proc``: ``cutime`` and ``cstime``)."""
    pid = process._proc.pid  # type: ignore[union-attr]  # as in process_cpu
    return _ticks(f"/proc/{pid}/stat", slice(13, 15)) / os.sysconf("SC_CLK_TCK")


def _ticks(path: str, fields: slice) -> int:
    try:
        stat = Path(path).read_text()
    except OSError:
        return 0  # the process has just exited
    return sum(int(v) for v in stat.rsplit(")", 1)[1].split()[fields])


def _our_ticks() -> int:
    """CPU ticks of this process (with its reaped children) and of its live descendants."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    ours, frontier = set(), {os.getpid()}
    while frontier:
        ours |= frontier
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - ours
    total = _ticks("/proc/self/stat", slice(11, 15))  # utime, stime, cutime, cstime
    for pid in ours - {os.getpid()}:
        total += _ticks(f"/proc/{pid}/stat", slice(11, 13))
    return total


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """How busy the machine's cores were over a window, and how much of that was this benchmark."""

    def __init__(self) -> None:
        self._machine = _machine_ticks()
        self._ours = _our_ticks()
        self._started = time.monotonic()

    def summary(self) -> str:
        """E.g. ``machine 1.8 of 2 cores busy, ours 1.2 (the rest: other processes, PostgreSQL)``."""
        busy, total = _machine_ticks()
        seconds = time.monotonic() - self._started
        cores = len(os.sched_getaffinity(0))
        machine = (busy - self._machine[0]) / max(1, total - self._machine[1]) * cores
        ours = (_our_ticks() - self._ours) / os.sysconf("SC_CLK_TCK") / max(seconds, 1e-9)
        return (f"machine {machine:.1f} of {cores} cores busy, ours {ours:.1f}, others {max(0.0, machine - ours):.1f} "
                "(PostgreSQL's processes count as others)")
