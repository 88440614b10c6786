"""Consumer checkpoints: the last source position a consumer applied, kept with its read model."""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

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
