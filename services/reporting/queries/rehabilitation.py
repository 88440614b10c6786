"""The rehabilitation indicator for a year, per org unit, against the national target.

Of the persons with a rehabilitation need this year (a reached home visit recorded one), the share
who received a basic rehabilitation service (a delivered plan item of the year for that need), by
village, township and district; the national target is at least 80%
(:data:`REHABILITATION_TARGET`). Units with persons in need whose share is below it are listed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.rehabilitation import rh_items, rh_needs, rh_persons, rh_units
from shared.errors import NotFound

REHABILITATION_TARGET = 0.8
"""持证残疾人基本康复服务覆盖率: at least 80% of those in need."""
_ORDER = {"village": 0, "township": 1, "district": 2}


@dataclass
class Unit:
    """One org unit's counts and its children."""

    code: str
    name: str
    level: str
    parent_code: str | None
    with_need: int = 0
    received: int = 0
    children: list[Unit] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        """Share of those in need who received the service (null when nobody needs it)."""
        return round(self.received / self.with_need, 4) if self.with_need else None

    def figures(self) -> dict[str, Any]:
        """The unit without its children."""
        rate = self.rate
        return {"code": self.code, "name": self.name, "level": self.level, "with_need": self.with_need,
                "received": self.received, "rate": rate,
                "meets_target": None if rate is None else rate >= REHABILITATION_TARGET}

    def as_json(self, depth: int) -> dict[str, Any]:
        """The unit with ``depth`` levels of children."""
        body = self.figures()
        if depth > 0:
            body["children"] = [c.as_json(depth - 1) for c in self.children]
        return body


async def _tree(conn: AsyncConnection, year: int) -> dict[str, Unit]:
    units = {r.code: Unit(r.code, r.name, r.level, r.parent_code)
             for r in await conn.execute(select(rh_units).order_by(rh_units.c.code))}
    for unit in units.values():
        if unit.parent_code in units:
            units[unit.parent_code].children.append(unit)
    received = exists().where(and_(rh_items.c.person_id == rh_needs.c.person_id, rh_items.c.year == year,
                                   rh_items.c.status == "delivered"))
    query = (select(rh_persons.c.village_code, rh_persons.c.township_code, func.count().label("with_need"),
                    func.sum(case((received, 1), else_=0)).label("received"))
             .select_from(rh_needs.join(rh_persons, rh_persons.c.person_id == rh_needs.c.person_id))
             .where(rh_needs.c.year == year, rh_persons.c.active)
             .group_by(rh_persons.c.village_code, rh_persons.c.township_code))
    for row in await conn.execute(query):
        village = units.get(row.village_code)
        if village is None:  # a village not heard of yet: counted, and under its township if known
            village = units[row.village_code] = Unit(row.village_code, "?", "village", row.township_code)
            if row.township_code in units:
                units[row.township_code].children.append(village)
        village.with_need += int(row.with_need)
        village.received += int(row.received or 0)
    for unit in sorted(units.values(), key=lambda u: _ORDER.get(u.level, 3)):
        parent = units.get(unit.parent_code or "")
        if parent is not None:
            parent.with_need += unit.with_need
            parent.received += unit.received
    return units


def _below(unit: Unit) -> list[dict[str, Any]]:
    """The unit and those under it whose share is below the target, the unit first."""
    rate = unit.rate
    own = [unit.figures()] if rate is not None and rate < REHABILITATION_TARGET else []
    return own + [row for child in unit.children for row in _below(child)]


async def rehabilitation(conn: AsyncConnection, year: int, code: str | None, depth: int) -> dict[str, Any]:
    """The indicator of one unit (default: the district) with ``depth`` levels below it, and every
    unit under it (itself included) that is below the target."""
    units = await _tree(conn, year)
    if code is None:
        unit = next((u for u in units.values() if u.level == "district"), None)
        if unit is None:
            raise NotFound("no district is known yet: the registry has published no org units")
    else:
        unit = units.get(code)
        if unit is None:
            raise NotFound(f"no org unit {code}")
    return {"year": year, "target": REHABILITATION_TARGET, **unit.as_json(depth), "below_target": _below(unit)}
