"""The relay's read of the oldest pending outbox rows: one statement, run through SQLAlchemy or, on
PostgreSQL, compiled once and run on the asyncpg connection directly.

The relay reads up to thousands of rows per batch. Through SQLAlchemy each read compiles (from its
cache), processes every row (result metadata, a Row object per row) and goes through the adapted
DBAPI cursor: ~4 µs of the relay's CPU per event. On PostgreSQL asyncpg's own ``fetch`` on the
driver connection under the relay's SQLAlchemy connection (which is in autocommit: no transaction
is open around it) runs the same statement with its prepared-statement cache.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, Text, all_, bindparam, func, select, true
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.driver_sql import driver_form
from shared.eventstore.position_sets import not_among
from shared.eventstore.tables import events, outbox

PARAMETERS = ("positions", "parked", "limit")
"""``select_pending``'s parameter names: the positions to skip, the parked stream ids, the limit."""


def select_pending(skip: Sequence[int], parked: Sequence[str], limit: int, dialect: str) -> Select[Any]:
    """The oldest ``limit`` outbox rows with PendingEvent's columns, not in ``skip`` nor of a ``parked`` stream.

    Its parameters are named ``positions``, ``parked`` and ``limit``; on PostgreSQL each list is one
    parameter, so that :func:`fetch_pending` runs one compiled form per case.
    """
    return (
        select(events.c.position, events.c.event_id, events.c.event_type,
               events.c.department, events.c.envelope, events.c.stream_id)
        .join(outbox, outbox.c.position == events.c.position)
        # Lets PostgreSQL start the events scan at the oldest unpublished event rather than at
        # position 1 (without it each batch reads the whole published log).
        .where(events.c.position >= select(func.min(outbox.c.position)).scalar_subquery())
        .where(not_among(outbox.c.position, skip, dialect) if skip else true())
        .where(_not_parked(parked, dialect) if parked else true())
        .order_by(outbox.c.position)
        .limit(bindparam("limit", limit, type_=Integer))
    )


def _not_parked(parked: Sequence[str], dialect: str) -> ColumnElement[bool]:
    """The event's stream is none of ``parked``: one array parameter on PostgreSQL, a list elsewhere."""
    if dialect == "postgresql":
        return events.c.stream_id != all_(bindparam("parked", list(parked), type_=ARRAY(Text)))
    return events.c.stream_id.not_in(bindparam("parked", list(parked), expanding=True))


@cache
def pending_statement(skip: bool, parked: bool) -> Select[Any]:
    """``select_pending`` for PostgreSQL in one case (with or without positions to skip and parked
    streams), kept for :func:`shared.driver_sql.driver_form`: a statement per case, as the SQLAlchemy
    path makes, so that PostgreSQL plans each for what it filters."""
    return select_pending([0] if skip else [], ["-"] if parked else [], 1, "postgresql")


async def fetch_pending(conn: AsyncConnection, skip: Sequence[int], parked: Sequence[str],
                        limit: int) -> list[Any]:
    """The oldest ``limit`` outbox rows' columns (``PendingEvent``'s, asyncpg records) not in ``skip``
    nor of a ``parked`` stream, read by asyncpg on ``conn``'s driver connection (``conn`` in autocommit)."""
    names = tuple(name for name, used in zip(PARAMETERS, (bool(skip), bool(parked), True), strict=True) if used)
    form = driver_form(conn.dialect, pending_statement(bool(skip), bool(parked)), names)
    if form is None:
        raise RuntimeError("the pending read does not compile to asyncpg's positional form")
    sql, processors = form
    values = {"positions": list(skip), "parked": list(parked), "limit": limit}
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    records: list[Any] = await driver.fetch(
        sql, *[values[name] if process is None else process(values[name]) for name, process in processors])
    return records
