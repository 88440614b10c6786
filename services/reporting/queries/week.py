"""The officer's week (本周工作): what a township or village officer has to do, as of a day.

Five lists for one unit (a township, or one of its villages), each paged on its own:

- ``not_reached``: active persons with no visit this year at all;
- ``lost``: active persons whose only visits this year were lost to follow-up (失访): try again;
- ``plan_items``: plan items still planned, of active persons of the unit, overdue or due within
  :data:`PLAN_DAYS` days;
- ``certificates``: valid certificates of active persons of the unit ending within
  :data:`CERTIFICATE_DAYS` days;
- ``rectifications``: ledger entries of the unit's township not yet closed (a rectification is
  assigned to a township, not to a village: a village officer sees their township's).

Reporting knows persons by opaque id only; the registry shows who they are to the roles allowed.
Each person row carries the person stream's ``version`` as last seen, for the phone's visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.certificates import rep_certificates as C
from services.reporting.projections.coverage import cov_units
from services.reporting.projections.plan_items import pi_items, pi_names, pi_persons
from services.reporting.projections.rectifications import ledger_entries, ledger_names
from services.reporting.projections.week import wk_persons, wk_visits
from services.reporting.queries.certificates import status_on
from services.reporting.queries.rectifications import STATUS_LABELS, days_overdue
from shared.auth import Principal, Role
from shared.errors import Forbidden, InvalidInput, NotFound

Section = Literal["not_reached", "lost", "plan_items", "certificates", "rectifications"]
SECTIONS: tuple[Section, ...] = ("not_reached", "lost", "plan_items", "certificates", "rectifications")
PLAN_DAYS = 14
"""A plan item shows from this many days before its due date (and stays while overdue)."""
CERTIFICATE_DAYS = 90
"""A certificate shows from this many days before it ends."""


@dataclass(frozen=True)
class Unit:
    """The unit a week is for: a township, or a village with its township."""

    code: str
    name: str
    level: Literal["township", "village"]
    township_code: str
    township_name: str


async def find_unit(conn: AsyncConnection, code: str) -> Unit:
    """The township or village ``code``; :class:`NotFound` if reporting has not heard of it."""
    row = (await conn.execute(select(cov_units).where(cov_units.c.code == code))).first()
    if row is None:
        raise NotFound(f"no org unit {code} (yet)")
    if row.level == "township":
        return Unit(code, row.name, "township", code, row.name)
    if row.level != "village" or row.parent_code is None:
        raise InvalidInput(f"the week is for a township or a village; {code} is a {row.level}", field="unit")
    parent = (await conn.execute(select(cov_units.c.name).where(cov_units.c.code == row.parent_code))).scalar()
    return Unit(code, row.name, "village", row.parent_code, parent or row.parent_code)


def require_unit(principal: Principal, unit: Unit) -> None:
    """A township officer sees their own township and its villages; a federation admin any unit."""
    if principal.has(Role.FEDERATION_ADMIN):
        return
    if principal.has(Role.TOWNSHIP_OFFICER) and principal.township_code == unit.township_code:
        return
    raise Forbidden(f"{principal.staff_id} may see the week of township {principal.township_code or '(none)'} "
                    f"and its villages only, not {unit.code}")


def _in_unit(table: Any, unit: Unit) -> Any:
    return table.c.village_code == unit.code if unit.level == "village" else table.c.township_code == unit.code


_village = cov_units.alias("village")


async def _persons(conn: AsyncConnection, unit: Unit, year: int, lost: bool,
                   offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    joined = (wk_persons
              .outerjoin(wk_visits, and_(wk_visits.c.person_id == wk_persons.c.person_id, wk_visits.c.year == year))
              .outerjoin(_village, _village.c.code == wk_persons.c.village_code))
    tried = func.coalesce(wk_visits.c.lost_count, 0) > 0
    where = and_(wk_persons.c.active.is_(True), _in_unit(wk_persons, unit), wk_visits.c.reached_on.is_(None),
                 tried if lost else ~tried)
    total = (await conn.execute(select(func.count()).select_from(joined).where(where))).scalar_one()
    order = ([wk_visits.c.last_lost_on] if lost else []) + [
        wk_persons.c.severe.desc(), wk_persons.c.hardship.desc(), wk_persons.c.village_code, wk_persons.c.person_id]
    query = (select(wk_persons, wk_visits.c.lost_count, wk_visits.c.last_lost_on,
                    _village.c.name.label("village_name"))
             .select_from(joined).where(where).order_by(*order).offset(offset).limit(limit))
    return int(total), [{
        "person_id": r.person_id, "version": r.version, "village_code": r.village_code,
        "village_name": r.village_name or r.village_code, "category": r.category, "grade": r.grade,
        "severe": bool(r.severe), "hardship": bool(r.hardship), "lost_count": int(r.lost_count or 0),
        "last_lost_on": r.last_lost_on,
    } for r in await conn.execute(query)]


async def _plan_items(conn: AsyncConnection, unit: Unit, today: date,
                      offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    joined = (pi_items.join(pi_persons, pi_persons.c.person_id == pi_items.c.person_id)
              .outerjoin(pi_names, pi_names.c.code == pi_items.c.responsible_department))
    where = and_(pi_items.c.status == "planned", pi_persons.c.active.is_(True), _in_unit(pi_persons, unit),
                 pi_items.c.due_on <= today + timedelta(days=PLAN_DAYS))
    total = (await conn.execute(select(func.count()).select_from(joined).where(where))).scalar_one()
    query = (select(pi_items, pi_persons.c.village_code, pi_names.c.name.label("department_name"))
             .select_from(joined).where(where).order_by(pi_items.c.due_on, pi_items.c.item_id)
             .offset(offset).limit(limit))
    return int(total), [{
        "item_id": r.item_id, "plan_id": r.plan_id, "person_id": r.person_id, "year": r.year, "kind": r.kind,
        "need": r.need, "description": r.description, "responsible_department": r.responsible_department,
        "department_name": r.department_name or r.responsible_department, "village_code": r.village_code,
        "due_on": r.due_on, "days_overdue": max(0, (today - r.due_on).days),
    } for r in await conn.execute(query)]


async def _certificates(conn: AsyncConnection, unit: Unit, today: date,
                        offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    until = date.max if (date.max - today).days < CERTIFICATE_DAYS else today + timedelta(days=CERTIFICATE_DAYS)
    where = and_(C.c.active.is_(True), _in_unit(C, unit), status_on(today) == "valid",
                 C.c.valid_until >= today, C.c.valid_until <= until)
    total = (await conn.execute(select(func.count()).select_from(C).where(where))).scalar_one()
    query = (select(C.c.person_id, C.c.village_code, C.c.valid_until, C.c.suffix).where(where)
             .order_by(C.c.valid_until, C.c.person_id).offset(offset).limit(limit))
    return int(total), [{"person_id": r.person_id, "village_code": r.village_code, "valid_until": r.valid_until,
                         "suffix": r.suffix, "days_left": (r.valid_until - today).days}
                        for r in await conn.execute(query)]


_unit_name = ledger_names.alias("unit_name")


async def _rectifications(conn: AsyncConnection, unit: Unit, today: date,
                          offset: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    joined = ledger_entries.outerjoin(_unit_name, _unit_name.c.code == ledger_entries.c.responsible_unit)
    where = and_(ledger_entries.c.township_code == unit.township_code,
                 or_(ledger_entries.c.status.is_(None), ledger_entries.c.status != "closed"))
    total = (await conn.execute(select(func.count()).select_from(joined).where(where))).scalar_one()
    query = (select(ledger_entries, _unit_name.c.name.label("unit_name")).select_from(joined).where(where)
             .order_by(ledger_entries.c.deadline, ledger_entries.c.rectification_id).offset(offset).limit(limit))
    rows = []
    for r in await conn.execute(query):
        late = days_overdue(r.deadline, r.status, today)
        label = STATUS_LABELS.get(r.status, r.status)
        rows.append({
            "rectification_id": r.rectification_id, "number": r.number, "problem": r.problem,
            "target_name": r.target_name, "responsible_unit": r.responsible_unit,
            "responsible_unit_name": r.unit_name or r.responsible_unit, "measures": r.measures,
            "measures_taken": r.measures_taken, "deadline": r.deadline, "status": r.status,
            "status_label": f"逾期{late}天" if late else label, "days_overdue": late})
    return int(total), rows


async def section(conn: AsyncConnection, name: Section, unit: Unit, *, today: date, year: int,
                  offset: int = 0, limit: int = 20) -> dict[str, Any]:
    """One list of the week, paged: ``total`` rows in all, ``rows`` from ``offset``."""
    if name in ("not_reached", "lost"):
        total, rows = await _persons(conn, unit, year, name == "lost", offset, limit)
    elif name == "plan_items":
        total, rows = await _plan_items(conn, unit, today, offset, limit)
    elif name == "certificates":
        total, rows = await _certificates(conn, unit, today, offset, limit)
    else:
        total, rows = await _rectifications(conn, unit, today, offset, limit)
    return {"total": total, "offset": offset, "limit": limit, "rows": rows}


async def week(conn: AsyncConnection, unit: Unit, *, today: date, year: int, offsets: dict[Section, int],
               limit: int = 20) -> dict[str, Any]:
    """Every list of the week for ``unit``, each from its own offset."""
    return {
        "unit": {"code": unit.code, "name": unit.name, "level": unit.level,
                 "township_code": unit.township_code, "township_name": unit.township_name},
        "today": today, "year": year, "plan_days": PLAN_DAYS, "certificate_days": CERTIFICATE_DAYS,
        "sections": {name: await section(conn, name, unit, today=today, year=year,
                                         offset=offsets.get(name, 0), limit=limit) for name in SECTIONS},
    }
