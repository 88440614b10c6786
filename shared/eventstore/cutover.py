"""The signing cut-over of one instance: where its unsigned history ends (``shared.signing.CutOver``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.envelope import Envelope
from shared.eventstore.tables import events


async def last_unsigned_position(engine: AsyncEngine, source: str, *, batch: int = 5000) -> int:
    """The highest log position of an unsigned event written by ``source`` (0 if there is none):
    the cut-over covers exactly the history that was there, not a position beyond it."""
    last = 0
    async with engine.connect() as conn:
        result = await conn.stream(select(events.c.position, events.c.envelope).order_by(events.c.position))
        async for part in result.partitions(batch):
            for row in part:
                envelope = Envelope.from_json(row.envelope)
                if envelope.source == source and not (envelope.signature and envelope.key_id):
                    last = row.position
    return last
