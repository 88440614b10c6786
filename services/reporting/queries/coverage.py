"""Coverage for a year, per org unit, rolled up village → township → district.

``visited`` counts persons reached this year; ``attempted`` those with any visit attempt; ``lost``
(失访) those attempted but never reached, with ``lost_reasons`` counting each one's latest reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import NOT_RECORDED, cov_persons, cov_units, cov_years
from shared.errors import NotFound

GROUPS = ("all", "severe", "hardship")
MEASURES = ("registered", "attempted", "visited", "lost", "planned", "delivered")


@dataclass
class Figures:
    """Counts of one group in one unit."""

    registered: int = 0
    attempted: int = 0
    visited: int = 0
    lost: int = 0
    planned: int = 0
    delivered: int = 0
    lost_reasons: dict[str, int] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        """Accumulate another unit's counts."""
        for m in MEASURES:
            setattr(self, m, getattr(self, m) + getattr(other, m))
        for reason, count in other.lost_reasons.items():
            self.lost_reasons[reason] = self.lost_reasons.get(reason, 0) + count

    def as_json(self) -> dict[str, Any]:
        """Counts and rates (share of registered; null when nobody is registered)."""
        def rate(n: int) -> float | None:
            return round(n / self.registered, 4) if self.registered else None
        return {
            "registered": self.registered, "attempted": self.attempted, "visited": self.visited, "lost": self.lost,
            "planned": self.planned, "delivered": self.delivered, "attempted_rate": rate(self.attempted),
            "visited_rate": rate(self.visited), "lost_rate": rate(self.lost),
            "planned_rate": rate(self.planned), "delivered_rate": rate(self.delivered),
            "lost_reasons": dict(sorted(self.lost_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
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
    lost = and_(cov_years.c.attempted, cov_years.c.visited.is_(False))
    groups = (("all", None), ("severe", cov_persons.c.severe), ("hardship", cov_persons.c.hardship))
    columns = []
    for group, condition in groups:
        for measure, expr in (("registered", None), ("attempted", cov_years.c.attempted),
                              ("visited", cov_years.c.visited), ("lost", lost),
                              ("planned", cov_years.c.planned), ("delivered", delivered)):
            columns.append(_count(condition, expr).label(f"{group}__{measure}"))
    joined = cov_persons.outerjoin(
        cov_years, and_(cov_years.c.person_id == cov_persons.c.person_id, cov_years.c.year == year))
    query = (
        select(cov_persons.c.village_code, cov_persons.c.township_code, *columns)
        .select_from(joined).where(cov_persons.c.active)
        .group_by(cov_persons.c.village_code, cov_persons.c.township_code)
    )
    for row in (await conn.execute(query)).mappings():
        village = _village(units, row["village_code"])
        for group, _ in groups:
            figures = Figures()
            for m in MEASURES:
                setattr(figures, m, int(row[f"{group}__{m}"] or 0))
            village.groups[group].add(figures)
    reasons = (
        select(cov_persons.c.village_code, cov_years.c.lost_reason,
               *[_count(condition, None).label(group) for group, condition in groups])
        .select_from(joined).where(cov_persons.c.active, lost)
        .group_by(cov_persons.c.village_code, cov_years.c.lost_reason)
    )
    for row in (await conn.execute(reasons)).mappings():
        village = _village(units, row["village_code"])
        for group, _ in groups:
            if row[group]:
                reason = row["lost_reason"] or NOT_RECORDED
                village.groups[group].add(Figures(lost_reasons={reason: int(row[group])}))
    for unit in _bottom_up(units, parents):
        parent = units.get(parents.get(unit.code) or "")
        if parent is not None:
            for group in GROUPS:
                parent.groups[group].add(unit.groups[group])
    return units


def _count(condition: Any, expr: Any) -> Any:
    parts = [c for c in (condition, expr) if c is not None]
    return func.count() if not parts else func.sum(case((and_(*parts), 1), else_=0))


def _village(units: dict[str, UnitCoverage], code: str) -> UnitCoverage:
    # A village we have not heard of (yet): count it under a placeholder.
    return units.setdefault(code, UnitCoverage(code, "?", "village"))


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
