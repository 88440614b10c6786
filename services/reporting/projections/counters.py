"""Fill the counters the projections keep from the rows they count: for the migration that adds them.

The same figures as the tallies (``COVERAGE_TALLY``, ``PLAN_ITEMS_TALLY``) would reach by applying
every event, computed with one ``GROUP BY`` per counter table, groups that count nothing left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Date, Table, and_, case, cast, delete, func, insert, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.coverage import (
    NOT_RECORDED,
    cov_counts,
    cov_lost_reasons,
    cov_persons,
    cov_year_counts,
    cov_years,
)
from services.reporting.projections.plan_items import pi_due_counts, pi_due_month_counts, pi_items, pi_persons


def _first_of_month(day: Any, dialect: str) -> Any:
    """SQL for the first day of ``day``'s month (:func:`plan_items.month_of`), on ``dialect``."""
    if dialect == "postgresql":
        return cast(func.date_trunc("month", day), Date)
    return func.date(day, "start of month")


def _statements(dialect: str) -> dict[Table, Any]:
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
    on_active = pi_items.join(pi_persons, q.person_id == i.person_id)
    due = (select(i.responsible_department, q.township_code, i.due_on, func.count())
           .select_from(on_active).where(q.active, i.status == literal("planned"))
           .group_by(i.responsible_department, q.township_code, i.due_on))
    month = _first_of_month(i.due_on, dialect)
    due_months = (select(i.responsible_department, q.township_code, month, func.count())
                  .select_from(on_active).where(q.active, i.status == literal("planned"))
                  .group_by(i.responsible_department, q.township_code, month))
    return {
        cov_counts: insert(cov_counts).from_select(
            [*(c.name for c in person_key), "registered"],
            select(*person_key, func.count()).where(p.active).group_by(*person_key)),
        cov_year_counts: insert(cov_year_counts).from_select(
            ["village_code", "township_code", "year", "severe", "hardship", "attempted", "visited", "lost", "planned",
             "visited_planned", "delivered"], year_counts),
        cov_lost_reasons: insert(cov_lost_reasons).from_select(
            ["village_code", "township_code", "year", "severe", "hardship", "lost_reason", "lost"], lost_reasons),
        pi_due_counts: insert(pi_due_counts).from_select(
            ["responsible_department", "township_code", "due_on", "planned"], due),
        pi_due_month_counts: insert(pi_due_month_counts).from_select(
            ["responsible_department", "township_code", "due_month", "planned"], due_months),
    }


COUNTERS: tuple[Table, ...] = (cov_counts, cov_year_counts, cov_lost_reasons, pi_due_counts, pi_due_month_counts)
"""Every counter table the projections keep, in the order :func:`fill` fills them."""


def _fills(dialect: str, tables: Sequence[Table]) -> list[Any]:
    statements = _statements(dialect)
    return [*(delete(t) for t in tables), *(statements[t] for t in tables)]


async def fill(conn: AsyncConnection, tables: Sequence[Table] = COUNTERS) -> None:
    """Recompute the counter tables ``tables`` (default: all) from the rows (in the caller's transaction)."""
    for statement in _fills(conn.dialect.name, tables):
        await conn.execute(statement)


def fill_sync(conn: Connection, tables: Sequence[Table] = COUNTERS) -> None:
    """:func:`fill` on a synchronous connection (Alembic's): a migration names the tables it adds."""
    for statement in _fills(conn.dialect.name, tables):
        conn.execute(statement)
