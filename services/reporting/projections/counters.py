"""Fill the counters the projections keep from the rows they count: for the migration that adds them.

The same figures as the tallies (``COVERAGE_TALLY``, ``PLAN_ITEMS_TALLY``) would reach by applying
every event, computed with one ``GROUP BY`` per counter table, groups that count nothing left out.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, case, delete, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import (
    NOT_RECORDED,
    cov_counts,
    cov_lost_reasons,
    cov_persons,
    cov_year_counts,
    cov_years,
)
from services.reporting.projections.plan_items import pi_due_counts, pi_items, pi_persons


def _statements() -> list[Any]:
    p, y, i, q = cov_persons.c, cov_years.c, pi_items.c, pi_persons.c
    person_key = (p.village_code, p.township_code, p.severe, p.hardship)

    def count(condition: Any) -> Any:
        return func.sum(case((condition, 1), else_=0))
    delivered = y.delivered > 0
    lost = and_(y.attempted, y.visited.is_(False))
    year_key = (p.village_code, p.township_code, y.year, p.severe, p.hardship)
    persons_years = cov_years.join(cov_persons, p.person_id == y.person_id)
    year_counts = (
        select(*year_key, count(y.attempted), count(y.visited), count(lost), count(y.planned),
               count(and_(y.visited, y.planned)), count(delivered))
        .select_from(persons_years)
        .where(p.active).group_by(*year_key)
        .having(or_(count(y.attempted) > 0, count(y.visited) > 0, count(y.planned) > 0, count(delivered) > 0)))
    reason = func.coalesce(y.lost_reason, literal(NOT_RECORDED))
    lost_reasons = (select(*year_key, reason, func.count()).select_from(persons_years)
                    .where(p.active, lost).group_by(*year_key, reason))
    due = (select(i.responsible_department, q.township_code, i.due_on, func.count())
           .select_from(pi_items.join(pi_persons, q.person_id == i.person_id))
           .where(q.active, i.status == literal("planned"))
           .group_by(i.responsible_department, q.township_code, i.due_on))
    return [
        delete(cov_counts), delete(cov_year_counts), delete(cov_lost_reasons), delete(pi_due_counts),
        insert(cov_counts).from_select([*(c.name for c in person_key), "registered"],
                                       select(*person_key, func.count()).where(p.active).group_by(*person_key)),
        insert(cov_year_counts).from_select(
            ["village_code", "township_code", "year", "severe", "hardship", "attempted", "visited", "lost", "planned",
             "visited_planned", "delivered"], year_counts),
        insert(cov_lost_reasons).from_select(
            ["village_code", "township_code", "year", "severe", "hardship", "lost_reason", "lost"], lost_reasons),
        insert(pi_due_counts).from_select(["responsible_department", "township_code", "due_on", "planned"], due),
    ]


async def fill(conn: AsyncConnection) -> None:
    """Recompute every counter table from the rows (in the caller's transaction)."""
    for statement in _statements():
        await conn.execute(statement)


def fill_sync(conn: Connection) -> None:
    """:func:`fill` on a synchronous connection (Alembic's)."""
    for statement in _statements():
        conn.execute(statement)
