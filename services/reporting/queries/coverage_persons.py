"""Who in a unit has not been visited, or has no plan, this year: the supervisor's follow-up list.

Reporting knows persons only by opaque id (with village, category, grade, severe and hardship):
names and certificate numbers stay in the registry, which shows them to the roles allowed.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import cov_persons, cov_units, cov_years

Missing = Literal["visit", "plan", "any"]

_village = cov_units.alias("village")
_township = cov_units.alias("township")


def _unit_condition(unit: str | None, level: str | None) -> Any:
    if unit is None or level == "district":
        return True
    if level == "township":
        return cov_persons.c.township_code == unit
    return cov_persons.c.village_code == unit


async def persons_to_follow_up(
    conn: AsyncConnection, year: int, unit: str | None, missing: Missing, *, offset: int = 0, limit: int = 50,
    severe: bool | None = None, hardship: bool | None = None,
) -> dict[str, Any]:
    """Active persons of ``unit`` (district, township or village) not visited and/or without a plan in ``year``.

    Severe and hardship persons come first (they are the inspection groups' focus), then by village.
    ``severe`` / ``hardship`` keep only persons who are (or are not) so; ``total`` counts every person
    the filter keeps, ``persons`` is the page ``offset`` … ``offset + limit``.
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
    for column, wanted in ((cov_persons.c.severe, severe), (cov_persons.c.hardship, hardship)):
        if wanted is not None:
            where = and_(where, column.is_(wanted))
    total = (await conn.execute(select(func.count()).select_from(joined).where(where))).scalar_one()
    query = (select(cov_persons, cov_years.c.visited, cov_years.c.lost_to_follow_up, cov_years.c.lost_reason,
                    cov_years.c.planned,
                    _village.c.name.label("village_name"), _township.c.name.label("township_name"))
             .select_from(joined).where(where)
             .order_by(cov_persons.c.severe.desc(), cov_persons.c.hardship.desc(), cov_persons.c.village_code,
                       cov_persons.c.person_id)
             .offset(offset).limit(limit))
    persons = [{
        "person_id": r.person_id, "village_code": r.village_code, "village_name": r.village_name,
        "township_code": r.township_code, "township_name": r.township_name, "category": r.category,
        "grade": r.grade, "severe": bool(r.severe), "hardship": bool(r.hardship),
        # 失访 means every attempt of the year was lost: a reached visit after one is a visit.
        "visited": bool(r.visited), "lost_to_follow_up": bool(r.lost_to_follow_up) and not r.visited,
        "lost_reason": r.lost_reason if r.lost_to_follow_up and not r.visited else None,
        "planned": bool(r.planned),
    } for r in await conn.execute(query)]
    return {"year": year, "unit": unit, "level": level or "district", "missing": missing,
            "total": int(total), "offset": offset, "limit": limit, "shown": len(persons), "persons": persons}
