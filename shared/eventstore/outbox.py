"""The outbox: committed events waiting for JetStream, written by commands, read and cleared by the relay.

A command's transaction inserts its events' positions into the ``outbox`` table (the event store
does that). The relay reads the oldest rows, publishes them and reports which JetStream
acknowledged (:meth:`Outbox.acknowledged`). Deleting those rows in a transaction of their own
would double the writes per command at low rates, so the single writer clears them inside a
later batch (:meth:`Outbox.clear_acknowledged`, once a few have gathered); if no batch comes
within ``FORGET_DELAY`` the relay clears them itself (:meth:`Outbox.delete_acknowledged`). The
writer and the relay both talk to this object, never to each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple, cast

from sqlalchemy import Delete, delete, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import autocommit_reader, write_lock, writer
from shared.eventstore.pending_read import fetch_pending, select_pending
from shared.eventstore.position_sets import among_parameter, not_among, positions_value
from shared.eventstore.tables import events, outbox, parked_streams

FORGET_DELAY = 0.2
"""Seconds an acknowledged row may wait for the writer's next batch before the relay deletes it."""

CLEAR_EVERY = 32
CLEAR_AFTER = 0.1
"""The writer deletes acknowledged rows in its batch once ``CLEAR_EVERY`` have gathered or the
oldest was acknowledged ``CLEAR_AFTER`` seconds ago, not in every batch: at a steady trickle of
lone commands (each its own batch) a DELETE per command was a sixth of the writer's statements.
Rows left a little longer cost the relay's read only a short ``NOT IN`` list."""

PARKED_REFRESH = 1.0
"""Seconds the relay trusts its copy of the parked streams before reading the table again: a
release by the operator's CLI (another process) takes effect within that; this process's own
parking and releases at once. Reading the table before every batch was a query per command at
low rates."""

KEEP_COMMITTED = 4000
"""Rows handed over by the writer and not yet published that the outbox keeps in memory; past
that (the relay behind, or standing by) they are dropped and the relay reads the table."""


def _resolve(waiter: asyncio.Future[bool], value: bool) -> None:
    """Resolve ``waiter`` unless a commit (or a cancellation) got there first."""
    if not waiter.done():
        waiter.set_result(value)


@functools.cache
def clearing_statement(dialect: str) -> Delete:
    """The outbox clearing: ``DELETE`` of the rows whose positions are its parameter ``positions``
    (``positions_value``), made once per dialect (see ``among_parameter``). The executor runs it
    through SQLAlchemy, or a batch's fused flush as one of its steps (SQLite's hand-off, a CTE of
    PostgreSQL's statement)."""
    return delete(outbox).where(among_parameter(outbox.c.position, dialect))


class PendingEvent(NamedTuple):
    """A committed event waiting to be published: what the relay needs of its row."""

    position: int
    event_id: str
    event_type: str
    department: str
    envelope: str
    stream_id: str


@dataclass(frozen=True)
class ParkedStream:
    """A stream the relay set aside: its first unpublished event cannot be published."""

    stream_id: str
    event_id: str
    position: int
    reason: str
    max_payload: int
    """The server's ``max_payload`` when it was parked: a larger one releases the stream."""


