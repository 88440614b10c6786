"""Certificate status by org unit, and the persons whose certificate expires soon, as of a day.

Status is derived here from the dates the events carried: cancelled (on a date, or a year after
a household move), then frozen (months after the move), then expired (past ``valid_until``),
otherwise valid — the same order as the registry's ``certificate_life.status``.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.certificates import rep_certificates as C

STATUSES = ("valid", "frozen", "cancelled", "expired")


def status_on(today: date) -> ColumnElement[str]:
    """The certificate's status on ``today`` as a SQL expression."""
    return case(
        (or_(C.c.cancelled_on <= today, C.c.cancelled_from <= today), "cancelled"),
        (C.c.frozen_from <= today, "frozen"),
        (C.c.valid_until < today, "expired"),
        else_="valid",
    )


def _expiring(today: date, within_days: int) -> ColumnElement[bool]:
    # ``today`` is bounded at the edge (shared.http.bounds) but the window may reach past 9999-12-31.
    until = date.max if (date.max - today).days < within_days else today + timedelta(days=within_days)
    return and_(C.c.active.is_(True), C.c.valid_until >= today, C.c.valid_until <= until)


async def status_by_unit(conn: AsyncConnection, *, today: date, within_days: int,
                         township_code: str | None) -> list[dict[str, Any]]:
    """Per township (or per village of one township): how many certificates are in each status,
    and how many valid ones expire within ``within_days``. Active persons only."""
    unit = C.c.village_code if township_code else C.c.township_code
    status = status_on(today)
    query = (select(unit.label("code"), status.label("status"), func.count().label("n"),
                    func.sum(case((and_(_expiring(today, within_days), status == "valid"), 1), else_=0))
                    .label("expiring"))
             .where(C.c.active.is_(True)).group_by(unit, status).order_by(unit))
    if township_code:
        query = query.where(C.c.township_code == township_code)
    units: dict[str, dict[str, Any]] = {}
    for row in await conn.execute(query):
        counts = units.setdefault(row.code, {"code": row.code, **dict.fromkeys(STATUSES, 0), "expiring": 0})
        counts[row.status] = int(row.n)
        counts["expiring"] += int(row.expiring or 0)
    return list(units.values())


async def expiring(conn: AsyncConnection, *, today: date, within_days: int, township_code: str | None,
                   limit: int, offset: int) -> list[dict[str, Any]]:
    """Active persons whose certificate is valid today and ends within ``within_days`` days, soonest first."""
    query = (select(C.c.person_id, C.c.township_code, C.c.village_code, C.c.valid_until, C.c.suffix)
             .where(_expiring(today, within_days), status_on(today) == "valid")
             .order_by(C.c.valid_until, C.c.person_id).limit(limit).offset(offset))
    if township_code:
        query = query.where(C.c.township_code == township_code)
    return [dict(row._mapping) for row in await conn.execute(query)]
