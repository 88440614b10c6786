"""aiosqlite connections whose statements cost one hand-off to the driver's thread, not three or four.

aiosqlite runs every call on its connection's own thread, and SQLAlchemy's aiosqlite adapter makes
one call per step of a statement: create a cursor, execute, fetch, close. Each is a hand-off to
that thread and back (a queue put, a thread wake-up, a ``call_soon_threadsafe`` and the event
loop's wake-up), which on two busy cores costs more than SQLite's own work: a lone registration
made ~26 of them, most of its CPU and, under load, a scheduler wait each.

:class:`FusedConnection` keeps aiosqlite's thread (SQLite's I/O and lock waits never block the
event loop) but runs *create cursor + execute + fetch the first rows + close when exhausted* as one
call. Results larger than ``PREFETCH`` rows are fetched on as before, so streamed reads
(``conn.stream``: verification, cut-over) still hold only a chunk in memory. The statements, their
order and their transactions are exactly SQLAlchemy's: only the number of hops changes.

Two more hops are saved per write transaction. The writer's ``BEGIN IMMEDIATE`` is not a hand-off
of its own: :meth:`FusedConnection.defer_begin` keeps it until the transaction's first statement,
which runs it on the thread just before (a transaction that runs nothing begins and commits
nothing). And :meth:`FusedConnection.run_steps` runs several statements *and* the ``COMMIT`` in one
hand-off (the unit of work's flush: events, outbox rows, lookup rows); SQLAlchemy's own commit
that follows finds the transaction committed and costs no hop. Those statements bypass
SQLAlchemy's statement events (``before_cursor_execute``); nothing of ours listens to them but
``bench.lone_commands``, which counts hand-offs instead.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Generator, Iterable
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncConnection

PREFETCH = 256
"""Rows fetched in the same hand-off as the statement; the rest, if any, in further ones."""

_Outcome = tuple[sqlite3.Cursor | None, list[Any], Any, int, int | None]
"""The cursor (None once exhausted and closed), the first rows, description, rowcount, lastrowid."""


def _run(conn: sqlite3.Connection, begin: str | None, ahead: list[Step], many: bool, sql: str,
         parameters: Any) -> _Outcome:
    """On the driver's thread: the deferred ``begin`` if any, the writes held ``ahead`` of it
    (:meth:`FusedConnection.defer_writes`), one statement, its first rows, and the cursor closed if
    nothing is left."""
    if begin is not None:
        conn.execute(begin)
    for ahead_sql, ahead_rows, _returning in ahead:
        conn.executemany(ahead_sql, ahead_rows)
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        else:
            cursor.execute(sql, parameters)
        description, rowcount, lastrowid = cursor.description, cursor.rowcount, cursor.lastrowid
        rows: list[Any] = cursor.fetchmany(PREFETCH) if description is not None else []
    except BaseException:
        cursor.close()
        raise
    if len(rows) < PREFETCH:
        cursor.close()
        return None, rows, description, rowcount, lastrowid
    return cursor, rows, description, rowcount, lastrowid


Step = tuple[str, list[tuple[Any, ...]], bool]
"""One statement of :meth:`FusedConnection.run_steps`: its SQL, its rows of positional parameters,
and whether it returns a row per parameter row (``INSERT … RETURNING``: run row by row, its rows
kept; otherwise one ``executemany``)."""


def _run_steps(conn: sqlite3.Connection, begin: str | None, steps: list[Step], commit: bool,
               own: bool = False) -> list[list[Any]]:
    """On the driver's thread: ``begin`` if any, every step in order, then ``COMMIT`` if ``commit``;
    each returning step's rows. An error leaves the transaction open for the caller's rollback
    (nothing is committed), unless the transaction is the steps' ``own``: then it is rolled back here."""
    if begin is not None:
        conn.execute(begin)
    try:
        returned: list[list[Any]] = []
        cursor = conn.cursor()
        try:
            for sql, rows, returning in steps:
                if returning:
                    # executemany() refuses a statement that returns rows; each execute reuses the
                    # statement SQLite prepared for the first (the connection's statement cache).
                    returned.append([cursor.execute(sql, row).fetchone() for row in rows])
                else:
                    cursor.executemany(sql, rows)
                    returned.append([])
        finally:
            cursor.close()
        if commit:
            conn.commit()
    except BaseException:
        if own and conn.in_transaction:
            conn.rollback()
        raise
    return returned


