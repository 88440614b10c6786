"""Dashboards at scale: every dashboard view's p50/p99 over HTTP with N registered persons, uncached.

``python -m bench --only dashboards --persons N [--db sqlite|postgres|both]``

The read models are filled directly, in the shapes the projections write (``services/reporting/
projections/``), over Pengshan's real district and townships with invented villages
(``services.stack.demo.pengshan``): persons spread unevenly over the villages with categories,
grades, severe and hardship flags; this year's and last year's visits and plans; plan items with
due dates over the year; monthly tasks, inspections and rectifications. Then the counters the
projections keep are filled from those rows (``services.reporting.projections.counters.fill``,
the same code the migration runs), so the tables are what live application would have left.

Each route is requested through the real reporting app in this process (``httpx.ASGITransport``:
no network, CPU-bound), with the view cache bounded at 0 bytes, so that every request computes.
Reported per route: wall-clock p50 and p99 and the CPU time per request of this process. So that
the tail can be explained, a full ``gc.collect()`` runs before each route is measured, and the
progress lines say each thread's CPU per request (``/proc/self/task``: the event loop, and with
SQLite the driver's thread, where the queries run) and the garbage collector's pauses during the
route (``gc.callbacks``): how many, their total and the longest, and the worst request's overlap.
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import time
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.harness import Environment, Figure, percentile, say
from services.reporting.projections.coverage import cov_persons, cov_units, cov_years
from services.reporting.projections.inspection_results import insp_groups, insp_inspections
from services.reporting.projections.plan_items import pi_items, pi_names, pi_persons
from services.reporting.projections.rectifications import (
    ledger_entries,
    ledger_groups,
    ledger_inspections,
    ledger_names,
    ledger_steps,
)
from services.reporting.projections.tasks import rpt_tasks
from services.reporting.read_models import SCHEMA
from services.stack.demo.pengshan import DEPARTMENTS, DISTRICT, MEASURES, TOWNSHIPS, village_code, village_name
from shared.db import create_engine
from shared.migrations import migrate, trees_for

NAME = "dashboards"
YEAR = 2026
TODAY = date(2026, 9, 15)
VILLAGES_PER_TOWNSHIP = 12
AIM_MS = 50.0


def _routes(township: str) -> list[tuple[str, str]]:
    y, d = f"year={YEAR}", f"today={TODAY.isoformat()}"
    return [
        ("coverage tree", f"/views/coverage?{y}&depth=1"),
        ("coverage of a township", f"/views/coverage?{y}&unit={township}&depth=1"),
        ("persons of a township, page 1", f"/views/coverage/persons?{y}&unit={township}&missing=any"),
        ("persons of the district, page 1", f"/views/coverage/persons?{y}&missing=visit"),
        ("work list, page 1", f"/views/worklist?{d}"),
        ("work list of a township, page 1", f"/views/worklist?{d}&township={township}"),
        ("scoreboards", f"/views/scoreboards?{y}&{d}"),
        ("task summary", f"/tasks/summary?{y}&{d}"),
        ("ledger, page 1", f"/views/ledger?{d}"),
        ("coverage (JSON route)", f"/coverage?{y}&depth=2"),
    ]


# --- the data ---------------------------------------------------------------------------------


class Dataset:
    """Rows for every table the dashboards read, generated from one seed."""

    def __init__(self, persons: int, seed: int = 11) -> None:
        self.persons = persons
        self.rng = random.Random(seed)
        self.villages: list[tuple[str, str]] = []  # (village, township)
        for township, _name in TOWNSHIPS:
            for n in range(1, VILLAGES_PER_TOWNSHIP + 1):
                self.villages.append((village_code(township, n), township))
        # Uneven: a subdistrict's communities are larger than a town's villages.
        self.weights = [self.rng.uniform(0.3, 1.0) * (2.0 if t[6:9] < "100" else 1.0) for _, t in self.villages]

    def units(self) -> dict[Table, list[dict[str, Any]]]:
        """Org units and departments, in every table that names them."""
        units = [{"code": DISTRICT[0], "name": DISTRICT[1], "level": "district", "parent_code": None}]
        for township, name in TOWNSHIPS:
            units.append({"code": township, "name": name, "level": "township", "parent_code": DISTRICT[0]})
            units += [{"code": village_code(township, n), "name": village_name(township, name, n), "level": "village",
                       "parent_code": township} for n in range(1, VILLAGES_PER_TOWNSHIP + 1)]
        names = [{"code": u["code"], "name": u["name"], "kind": u["level"], "parent_code": u["parent_code"]}
                 for u in units]
        names += [{"code": c, "name": n, "kind": "department", "parent_code": None} for c, n in DEPARTMENTS]
        ledger = [{"code": c, "name": n, "kind": "township"} for c, n in TOWNSHIPS]
        ledger += [{"code": c, "name": n, "kind": "department"} for c, n in DEPARTMENTS]
        return {cov_units: units, pi_names: names, ledger_names: ledger}

    def person_rows(self, start: int, stop: int) -> dict[Table, list[dict[str, Any]]]:
        """Persons ``start`` … ``stop`` with their years and plan items."""
        rng = self.rng
        persons, pi, years, items = [], [], [], []
        needs = list(MEASURES)
        chosen = rng.choices(self.villages, self.weights, k=stop - start)
        for n, (village, township) in zip(range(start, stop), chosen, strict=True):
            person_id = f"{n:08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-8000-{n:012x}"
            grade = rng.choices((1, 2, 3, 4), (0.12, 0.2, 0.33, 0.35))[0]
            active = rng.random() > 0.03
            persons.append({"person_id": person_id, "village_code": village, "township_code": township,
                            "category": rng.randint(1, 7), "grade": grade, "severe": grade <= 2,
                            "hardship": rng.random() < 0.25, "active": active})
            pi.append({"person_id": person_id, "village_code": village, "township_code": township, "active": active})
            for year, visit_share, plan_share in ((YEAR - 1, 0.95, 0.85), (YEAR, 0.62, 0.48)):
                r = rng.random()
                if r > visit_share and rng.random() < 0.5:
                    continue  # no row at all for the year
                lost = r > visit_share
                planned = not lost and rng.random() < plan_share / visit_share
                plan_items = rng.randint(1, 3) if planned else 0
                delivered = 0
                for i in range(plan_items):
                    need = rng.choice(needs)
                    department, measures = MEASURES[need]
                    due = date(year, 1, 1) + timedelta(days=rng.randint(20, 364))
                    status = rng.choices(("planned", "delivered", "cancelled"),
                                         (0.55, 0.4, 0.05) if year == YEAR else (0.08, 0.85, 0.07))[0]
                    delivered += status == "delivered"
                    items.append({
                        "item_id": f"{person_id}-{year}-{i}", "plan_id": f"plan-{person_id}-{year}",
                        "person_id": person_id, "year": year, "kind": "service", "need": need,
                        "description": rng.choice(measures), "responsible_department": department, "due_on": due,
                        "status": status, "delivered_on": due - timedelta(days=3) if status == "delivered" else None,
                        "cancel_reason": "不再需要" if status == "cancelled" else None})
                years.append({"person_id": person_id, "year": year, "visited": not lost,
                              "lost_to_follow_up": lost, "planned": planned, "delivered": delivered})
        return {cov_persons: persons, pi_persons: pi, cov_years: years, pi_items: items}

    def work_rows(self) -> dict[Table, list[dict[str, Any]]]:
        """Tasks, inspections and rectifications (they grow with the register, more slowly)."""
        rng = self.rng
        tasks = []
        for month in range(1, 13):
            for department, _ in DEPARTMENTS:
                for k in range(12):
                    issued = date(YEAR, month, 1)
                    deadline = issued + timedelta(days=rng.randint(10, 40))
                    done = deadline < TODAY and rng.random() < 0.8
                    tasks.append({
                        "task_id": f"task-{month:02d}-{department}-{k}", "list_id": f"list-{month}",
                        "month": f"{YEAR}-{month:02d}", "issuer_department": "federation",
                        "title": f"{month}月任务{k}", "responsible_department": department,
                        "org_unit_code": rng.choice(TOWNSHIPS)[0], "assignee": f"staff-{department}-{k % 3}",
                        "metric": "人数", "unit": "人", "target_value": 100.0,
                        "value_reached": 100.0 if done else rng.uniform(0, 90), "issued_on": issued,
                        "deadline": deadline, "completed_on": deadline - timedelta(days=1) if done else None,
                        "completed_how": "reported" if done else None, "on_time": True if done else None,
                        "extended": False})
        groups = [{"group_id": f"group-{g}", "name": f"第{g}督查组", "leader": f"staff-{g}"} for g in range(1, 7)]
        inspections: list[dict[str, Any]] = []
        ledger_inspection_rows: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        steps: list[dict[str, Any]] = []
        count = max(50, self.persons // 1000)
        for i in range(count):
            township = rng.choice(TOWNSHIPS)[0]
            on = date(YEAR, 1, 10) + timedelta(days=rng.randint(0, (TODAY - date(YEAR, 1, 10)).days))
            inspection_id = f"insp-{i:06d}"
            group = f"group-{rng.randint(1, 6)}"
            inspections.append({
                "inspection_id": inspection_id, "group_id": group, "target_kind": "township",
                "target_code": township, "target_name": township, "township_code": township,
                "template_id": "tpl", "template_version": 1, "status": "completed", "scheduled_on": on,
                "started_on": on, "completed_on": on, "score": round(rng.uniform(60, 100), 1),
                "items_passed": 20, "items_failed": 2, "items_not_applicable": 1, "focus_checks": 3,
                "focus_checks_with_issues": 1})
            ledger_inspection_rows.append({"inspection_id": inspection_id, "group_id": group, "target_name": township,
                                           "scheduled_on": on, "started_on": on})
            for f in range(rng.randint(0, 6)):
                rid = f"rect-{i:06d}-{f}"
                deadline = on + timedelta(days=rng.randint(15, 60))
                status = rng.choices(("assigned", "reported", "reopened", "closed"), (0.3, 0.15, 0.05, 0.5))[0]
                entries.append({
                    "rectification_id": rid, "number": f"ZG-{YEAR}-{len(entries) + 1:05d}", "finding_id": f"f-{rid}",
                    "inspection_id": inspection_id, "group_id": group, "township_code": township,
                    "responsible_unit": rng.choice(DEPARTMENTS)[0], "target_kind": "township",
                    "target_code": township, "target_name": township, "problem": "问题描述", "measures": "整改措施",
                    "deadline": deadline, "status": status, "assigned_on": on,
                    "reported_on": on + timedelta(days=9) if status != "assigned" else None,
                    "closed_on": on + timedelta(days=20) if status == "closed" else None,
                    "reopen_count": 1 if status == "reopened" else 0, "measures_taken": None})
                steps.append({"rectification_id": rid, "step": 1, "kind": "opened", "on_date": on, "actor": "s",
                              "detail": "整改措施", "evidence": "[]", "deadline": deadline})
                if status != "assigned":
                    steps.append({"rectification_id": rid, "step": 2, "kind": "reported",
                                  "on_date": on + timedelta(days=9), "actor": "s", "detail": "已整改",
                                  "evidence": "[]", "deadline": deadline})
        return {rpt_tasks: tasks, insp_groups: groups, ledger_groups: [{"group_id": g["group_id"], "name": g["name"]}
                                                                         for g in groups],
                insp_inspections: inspections, ledger_inspections: ledger_inspection_rows,
                ledger_entries: entries, ledger_steps: steps}


async def _insert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if conn.dialect.name == "postgresql":  # COPY: a million rows in seconds rather than minutes
        raw = await conn.get_raw_connection()
        columns = [c.name for c in table.columns]
        defaults: dict[str, Any] = {c.name: getattr(c.default, "arg", None) for c in table.columns}
        records = [tuple(r.get(c, defaults[c]) for c in columns) for r in rows]
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table(table.name, records=records, columns=columns)
        return
    for start in range(0, len(rows), 5000):
        await conn.execute(insert(table), rows[start:start + 5000])


async def fill(engine: AsyncEngine, persons: int) -> dict[str, int]:
    """Create the read models' tables and fill them for ``persons`` persons; rows per table."""
    data = Dataset(persons)
    counts: dict[str, int] = {}
    await migrate(engine, trees_for("reporting", SCHEMA))  # as the service does at start
    chunks = [data.units(), data.work_rows()]
    for chunk in chunks:
        async with engine.begin() as conn:
            for table, rows in chunk.items():
                await _insert(conn, table, rows)
                counts[table.name] = counts.get(table.name, 0) + len(rows)
    step = 50_000
    for start in range(0, persons, step):
        chunk = data.person_rows(start, min(persons, start + step))
        async with engine.begin() as conn:
            for table, rows in chunk.items():
                await _insert(conn, table, rows)
                counts[table.name] = counts.get(table.name, 0) + len(rows)
        say(f"dashboards: {min(persons, start + step):,} of {persons:,} persons written")
    try:  # the counters the projections keep, computed from the rows as the migration does
        from services.reporting.projections import counters
    except ImportError:
        counters = None  # type: ignore[assignment]
    if counters is not None:
        async with engine.begin() as conn:
            await counters.fill(conn)
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
    return counts


