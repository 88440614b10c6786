"""The one unit of work every command runs in: its reads, its events and its row writes.

Every use case takes a :class:`UnitOfWork` and does not know how its writes reach the database;
that is the executor's choice. A *buffered* unit (``CommandExecutor.run_buffered``) holds the
writes until the batch commits, so that a whole batch of commands is written with one statement
per table (group commit with fewer round trips, docs/measurements.md). A *direct* unit (no batch: a command
run in its own savepoint) writes at once, so later reads of the same command see its rows.

A command reads through ``uow.execute`` (straight to the database) and writes through
``insert``/``update``/``apply``; events appended with the store go the same way. Reads that must
see what an earlier command of the same batch wrote use ``find`` (rows) — the event store's
``load`` does this for streams by itself. A command that raises leaves nothing in the buffer.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, UniqueConstraint, and_, bindparam, insert, select, update
from sqlalchemy.engine import Result
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Executable

from shared.envelope import Envelope
from shared.eventstore.driver_flush import flush_fused, fused_driver
from shared.eventstore.outbox import PendingEvent
from shared.eventstore.pg_events_insert import Inserted, fits, insert_fused
from shared.eventstore.tables import events, outbox
from shared.projection import Operation, Patch, Upsert, apply_sql

Row = dict[str, Any]


@dataclass(frozen=True)
class Write:
    """One buffered row change."""

    kind: str  # "insert" | "update"
    table: Table
    values: Row
    key: Row = field(default_factory=dict)

    def signature(self) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
        """Writes with the same signature can go in one executemany."""
        return (self.kind, self.table.name, tuple(sorted(self.key)), tuple(sorted(self.values)))


Taken = Callable[[Row], Exception]
"""Makes the error for a claimed key that is taken, from the row that holds it."""


@dataclass(frozen=True)
class Claim:
    """A row inserted under a key that must be new (:meth:`UnitOfWork.claim`), checked at flush."""

    table: Table
    column: str
    values: Row
    taken: Taken


@dataclass
class BatchBuffer:
    """What the commands of one batch have written so far, in order."""

    writes: list[Write] = field(default_factory=list)
    appended: dict[str, list[Envelope]] = field(default_factory=dict)
    claims: dict[tuple[str, Any], Claim] = field(default_factory=dict)
    written: list[PendingEvent] = field(default_factory=list)
    """The events flushed so far, with their positions, for the relay (``Outbox.committed``)."""
    seen: list[int] | None = None
    """The outbox rows the statement that wrote every event of ``written`` saw (PostgreSQL's fused
    statement, ``pg_events_insert``); None if not one such statement wrote them all."""
    clearing: list[int] = field(default_factory=list)
    """Acknowledged outbox rows the batch deletes (``Outbox.to_clear``): a step of the last flush when
    it is fused (SQLite's hand-off, PostgreSQL's statement), which empties this; else the executor's."""
    careful: bool = True
    """Whether claims on a unique column are read before the insert; if not (the executor's first
    try), the insert itself finds a taken key (``IntegrityError``) and the executor tries again
    carefully, to tell which command's key it was and answer it with that command's error."""
    unchecked: bool = False
    """Set when claims were left to the inserts' unique constraints (not ``careful``)."""

    async def check_claims(self, conn: AsyncConnection) -> None:
        """One query per claimed table for every key the batch claims; raise the first one's error if
        any is taken already (the executor then runs the batch's commands one by one, so that only the
        command whose key was taken fails, with that error). Not ``careful``, claims on a column the
        database keeps unique are not read: a taken key is almost never there, and that read was a
        statement (a driver round trip) in each lone command's batch."""
        by_column: dict[tuple[str, str], list[Claim]] = {}
        for claim in self.claims.values():
            by_column.setdefault((claim.table.name, claim.column), []).append(claim)
        for claims in by_column.values():
            table, column = claims[0].table, claims[0].column
            if not self.careful and _unique(table, column):
                self.unchecked = True
                continue
            wanted = {c.values[column]: c for c in claims}
            keys = list(wanted)
            for start in range(0, len(keys), 500):  # stay under the database's bound-parameter limit
                found = (await conn.execute(
                    select(table).where(table.c[column].in_(keys[start:start + 500])).limit(1))).first()
                if found is not None:
                    row = dict(found._mapping)
                    raise wanted[row[column]].taken(row)
        self.claims.clear()

    async def flush(self, conn: AsyncConnection, *, last: bool = False) -> None:
        """Write everything: consecutive writes of one shape become one executemany.

        The events written, with their positions, are added to ``written``. ``last``: nothing else
        runs in this transaction after the flush, so on SQLite a small batch's statements and the
        ``COMMIT`` go to the driver in one hand-off (``driver_flush``); the caller still commits
        (then at no cost). Elsewhere the caller's commit does it.
        """
        await self.check_claims(conn)
        groups = _groups(self.writes)
        driver = await fused_driver(conn) if groups else None
        clearing = self.clearing if last else []
        fused = await flush_fused(conn, driver, groups, commit=last, clearing=clearing) if driver is not None else None
        if fused is not None:
            self.clearing = []
            self.writes.clear()
            self.appended.clear()
            self.written += fused
            return
        written: list[PendingEvent] = []
        queued: set[int] = set()  # positions whose outbox row went with their events' statement
        earlier = bool(self.written)
        groups, inserted = await self._insert_fused(conn, groups, written, queued, clearing=clearing, last=last)
        seen = inserted.seen if inserted is not None else None
        for group in groups:
            first = group[0]
            if first.kind == "insert" and first.table is events:
                # The positions come back with the insert (one statement still), so that the outbox
                # rows are plain inserts and the relay is handed the rows without reading them.
                result = await conn.execute(insert(events).returning(events.c.position, events.c.event_id),
                                            [w.values for w in group])
                position = {row.event_id: row.position for row in result}
                written.extend(PendingEvent(position[v["event_id"]], v["event_id"], v["event_type"],
                                            v["department"], v["envelope"], v["stream_id"])
                               for v in (w.values for w in group))
            elif first.kind == "insert":
                await conn.execute(insert(first.table), [w.values for w in group])
            else:
                table = first.table
                stmt = update(table).where(and_(*(table.c[k] == bindparam(f"k_{k}") for k in first.key)))
                stmt = stmt.values({c: bindparam(f"v_{c}") for c in first.values})
                await conn.execute(stmt, [{**{f"k_{k}": v for k, v in w.key.items()},
                                           **{f"v_{c}": v for c, v in w.values.items()}} for w in group])
        if written:
            written.sort()  # position order: the relay publishes in it
            unqueued = [{"position": row.position} for row in written if row.position not in queued]
            if unqueued:
                await conn.execute(insert(outbox), unqueued)
        if inserted is not None and clearing:  # the statement deleted these (acknowledged) rows
            self.clearing = []
            if seen is not None:  # which the outbox forgets before it is handed ``seen``
                deleted = set(clearing)
                seen = [p for p in seen if p not in deleted]
        if written:
            # The events of this batch all came from one fused statement: what it saw stands for them.
            self.seen = seen if not earlier and len(queued) == len(written) else None
        self.writes.clear()
        self.appended.clear()
        self.written += written

    @staticmethod
    async def _insert_fused(conn: AsyncConnection, groups: list[list[Write]], written: list[PendingEvent],
                            queued: set[int], *, clearing: list[int],
                            last: bool) -> tuple[list[list[Write]], Inserted | None]:
        """On PostgreSQL, a small group of events, their outbox rows, the small insert groups and the
        outbox ``clearing`` in one statement (``pg_events_insert``): the groups left to write, and what
        the statement reported (None if it did not run). ``last``: the batch writes nothing after this flush."""
        fused = [g for g in groups if g[0].kind == "insert" and fits(conn, g[0].table, [w.values for w in g])]
        head = next((g for g in fused if g[0].table is events), None)
        if head is None:
            return groups, None
        others = [g for g in fused if g[0].table is not events]
        # Alone in its transaction if every group of the flush goes in it (``insert_fused`` then
        # runs it in autocommit when no transaction is open).
        alone = last and len(fused) == len(groups) and len(others) == len(fused) - 1
        inserted = await insert_fused(conn, [w.values for w in head],
                                      [(g[0].table, [w.values for w in g]) for g in others], alone=alone,
                                      clearing=clearing)
        position = inserted.positions
        written.extend(PendingEvent(position[v["event_id"]], v["event_id"], v["event_type"], v["department"],
                                    v["envelope"], v["stream_id"]) for v in (w.values for w in head))
        queued.update(position.values())
        done = {id(g) for g in (head, *others)}
        return [g for g in groups if id(g) not in done], inserted


