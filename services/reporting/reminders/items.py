"""The open items and the staff, read from reporting's read models for the reminders.

Plan items (``pi_items``, of registered persons), checklist tasks (``rpt_tasks``) and rectification
entries (``ledger_entries``) that are still to be done and fall due on or before ``until``. Titles
carry no personal data: plan items name their need and plan, never the person or the (sealed)
description.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.plan_items import pi_items, pi_persons
from services.reporting.projections.rectifications import ledger_entries
from services.reporting.projections.reminder_staff import rm_staff
from services.reporting.projections.tasks import rpt_tasks
from services.reporting.reminders.selection import REMINDED_ROLES, OpenItem, StaffMember, township_of

OPEN_RECTIFICATION = ("assigned", "reopened")
"""Entries the responsible unit still has to act on (``reported`` waits for the inspectors)."""


async def open_items(conn: AsyncConnection, *, until: date, since: date | None = None) -> list[OpenItem]:
    """Every open item due on or before ``until`` (and on or after ``since``, if given)."""
    items: list[OpenItem] = []
    plan_rows = await conn.execute(
        select(pi_items.c.item_id, pi_items.c.year, pi_items.c.kind, pi_items.c.need,
               pi_items.c.responsible_department, pi_items.c.due_on, pi_persons.c.township_code)
        .join(pi_persons, pi_persons.c.person_id == pi_items.c.person_id)
        .where(pi_items.c.status == "planned", pi_persons.c.active.is_(True), pi_items.c.due_on <= until,
               *([pi_items.c.due_on >= since] if since else [])))
    items += [OpenItem("plan_item", r.item_id, f"一人一策 {r.year} · {r.need} ({r.kind})", r.due_on,
                       r.responsible_department, r.township_code) for r in plan_rows]
    task_rows = await conn.execute(
        select(rpt_tasks.c.task_id, rpt_tasks.c.title, rpt_tasks.c.deadline, rpt_tasks.c.responsible_department,
               rpt_tasks.c.org_unit_code)
        .where(rpt_tasks.c.completed_on.is_(None), rpt_tasks.c.cancelled_on.is_(None), rpt_tasks.c.deadline <= until,
               *([rpt_tasks.c.deadline >= since] if since else [])))
    items += [OpenItem("task", r.task_id, r.title, r.deadline, r.responsible_department,
                       township_of(r.org_unit_code)) for r in task_rows]
    entry_rows = await conn.execute(
        select(ledger_entries.c.rectification_id, ledger_entries.c.number, ledger_entries.c.target_name,
               ledger_entries.c.deadline, ledger_entries.c.responsible_unit, ledger_entries.c.township_code)
        .where(ledger_entries.c.status.in_(OPEN_RECTIFICATION), ledger_entries.c.deadline <= until,
               *([ledger_entries.c.deadline >= since] if since else [])))
    items += [OpenItem("rectification", r.rectification_id, f"整改 {r.number or r.rectification_id} · {r.target_name}",
                       r.deadline, r.responsible_unit, r.township_code) for r in entry_rows]
    return items


def _member(row: Row[Any]) -> StaffMember:
    return StaffMember(
        staff_id=row.staff_id, department=row.department, roles=frozenset(json.loads(row.roles)),
        township_code=row.township_code, active=bool(row.active), email=row.email,
        webhook_recipient=row.webhook_recipient)


async def reminded_staff(conn: AsyncConnection) -> list[StaffMember]:
    """Every active member of staff holding a role that is reminded."""
    rows = await conn.execute(select(rm_staff).where(rm_staff.c.active.is_(True)))
    members = [_member(r) for r in rows]
    return [m for m in members if m.roles & REMINDED_ROLES]


async def staff_member(conn: AsyncConnection, staff_id: str) -> StaffMember | None:
    """One member of staff, if reporting knows them."""
    row = (await conn.execute(select(rm_staff).where(rm_staff.c.staff_id == staff_id))).first()
    return None if row is None else _member(row)