# --- the measurement ----------------------------------------------------------------------------

_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def _thread_cpu() -> dict[str, float]:
    """CPU milliseconds (user + system) of each thread of this process, by ``name/tid``."""
    found: dict[str, float] = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/stat") as stat, open(f"/proc/self/task/{tid}/comm") as comm:
                # fields after the ")" that ends the name: utime and stime are the 12th and 13th
                fields = stat.read().rsplit(")", 1)[1].split()
                found[f"{comm.read().strip()}/{tid}"] = (int(fields[11]) + int(fields[12])) * _TICK_MS
        except (FileNotFoundError, ProcessLookupError):  # a thread ended while we looked
            continue
    return found


class GcPauses:
    """The garbage collector's pauses, timed with ``gc.callbacks`` while installed."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, int]] = []  # (start, end) perf_counter seconds, generation
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((self._started, time.perf_counter(), int(info["generation"])))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def within(self, start: float, end: float) -> float:
        """Milliseconds of pause between ``start`` and ``end`` (perf_counter seconds)."""
        return sum(max(0.0, min(b, end) - max(a, start)) for a, b, _ in self.pauses) * 1000

    def describe(self) -> str:
        """Count, total, longest, and how many were full (generation 2) collections."""
        if not self.pauses:
            return "no GC pauses"
        lengths = [(b - a) * 1000 for a, b, _ in self.pauses]
        full = sum(g == 2 for _, _, g in self.pauses)
        return f"{len(lengths)} GC pauses, {sum(lengths):.1f} ms in all, longest {max(lengths):.1f} ms, {full} full"


async def _measure(database_url: str, nats_url: str, requests: int) -> list[tuple[str, list[float], float]]:
    from services.reporting.bootstrap import build_app
    from services.reporting.settings import ReportingSettings
    from shared.auth import Role
    from shared.testing.http import app_client, bearer

    settings = ReportingSettings(database_url=database_url, nats_url=nats_url, namespace="bench-dashboards")
    app = build_app(settings)
    app.state.live.cache.max_bytes = 0  # uncached: every request computes its view
    results = []
    async with app_client(app) as client:
        headers = bearer(app, "bench-admin", Role.FEDERATION_ADMIN)
        for label, url in _routes(TOWNSHIPS[0][0]):
            response = await client.get(url, headers=headers)  # warm: the first computes, pools connect
            assert response.status_code == 200, f"{url}: {response.status_code} {response.text[:300]}"
            walls: list[float] = []
            spans: list[tuple[float, float]] = []
            gc.collect()  # the garbage of filling and of the previous route is not this route's pause
            threads = _thread_cpu()
            cpu = time.process_time()
            with GcPauses() as pauses:
                for _ in range(requests):
                    started = time.perf_counter()
                    response = await client.get(url, headers=headers)
                    ended = time.perf_counter()
                    walls.append((ended - started) * 1000)
                    spans.append((started, ended))
                    assert response.status_code == 200
            cpu_ms = (time.process_time() - cpu) * 1000 / requests
            after = _thread_cpu()
            per_thread = ", ".join(f"{name} {(ms - threads.get(name, 0.0)) / requests:.1f}"
                                   for name, ms in sorted(after.items()) if ms - threads.get(name, 0.0) > 0)
            worst = max(range(requests), key=lambda n: walls[n])
            results.append((label, walls, cpu_ms))
            say(f"dashboards: {label}: p50 {percentile(walls, 50):.1f} ms, p99 {percentile(walls, 99):.1f} ms, "
                f"CPU {cpu_ms:.1f} ms/request (by thread, ms/request: {per_thread or 'under a clock tick'}); "
                f"{pauses.describe()}; slowest request {walls[worst]:.1f} ms, "
                f"of it GC {pauses.within(*spans[worst]):.1f} ms")
    return results


def run(env: Environment, backends: Sequence[str], persons: int, requests: int = 50) -> list[Figure]:
    """Fill the read models for ``persons`` persons on each backend, then time every dashboard view."""
    figures: list[Figure] = []
    for backend in backends:
        url = env.database_url(backend, "dash")
        started = time.monotonic()

        async def fill_and_close(url: str = url) -> dict[str, int]:
            engine = create_engine(url)
            try:
                return await fill(engine, persons)
            finally:
                await engine.dispose()
        rows = asyncio.run(fill_and_close())
        say(f"dashboards [{backend}]: {sum(rows.values()):,} rows in {time.monotonic() - started:,.0f} s: {rows}")
        for label, walls, cpu in asyncio.run(_measure(url, env.nats.url, requests)):
            p99 = percentile(walls, 99)
            figures.append(Figure(NAME, backend, f"{label} ({persons:,} persons) p50", percentile(walls, 50), "ms"))
            figures.append(Figure(NAME, backend, f"{label} ({persons:,} persons) p99", p99, "ms",
                                  aim=f"≤ {AIM_MS:.0f} ms", met=p99 <= AIM_MS, note=f"CPU {cpu:.1f} ms/request"))
    return figures
