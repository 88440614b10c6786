"""Runs commands against the database one transaction per *batch* (group commit).

One async transaction per command caps a service near a thousand commands a second (docs/measurements.md:
the cost is hand-offs and the commit, not the work). The executor is the service's single
writer: it takes every command waiting in its queue, runs each inside its own savepoint of one
transaction, and commits once. A command that fails rolls back only its savepoint; the others
commit. On SQLite a single writer also means no "database is locked" between our own commands.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.db import PING_AFTER_IDLE, write_lock, writer
from shared.errors import QingdanError, WriteConflict
from shared.eventstore.outbox import Outbox, PendingEvent
from shared.eventstore.unit_of_work import BatchBuffer, UnitOfWork

T = TypeVar("T")
Command = Callable[[AsyncConnection], Awaitable[T]]
BufferedCommand = Callable[[UnitOfWork], Awaitable[T]]

log = structlog.get_logger(__name__)

_GATHER_ROUNDS = 4
"""Event-loop turns the writer waits at most, while commands keep arriving, before starting a batch."""


@dataclass
class _Pending:
    command: Callable[[Any], Awaitable[Any]]
    buffered: bool = False
    future: asyncio.Future[Any] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class CommandExecutor:
    """Single writer with group commit.

    With an ``outbox``, each batch also deletes the outbox rows JetStream has acknowledged, and
    each commit wakes the relay through it; ``on_commit`` (if given) runs after each commit too.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        outbox: Outbox | None = None,
        on_commit: Callable[[], None] | None = None,
        max_batch: int = 200,
    ) -> None:
        self._engine = engine
        self._outbox = outbox
        self._on_commit = on_commit
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._conn: AsyncConnection | None = None
        """The writer's connection, kept between batches (see :meth:`_connection`)."""
        self._conn_used_at = 0.0
        self.batches = 0
        self.commands = 0

    @property
    def outbox(self) -> Outbox | None:
        """The outbox this writer commits through (None for a service that publishes nothing)."""
        return self._outbox

    async def start(self) -> None:
        """Start the writer task."""
        if self._worker is None:
            self._worker = asyncio.create_task(self._run(), name="command-executor")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        if self._worker is None:
            return
        await self._queue.join()
        self._worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._worker
        self._worker = None
        await self._release_connection()

    async def _connection(self) -> AsyncConnection:
        """The writer's own connection, kept from one batch to the next.

        A pool checkout per batch cost, besides the pool's own bookkeeping, a ``ROLLBACK`` at each
        check-in (the pool's reset on return; on SQLite a hand-off to the driver's thread): at a
        trickle of lone commands, each its own batch, that was one statement in ten. A connection
        that rested ``PING_AFTER_IDLE`` seconds goes back to the pool, and the next comes through
        the pool's checkout, which pings a rested one (a restart of the database while we were idle
        is found there, not by a command); one that failed a batch is given back too.
        """
        now = asyncio.get_running_loop().time()
        if self._conn is not None and now - self._conn_used_at >= PING_AFTER_IDLE:
            await self._release_connection()
        if self._conn is None:
            self._conn = await writer(self._engine).connect()
        self._conn_used_at = now
        return self._conn

    async def _release_connection(self) -> None:
        """Give the kept connection back to the pool (invalidated by a failure: the pool drops it)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # a broken connection is discarded all the same
                await conn.close()

    async def run(self, command: Command[T]) -> T:
        """Run ``command`` in the next batch and return its result (or raise its error)."""
        if self._worker is None:
            raise RuntimeError("CommandExecutor.start() was not called")
        pending = _Pending(command)
        self._queue.put_nowait(pending)
        result: T = await pending.future
        return result

    async def run_buffered(self, command: BufferedCommand[T]) -> T:
        """Run ``command`` with a :class:`UnitOfWork`: its writes go to the database with the batch's.

        The fast path: no savepoint, and one statement per table for the whole batch.
        """
        if self._worker is None:
            raise RuntimeError("CommandExecutor.start() was not called")
        pending = _Pending(command, buffered=True)
        self._queue.put_nowait(pending)
        result: T = await pending.future
        return result

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            for _ in range(_GATHER_ROUNDS):
                while len(batch) < self._max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                if len(batch) >= self._max_batch:
                    break
                # Let the event loop run what is ready once: requests already read but not yet
                # queued (their dependencies, body validation) join this batch instead of the next.
                # Over HTTP commands arrive spread out, and a batch's fixed cost (transaction,
                # outbox clearing, one statement per table, commit) shared by 2 instead of 20
                # commands was most of the difference between HTTP and in-process group commit.
                queued = self._queue.qsize()
                await asyncio.sleep(0)
                if self._queue.qsize() == queued:
                    break
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._execute(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _execute(self, batch: list[_Pending], *, careful: bool = False) -> None:
        outcomes: list[tuple[_Pending, bool, Any]] = []
        buffer = BatchBuffer(careful=careful)
        try:
            async with write_lock(self._engine):
                conn = await self._connection()
                try:
                    # No explicit begin: SQLAlchemy begins the transaction with the batch's first
                    # statement through it, if any (a command's read, the outbox clearing); a lone
                    # command on SQLite often has none, and its fused flush is then the whole
                    # transaction, BEGIN to COMMIT, in one hand-off (driver_flush). The begin and
                    # commit through SQLAlchemy (greenlets, events) were ~7 % of such a command.
                    # Published rows go with this batch: no transaction of their own (see Outbox).
                    # On PostgreSQL a lone fused statement runs in autocommit (pg_events_insert).
                    # The acknowledged outbox rows to delete go with the last flush's statement (or
                    # hand-off) when it is fused; else here, through SQLAlchemy.
                    cleared = buffer.clearing = self._outbox.to_clear() if self._outbox is not None else []
                    for pending in batch:
                        outcomes.append(await self._one(conn, buffer, pending))
                    await buffer.flush(conn, last=True)  # on SQLite it may commit too, one hand-off
                    if buffer.clearing and self._outbox is not None:
                        await self._outbox.delete(conn, buffer.clearing)
                    if conn.in_transaction():
                        await conn.commit()
                except BaseException:
                    await self._release_connection()  # rolled back; the next batch starts on a fresh one
                    raise
        except Exception as exc:
            if isinstance(exc, IntegrityError) and buffer.unchecked:
                # A claimed key was taken (the insert said so, not which command's): again, reading
                # the claims first, so that the command whose key it was gets its own error.
                await self._execute(batch, careful=True)
                return
            if len(batch) > 1:
                # A write of one command clashed with another process (or the database failed):
                # run them one by one so that only the culprit fails.
                # A key claimed by one of them was taken (UnitOfWork.claim) is expected, not a fault.
                (log.info if isinstance(exc, QingdanError) else log.warning)(
                    "batch failed, retrying its commands one by one", size=len(batch), error=repr(exc))
                for pending in batch:
                    await self._execute([pending], careful=careful)
                return
            if not isinstance(exc, QingdanError):  # a refusal found at flush (a taken claim) is the caller's
                log.error("command failed to commit", error=repr(exc))
            error = WriteConflict() if isinstance(exc, IntegrityError) else exc
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        if self._outbox is not None:
            self._outbox.cleared(cleared)
        # A direct command writes its events itself: the relay then reads what the batch committed.
        written = None if any(not pending.buffered for pending in batch) else buffer.written
        self._settle(outcomes, len(batch), written, buffer.seen)

    async def _one(
        self, conn: AsyncConnection, buffer: BatchBuffer, pending: _Pending
    ) -> tuple[_Pending, bool, Any]:
        if not pending.buffered:
            await buffer.flush(conn)  # earlier buffered writes first, in command order; a failure fails the batch
        try:
            if pending.buffered:
                uow = UnitOfWork(conn, buffer)
                value = await pending.command(uow)
                uow.commit_to_batch()
            else:
                async with conn.begin_nested():
                    value = await pending.command(conn)
            return pending, True, value
        except Exception as exc:  # the command's own failure: nothing of it is kept
            return pending, False, exc

    def _settle(self, outcomes: list[tuple[_Pending, bool, Any]], size: int,
                written: list[PendingEvent] | None, seen: list[int] | None) -> None:
        self.batches += 1
        self.commands += size
        if self._outbox is not None:
            self._outbox.committed(written, seen)
        if self._on_commit is not None:
            self._on_commit()
        for pending, ok, value in outcomes:
            if pending.future.done():
                continue  # the caller went away (request cancelled)
            if ok:
                pending.future.set_result(value)
            else:
                pending.future.set_exception(value)
