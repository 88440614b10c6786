"""At most once per event id: the ids each read model has applied, kept in its own database.

The consumer checkpoint (a stream sequence) skips redeliveries, but an old event published again
under a new ``Nats-Msg-Id`` gets a new sequence. This table catches it by the event's own id.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, cast

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.eventstore.tables import applied_events

_CHUNK = 500  # ids per IN list: well under SQLite's and asyncpg's parameter limits


async def already_applied(
    conn: AsyncConnection, consumers: Collection[str], event_ids: Collection[str]
) -> set[tuple[str, str]]:
    """Which (consumer, event id) pairs among these have been applied before."""
    found: set[tuple[str, str]] = set()
    ids = sorted(set(event_ids))
    for start in range(0, len(ids), _CHUNK):
        rows = await conn.execute(
            select(applied_events.c.consumer, applied_events.c.event_id).where(
                applied_events.c.consumer.in_(list(consumers)),
                applied_events.c.event_id.in_(ids[start:start + _CHUNK]),
            )
        )
        found.update((row.consumer, row.event_id) for row in rows)
    return found


async def record_applied(conn: AsyncConnection, pairs: Iterable[tuple[str, str]]) -> None:
    """Remember (consumer, event id) pairs as applied, in the caller's transaction."""
    # In key order: each insert lands next to the one before in the primary key's index, where
    # random ids would touch a page of it each (about twice as fast on SQLite).
    rows = sorted(pairs)
    if not rows:
        return
    sql = _insert_sql(conn.dialect)
    for start in range(0, len(rows), 1000):
        # The driver's own executemany of plain tuples: two strings a row need no SQLAlchemy
        # parameter processing, which cost about as much as SQLite's insert (a consumer records
        # several rows per event it applies).
        await conn.exec_driver_sql(sql, rows[start:start + 1000])


_INSERTS: dict[tuple[str, str], str] = {}


def _insert_sql(dialect: Dialect) -> str:
    """The INSERT of a (consumer, event id) row in the dialect's own SQL and parameter style."""
    key = (dialect.name, dialect.paramstyle)
    if key not in _INSERTS:
        _INSERTS[key] = _compile_insert(dialect)
    return _INSERTS[key]


def _compile_insert(dialect: Dialect) -> str:
    compiled = insert(applied_events).values(consumer=bindparam("consumer"), event_id=bindparam("event_id")).compile(
        dialect=dialect)
    if compiled.positiontup != ["consumer", "event_id"]:  # the tuples are (consumer, event id)
        raise RuntimeError(f"unexpected parameter order {compiled.positiontup}")
    return str(compiled)


async def claim_applied(conn: AsyncConnection, consumer: str, event_ids: Collection[str]) -> set[str]:
    """Record these event ids as applied by ``consumer``, in the caller's transaction; the ones that
    were not recorded before (each once, however often it is given).

    :func:`claim_pairs` for one consumer: the table's key decides, so the answer needs no read. (A
    read by ``IN`` list on PostgreSQL kept the plan it got while the table was empty — a
    sequential scan — as a rebuild filled it: 0.6 s per 500 ids.)
    """
    return {event_id for _consumer, event_id in await claim_pairs(conn, ((consumer, e) for e in event_ids))}


async def replace_applied(conn: AsyncConnection, consumer: str, event_ids: Iterable[str]) -> None:
    """After a rebuild: the read model now holds exactly these events."""
    await conn.execute(delete(applied_events).where(applied_events.c.consumer == consumer))
    await record_applied(conn, ((consumer, e) for e in event_ids))




async def claim_pairs(conn: AsyncConnection, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """Record (consumer, event id) pairs as applied, in the caller's transaction; the ones that
    were not recorded before (:func:`claim_applied` for several consumers at once).

    A multi-row ``INSERT … ON CONFLICT DO NOTHING RETURNING`` of up to a thousand pairs, in key
    order, through the driver: the table's key decides, with no read by ``IN`` list (whose plan
    PostgreSQL may keep from when the table was small) and no second statement to record them.
    """
    rows = sorted(set(pairs))
    fresh: set[tuple[str, str]] = set()
    for start in range(0, len(rows), 1000):
        chunk = rows[start:start + 1000]
        found = await conn.exec_driver_sql(_claim_sql(conn.dialect, len(chunk)),
                                           tuple(value for pair in chunk for value in pair))
        fresh.update((str(row[0]), str(row[1])) for row in cast("list[Any]", found.all()))
    return fresh


_CLAIMS: dict[tuple[str, str, int], str] = {}


def _claim_sql(dialect: Dialect, count: int) -> str:
    """The claim of ``count`` pairs in the dialect's own SQL and positional parameter style."""
    key = (dialect.name, dialect.paramstyle, count)
    sql = _CLAIMS.get(key)
    if sql is None:
        if dialect.paramstyle == "qmark":
            values = ", ".join(["(?, ?)"] * count)
        elif dialect.paramstyle in ("numeric_dollar", "numeric"):
            mark = "$" if dialect.paramstyle == "numeric_dollar" else ":"
            values = ", ".join(f"({mark}{2 * i + 1}, {mark}{2 * i + 2})" for i in range(count))
        elif dialect.paramstyle == "format":
            values = ", ".join(["(%s, %s)"] * count)
        else:
            raise RuntimeError(f"no claim of applied ids for the parameter style {dialect.paramstyle}")
        sql = _CLAIMS[key] = (f"INSERT INTO {applied_events.name} (consumer, event_id) VALUES {values} "
                              "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING consumer, event_id")
    return sql
