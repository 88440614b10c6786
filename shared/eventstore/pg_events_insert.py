"""A small batch's inserts in one PostgreSQL statement (one round trip, not one per table).

``WITH inserted AS (INSERT INTO events … RETURNING position, event_id), queued AS (INSERT INTO
outbox (position) SELECT position FROM inserted), w1 AS (INSERT INTO <lookup table> …), …
[cleared AS (DELETE FROM outbox WHERE position = ANY(…)),] SELECT position, event_id,
(SELECT array_agg(position) FROM outbox) FROM inserted``: a
data-modifying ``WITH`` runs whether or not the query reads it, all in the same statement and
snapshot; a unique key taken in any of them fails the whole statement (``IntegrityError``) as it
failed the separate inserts.

The last column is every outbox row the statement's snapshot holds, its own not among them (a
statement does not see its own ``WITH`` inserts): whatever the command read was committed before
that snapshot, so if the relay knows each of these rows, no event it has not seen can precede the
ones handed to it (``Outbox.committed``'s ``seen``), and it need not read the table after the commit.

When the statement is the batch's only one (a lone command that read nothing: no transaction is
open), it runs on asyncpg directly, in autocommit: one statement is atomic by itself, and the
``BEGIN`` and ``COMMIT`` round trips through SQLAlchemy were a third of a lone command's trips.

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
from typing import Any, NamedTuple

from asyncpg.exceptions import IntegrityConstraintViolationError
from sqlalchemy import Table, bindparam, func, insert, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore.outbox import clearing_statement
from shared.eventstore.tables import events, outbox

MAX_ROWS = 4
"""Most rows of one table one statement takes; more go their own way."""

SEEN_MAX = 256
"""Outbox rows the fused statement reports seen, at most: with as many, it says nothing (``seen`` is
None) and the relay reads the table, as it would for rows it does not know (it holds at most
``outbox.KEEP_COMMITTED`` handed rows besides the acknowledged ones still to clear)."""

Shape = tuple[Table, tuple[str, ...], int]
"""A table, the columns its rows give, and how many rows."""


def fits(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]]) -> bool:
    """Whether ``rows`` (inserts of one shape into ``table``) may go in the fused statement."""
    if conn.dialect.name != "postgresql" or not 0 < len(rows) <= MAX_ROWS:
        return False
    given = rows[0].keys()
    return all(c.default is None for c in table.columns if c.name not in given)


@functools.lru_cache(maxsize=128)
def _statement(dialect: Any, shapes: tuple[Shape, ...],
               clearing: bool) -> tuple[str, tuple[tuple[str, Any], ...]]:
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
    if clearing:  # the acknowledged rows the batch deletes (Outbox.to_clear): parameter ``positions``
        others.append(clearing_statement("postgresql").cte("cleared"))
    # At most SEEN_MAX rows, by the primary key's index: a relay far behind (NATS away) must not make
    # every command read the whole outbox; more than the relay could know means "read the table".
    first = select(outbox.c.position).order_by(outbox.c.position).limit(literal_column(str(SEEN_MAX))).subquery()
    seen = select(func.array_agg(first.c.position)).scalar_subquery()
    compiled = (select(inserted.c.position, inserted.c.event_id, seen).add_cte(queued, *others)
                .compile(dialect=dialect))
    processors = compiled._bind_processors
    return str(compiled), tuple((name, processors.get(name)) for name in compiled.positiontup or ())


class Inserted(NamedTuple):
    """What the fused statement reports: each event id's position, and the outbox rows it saw."""

    positions: dict[str, int]
    seen: list[int] | None
    """The outbox's rows in the statement's snapshot (not the ones it inserted); None if there were
    :data:`SEEN_MAX` or more (too many to say)."""


async def insert_fused(conn: AsyncConnection, event_rows: Sequence[dict[str, Any]],
                       others: Sequence[tuple[Table, Sequence[dict[str, Any]]]], *, alone: bool = False,
                       clearing: Sequence[int] = ()) -> Inserted:
    """Insert ``event_rows`` into ``events``, their positions into ``outbox`` and each of ``others``'
    rows into its table, and delete the outbox rows ``clearing``, in one statement (all must :func:`fits`).
    The outbox rows it reports seen include ``clearing`` (the statement's snapshot is before its deletes).

    ``alone``: nothing else is written in this transaction; if none is open, the statement runs in
    autocommit on the driver (its own transaction) and the connection stays out of one."""
    groups: list[tuple[Table, Sequence[dict[str, Any]]]] = [(events, event_rows), *others]
    shapes = tuple((table, tuple(rows[0]), len(rows)) for table, rows in groups)
    parameters = {f"t{t}_{r}_{i}": row[c] for t, (_, rows) in enumerate(groups)
                  for r, row in enumerate(rows) for i, c in enumerate(shapes[t][1])}
    if clearing:
        parameters["positions"] = list(clearing)
    sql, names = _statement(conn.dialect, shapes, bool(clearing))
    values = tuple([parameters[name] if process is None else process(parameters[name]) for name, process in names])
    driver = _idle_driver(conn) if alone else None
    rows: list[Any]
    if driver is not None:
        try:
            rows = await driver.fetch(sql, *values)
        except IntegrityConstraintViolationError as exc:  # what the executor retries carefully, as SQLAlchemy names it
            raise IntegrityError(sql, None, exc) from exc
    else:
        rows = list(await conn.exec_driver_sql(sql, values))
    seen = list(rows[0][2] or ()) if rows else []
    return Inserted({row[1]: row[0] for row in rows}, None if len(seen) >= SEEN_MAX else seen)


def _idle_driver(conn: AsyncConnection) -> Any | None:
    """``conn``'s asyncpg connection if neither SQLAlchemy nor the driver has a transaction open, else None."""
    sync = conn.sync_connection
    if conn.dialect.driver != "asyncpg" or sync is None or sync.closed or sync.invalidated or conn.in_transaction():
        return None
    driver = sync.connection.driver_connection
    return None if driver is None or driver.is_in_transaction() else driver
