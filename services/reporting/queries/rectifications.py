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
from typing import Any

from sqlalchemy import and_, case, func, select
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


def _overdue_condition(today: date) -> Any:
    return and_(ledger_entries.c.status.in_(AWAITING_UNIT), ledger_entries.c.deadline < today)


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


async def _steps(conn: AsyncConnection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    steps: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        query = (select(ledger_steps).where(ledger_steps.c.rectification_id.in_(ids[start:start + 500]))
                 .order_by(ledger_steps.c.rectification_id, ledger_steps.c.step))
        for r in await conn.execute(query):
            steps[r.rectification_id].append({
                "step": r.step, "kind": r.kind, "label": STEP_LABELS.get(r.kind, r.kind), "on": r.on_date,
                "actor": r.actor, "detail": r.detail, "evidence": json.loads(r.evidence),
                "deadline": r.deadline})
    return steps


def _filtered(query: Any, today: date, which: LedgerFilter) -> Any:
    for column, value in (("status", which.status), ("responsible_unit", which.unit),
                          ("township_code", which.township), ("group_id", which.group)):
        if value:
            query = query.where(ledger_entries.c[column] == value)
    if which.overdue is not None:
        condition = _overdue_condition(today)
        query = query.where(condition if which.overdue else ~condition)
    return query


async def ledger(conn: AsyncConnection, today: date, which: LedgerFilter | None = None) -> list[dict[str, Any]]:
    """Ledger entries in the order they were opened, each with its history and overdue state on ``today``."""
    rows = (await conn.execute(_filtered(_LEDGER_QUERY, today, which or LedgerFilter()))).all()
    steps = await _steps(conn, [r.rectification_id for r in rows])
    return [_entry(r, today, steps.get(r.rectification_id, [])) for r in rows]


async def ledger_page(conn: AsyncConnection, today: date, which: LedgerFilter, *, offset: int = 0,
                      limit: int = 50) -> tuple[int, list[dict[str, Any]]]:
    """How many entries ``which`` keeps in all, and the page ``offset`` … ``offset + limit`` of them."""
    counted = _filtered(select(func.count()).select_from(ledger_entries), today, which)
    total = int((await conn.execute(counted)).scalar_one())
    rows = (await conn.execute(_filtered(_LEDGER_QUERY, today, which).offset(offset).limit(limit))).all()
    steps = await _steps(conn, [r.rectification_id for r in rows])
    return total, [_entry(r, today, steps.get(r.rectification_id, [])) for r in rows]


async def entry(conn: AsyncConnection, today: date, rectification_id: str) -> dict[str, Any]:
    """One ledger entry with its history."""
    row = (await conn.execute(_LEDGER_QUERY.where(ledger_entries.c.rectification_id == rectification_id))).first()
    if row is None:
        raise NotFound(f"no rectification {rectification_id} in the ledger (yet)")
    steps = await _steps(conn, [rectification_id])
    return _entry(row, today, steps.get(rectification_id, []))


async def _by(conn: AsyncConnection, today: date, column: str) -> list[dict[str, Any]]:
    key = ledger_entries.c[column]
    overdue = _overdue_condition(today)
    query = (
        select(key.label("code"), ledger_names.c.name,
               func.count().label("open"),
               func.sum(case((ledger_entries.c.status == "reported", 1), else_=0)).label("awaiting_recheck"),
               func.sum(case((overdue, 1), else_=0)).label("overdue"),
               func.min(case((overdue, ledger_entries.c.deadline), else_=None)).label("oldest_overdue_deadline"))
        .select_from(ledger_entries.outerjoin(ledger_names, ledger_names.c.code == key))
        .where(ledger_entries.c.status != "closed")
        .group_by(key, ledger_names.c.name)
    )
    numbers: dict[str | None, list[str]] = defaultdict(list)
    late = select(key, ledger_entries.c.number, ledger_entries.c.rectification_id).where(overdue).order_by(
        ledger_entries.c.deadline, ledger_entries.c.number)
    for r in await conn.execute(late):
        numbers[r[0]].append(r.number or r.rectification_id)
    groups = [{"code": r.code, "name": r.name or r.code, "open": int(r.open),
               "awaiting_recheck": int(r.awaiting_recheck or 0), "overdue": int(r.overdue or 0),
               "oldest_overdue_deadline": r.oldest_overdue_deadline, "overdue_numbers": numbers[r.code]}
              for r in await conn.execute(query)]
    return sorted(groups, key=lambda g: (-g["overdue"], -g["open"], g["code"] or ""))


async def open_and_overdue(conn: AsyncConnection, today: date, column: str) -> dict[Any, tuple[int, int]]:
    """Open and overdue entries on ``today`` per ``column`` (``responsible_unit`` or ``township_code``):
    :func:`overdue`'s counts, in one ``GROUP BY``, without the entries' numbers."""
    key, overdue = ledger_entries.c[column], _overdue_condition(today)
    query = (select(key, func.count(), func.sum(case((overdue, 1), else_=0)))
             .where(ledger_entries.c.status != "closed").group_by(key))
    return {code: (int(n), int(late or 0)) for code, n, late in await conn.execute(query)}


async def overdue(conn: AsyncConnection, today: date) -> dict[str, Any]:
    """Open and overdue entries on ``today``, by responsible unit and by township."""
    by_unit = await _by(conn, today, "responsible_unit")
    by_township = await _by(conn, today, "township_code")
    return {"today": today, "open": sum(g["open"] for g in by_unit),
            "overdue": sum(g["overdue"] for g in by_unit), "by_unit": by_unit, "by_township": by_township}
