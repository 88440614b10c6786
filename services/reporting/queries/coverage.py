"""Coverage for a year, per org unit, rolled up village → township → district.

``visited`` counts persons reached this year; ``attempted`` those with any visit attempt; ``lost``
(失访) those attempted but never reached, with ``lost_reasons`` counting each one's latest reason.

The villages' figures come from the counters the coverage projection keeps (``cov_counts``,
``cov_year_counts``, ``cov_lost_reasons``): the cost of a request grows with the number of villages, not of persons.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import cov_counts, cov_lost_reasons, cov_units, cov_year_counts
from shared.errors import NotFound

GROUPS = ("all", "severe", "hardship")


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
        # Spelt out rather than looped over the field names with getattr: this runs for every unit of
        # every request, and such a loop per counter row was most of the coverage tree's CPU.
        self.registered += other.registered
        self.attempted += other.attempted
        self.visited += other.visited
        self.lost += other.lost
        self.planned += other.planned
        self.delivered += other.delivered
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


# Built once (the year a parameter): building statements per request costs more CPU than these run.
_UNITS = (select(cov_units.c.code, cov_units.c.name, cov_units.c.level, cov_units.c.parent_code)
          .order_by(cov_units.c.code))
_PARENTS = select(cov_units.c.code, cov_units.c.parent_code)
_c, _y, _r = cov_counts.c, cov_year_counts.c, cov_lost_reasons.c
_COUNTS = select(_c.village_code, _c.severe, _c.hardship, _c.registered)
_YEAR_COUNTS = select(_y.village_code, _y.severe, _y.hardship, _y.attempted, _y.visited, _y.lost, _y.planned,
                      _y.delivered).where(_y.year == bindparam("year"))
_LOST_REASONS = select(_r.village_code, _r.severe, _r.hardship, _r.lost_reason, _r.lost).where(
    _r.year == bindparam("year"))
_REGISTERED = select(_c.village_code, func.sum(_c.registered)).group_by(_c.village_code)
_YEAR_SUMS = (select(_y.village_code, func.sum(_y.attempted), func.sum(_y.visited), func.sum(_y.lost),
                     func.sum(_y.planned), func.sum(_y.delivered))
              .where(_y.year == bindparam("year")).group_by(_y.village_code))


async def coverage_tree(conn: AsyncConnection, year: int) -> dict[str, UnitCoverage]:
    """Every unit's coverage for ``year``, keyed by code, children linked."""
    units = {code: UnitCoverage(code, name, level) for code, name, level, _parent in await conn.execute(_UNITS)}
    # children in the order this (unordered) query gives them, as before
    parents = {code: parent for code, parent in await conn.execute(_PARENTS)}
    for code, parent in parents.items():
        if parent in units:
            units[parent].children.append(units[code])
    # From the counters the projection keeps (a few rows per village), never from the persons.
    # Each row's counts go straight into the groups it belongs to (no Figures per row: a request
    # reads a few hundred rows per township).
    for code, severe, hardship, registered in await conn.execute(_COUNTS):
        for figures in _groups(units, code, severe, hardship):
            figures.registered += int(registered)
    for code, severe, hardship, attempted, visited, lost, planned, delivered in await conn.execute(
            _YEAR_COUNTS, {"year": year}):
        for figures in _groups(units, code, severe, hardship):
            figures.attempted += int(attempted)
            figures.visited += int(visited)
            figures.lost += int(lost)
            figures.planned += int(planned)
            figures.delivered += int(delivered)
    for code, severe, hardship, reason, lost in await conn.execute(_LOST_REASONS, {"year": year}):
        for figures in _groups(units, code, severe, hardship):
            figures.lost_reasons[reason] = figures.lost_reasons.get(reason, 0) + int(lost)
    for unit in _bottom_up(units, parents):
        parent = units.get(parents.get(unit.code) or "")
        if parent is not None:
            for group in GROUPS:
                parent.groups[group].add(unit.groups[group])
    return units


def _groups(units: dict[str, UnitCoverage], code: str, severe: bool, hardship: bool) -> list[Figures]:
    """The figures a village's counter row adds to: all; severe if severe; hardship if hardship."""
    # a village we have not heard of (yet): shown on its own, not linked to a township
    unit = units.get(code) or units.setdefault(code, UnitCoverage(code, "?", "village"))
    groups = unit.groups
    found = [groups["all"]]
    if severe:
        found.append(groups["severe"])
    if hardship:
        found.append(groups["hardship"])
    return found


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


async def district_children(conn: AsyncConnection, year: int) -> list[UnitCoverage]:
    """The district's children (its townships) with their ``all`` figures for ``year``, without
    their own children, the severe and hardship groups or the lost reasons: what the townships'
    scoreboard shows, read as counter sums per village (a hundred rows), not the whole tree.

    Each figure equals :func:`coverage_tree`'s for the same unit (a township's own rows and its
    villages'); empty (no district known) when the tree would have no district either.
    """
    units = (await conn.execute(_UNITS)).all()
    district = next((code for code, _name, level, _parent in units if level == "district"), None)
    if district is None:
        return []
    children = {code: UnitCoverage(code, name, level, groups={"all": Figures()})
                for code, name, level, parent in units if parent == district}
    # a village's counts go to its parent when that is one of the children; a child's own, to it
    into = {code: children[parent].groups["all"] for code, _name, _level, parent in units if parent in children}
    into.update({code: child.groups["all"] for code, child in children.items()})
    for code, registered in await conn.execute(_REGISTERED):
        if code in into:
            into[code].registered += int(registered)
    for code, attempted, visited, lost, planned, delivered in await conn.execute(_YEAR_SUMS, {"year": year}):
        if code in into:
            figures = into[code]
            figures.attempted += int(attempted)
            figures.visited += int(visited)
            figures.lost += int(lost)
            figures.planned += int(planned)
            figures.delivered += int(delivered)
    return list(children.values())
