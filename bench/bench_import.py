"""7. Importing the register: an extract of N persons posted to a real registry process (aim ≤ 30 s).

``python -m bench --only import [--rows 100000] [--db sqlite|postgres|both]``

The registry runs as its own process (``python -m services.registry serve``, relay on) on SQLite or
PostgreSQL; the district, 8 townships and 32 villages are created over HTTP. The extract is an
.xlsx built here with the demo's generators (``services.stack.demo.pengshan``, seeded): N valid
rows — valid certificate numbers with pairwise different resident IDs, names, township and
village names, sex, birth date, category, grade, address and issue date — and about 3 % invalid
rows of five kinds (wrong check character, unknown village, grade not matching the number, a
resident already on an earlier line, no name). It is posted once to ``POST /register-imports``
(one HTTP call, timed end to end: upload, reading, dry run, import, the JSON report), then once
more to show that the second import registers nothing.

Printed: seconds and rows/s of the call, the registry's CPU over it (``/proc/<pid>/stat``), its
peak RSS (``VmHWM``: the process's high-water mark, read after the call), the workbook's size,
and two checks: the persons counted in the database equal the valid rows, and the report lists
exactly the invalid rows' lines.
"""

from __future__ import annotations

import asyncio
import io
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.bench_commands import admin_token
from bench.harness import Environment, Figure, children_cpu, process_cpu, say
from services.registry.adapters.spreadsheet import XLSX
from services.registry.adapters.tables import persons
from services.stack.demo.pengshan import SURNAMES, TOWNSHIPS, certificate_number, seed_organisation, village_name
from shared.testing.processes import ServiceProcess

NAME = "import"
AIM_SECONDS = 30.0
VILLAGES_PER_TOWNSHIP = 4
HEADINGS = ["序号", "姓名", "残疾人证号", "性别", "出生日期", "残疾类别", "残疾等级", "所属乡镇（街道）",
            "所属村（社区）", "联系电话", "住址", "发证日期"]
_CATEGORY = {1: "视力残疾", 2: "听力残疾", 3: "言语残疾", 4: "肢体残疾", 5: "智力残疾", 6: "精神残疾", 7: "多重残疾"}
_GRADE = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
INVALID_SHARE = 0.03


@dataclass(frozen=True)
class Extract:
    """The workbook posted, and what a correct import must make of it."""

    content: bytes
    rows: int
    valid: int
    invalid_lines: list[int]


def _valid_row(rng: random.Random, number: str, sequence: int, place: tuple[str, str]) -> list[Any]:
    resident = number[:18]
    birth = date(int(resident[6:10]), int(resident[10:12]), int(resident[12:14]))
    issued = date(2016, 1, 1) + timedelta(days=rng.randrange(0, 365 * 9))
    township, village = place
    return [sequence, f"{rng.choice(SURNAMES)}演示{sequence:06d}", number, "男" if int(resident[16]) % 2 else "女",
            birth.isoformat(), _CATEGORY[int(number[18])], _GRADE[int(number[19])], township, village,
            f"138{rng.randrange(0, 10 ** 8):08d}", f"{village}演示路{rng.randrange(1, 300)}号", issued.isoformat()]


def _spoil(rng: random.Random, row: list[Any], kind: int, earlier: list[Any]) -> list[Any]:
    """One of five kinds of invalid row made from a valid one."""
    bad = list(row)
    if kind == 0:  # wrong check character
        number = str(bad[2])
        bad[2] = number[:17] + ("0" if number[17] != "0" else "1") + number[18:]
    elif kind == 1:
        bad[8] = "不存在村"
    elif kind == 2:  # the grade column disagrees with the number's grade digit
        bad[6] = _GRADE[int(str(bad[2])[19]) % 4 + 1]
    elif kind == 3:  # the same resident as an earlier (valid) row
        bad[2], bad[3], bad[4] = earlier[2], earlier[3], earlier[4]
        bad[5], bad[6] = earlier[5], earlier[6]
    else:
        bad[1] = ""
    return bad


def build_extract(rows: int, seed: int = 17) -> Extract:
    """An .xlsx of ``rows`` persons (about 3 % of them invalid), reproducible from ``seed``."""
    rng = random.Random(seed)
    places = [(name, village_name(code, name, n)) for code, name in TOWNSHIPS
              for n in range(1, VILLAGES_PER_TOWNSHIP + 1)]
    book = Workbook(write_only=True)
    sheet = book.create_sheet("残疾人名单")
    sheet.append(HEADINGS)
    seen: set[str] = set()
    invalid_lines: list[int] = []
    first_valid: list[Any] | None = None
    valid = 0
    for sequence in range(1, rows + 1):
        number = certificate_number(rng)
        while number[:18] in seen:
            number = certificate_number(rng)
        row = _valid_row(rng, number, sequence, rng.choice(places))
        if first_valid is not None and rng.random() < INVALID_SHARE:
            row = _spoil(rng, row, rng.randrange(5), first_valid)
            invalid_lines.append(sequence + 1)  # line 1 holds the headings
        else:
            seen.add(number[:18])
            first_valid = first_valid or row
            valid += 1
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return Extract(out.getvalue(), rows, valid, invalid_lines)