def _rest(cursor: sqlite3.Cursor, size: int | None) -> list[Any]:
    """On the driver's thread: more rows (all when ``size`` is None); the cursor closed once exhausted."""
    rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
    if size is None or len(rows) < size:
        cursor.close()
    return rows


class FusedCursor:
    """The part of aiosqlite's ``Cursor`` that SQLAlchemy's adapter uses, one hand-off per statement."""

    def __init__(self, connection: FusedConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: list[Any] = []
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> FusedCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def __await__(self) -> Generator[Any, None, FusedCursor]:
        yield from []
        return self

    async def _statement(self, many: bool, sql: str, parameters: Any) -> FusedCursor:
        await self.close()  # a cursor reused for another statement drops what was left of the last
        connection = self._connection
        outcome: _Outcome = await connection.run_on_thread(
            _run, connection.sqlite, connection.take_begin(), connection.take_deferred(), many, sql, parameters)
        self._cursor, self._rows, self.description, self.rowcount, self.lastrowid = outcome
        return self

    async def execute(self, sql: str, parameters: Iterable[Any] | None = None) -> FusedCursor:
        """Run one statement and fetch its first rows, in one hand-off."""
        return await self._statement(False, sql, [] if parameters is None else parameters)

    async def executemany(self, sql: str, parameters: Iterable[Iterable[Any]]) -> FusedCursor:
        """Run one statement for each set of parameters, in one hand-off."""
        return await self._statement(True, sql, parameters)

    async def fetchall(self) -> list[Any]:
        """The remaining rows (a hand-off only if more than the first ``PREFETCH`` are left)."""
        rows, self._rows = self._rows, []
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            rows += await self._connection.run_on_thread(_rest, cursor, None)
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        """Up to ``size`` rows (``arraysize`` when None)."""
        size = self.arraysize if size is None else size
        if len(self._rows) < size and self._cursor is not None:
            more = await self._connection.run_on_thread(_rest, self._cursor, max(size, PREFETCH))
            if len(more) < max(size, PREFETCH):
                self._cursor = None  # _rest closed it
            self._rows += more
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    async def fetchone(self) -> Any:
        """One row, or None."""
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        """Drop what is left (a hand-off only if the statement's rows were not all read)."""
        self._rows = []
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            await self._connection.run_on_thread(cursor.close)


class FusedConnection(aiosqlite.Connection):
    """An aiosqlite connection whose cursors are :class:`FusedCursor`."""

    _begin: str | None = None
    """A ``BEGIN`` waiting for the transaction's first statement (:meth:`defer_begin`)."""
    _committed_ahead = False
    """Whether :meth:`run_steps` committed the open transaction already (SQLAlchemy's commit is then free)."""
    _deferred: list[Step] | None = None
    """Writes held for the transaction's next hand-off (:meth:`defer_writes`); None: writes run at once."""

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The driver's connection (touched only on its thread)."""
        return self._conn

    async def run_on_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` on the connection's thread (one hand-off)."""
        return await self._execute(fn, *args)  # type: ignore[no-untyped-call]  # aiosqlite's own, untyped

    def defer_begin(self, sql: str) -> None:
        """Begin the transaction with ``sql`` on the thread just before its first statement."""
        self._begin = sql
        self._committed_ahead = False

    def take_begin(self) -> str | None:
        """The deferred ``BEGIN`` (None if none is waiting), for the statement about to run."""
        begin, self._begin = self._begin, None
        return begin

    def defer_writes(self) -> None:
        """Until the transaction ends, hold the writes given to :meth:`defer` and run them, in order,
        in the same hand-off as the next statement, :meth:`run_steps` or the ``COMMIT``.

        The statements run in the order they were given, on the same transaction, so whatever
        reads after a held write sees it; only the number of hand-offs changes (a live consumer's
        lone event wrote ~8 statements after its reads, each a hand-off). A held write's error is
        raised by the hand-off that runs it, with the transaction still open for the rollback.
        """
        if self._deferred is None:
            self._deferred = []

    @property
    def deferring(self) -> bool:
        """Whether writes are held (:meth:`defer_writes`) in the open transaction."""
        return self._deferred is not None

    def defer(self, step: Step) -> None:
        """Hold a write (no rows returned) for the next hand-off; only while :attr:`deferring`."""
        if self._deferred is None or step[2]:
            raise RuntimeError("only a write without returned rows, while writes are held")
        self._deferred.append(step)

    def take_deferred(self) -> list[Step]:
        """The writes held so far (for the hand-off about to run), no longer held; holding goes on."""
        held = self._deferred
        if not held:
            return []
        self._deferred = []
        return held

    async def run_steps(self, steps: list[Step], *, commit: bool, begin: str | None = None) -> list[list[Any]]:
        """Run ``steps`` (and ``COMMIT`` if ``commit``) in one hand-off; each returning step's rows.

        ``begin``: SQLAlchemy has no transaction open on this connection (none of the batch's
        statements went through it), so the steps are a whole transaction of their own: ``begin``
        first, the ``COMMIT`` last (``commit`` must be set), rolled back on the thread if anything
        fails. SQLAlchemy never sees it: its ``BEGIN``/``COMMIT`` bookkeeping was ~7 % of a lone command.
        """
        if begin is not None:
            if not commit or self._begin is not None or self._deferred:
                raise RuntimeError("a transaction of its own must commit, with none deferred")
            return await self.run_on_thread(_run_steps, self._conn, begin, steps, True, True)  # type: ignore[no-any-return]
        ahead = self.take_deferred()
        returned: list[list[Any]] = await self.run_on_thread(_run_steps, self._conn, self.take_begin(),
                                                             ahead + steps, commit)
        self._committed_ahead = commit
        if commit:
            self._deferred = None
        return returned[len(ahead):]

    async def commit(self) -> None:
        """Commit (with the writes still held, in the same hand-off), unless there is nothing to: no
        statement ran, or :meth:`run_steps` committed."""
        if self._deferred:
            await self.run_steps([], commit=True)
        self._deferred = None
        if self._begin is not None or self._committed_ahead:
            self._begin, self._committed_ahead = None, False
            return
        await self.run_on_thread(self._conn.commit)

    async def rollback(self) -> None:
        """Roll back (the writes held are dropped), unless no transaction is open: no statement ran
        since the deferred ``BEGIN`` (nothing began), or the last one was committed."""
        self._committed_ahead = False
        self._deferred = None
        if self._begin is not None:
            self._begin = None
            return
        # No transaction open (committed, or only reads outside one): nothing to undo. The pool
        # rolls back every connection it takes back, after each commit too: a hand-off saved per
        # transaction. SQLite's flag is read without the driver's thread (no statement runs now).
        if not self._conn.in_transaction:
            return
        await self.run_on_thread(self._conn.rollback)

    def cursor(self) -> FusedCursor:  # type: ignore[override]  # awaitable and an async context, as aiosqlite's
        """A cursor; creating it costs no hand-off (the driver's cursor is made with each statement)."""
        return FusedCursor(self)


def fused_creator(url: URL) -> Callable[[], Any]:
    """An ``async_creator`` for ``create_async_engine``: the connection aiosqlite's dialect would open
    for ``url`` (same file and options), as a :class:`FusedConnection`."""
    args, options = SQLiteDialect_aiosqlite().create_connect_args(url)
    database = os.fspath(args[0])

    async def create() -> FusedConnection:
        connection = FusedConnection(lambda: sqlite3.connect(database, **options), 64)
        connection._thread.daemon = True  # as SQLAlchemy's dialect does: never hold the interpreter's exit
        await connection  # starts the thread and connects
        return connection

    return create


def live_fused(conn: AsyncConnection) -> FusedConnection | None:
    """The :class:`FusedConnection` under ``conn`` if it is one and live (no await: a live connection
    holds its pool entry), else None."""
    sync = conn.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    driver = sync.connection.driver_connection
    return driver if isinstance(driver, FusedConnection) else None
