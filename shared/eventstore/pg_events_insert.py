"""A small batch's events and their outbox rows in one PostgreSQL statement (one round trip, not two).

``WITH inserted AS (INSERT INTO events … RETURNING position, event_id), queued AS (INSERT INTO
outbox (position) SELECT position FROM inserted) SELECT position, event_id FROM inserted``: a
data-modifying ``WITH`` runs whether or not the query reads it, in the same statement and snapshot.

The SQL is made once per number of rows (up to ``MAX_ROWS``) and kept, so a batch pays only its
parameters: building a multi-row ``insert(events).values(rows)`` per batch and compiling it cost
more than the round trip it saved (bench/README.md). asyncpg prepares each text once per
connection. A larger batch keeps the two statements (its multi-row insert is SQLAlchemy's).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore.tables import events, outbox

MAX_ROWS = 4
"""Most events one statement takes; more go the two-statement way."""


@functools.lru_cache(maxsize=64)
def _statement(columns: tuple[str, ...], count: int) -> TextClause:
    """The fused statement for ``count`` rows with ``columns``, parameters ``c<column index>_<row>``."""
    quote = _quote
    names = ", ".join(quote(c) for c in columns)
    values = ", ".join("(" + ", ".join(f":c{i}_{r}" for i in range(len(columns))) + ")" for r in range(count))
    position, event_id = quote("position"), quote("event_id")
    return text(
        f"WITH inserted AS (INSERT INTO {quote(events.name)} ({names}) VALUES {values} "
        f"RETURNING {position}, {event_id}), "
        f"queued AS (INSERT INTO {quote(outbox.name)} ({position}) SELECT {position} FROM inserted) "
        f"SELECT {position}, {event_id} FROM inserted")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def fits(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> bool:
    """Whether ``rows`` (events of one shape) go in one statement on this connection's database."""
    return conn.dialect.name == "postgresql" and 0 < len(rows) <= MAX_ROWS


async def insert_events_queued(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert ``rows`` into ``events`` and their positions into ``outbox`` in one statement;
    each event id's position."""
    columns = tuple(rows[0])
    parameters = {f"c{i}_{r}": row[column] for r, row in enumerate(rows) for i, column in enumerate(columns)}
    result = await conn.execute(_statement(columns, len(rows)), parameters)
    return {event_id: position for position, event_id in result}