class Outbox:
    """One service's outbox: what waits to be published, and what JetStream has acknowledged."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._acknowledged: set[int] = set()
        self._acknowledged_since: float | None = None
        """When the oldest row not deleted yet was acknowledged (loop time); None when there is none."""
        self._committed_since_wait = False
        """A commit was announced since the relay last waited (it returns at once next time)."""
        self._waiter: asyncio.Future[bool] | None = None
        """What the relay awaits in :meth:`wait_for_commit`; resolved by the next commit or its timer."""
        self._parked_ids: Sequence[str] | None = None
        self._parked_read_at = 0.0
        self._reader: AsyncConnection | None = None
        self._direct = engine.dialect.name == "postgresql" and engine.dialect.driver == "asyncpg"
        """Whether :meth:`pending` reads on asyncpg itself (SQLAlchemy's row processing was ~4 µs an event)."""
        """The relay's own connection for :meth:`pending` (one read per commit at low rates)."""
        self._fresh: dict[int, PendingEvent] = {}
        """Rows the writer committed and handed over, not yet acknowledged, by position (in order)."""
        self._unknown = 0
        """Counts the commits announced without their rows: a read of the table that began before
        the last of them does not prove that ``_fresh`` holds everything waiting."""
        self._in_sync = False
        """Whether every unpublished row of the table (parked streams' aside) is in ``_fresh``."""
        self.keep_committed = False
        """Set by the relay while it publishes (a standby keeps nothing)."""
        self._one_writer = engine.dialect.name == "sqlite"
        """Whether this process is the log's only writer (SQLite, by design), so that the rows its
        writer hands over are all that waits. On PostgreSQL another registry process may commit an
        aggregate's event just before this one commits the next (having read it), and its ``NOTIFY``
        arrive after: publishing the handed rows without a read would overtake it. There the
        handed rows are trusted only if the statement that wrote them saw no outbox row the relay
        does not know (``committed``'s ``seen``); else the table is read after the commit: whatever
        the commit read is committed by then."""
        self._clear = clearing_statement(engine.dialect.name)

    # --- the writer's side ----------------------------------------------------------------

    def committed(self, rows: Sequence[PendingEvent] | None = None, seen: Sequence[int] | None = None) -> None:
        """New events were committed: wake whoever waits to publish them.

        ``rows``: every event the commit wrote, handed to the relay in memory (the writer's batch);
        None when they are not known (another process, a direct command, a release): the relay then
        reads the table. ``seen`` (PostgreSQL): the outbox rows in the snapshot of the statement
        that wrote ``rows``, its own not among them. Anything the commit read was committed before
        that snapshot; if the relay knows each of these rows (handed to it and not acknowledged, or
        acknowledged), no unseen event can come before ``rows``, and they are trusted as on SQLite.
        """
        if (rows is None or not self.keep_committed or len(self._fresh) + len(rows) > KEEP_COMMITTED
                or not (self._one_writer or (seen is not None and self._knows(seen)))):
            self._unknown += 1
            self._in_sync = False
            self._fresh.clear()
        else:
            for row in rows:
                if row.position not in self._acknowledged:  # the relay's read may have been quicker
                    self._fresh[row.position] = row
        self._committed_since_wait = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _knows(self, positions: Sequence[int]) -> bool:
        """Whether every one of ``positions`` was handed to the relay (and not read back from the
        table since) or acknowledged: a row read from the table and not yet acknowledged is not
        known here, and makes the relay read the table again (safe, and rare)."""
        fresh, acknowledged = self._fresh, self._acknowledged
        return all(p in fresh or p in acknowledged for p in positions)

    def to_clear(self, *, now: bool = False) -> list[int]:
        """The acknowledged rows a batch should delete: all of them once enough have gathered
        (``CLEAR_EVERY``, ``CLEAR_AFTER``; ``now``: whatever there is), else none. The batch deletes
        them (:meth:`delete`, or a step of its fused flush) and passes them to :meth:`cleared`."""
        if not self._acknowledged:
            return []
        if not now and len(self._acknowledged) < CLEAR_EVERY and self._acknowledged_since is not None \
                and asyncio.get_running_loop().time() - self._acknowledged_since < CLEAR_AFTER:
            return []
        return sorted(self._acknowledged)

    async def delete(self, conn: AsyncConnection, positions: Sequence[int]) -> None:
        """Delete the outbox rows ``positions`` (acknowledged ones) in the transaction ``conn``."""
        await conn.execute(self._clear, {"positions": positions_value(positions, self.engine.dialect.name)})

    async def clear_acknowledged(self, conn: AsyncConnection, *, now: bool = False) -> list[int]:
        """Delete the acknowledged rows in the writer's transaction ``conn`` once enough have gathered
        (:meth:`to_clear`); pass the result to :meth:`cleared`."""
        positions = self.to_clear(now=now)
        if positions:
            await self.delete(conn, positions)
        return positions

    def cleared(self, positions: Sequence[int]) -> None:
        """The transaction that deleted ``positions`` committed."""
        self._acknowledged.difference_update(positions)
        if not self._acknowledged:
            self._acknowledged_since = None

    # --- the relay's side -----------------------------------------------------------------

    async def wait_for_commit(self, timeout: float) -> bool:  # noqa: ASYNC109 - the relay's poll interval
        """Wait until a commit is announced (True) or ``timeout`` seconds pass (False).

        A future and a timer rather than ``asyncio.wait_for`` on an event: that made a task and a
        timeout scope per wake-up, and at low rates the relay wakes once per commit.
        """
        if self._committed_since_wait:
            self._committed_since_wait = False
            return True
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _resolve, waiter, False)
        try:
            committed = await waiter
        finally:
            timer.cancel()
            self._waiter = None
        # A commit announced after the timer fired, before this resumed, is not lost.
        committed = committed or self._committed_since_wait
        self._committed_since_wait = False
        return committed

    async def pending(self, limit: int) -> Sequence[PendingEvent]:
        """The oldest ``limit`` unpublished events: position, event id, type, department, envelope, stream id.

        Events of parked streams are left out: one of them could not be published, and the rest of
        each such stream waits behind it so that its order is kept. From the rows the writer handed
        over when they are known to be all that waits, else from the table.
        """
        loop = asyncio.get_running_loop()
        if self._in_sync and self._parked_ids is not None and loop.time() - self._parked_read_at < PARKED_REFRESH:
            parked = set(self._parked_ids)
            waiting = [row for row in self._fresh.values() if row.stream_id not in parked]
            return waiting[:limit]
        unknown = self._unknown
        rows = await self._read_pending(limit)
        if self._fresh:  # (none in a drain: the rows read are then left as they are)
            read = {row.position for row in rows}
            parked = set(self._parked_ids or ())
            # Rows handed over that this read returned, or that wait behind a parked stream (the table
            # keeps them for the release), are the table's to give from now on.
            for position in [p for p, row in self._fresh.items() if p in read or row.stream_id in parked]:
                del self._fresh[position]
        # Everything waiting was read, and every commit since the read began handed its rows over.
        self._in_sync = len(rows) < limit and unknown == self._unknown and self.keep_committed
        return rows

    def forget_committed(self) -> None:
        """Drop the rows handed over; the next :meth:`pending` reads the table (after a failure)."""
        self._unknown += 1
        self._in_sync = False
        self._fresh.clear()

    async def _read_pending(self, limit: int) -> list[PendingEvent]:
        """The oldest ``limit`` unpublished events, from the table."""
        skip = sorted(self._acknowledged)  # published already, deleted soon
        if self._reader is None:
            self._reader = await autocommit_reader(self.engine)
        conn = self._reader
        try:
            # Read first and filter only when there are any: a NOT IN subquery in the batch query
            # cost the relay a third of its rate on PostgreSQL (bench: relay ratio 0.51 → 0.32).
            parked = await self._parked_stream_ids(conn)
            if self._direct:
                return [PendingEvent._make(record) for record in await fetch_pending(conn, skip, parked, limit)]
            rows = (await conn.execute(select_pending(skip, parked, limit, self.engine.dialect.name))).all()
            # The rows as read (they have PendingEvent's fields, by name and in order): no copy per
            # event in a drain.
            return cast(list[PendingEvent], rows)
        except BaseException:
            # The connection may be broken: the next read opens another. It is invalidated, not
            # handed back to the pool: SQLAlchemy never saw an error of asyncpg's direct read, so the
            # pool would give the dead connection to the next read again.
            await self.close(invalidate=True)
            raise

    async def close(self, invalidate: bool = False) -> None:
        """Close the relay's reading connection (at the relay's stop, or after a failed read: then
        ``invalidate`` it, so that its pool discards it)."""
        conn, self._reader = self._reader, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection is discarded all the same
                if invalidate:
                    await conn.invalidate()
                await conn.close()

    async def _parked_stream_ids(self, conn: AsyncConnection) -> Sequence[str]:
        """The parked streams' ids, read again at most every ``PARKED_REFRESH`` seconds."""
        now = asyncio.get_running_loop().time()
        if self._parked_ids is None or now - self._parked_read_at >= PARKED_REFRESH:
            self._parked_ids = (await conn.execute(select(parked_streams.c.stream_id))).scalars().all()
            self._parked_read_at = now
        return self._parked_ids

    def acknowledged(self, positions: Sequence[int]) -> None:
        """JetStream acknowledged these events: their rows go with a later clearing."""
        if positions and not self._acknowledged:
            self._acknowledged_since = asyncio.get_running_loop().time()
        self._acknowledged.update(positions)
        for position in positions:
            self._fresh.pop(position, None)

    @property
    def awaiting_deletion(self) -> int:
        """How many acknowledged rows are not deleted yet."""
        return len(self._acknowledged)

    async def delete_acknowledged(self) -> None:
        """Delete the acknowledged rows in a transaction of their own (no writer batch came for them)."""
        if not self._acknowledged:
            return
        async with write_lock(self.engine), writer(self.engine).begin() as conn:
            positions = await self.clear_acknowledged(conn, now=True)
        self.cleared(positions)

    # --- parked streams ---------------------------------------------------------------------

    async def park(self, parked: ParkedStream) -> None:
        """Set a stream aside (the relay could not publish its event ``parked.event_id``)."""
        async with write_lock(self.engine), writer(self.engine).begin() as conn:
            await conn.execute(delete(parked_streams).where(parked_streams.c.stream_id == parked.stream_id))
            await conn.execute(insert(parked_streams).values(
                stream_id=parked.stream_id, event_id=parked.event_id, position=parked.position,
                reason=parked.reason, max_payload=parked.max_payload, parked_at=datetime.now(UTC)))
        self._parked_ids = None  # read again before the next batch

    async def parked(self) -> list[ParkedStream]:
        """The streams set aside, oldest event first."""
        async with self.engine.connect() as conn:
            rows = (await conn.execute(select(parked_streams).order_by(parked_streams.c.position))).all()
        return [ParkedStream(r.stream_id, r.event_id, r.position, r.reason, r.max_payload) for r in rows]

    async def release(self, stream_id: str | None = None, *, below_max_payload: int | None = None) -> list[str]:
        """Release one parked stream (``stream_id``), or those parked under a smaller ``max_payload``.

        Returns the stream ids released; the relay publishes their events at its next batch (and
        parks a stream again at once if its event still cannot be published).
        """
        condition = (parked_streams.c.stream_id == stream_id if stream_id is not None
                     else parked_streams.c.max_payload < (below_max_payload or 0))
        async with write_lock(self.engine), writer(self.engine).begin() as conn:
            released = (await conn.execute(delete(parked_streams).where(condition)
                                           .returning(parked_streams.c.stream_id))).scalars().all()
        self._parked_ids = None
        if released:
            self.committed()  # their events are pending again (in the table only): wake the relay
        return list(released)

    # --- what health reports --------------------------------------------------------------

    async def backlog(self) -> int:
        """How many committed events are waiting to be published (acknowledged rows excluded)."""
        async with self.engine.connect() as conn:
            rows = int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())
        return max(0, rows - len(self._acknowledged))

    async def oldest_age(self, now: datetime | None = None) -> float:
        """Seconds since the oldest unpublished event occurred (0 if there is none)."""
        skip = sorted(self._acknowledged)
        async with self.engine.connect() as conn:
            oldest = (
                await conn.execute(
                    select(events.c.occurred_at)
                    .join(outbox, outbox.c.position == events.c.position)
                    .where(not_among(outbox.c.position, skip, self.engine.dialect.name) if skip else true())
                    # a parked stream is reported as such, not as an ever older backlog
                    .where(events.c.stream_id.not_in(select(parked_streams.c.stream_id)))
                    .order_by(outbox.c.position)
                    .limit(1)
                )
            ).scalar_one_or_none()
        if oldest is None:
            return 0.0
        if oldest.tzinfo is None:  # SQLite keeps no zone; we always write UTC
            oldest = oldest.replace(tzinfo=UTC)
        return max(0.0, float(((now or datetime.now(UTC)) - oldest).total_seconds()))
