"""Who in a unit has not been visited, or has no plan, this year: the supervisor's follow-up list.

Reporting knows persons only by opaque id (with village, category, grade, severe and hardship):
names and certificate numbers stay in the registry, which shows them to the roles allowed.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import cov_counts, cov_persons, cov_units, cov_year_counts, cov_years

Missing = Literal["visit", "plan", "any"]

_village = cov_units.alias("village")
_township = cov_units.alias("township")


def _unit_condition(unit: str | None, level: str | None) -> Any:
    if unit is None or level == "district":
        return True
    if level == "township":
        return cov_persons.c.township_code == unit
    return cov_persons.c.village_code == unit


GROUPS = ((True, True), (True, False), (False, True), (False, False))
"""The (severe, hardship) groups in the list's order: severe first, then hardship."""
_COVERED = {"visit": "visited", "plan": "planned", "any": "visited_planned"}
"""Per gap, the counter of the persons who do not have it (they are left out of the list)."""


def _counter_condition(table: Any, unit: str | None, level: str | None) -> Any:
    if unit is None or level == "district":
        return True
    return table.c.township_code == unit if level == "township" else table.c.village_code == unit


async def _group_totals(conn: AsyncConnection, year: int, unit: str | None, level: str | None,
                        missing: Missing) -> dict[tuple[bool, bool], int]:
    """Per (severe, hardship) group, how many active persons of the unit lack ``missing``: from the counters."""
    totals = {group: 0 for group in GROUPS}
    registered = (select(cov_counts.c.severe, cov_counts.c.hardship, func.sum(cov_counts.c.registered))
                  .where(_counter_condition(cov_counts, unit, level))
                  .group_by(cov_counts.c.severe, cov_counts.c.hardship))
    for severe, hardship, n in await conn.execute(registered):
        totals[(bool(severe), bool(hardship))] += int(n or 0)
    y = cov_year_counts
    covered = (select(y.c.severe, y.c.hardship, func.sum(y.c[_COVERED[missing]]))
               .where(y.c.year == year, _counter_condition(y, unit, level))
               .group_by(y.c.severe, y.c.hardship))
    for severe, hardship, n in await conn.execute(covered):
        totals[(bool(severe), bool(hardship))] -= int(n or 0)
    return totals


async def persons_to_follow_up(
    conn: AsyncConnection, year: int, unit: str | None, missing: Missing, *, offset: int = 0, limit: int = 50,
    severe: bool | None = None, hardship: bool | None = None,
) -> dict[str, Any]:
    """Active persons of ``unit`` (district, township or village) not visited and/or without a plan in ``year``.

    Severe and hardship persons come first (they are the inspection groups' focus), then by village.
    ``severe`` / ``hardship`` keep only persons who are (or are not) so; ``total`` counts every person
    the filter keeps, ``persons`` is the page ``offset`` … ``offset + limit``.

    The totals come from the coverage counters; the page is read one (severe, hardship) group at a
    time, each in the order of an index (village, then id), so that no request sorts the register.
    """
    level = None
    if unit is not None:
        level = (await conn.execute(select(cov_units.c.level).where(cov_units.c.code == unit))).scalar_one_or_none()
    not_visited = or_(cov_years.c.visited.is_(None), cov_years.c.visited.is_(False))
    no_plan = or_(cov_years.c.planned.is_(None), cov_years.c.planned.is_(False))
    gap = {"visit": not_visited, "plan": no_plan, "any": or_(not_visited, no_plan)}[missing]
    joined = (cov_persons
              .outerjoin(cov_years, and_(cov_years.c.person_id == cov_persons.c.person_id, cov_years.c.year == year))
              .outerjoin(_village, _village.c.code == cov_persons.c.village_code)
              .outerjoin(_township, _township.c.code == cov_persons.c.township_code))
    where = and_(cov_persons.c.active, gap, _unit_condition(unit, level))
    groups = [g for g in GROUPS if severe in (None, g[0]) and hardship in (None, g[1])]
    totals = await _group_totals(conn, year, unit, level, missing)
    rows: list[Any] = []
    skip, wanted = offset, limit
    for group in groups:
        if wanted <= 0:
            break
        if skip >= totals[group]:
            skip -= totals[group]
            continue
        query = (select(cov_persons, cov_years.c.visited, cov_years.c.lost_to_follow_up,
                        cov_years.c.lost_reason, cov_years.c.planned,
                        _village.c.name.label("village_name"), _township.c.name.label("township_name"))
                 .select_from(joined)
                 .where(where, cov_persons.c.severe == group[0], cov_persons.c.hardship == group[1])
                 .order_by(cov_persons.c.village_code, cov_persons.c.person_id)
                 .offset(skip).limit(wanted))
        found = (await conn.execute(query)).all()
        rows += found
        skip, wanted = 0, wanted - len(found)
    persons = [{
        "person_id": r.person_id, "village_code": r.village_code, "village_name": r.village_name,
        "township_code": r.township_code, "township_name": r.township_name, "category": r.category,
        "grade": r.grade, "severe": bool(r.severe), "hardship": bool(r.hardship),
        # 失访 means every attempt of the year was lost: a reached visit after one is a visit.
        "visited": bool(r.visited), "lost_to_follow_up": bool(r.lost_to_follow_up) and not r.visited,
        "lost_reason": r.lost_reason if r.lost_to_follow_up and not r.visited else None,
        "planned": bool(r.planned),
    } for r in rows]
    total = sum(totals[g] for g in groups)
    return {"year": year, "unit": unit, "level": level or "district", "missing": missing,
            "total": int(total), "offset": offset, "limit": limit, "shown": len(persons), "persons": persons}
