"""The register import in one process, for profiling (not part of ``python -m bench``).

``.venv/bin/python -m bench.import_in_process [ROWS] [--profile FILE]``

The registry's real app (``bootstrap.build_app``) on a new SQLite file, called through httpx's ASGI
transport (``shared.testing.http.app_client``: no relay, no NATS); the district, townships and
villages of ``bench_import`` are created, then the extract of ``bench_import.build_extract`` is
posted once to ``POST /register-imports``. Printed: the CPU of the whole process over the call
(``time.process_time``: the SQLite driver's thread is in it), wall seconds, CPU per row and peak
RSS. ``--profile FILE`` writes a cProfile of the call (``time.process_time`` as its clock); for a
sampling profile run the module under ``py-spy record``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import resource
import tempfile
import time
from pathlib import Path

from bench.bench_import import VILLAGES_PER_TOWNSHIP, build_extract
from services.registry.adapters.spreadsheet import XLSX
from services.registry.bootstrap import build_app
from services.registry.settings import RegistrySettings
from services.stack.demo.pengshan import DISTRICT, TOWNSHIPS, village_code, village_name
from shared.auth import Role
from shared.testing.http import app_client, bearer


async def run(rows: int, profile: Path | None) -> None:
    """Build the extract, import it in-process and print what it cost."""
    extract = build_extract(rows)
    folder = Path(tempfile.mkdtemp(prefix="qd-import-"))
    settings = RegistrySettings(data_dir=folder, database_url=f"sqlite+aiosqlite:///{folder}/registry.db",
                                auth_secret="s" * 40, nats_url="nats://127.0.0.1:1", import_max_bytes=1 << 30)
    app = build_app(settings)
    async with app_client(app) as client:
        client.headers.update(bearer(app, "admin", Role.FEDERATION_ADMIN))
        units = [{"code": DISTRICT[0], "name": DISTRICT[1], "level": "district"}]
        for code, name in TOWNSHIPS:
            units.append({"code": code, "name": name, "level": "township", "parent_code": DISTRICT[0]})
            units += [{"code": village_code(code, n), "name": village_name(code, name, n), "level": "village",
                       "parent_code": code} for n in range(1, VILLAGES_PER_TOWNSHIP + 1)]
        for unit in units:
            (await client.post("/org-units", json=unit)).raise_for_status()
        profiler = cProfile.Profile(time.process_time) if profile else None
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        response = await client.post("/register-imports", content=extract.content,
                                     headers={"content-type": XLSX}, timeout=None)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        helper = ended.ru_utime + ended.ru_stime - children.ru_utime - children.ru_stime
    response.raise_for_status()
    result = response.json()
    assert result["registered"] == extract.valid, result["registered"]
    assert sorted(p["line"] for p in result["problems"]) == extract.invalid_lines
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows:,} rows: registered {result['registered']:,}, skipped {result['skipped']:,}; "
          f"CPU {cpu:.2f} s ({cpu / rows * 1000:.3f} ms per row) + helper {helper:.2f} s "
          f"({helper / rows * 1000:.3f} ms per row), wall {wall:.2f} s, peak RSS {peak:.0f} MB")


def main() -> None:
    """Command line: rows (default 20,000) and an optional cProfile output file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="?", type=int, default=20_000)
    parser.add_argument("--profile", type=Path, default=None)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.rows, arguments.profile))


if __name__ == "__main__":
    main()
