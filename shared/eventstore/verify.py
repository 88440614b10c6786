"""Tamper evidence: every event's hash covers its content and its predecessor's hash."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.envelope import Envelope
from shared.eventstore.tables import events


def verify_stream(envelopes: Sequence[Envelope]) -> list[str]:
    """Problems found in one stream's chain (empty if intact)."""
    problems: list[str] = []
    prev_hash = ""
    for expected_version, envelope in enumerate(envelopes, start=1):
        where = f"{envelope.stream_id} v{envelope.stream_version}"
        if envelope.stream_version != expected_version:
            problems.append(f"{where}: expected version {expected_version} (an event is missing)")
        if envelope.prev_hash != prev_hash:
            problems.append(f"{where}: does not link to the previous event's hash")
        if envelope.content_hash() != envelope.hash:
            problems.append(f"{where}: content does not match its hash (altered)")
        prev_hash = envelope.hash
    return problems


async def verify_log(engine: AsyncEngine, *, batch: int = 5000) -> tuple[int, list[str]]:
    """Check every stream of a service's log; returns (events checked, problems)."""
    problems: list[str] = []
    checked = 0
    current: list[Envelope] = []
    current_id: str | None = None
    async with engine.connect() as conn:
        result = await conn.stream(
            select(events.c.stream_id, events.c.envelope, events.c.hash).order_by(events.c.stream_id, events.c.version)
        )
        async for part in result.partitions(batch):
            for row in part:
                envelope = Envelope.from_json(row.envelope)
                if envelope.hash != row.hash:
                    problems.append(f"{row.stream_id}: stored hash column differs from the envelope's")
                if row.stream_id != current_id:
                    problems.extend(verify_stream(current))
                    current, current_id = [], row.stream_id
                current.append(envelope)
                checked += 1
    problems.extend(verify_stream(current))
    return checked, problems