@functools.lru_cache(maxsize=256)
def _unique(table: Table, column: str) -> bool:
    """Whether the database refuses a second row with the same ``column`` value in ``table``
    (asked at every flush that claims a key: once per lone registration)."""
    if list(table.primary_key.columns.keys()) == [column] or table.c[column].unique:
        return True
    return any(isinstance(c, UniqueConstraint) and list(c.columns.keys()) == [column] for c in table.constraints)


def _groups(writes: Sequence[Write]) -> list[list[Write]]:
    """Table by table (in order of first appearance): its inserts grouped by shape, then its
    updates in their original order, consecutive ones of one shape grouped.

    Without foreign keys, order between tables does not matter; within a table a row is only
    updated after it exists, and updates keep their relative order.
    """
    by_table: dict[str, list[Write]] = {}
    for write in writes:
        by_table.setdefault(write.table.name, []).append(write)
    groups: list[list[Write]] = []
    for table_writes in by_table.values():
        inserts: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], list[Write]] = {}
        for write in table_writes:
            if write.kind == "insert":
                inserts.setdefault(write.signature(), []).append(write)
        groups.extend(inserts.values())
        run: list[Write] = []
        for write in table_writes:
            if write.kind != "update":
                continue
            if run and write.signature() != run[0].signature():
                groups.append(run)
                run = []
            run.append(write)
        if run:
            groups.append(run)
    return groups