def peak_rss_mb(process: ServiceProcess) -> float:
    """The process's resident-set high-water mark (``VmHWM``), in MB."""
    pid = process._proc.pid  # type: ignore[union-attr]  # the harness's own child
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def count_persons(database_url: str) -> int:
    """Persons in the registry's database (read directly, after the import's commit)."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(persons))).scalar_one())
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Posted:
    """One import call: its answer and what it cost."""

    seconds: float
    cpu: float
    helper_cpu: float
    """CPU of the registry's helper processes that ended during the call (reading and checking the sheet)."""
    result: dict[str, Any]


def post_import(process: ServiceProcess, token: str, content: bytes) -> Posted:
    """POST the workbook to ``/register-imports`` and wait for the answer, however long it takes."""
    cpu, helper = process_cpu(process), children_cpu(process)
    started = time.perf_counter()
    with httpx.Client(base_url=process.url, timeout=None, trust_env=False) as client:
        response = client.post("/register-imports", content=content,
                               headers={"Authorization": f"Bearer {token}", "content-type": XLSX})
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"import answered {response.status_code}: {response.text[:500]}")
    return Posted(seconds, process_cpu(process) - cpu, children_cpu(process) - helper, response.json())


def run(env: Environment, backends: Sequence[str], rows: int) -> list[Figure]:
    """Benchmark 8 (import) on each backend."""
    say(f"[{NAME}] building an extract of {rows:,} rows")
    started = time.perf_counter()
    extract = build_extract(rows)
    say(f"[{NAME}] {len(extract.content) / 1e6:.1f} MB, {extract.valid:,} valid, {len(extract.invalid_lines):,} "
        f"invalid rows ({time.perf_counter() - started:.0f} s)")
    figures: list[Figure] = []
    for backend in backends:
        stack = env.stack(backend, "imp")
        process = stack.add("registry")
        stack.start()
        try:
            token = admin_token()
            with stack.client("registry", token) as client:
                seed_organisation(client, villages_per_township=VILLAGES_PER_TOWNSHIP)
            say(f"[{NAME}] {backend}: posting the extract")
            first = post_import(process, token, extract.content)
            peak = peak_rss_mb(process)
            result = first.result
            say(f"[{NAME}] {backend}: {first.seconds:.1f} s, registered {result['registered']:,}, "
                f"failed {result['failed']}, skipped {result['skipped']}; importing it again")
            registered = asyncio.run(count_persons(process.env["QD_DATABASE_URL"]))
            reported = sorted(p["line"] for p in result["problems"])
            second = post_import(process, token, extract.content)
            again = second.result
            complete = (registered == extract.valid == result["registered"] and reported == extract.invalid_lines)
            idempotent = again["registered"] == 0 and again["unchanged"] == extract.valid
            say(f"[{NAME}] {backend}: again {second.seconds:.1f} s, registered {again['registered']}, "
                f"unchanged {again['unchanged']:,}")
            figures += [
                Figure(NAME, backend, f"import of {rows:,} rows over HTTP (one call, report included)", first.seconds,
                       "s", aim=f"<= {AIM_SECONDS:.0f} s", met=first.seconds <= AIM_SECONDS,
                       note=f"{rows / first.seconds:,.0f} rows/s; workbook {len(extract.content) / 1e6:.1f} MB"),
                Figure(NAME, backend, "registry CPU during the import", first.cpu, "s",
                       note=f"{first.cpu / rows * 1000:.2f} ms per row"),
                Figure(NAME, backend, "registry's helper processes' CPU during it", first.helper_cpu, "s",
                       note=f"{first.helper_cpu / rows * 1000:.2f} ms per row"),
                Figure(NAME, backend, "registry peak RSS (VmHWM) after it", peak, "MB"),
                Figure(NAME, backend, "persons registered (counted in the DB)", registered, "",
                       met=complete, note=f"{extract.valid:,} valid rows; report lists "
                       f"{len(reported):,} of {len(extract.invalid_lines):,} invalid rows"),
                Figure(NAME, backend, "same extract again (registers nothing)", second.seconds, "s",
                       met=idempotent, note=f"CPU {second.cpu:.1f} s + helper {second.helper_cpu:.1f} s; "
                       f"unchanged {again['unchanged']:,}"),
            ]
        finally:
            stack.stop()
    return figures
