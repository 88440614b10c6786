"""The history of one entity across services (审计): every event that named it, in order.

Reads the three audit tables (:mod:`services.reporting.projections.audit`). For each event it
says what changed: every field on the first event of a stream, then only the fields whose value
differs from that stream's previous event (ledger and inspection events repeat their facts, so an
extended deadline shows as just the new deadline and the reason).
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select, union_all
from sqlalchemy.ext.asyncio import AsyncConnection

from services.reporting.projections.audit import TABLES
from shared.errors import NotFound

LIMIT = 2000


async def history(conn: AsyncConnection, entity_id: str) -> dict[str, Any]:
    """Every event naming ``entity_id``, oldest first, each with actor, time and what changed."""
    parts = [select(events.c.event_id, events.c.service, events.c.stream_id, events.c.stream_type,
                    events.c.stream_version, events.c.type, events.c.time, events.c.actor,
                    events.c.department, events.c.data, refs.c.field)
             .select_from(events.join(refs, refs.c.event_id == events.c.event_id))
             .where(refs.c.entity_id == entity_id)
             for events, refs in TABLES.values()]
    everything = union_all(*parts).subquery()
    query = (select(everything)
             .order_by(everything.c.time, everything.c.service, everything.c.stream_id, everything.c.stream_version)
             .limit(LIMIT))
    rows = (await conn.execute(query)).all()
    if not rows:
        raise NotFound(f"no event names {entity_id}: check the id (reporting may not have caught up yet)")
    previous: dict[str, dict[str, Any]] = {}
    events_out = []
    for r in rows:
        data = json.loads(r.data)
        before = previous.get(r.stream_id)
        changed = data if before is None else {k: v for k, v in data.items() if before.get(k) != v}
        previous[r.stream_id] = data
        events_out.append({
            "event_id": r.event_id, "service": r.service, "stream_id": r.stream_id, "stream_type": r.stream_type,
            "version": r.stream_version, "type": r.type, "time": r.time, "actor": r.actor,
            "department": r.department, "named_as": r.field, "changed": changed, "data": data,
        })
    streams = sorted({(e["service"], e["stream_type"], e["stream_id"]) for e in events_out})
    return {"entity_id": entity_id, "count": len(events_out), "truncated": len(rows) >= LIMIT,
            "services": sorted({e["service"] for e in events_out}),
            "streams": [{"service": s, "stream_type": t, "stream_id": i} for s, t, i in streams],
            "events": events_out}
