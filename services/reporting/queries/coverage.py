"""Coverage for a year, per org unit, rolled up village → township → district."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import cov_persons, cov_units, cov_years
from shared.errors import NotFound

GROUPS = ("all", "severe", "hardship")
MEASURES = ("registered", "visited", "planned", "delivered")


@dataclass
class Figures:
    """Counts of one group in one unit."""

    registered: int = 0
    visited: int = 0
    planned: int = 0
    delivered: int = 0

    def add(self, other: Figures) -> None:
        """Accumulate another unit's counts."""
        for m in MEASURES:
            setattr(self, m, getattr(self, m) + getattr(other, m))

    def as_json(self) -> dict[str, Any]:
        """Counts and rates (share of registered; null when nobody is registered)."""
        def rate(n: int) -> float | None:
            return round(n / self.registered, 4) if self.registered else None
        return {
            "registered": self.registered, "visited": self.visited, "planned": self.planned,
            "delivered": self.delivered, "visited_rate": rate(self.visited),
            "planned_rate": rate(self.planned), "delivered_rate": rate(self.delivered),
        }


@dataclass
class UnitCoverage:
    """One org unit's coverage and its children's."""

    code: str
    name: str
    level: str
    groups: dict[str, Figures] = field(default_factory=lambda: {g: Figures() for g in GROUPS})
    children: list[UnitCoverage] = field(default_factory=list)

    def as_json(self, depth: int) -> dict[str, Any]:
        """The unit with ``depth`` levels of children."""
        body: dict[str, Any] = {"code": self.code, "name": self.name, "level": self.level,
                                **{g: f.as_json() for g, f in self.groups.items()}}
        if depth > 0:
            body["children"] = [c.as_json(depth - 1) for c in self.children]
        return body


async def coverage_tree(conn: AsyncConnection, year: int) -> dict[str, UnitCoverage]:
    """Every unit's coverage for ``year``, keyed by code, children linked."""
    units = {r.code: UnitCoverage(r.code, r.name, r.level)
             for r in await conn.execute(select(cov_units).order_by(cov_units.c.code))}
    parents = {r.code: r.parent_code for r in await conn.execute(select(cov_units.c.code, cov_units.c.parent_code))}
    for code, parent in parents.items():
        if parent in units:
            units[parent].children.append(units[code])
    delivered = cov_years.c.delivered > 0
    columns = []
    for group, condition in (("all", None), ("severe", cov_persons.c.severe), ("hardship", cov_persons.c.hardship)):
        for measure, expr in (("registered", None), ("visited", cov_years.c.visited),
                              ("planned", cov_years.c.planned), ("delivered", delivered)):
            parts = [c for c in (condition, expr) if c is not None]
            when = and_(*parts) if parts else None
            value = func.count() if when is None else func.sum(case((when, 1), else_=0))
            columns.append(value.label(f"{group}__{measure}"))
    query = (
        select(cov_persons.c.village_code, cov_persons.c.township_code, *columns)
        .select_from(cov_persons.outerjoin(
            cov_years, and_(cov_years.c.person_id == cov_persons.c.person_id, cov_years.c.year == year)))
        .where(cov_persons.c.active)
        .group_by(cov_persons.c.village_code, cov_persons.c.township_code)
    )
    for row in (await conn.execute(query)).mappings():
        village = units.get(row["village_code"])
        if village is None:  # a village we have not heard of: count it under its township
            village = units.setdefault(row["village_code"], UnitCoverage(row["village_code"], "?", "village"))
        for group in GROUPS:
            village.groups[group].add(Figures(**{m: int(row[f"{group}__{m}"] or 0) for m in MEASURES}))
    for unit in _bottom_up(units, parents):
        parent = units.get(parents.get(unit.code) or "")
        if parent is not None:
            for group in GROUPS:
                parent.groups[group].add(unit.groups[group])
    return units


def _bottom_up(units: dict[str, UnitCoverage], parents: dict[str, str | None]) -> list[UnitCoverage]:
    order = {"village": 0, "township": 1, "district": 2}
    return sorted(units.values(), key=lambda u: order.get(u.level, 3))


async def coverage(conn: AsyncConnection, year: int, code: str | None, depth: int) -> dict[str, Any]:
    """Coverage of one unit (default: the district) with ``depth`` levels below it."""
    units = await coverage_tree(conn, year)
    if code is None:
        roots = [u for u in units.values() if u.level == "district"]
        if not roots:
            raise NotFound("no district is known yet: the registry has published no org units")
        unit = roots[0]
    else:
        unit = units.get(code)  # type: ignore[assignment]
        if unit is None:
            raise NotFound(f"no org unit {code}")
    return {"year": year, **unit.as_json(depth)}
