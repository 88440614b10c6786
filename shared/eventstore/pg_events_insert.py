"""A small batch's inserts in one PostgreSQL statement (one round trip, not one per table).

``WITH inserted AS (INSERT INTO events … RETURNING position, event_id), queued AS (INSERT INTO
outbox (position) SELECT position FROM inserted), w1 AS (INSERT INTO <lookup table> …), …
SELECT position, event_id FROM inserted``: a data-modifying ``WITH`` runs whether or not the query
reads it, all in the same statement and snapshot; a unique key taken in any of them fails the
whole statement (``IntegrityError``) as it failed the separate inserts.

The statement is built with SQLAlchemy (each value a bound parameter of its column's type) and
compiled once per shape (tables, columns, rows of each), then run in the driver's form, so a batch
pays only its parameters: building a multi-row ``insert(events).values(rows)`` per batch and
compiling it cost more than the round trip it saved (bench/README.md). A larger batch, or a table
with a Python-side default the rows leave to SQLAlchemy, keeps its statements. Like the SQLite
flush's (``driver_flush``), this statement bypasses SQLAlchemy's statement compilation but not its
statement events.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore.tables import events, outbox

MAX_ROWS = 4
"""Most rows of one table one statement takes; more go their own way."""

Shape = tuple[Table, tuple[str, ...], int]
"""A table, the columns its rows give, and how many rows."""


def fits(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """Whether ``rows`` (inserts of one shape into ``table``) may go in the fused statement."""
    if conn.dialect.name != "postgresql" or not 0 < len(rows) <= MAX_ROWS:
        return False
    given = rows[0].keys()
    return all(c.default is None for c in table.columns if c.name not in given)


@functools.lru_cache(maxsize=128)
def _statement(dialect: Any, shapes: tuple[Shape, ...]) -> tuple[str, tuple[tuple[str, Any], ...]]:
    """The fused statement in the driver's form: its SQL and each positional parameter's name
    (``t<shape>_<row>_<column index>``, the events' shape first) with its bind processor.

    Compiled here once, run with ``exec_driver_sql``: through ``conn.execute`` SQLAlchemy computes
    the cache key of the whole statement (every ``WITH``, every parameter) at each execution, which
    cost more than the round trips it saves."""
    ctes = []
    for t, (table, columns, count) in enumerate(shapes):
        rows = [{c: bindparam(f"t{t}_{r}_{i}", type_=table.c[c].type) for i, c in enumerate(columns)}
                for r in range(count)]
        ctes.append(insert(table).values(rows))
    inserted = ctes[0].returning(events.c.position, events.c.event_id).cte("inserted")
    queued = insert(outbox).from_select(["position"], select(inserted.c.position)).cte("queued")
    others = [stmt.cte(f"w{t}") for t, stmt in enumerate(ctes[1:], start=1)]
    compiled = select(inserted.c.position, inserted.c.event_id).add_cte(queued, *others).compile(dialect=dialect)
    processors = compiled._bind_processors
    return str(compiled), tuple((name, processors.get(name)) for name in compiled.positiontup or ())


async def insert_fused(conn: AsyncConnection, event_rows: Sequence[dict[str, Any]],
                       others: Sequence[tuple[Table, Sequence[dict[str, Any]]]]) -> dict[str, int]:
    """Insert ``event_rows`` into ``events``, their positions into ``outbox`` and each of ``others``'
    rows into its table, in one statement (all must :func:`fits`); each event id's position."""
    groups: list[tuple[Table, Sequence[dict[str, Any]]]] = [(events, event_rows), *others]
    shapes = tuple((table, tuple(rows[0]), len(rows)) for table, rows in groups)
    parameters = {f"t{t}_{r}_{i}": row[c] for t, (_, rows) in enumerate(groups)
                  for r, row in enumerate(rows) for i, c in enumerate(shapes[t][1])}
    sql, names = _statement(conn.dialect, shapes)
    values = tuple([parameters[name] if process is None else process(parameters[name]) for name, process in names])
    rows: list[Any] = list(await conn.exec_driver_sql(sql, values))
    return {row.event_id: row.position for row in rows}
