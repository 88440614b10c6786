"""A small batch's flush in the driver's form: every statement and the ``COMMIT`` in one hand-off (SQLite).

On SQLite each statement SQLAlchemy runs is a hand-off to aiosqlite's thread and back and ~0.1 ms
of SQLAlchemy's execute path on the event loop's thread; a lone command's flush was five of them
(events, outbox, two lookup rows, ``COMMIT``). Here the same statements, compiled once per shape
with their columns' bind processors (``shared.driver_sql.driver_form``), are handed to the driver
as positional tuples and run with the commit in one hand-off (``FusedConnection.run_steps``).

The outbox rows take their positions from the events just inserted (``INSERT … SELECT`` by event
id, in the same hand-off). A failure (a taken unique key: a claim left to the constraint) is raised
as SQLAlchemy's exception of the same kind, with the transaction still open: the executor's
rollback undoes every row of the batch. These statements bypass SQLAlchemy's statement events.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from shared.db import sqlite_begin
from shared.driver_sql import driver_form
from shared.eventstore.outbox import PendingEvent, clearing_statement
from shared.eventstore.position_sets import positions_value
from shared.eventstore.tables import events
from shared.sqlite_driver import FusedConnection, Step, live_fused

FUSE_MAX_ROWS = 64
"""Largest group of rows flushed this way; a larger batch keeps SQLAlchemy's multi-row statements
(its events insert is one ``INSERT … VALUES …, … RETURNING``, here one execute per row)."""

_EVENTS = insert(events).returning(events.c.position, events.c.event_id)
_OUTBOX = "INSERT INTO outbox (position) SELECT position FROM events WHERE event_id = ?"


@functools.lru_cache(maxsize=256)
def _insert(table: Table) -> Executable:
    return insert(table)


@functools.lru_cache(maxsize=256)
def _update(table: Table, keys: tuple[str, ...], values: tuple[str, ...]) -> Executable:
    stmt = update(table).where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys)))
    return stmt.values({c: bindparam(f"v_{c}") for c in values})


async def fused_driver(conn: AsyncConnection) -> FusedConnection | None:
    """The connection's driver if it can run a flush in one hand-off (SQLite's), else None."""
    if conn.dialect.name != "sqlite":
        return None
    live = live_fused(conn)  # no greenlet round trip (get_raw_connection's) for a live connection
    if live is not None:
        return live
    driver = (await conn.get_raw_connection()).driver_connection
    return driver if isinstance(driver, FusedConnection) else None


def _step(dialect: Any, stmt: Executable, rows: list[dict[str, Any]], returning: bool) -> Step | None:
    """One statement for the driver, or None if its driver form does not fit these rows."""
    columns = tuple(rows[0])
    form = driver_form(dialect, stmt, columns)
    if form is None:
        return None
    sql, processors = form
    return sql, [tuple([row[name] if process is None else process(row[name]) for name, process in processors])
                 for row in rows], returning


async def flush_fused(conn: AsyncConnection, driver: FusedConnection, groups: Sequence[Sequence[Any]],
                      *, commit: bool, clearing: Sequence[int] = ()) -> list[PendingEvent] | None:
    """Run the flush's ``groups`` of writes (``unit_of_work.Write``) and the outbox rows through
    ``driver`` in one hand-off, deleting the outbox rows ``clearing`` (acknowledged ones) and
    committing if ``commit``; the events written (position order).
    None, with nothing run, if a group is too large or a statement has no driver form."""
    dialect = conn.dialect
    steps: list[Step] = []
    event_rows: list[dict[str, Any]] = []
    for group in groups:
        first = group[0]
        if len(group) > FUSE_MAX_ROWS:
            return None
        if first.kind == "insert" and first.table is events:
            event_rows = [w.values for w in group]
            step = _step(dialect, _EVENTS, event_rows, True)
        elif first.kind == "insert":
            step = _step(dialect, _insert(first.table), [w.values for w in group], False)
        else:
            keys, values = tuple(first.key), tuple(first.values)
            step = _step(dialect, _update(first.table, keys, values),
                         [{**{f"k_{k}": w.key[k] for k in keys}, **{f"v_{c}": w.values[c] for c in values}}
                          for w in group], False)
        if step is None:
            return None
        steps.append(step)
    if event_rows:
        steps.append((_OUTBOX, [(v["event_id"],) for v in event_rows], False))
    if clearing:
        step = _step(dialect, clearing_statement("sqlite"), [{"positions": positions_value(clearing, "sqlite")}], False)
        if step is None:
            return None
        steps.append(step)
    begin = None
    if not conn.in_transaction():  # no statement of the batch went through SQLAlchemy (executor: lazy begin)
        if commit:
            begin = sqlite_begin(conn.sync_connection.get_execution_options() if conn.sync_connection else {})
        else:
            await conn.begin()  # the statements after this flush go through SQLAlchemy, in its transaction
    try:
        returned = await driver.run_steps(steps, commit=commit, begin=begin)
    except sqlite3.Error as exc:
        sql = next((s[0] for s in steps), "")
        raise DBAPIError.instance(sql, None, exc, sqlite3.Error, dialect=dialect) from exc
    position = {event_id: pos for step, rows in zip(steps, returned, strict=True) if step[2] for pos, event_id in rows}
    written = [PendingEvent(position[v["event_id"]], v["event_id"], v["event_type"], v["department"], v["envelope"],
                            v["stream_id"]) for v in event_rows]
    written.sort()  # position order: the relay publishes in it
    return written
