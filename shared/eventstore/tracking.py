"""Consumer checkpoints: the last source position a consumer applied, kept with its read model."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.driver_sql import execute_rows, read_rows
from shared.eventstore.tables import tracking


async def applied_position(conn: AsyncConnection, consumer: str, source: str, *, lock: bool = False) -> int:
    """The last position ``consumer`` applied from ``source`` (0 if none).

    With ``lock`` the row is locked (PostgreSQL) so that two replicas of a consumer cannot both
    apply the same batch; SQLite's single writer gives the same guarantee by itself.
    """
    query = select(tracking.c.position).where(tracking.c.consumer == consumer, tracking.c.source == source)
    if lock:
        query = query.with_for_update()
    value = (await conn.execute(query)).scalar_one_or_none()
    return int(value) if value is not None else 0


async def record_position(conn: AsyncConnection, consumer: str, source: str, position: int) -> None:
    """Store the position applied, in the caller's transaction."""
    result = await conn.execute(
        update(tracking)
        .where(tracking.c.consumer == consumer, tracking.c.source == source)
        .values(position=position)
    )
    if result.rowcount == 0:
        await conn.execute(insert(tracking).values(consumer=consumer, source=source, position=position))


async def applied_positions(
    conn: AsyncConnection, consumers: Collection[str], source: str, *, lock: bool = False,
) -> dict[str, int]:
    """``applied_position`` of several consumers of ``source`` in one query (0 for those with none)."""
    # through the driver with a statement compiled once: a lone event's batch reads these every time
    found = {row["consumer"]: int(row["position"]) for row in await read_rows(
        conn, tracking, ("consumer", "position"), [(consumer, source) for consumer in consumers], lock)}
    return {consumer: found.get(consumer, 0) for consumer in consumers}


async def record_positions(conn: AsyncConnection, source: str, positions: Mapping[str, int]) -> None:
    """``record_position`` for several consumers of ``source`` in one statement (a multi-row upsert)."""
    if not positions:
        return
    rows = [{"consumer": c, "source": source, "position": p} for c, p in sorted(positions.items())]
    await execute_rows(conn, _upsert_positions(conn.dialect.name), ("consumer", "source", "position"), rows)


@functools.cache
def _upsert_positions(dialect: str) -> Any:
    # made once: building ``excluded`` copies the table's columns, dearer than the statement's SQL
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(tracking)
    return stmt.on_conflict_do_update(index_elements=[tracking.c.consumer, tracking.c.source],
                                      set_={"position": stmt.excluded.position})