class UnitOfWork:
    """One command's reads (live) and writes (buffered until the batch commits, or direct)."""

    def __init__(self, conn: AsyncConnection, batch: BatchBuffer | None = None) -> None:
        self.conn = conn
        self._batch = batch
        self._writes: list[Write] = []
        self._appended: dict[str, list[Envelope]] = {}
        self._claims: dict[tuple[str, Any], Claim] = {}

    @property
    def buffered(self) -> bool:
        """Whether writes wait for the batch (True) or go to the database at once (False)."""
        return self._batch is not None

    async def execute(self, statement: Executable, *args: Any) -> Result[Any]:
        """Run a read against the database."""
        return await self.conn.execute(statement, *args)

    async def insert(self, table: Table, values: Row) -> None:
        """Insert a row (buffered, or at once in a direct unit)."""
        if self._batch is None:
            await self.conn.execute(insert(table).values(**values))
        else:
            self._writes.append(Write("insert", table, dict(values)))

    async def claim(self, table: Table, values: Row, *, column: str, taken: Taken) -> None:
        """Insert a row whose ``column`` value must not be in ``table`` yet; else raise ``taken(row)``.

        A direct unit reads first. A buffered unit checks the batch at once (a key claimed earlier in
        the batch is refused here) and leaves the database to the batch's flush, which checks every
        claimed key of the batch in one query (:meth:`BatchBuffer.check_claims`) instead of one read
        per command. Rows of a table written through ``claim`` must be inserted only through it.
        """
        value = values[column]
        if self._batch is None:
            row = await self.find(table, **{column: value})
            if row is not None:
                raise taken(row)
            await self.insert(table, values)
            return
        earlier = self._batch.claims.get((table.name, value)) or self._claims.get((table.name, value))
        if earlier is not None:
            raise taken(earlier.values)
        self._claims[(table.name, value)] = Claim(table, column, dict(values), taken)
        await self.insert(table, values)

    async def update(self, table: Table, key: Row, values: Row) -> None:
        """Update the row with ``key`` (buffered, or at once in a direct unit)."""
        if self._batch is None:
            await self.conn.execute(update(table).where(and_(*(table.c[k] == v for k, v in key.items())))
                                    .values(**values))
        else:
            self._writes.append(Write("update", table, dict(values), dict(key)))

    async def apply(self, operations: Iterable[Operation], *, created: bool) -> None:
        """Write an inline projection's row operations for a stream that ``created`` (or changed).

        A lookup row of a stream is created by the stream's first event, so in a buffered unit an
        :class:`Upsert` for a new stream is an insert and any other one an update: no read is
        needed to tell which. A direct unit applies the operations as they are.
        """
        if self._batch is None:
            await apply_sql(self.conn, operations)
            return
        for op in operations:
            if isinstance(op, Upsert) and created:
                await self.insert(op.table, {**op.key, **op.values})
            elif isinstance(op, Upsert | Patch):
                await self.update(op.table, op.key, op.values)
            else:
                raise TypeError(f"a buffered unit of work cannot apply {type(op).__name__}")

    def append_events(self, stream_id: str, rows: list[Row], envelopes: list[Envelope]) -> None:
        """Buffer a stream's new events (the event store calls this for a buffered unit)."""
        for row in rows:
            self._writes.append(Write("insert", events, row))
        self._appended.setdefault(stream_id, []).extend(envelopes)

    def appended(self, stream_id: str) -> list[Envelope]:
        """Events appended to a stream earlier in this batch, not yet in the database."""
        if self._batch is None:
            return []
        return [*self._batch.appended.get(stream_id, []), *self._appended.get(stream_id, [])]

    def pending_inserts(self, table: Table) -> list[Row]:
        """Rows inserted into ``table`` earlier in this batch (not yet in the database)."""
        earlier = self._batch.writes if self._batch is not None else []
        return [w.values for w in (*earlier, *self._writes) if w.kind == "insert" and w.table is table]

    async def find(self, table: Table, **key: Any) -> Row | None:
        """A row by key, as the batch so far has left it (buffered inserts and updates included)."""
        earlier = self._batch.writes if self._batch is not None else []
        pending = [w for w in (*earlier, *self._writes) if w.table is table]
        inserted = [w for w in pending if w.kind == "insert" and all(w.values.get(k) == v for k, v in key.items())]
        row: Row | None
        if inserted:
            row = dict(inserted[-1].values)
        else:
            found = (await self.conn.execute(
                select(table).where(and_(*(table.c[k] == v for k, v in key.items()))))).first()
            row = dict(found._mapping) if found is not None else None
        if row is not None:
            for w in pending:
                if w.kind == "update" and w.key == key:
                    row.update(w.values)
        return row

    def commit_to_batch(self) -> None:
        """The command succeeded: its writes join the batch."""
        if self._batch is None:
            return
        self._batch.writes.extend(self._writes)
        self._batch.claims.update(self._claims)
        for stream_id, envelopes in self._appended.items():
            self._batch.appended.setdefault(stream_id, []).extend(envelopes)
