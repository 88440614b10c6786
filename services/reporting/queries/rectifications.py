"""The rectification ledger and its overdue entries, as of a given day.

Overdue (逾期) is computed here, at query time, against ``today``: an entry is overdue when the
responsible unit still has to act (assigned, or reopened after a re-check) and its deadline in force
has passed — the deadline day itself is not overdue. So the views change when the clock passes a
deadline, not only when an event arrives.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.rectifications import (
    ledger_entries,
    ledger_groups,
    ledger_inspections,
    ledger_names,
    ledger_steps,
)
from shared.errors import NotFound

AWAITING_UNIT = ("assigned", "reopened")
STATUS_LABELS = {"assigned": "整改中", "reported": "已报送待复查", "reopened": "复查未通过、重新整改",
                 "closed": "已销号"}
STEP_LABELS = {"opened": "交办", "reported": "报送整改", "closed": "复查销号", "reopened": "复查退回",
               "extended": "延期"}


@dataclass(frozen=True)
class LedgerFilter:
    """Which entries to show; ``None`` means any."""

    status: str | None = None
    unit: str | None = None
    township: str | None = None
    group: str | None = None
    overdue: bool | None = None


def days_overdue(deadline: date, status: str, today: date) -> int:
    """Days past the deadline while the unit still has to act; 0 when not overdue."""
    return (today - deadline).days if status in AWAITING_UNIT and today > deadline else 0


def _overdue_condition() -> Any:
    """Overdue on the day given as the parameter ``today``."""
    return and_(ledger_entries.c.status.in_(AWAITING_UNIT), ledger_entries.c.deadline < bindparam("today"))


_unit = ledger_names.alias("unit_name")
_township = ledger_names.alias("township_name")
_LEDGER_QUERY = (
    select(ledger_entries, ledger_groups.c.name.label("group_name"),
           ledger_inspections.c.started_on.label("inspected_on"),
           ledger_inspections.c.scheduled_on.label("inspection_scheduled_on"),
           _unit.c.name.label("unit_name"), _township.c.name.label("township_name"))
    .select_from(
        ledger_entries
        .outerjoin(ledger_groups, ledger_groups.c.group_id == ledger_entries.c.group_id)
        .outerjoin(ledger_inspections, ledger_inspections.c.inspection_id == ledger_entries.c.inspection_id)
        .outerjoin(_unit, _unit.c.code == ledger_entries.c.responsible_unit)
        .outerjoin(_township, _township.c.code == ledger_entries.c.township_code))
    .order_by(ledger_entries.c.assigned_on, ledger_entries.c.number, ledger_entries.c.rectification_id)
)


_COUNT = select(func.count()).select_from(ledger_entries)


def _entry(row: Any, today: date, steps: list[dict[str, Any]]) -> dict[str, Any]:
    inspected_on = row.inspected_on or row.inspection_scheduled_on
    source = " ".join(str(x) for x in (row.group_name, inspected_on, row.target_name) if x)  # a label
    late = days_overdue(row.deadline, row.status, today)
    label = STATUS_LABELS.get(row.status, row.status)
    return {
        "rectification_id": row.rectification_id, "number": row.number,
        "source_inspection": {"inspection_id": row.inspection_id, "group_id": row.group_id,
                              "group_name": row.group_name, "inspected_on": inspected_on,
                              "target_kind": row.target_kind, "target_code": row.target_code,
                              "target_name": row.target_name, "label": source},
        "problem": row.problem, "responsible_unit": row.responsible_unit,
        "responsible_unit_name": row.unit_name or row.responsible_unit,
        "township_code": row.township_code, "township_name": row.township_name,
        "measures": row.measures, "measures_taken": row.measures_taken, "deadline": row.deadline,
        "status": row.status, "status_label": f"{label}（逾期{late}天）" if late else label,
        "overdue": late > 0, "days_overdue": late, "assigned_on": row.assigned_on,
        "reported_on": row.reported_on, "closed_on": row.closed_on, "reopen_count": row.reopen_count,
        "history": steps,
    }


_STEPS = (select(ledger_steps).where(ledger_steps.c.rectification_id.in_(bindparam("ids", expanding=True)))
          .order_by(ledger_steps.c.rectification_id, ledger_steps.c.step))


async def _steps(conn: AsyncConnection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    steps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        for r in await conn.execute(_STEPS, {"ids": ids[start:start + 500]}):
            steps[r.rectification_id].append({
                "step": r.step, "kind": r.kind, "label": STEP_LABELS.get(r.kind, r.kind), "on": r.on_date,
                "actor": r.actor, "detail": r.detail, "evidence": json.loads(r.evidence),
                "deadline": r.deadline})
    return steps


@lru_cache(maxsize=64)
def _filtered_statement(query: Any, shape: tuple[bool | None, ...]) -> Any:
    """``query`` narrowed by a filter of ``shape`` (:func:`_shape`), the values as parameters: built once
    per shape, as building the statements anew per request cost more CPU than running them."""
    status, unit, township, group, overdue = shape
    for wanted, column in ((status, "status"), (unit, "responsible_unit"), (township, "township_code"),
                           (group, "group_id")):
        if wanted:
            query = query.where(ledger_entries.c[column] == bindparam(f"f_{column}"))
    if overdue is not None:
        condition = _overdue_condition()
        query = query.where(condition if overdue else ~condition)
    return query


def _shape(which: LedgerFilter) -> tuple[bool | None, ...]:
    return bool(which.status), bool(which.unit), bool(which.township), bool(which.group), which.overdue


def _values(today: date, which: LedgerFilter) -> dict[str, Any]:
    return {"today": today, "f_status": which.status, "f_responsible_unit": which.unit,
            "f_township_code": which.township, "f_group_id": which.group}


def _filtered(query: Any, today: date, which: LedgerFilter) -> Any:
    """``query`` narrowed by ``which`` with its values written in (for the exports, built once per call)."""
    return _filtered_statement(query, _shape(which)).params(_values(today, which))


async def ledger(conn: AsyncConnection, today: date, which: LedgerFilter | None = None) -> list[dict[str, Any]]:
    """Ledger entries in the order they were opened, each with its history and overdue state on ``today``."""
    rows = (await conn.execute(_filtered(_LEDGER_QUERY, today, which or LedgerFilter()))).all()
    steps = await _steps(conn, [r.rectification_id for r in rows])
    return [_entry(r, today, steps.get(r.rectification_id, [])) for r in rows]


@lru_cache(maxsize=64)
def _page_statement(shape: tuple[bool | None, ...]) -> Any:
    return _filtered_statement(_LEDGER_QUERY, shape).offset(bindparam("offset")).limit(bindparam("limit"))


async def ledger_page(conn: AsyncConnection, today: date, which: LedgerFilter, *, offset: int = 0,
                      limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """How many entries ``which`` keeps in all, and the page ``offset`` … ``offset + limit`` of them."""
    shape, values = _shape(which), _values(today, which)
    total = int((await conn.execute(_filtered_statement(_COUNT, shape), values)).scalar_one())
    rows = (await conn.execute(_page_statement(shape), {**values, "offset": offset, "limit": limit})).all()
    steps = await _steps(conn, [r.rectification_id for r in rows])
    return total, [_entry(r, today, steps.get(r.rectification_id, [])) for r in rows]


async def entry(conn: AsyncConnection, today: date, rectification_id: str) -> dict[str, Any]:
    """One ledger entry with its history."""
    row = (await conn.execute(_LEDGER_QUERY.where(ledger_entries.c.rectification_id == rectification_id))).first()
    if row is None:
        raise NotFound(f"no rectification {rectification_id} in the ledger (yet)")
    steps = await _steps(conn, [rectification_id])
    return _entry(row, today, steps.get(rectification_id, []))


_e = ledger_entries.c
_OPEN_ENTRIES = (select(_e.responsible_unit, _e.township_code, _e.status, _e.deadline, _e.number, _e.rectification_id)
                 .where(_e.status != "closed").order_by(_e.deadline, _e.number))
_NAMES = select(ledger_names.c.code, ledger_names.c.name)


def _by(entries: list[Any], names: dict[str, str], today: date, column: str) -> list[dict[str, Any]]:
    """The open ``entries`` (by deadline, then number) grouped by ``column``, each group with its counts
    and the numbers of its overdue entries, most overdue first."""
    groups: dict[Any, dict[str, Any]] = {}
    for e in entries:
        code = e[column]
        group = groups.get(code)
        if group is None:
            group = groups[code] = {"code": code, "name": names.get(code) or code, "open": 0,
                                    "awaiting_recheck": 0, "overdue": 0, "oldest_overdue_deadline": None,
                                    "overdue_numbers": []}
        group["open"] += 1
        group["awaiting_recheck"] += e["status"] == "reported"
        if e["status"] in AWAITING_UNIT and e["deadline"] < today:
            group["overdue"] += 1
            if group["oldest_overdue_deadline"] is None:  # the entries come by deadline
                group["oldest_overdue_deadline"] = e["deadline"]
            group["overdue_numbers"].append(e["number"] or e["rectification_id"])
    return sorted(groups.values(), key=lambda g: (-g["overdue"], -g["open"], g["code"] or ""))


async def open_and_overdue(conn: AsyncConnection, today: date, column: str) -> dict[Any, tuple[int, int]]:
    """Open and overdue entries on ``today`` per ``column`` (``responsible_unit`` or ``township_code``):
    :func:`overdue`'s counts, in one ``GROUP BY``, without the entries' numbers."""
    return (await open_and_overdue_by(conn, today, (column,)))[column]


@lru_cache(maxsize=8)
def _open_and_overdue_statement(columns: tuple[str, ...]) -> Any:
    keys = [ledger_entries.c[c] for c in columns]
    return (select(*keys, func.count(), func.sum(case((_overdue_condition(), 1), else_=0)))
            .where(ledger_entries.c.status != "closed").group_by(*keys))


async def open_and_overdue_by(conn: AsyncConnection, today: date,
                              columns: tuple[str, ...]) -> dict[str, dict[Any, tuple[int, int]]]:
    """:func:`open_and_overdue` for several columns at once: one ``GROUP BY`` over all of them,
    summed here per column (the scoreboards want both the units' and the townships' counts)."""
    found: dict[str, dict[Any, tuple[int, int]]] = {c: {} for c in columns}
    for row in await conn.execute(_open_and_overdue_statement(columns), {"today": today}):
        n, late = int(row[-2]), int(row[-1] or 0)
        for column, code in zip(columns, row[:-2], strict=True):
            seen = found[column].get(code, (0, 0))
            found[column][code] = (seen[0] + n, seen[1] + late)
    return found


async def overdue(conn: AsyncConnection, today: date) -> dict[str, Any]:
    """Open and overdue entries on ``today``, by responsible unit and by township."""
    # the open entries read once (only the columns counted), grouped here both ways
    entries = [r._mapping for r in await conn.execute(_OPEN_ENTRIES)]
    names = {code: name for code, name in await conn.execute(_NAMES)}
    by_unit = _by(entries, names, today, "responsible_unit")
    by_township = _by(entries, names, today, "township_code")
    return {"today": today, "open": sum(g["open"] for g in by_unit),
            "overdue": sum(g["overdue"] for g in by_unit), "by_unit": by_unit, "by_township": by_township}


_SUMMARY_COUNTS = (select(_e.responsible_unit, _e.township_code, func.count(),
                          func.sum(case((_e.status == "reported", 1), else_=0)),
                          func.sum(case((_overdue_condition(), 1), else_=0)),
                          func.min(case((_overdue_condition(), _e.deadline))))
                   .where(_e.status != "closed").group_by(_e.responsible_unit, _e.township_code))


async def overdue_counts(conn: AsyncConnection, today: date) -> dict[str, Any]:
    """:func:`overdue` without each group's ``overdue_numbers``: the counts in one ``GROUP BY``.

    For the ledger page's summary, which shows the counts only: :func:`overdue` reads every open entry
    to list the overdue ones' numbers, which grows with the ledger.
    """
    names = {code: name for code, name in await conn.execute(_NAMES)}
    found: dict[str, dict[Any, dict[str, Any]]] = {"responsible_unit": {}, "township_code": {}}
    for unit, township, n, recheck, late, oldest in await conn.execute(_SUMMARY_COUNTS, {"today": today}):
        oldest = oldest if oldest is None or isinstance(oldest, date) else date.fromisoformat(oldest)
        for column, code in (("responsible_unit", unit), ("township_code", township)):
            group = found[column].get(code)
            if group is None:
                group = found[column][code] = {"code": code, "name": names.get(code) or code, "open": 0,
                                               "awaiting_recheck": 0, "overdue": 0, "oldest_overdue_deadline": None}
            group["open"] += int(n)
            group["awaiting_recheck"] += int(recheck or 0)
            group["overdue"] += int(late or 0)
            if oldest is not None and (group["oldest_overdue_deadline"] is None
                                       or oldest < group["oldest_overdue_deadline"]):
                group["oldest_overdue_deadline"] = oldest
    by_unit, by_township = (sorted(found[c].values(), key=lambda g: (-g["overdue"], -g["open"], g["code"] or ""))
                            for c in ("responsible_unit", "township_code"))
    return {"today": today, "open": sum(g["open"] for g in by_unit),
            "overdue": sum(g["overdue"] for g in by_unit), "by_unit": by_unit, "by_township": by_township}
