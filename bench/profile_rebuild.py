"""Profile the staged coverage rebuild offline (not part of ``python -m bench``).

```sh
.venv/bin/python -m bench.profile_rebuild dump FOLDER [--persons 10000]       # the benchmark's stream, once
.venv/bin/python -m bench.profile_rebuild run FOLDER [--db sqlite|postgres] [--profile OUT] [--repeat 2]
```

``dump`` fills a registry as benchmark 3 does, publishes it with the relay, reads the stream back
and writes its messages (subject, body, stream sequence) and the registry's trust folder to
``FOLDER``. ``run`` feeds them to :func:`shared.rebuild_staged.replace_staged` without NATS (the
ordered consumer replaced by a loop over the dump) into a fresh reporting database, with the
signatures checked as the benchmark does, and prints the CPU per message of this process and of
the signature helper; ``--profile`` writes a cProfile (CPU clock) of the last repeat.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import pickle
import resource
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench.harness import FULL, Environment, load_average, say
from bench.workload import Workloads
from services.reporting.projections.coverage import COVERAGE
from services.reporting.read_models import PROJECTIONS, SCHEMA
from shared import rebuild_staged
from shared.db import create_engine
from shared.eventstore.tables import metadata as core_metadata
from shared.messaging.feeds import consumer_name
from shared.messaging.replay import replay, stream_last_sequence
from shared.messaging.subjects import service_subjects, stream_name
from shared.signing import KeyRing

Message = tuple[str, bytes, int]


def dump(folder: Path, persons: int) -> None:
    """Write the benchmark's stream of ``persons`` persons and the registry's trust folder to ``folder``."""
    env = Environment()
    try:
        env.start()
        workloads = Workloads(env, dataclasses.replace(FULL, persons=persons))
        namespace = workloads.stream("sqlite")
        messages = asyncio.run(_read_all(env.nats.url, namespace))
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(workloads.registry("sqlite").data_dir / "trust", folder / "trust", dirs_exist_ok=True)
        (folder / "stream.pickle").write_bytes(pickle.dumps((namespace, messages)))
        say(f"{len(messages):,} messages of {namespace} written to {folder}")
    finally:
        env.close()


async def _read_all(nats_url: str, namespace: str) -> list[Message]:
    import nats

    nc = await nats.connect(nats_url)
    try:
        stream = stream_name(namespace, "registry")
        end = await stream_last_sequence(nc, stream)
        messages: list[Message] = []
        await replay(nc, stream, service_subjects(namespace, "registry"), start=1, end=end,
                     on_message=lambda m: messages.append((m.subject, m.data, m.metadata.sequence.stream)))
        return messages
    finally:
        await nc.close()


def _fake_replay(messages: list[Message]) -> Callable[..., Any]:
    """``replay`` reading the dump: the same callback, messages with the attributes it reads."""
    fakes = [SimpleNamespace(subject=s, data=d, metadata=SimpleNamespace(sequence=SimpleNamespace(stream=q)))
             for s, d, q in messages]

    async def fake(_nc: Any, _stream: str, _subjects: str, *, start: int, end: int,
                   on_message: Callable[[Any], None]) -> int:
        for msg in fakes[start - 1:end]:
            on_message(msg)
        await asyncio.sleep(0)
        return end - start + 1
    return fake


async def _once(url: str, namespace: str, end: int, keyring: KeyRing) -> tuple[float, float, float]:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for metadata in (core_metadata, *SCHEMA):
                await conn.run_sync(metadata.drop_all)
                await conn.run_sync(metadata.create_all)
        children = _children_cpu()
        started, cpu = time.perf_counter(), time.process_time()
        await rebuild_staged.replace_staged(
            engine, COVERAGE, None,  # type: ignore[arg-type]
            stream=stream_name(namespace, "registry"), subjects=service_subjects(namespace, "registry"),
            name=consumer_name(COVERAGE, PROJECTIONS.prefix), namespace=namespace, end=end, keyring=keyring,
            follow_up=None, progress=None)
        return time.perf_counter() - started, time.process_time() - cpu, _children_cpu() - children
    finally:
        await engine.dispose()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(folder: Path, db: str, profile: Path | None, repeat: int) -> None:
    """Rebuild coverage from the dump ``repeat`` times; print CPU per message (and profile the last)."""
    namespace, messages = pickle.loads((folder / "stream.pickle").read_bytes())
    keyring = KeyRing(folder=folder / "trust")
    rebuild_staged.replay = _fake_replay(messages)  # type: ignore[assignment]
    env = Environment()
    try:
        url = env.database_url(db, "prof")
        for i in range(repeat):
            profiler = cProfile.Profile(time.process_time) if profile is not None and i == repeat - 1 else None
            if profiler is not None:
                profiler.enable()
            seconds, cpu, helper = asyncio.run(_once(url, namespace, len(messages), keyring))
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(str(profile))
            n = len(messages)
            print(f"{db} repeat {i + 1}: {seconds:.2f} s, {n / seconds:,.0f} msg/s; CPU per message "
                  f"{cpu / n * 1e6:.1f} µs (+ helper {helper / n * 1e6:.1f} µs){' profiled' if profiler else ''}; "
                  f"load {load_average()}", flush=True)
    finally:
        env.close()


def main(argv: list[str]) -> int:
    """Parse the arguments and dump or run."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_rebuild", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("folder", type=Path)
    d.add_argument("--persons", type=int, default=FULL.persons)
    r = sub.add_parser("run")
    r.add_argument("folder", type=Path)
    r.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    r.add_argument("--profile", type=Path)
    r.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "dump":
        dump(args.folder, args.persons)
    else:
        run(args.folder, args.db, args.profile, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
