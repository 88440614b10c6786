"""The relay's read of pending outbox rows on PostgreSQL, straight on the asyncpg connection.

The relay reads up to thousands of rows per batch. Through SQLAlchemy each read compiles (from its
cache), processes every row (result metadata, a Row object per row) and goes through the adapted
DBAPI cursor: ~4 µs of the relay's CPU per event. asyncpg's own ``fetch`` on the driver connection
under the relay's SQLAlchemy connection (which is in autocommit: no transaction is open around it)
does the same read with its prepared-statement cache. The SQL is the one
``select_pending`` (shared.eventstore.outbox) builds (the same conditions, in the same cases), its names taken
from the table objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore.tables import events, outbox

COLUMNS = ("position", "event_id", "event_type", "department", "envelope", "stream_id")
"""PendingEvent's fields, in order: the columns read."""


@cache
def pending_sql(skip: bool, parked: bool) -> str:
    """The read's SQL, with ``$1`` the positions to skip (if ``skip``), then the parked stream ids
    (if ``parked``), then the limit; a statement per case, as the SQLAlchemy path makes, so that
    PostgreSQL plans each for what it filters."""
    e, o = events.name, outbox.name
    position = outbox.c.position.name
    selected = ", ".join(f"e.{events.c[name].name}" for name in COLUMNS)
    conditions = [f"e.{events.c.position.name} >= (SELECT min({position}) FROM {o})"]
    number = 0
    if skip:
        number += 1
        conditions.append(f"o.{position} <> ALL(${number}::bigint[])")
    if parked:
        number += 1
        conditions.append(f"e.{events.c.stream_id.name} <> ALL(${number}::text[])")
    return (f"SELECT {selected} FROM {e} AS e JOIN {o} AS o ON o.{position} = e.{events.c.position.name} "
            f"WHERE {' AND '.join(conditions)} ORDER BY o.{position} LIMIT ${number + 1}")


async def fetch_pending(conn: AsyncConnection, skip: Sequence[int], parked: Sequence[str],
                        limit: int) -> list[Any]:
    """The oldest ``limit`` outbox rows' columns (:data:`COLUMNS`, asyncpg records) not in ``skip`` nor
    of a ``parked`` stream, read by asyncpg on ``conn``'s driver connection (``conn`` in autocommit)."""
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    arguments: list[Any] = []
    if skip:
        arguments.append(list(skip))
    if parked:
        arguments.append(list(parked))
    arguments.append(limit)
    records: list[Any] = await driver.fetch(pending_sql(bool(skip), bool(parked)), *arguments)
    return records
