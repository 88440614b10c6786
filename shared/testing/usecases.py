"""Running a service's real use cases through the real :class:`CommandExecutor` on a real database,
without HTTP, NATS or processes: the middle of the test pyramid.

:class:`UseCaseBench` creates the event store's tables and the service's own, starts the single
writer, and runs a use case buffered (as the registry's routes do) or direct (in its own
savepoint, as the other services' routes do). :func:`principal` and :func:`envelope` build the
actors and the envelopes tests need, instead of each test file writing its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import MetaData, Table, and_, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.auth import Principal, Role
from shared.catalogue import EventPayload
from shared.db import create_engine, writer
from shared.envelope import Envelope
from shared.eventstore import CommandExecutor, EventStore, Stream
from shared.eventstore.tables import metadata as core_metadata
from shared.eventstore.unit_of_work import UnitOfWork
from shared.ids import new_id

T = TypeVar("T")
UseCase = Callable[[UnitOfWork], Awaitable[T]]


def principal(staff_id: str, *roles: Role, department: str = "federation",
              township_code: str | None = None) -> Principal:
    """A signed-in member of staff with ``roles`` (federation admin if none are given)."""
    return Principal(staff_id=staff_id, name=staff_id, department=department,
                     roles=frozenset(roles or {Role.FEDERATION_ADMIN}), township_code=township_code)


def envelope(
    payload: EventPayload, *, stream_id: str = "s-1", version: int = 1, department: str = "federation",
    source: str = "qingdan/test/federation", actor: str = "tester", time: datetime | None = None,
) -> Envelope:
    """An envelope around ``payload`` as a store would have written it (unsealed: no hash chain)."""
    return Envelope(
        id=new_id(), source=source, type=payload.event_type, time=time or datetime(2026, 3, 15, tzinfo=UTC),
        subject=stream_id, stream_id=stream_id, stream_type=payload.stream_type, stream_version=version,
        schema_version=payload.schema_version, actor=actor, department=department, correlation_id=new_id(),
        data=payload.model_dump(mode="json"),
    )


class UseCaseBench:
    """A service's database and single writer, ready to run its use cases."""

    def __init__(self, engine: AsyncEngine, executor: CommandExecutor, store: EventStore) -> None:
        self.engine = engine
        self.executor = executor
        self.store = store

    @classmethod
    @asynccontextmanager
    async def open(
        cls, database_url: str, schema: Iterable[MetaData], *, service: str, department: str = "federation",
    ) -> AsyncIterator[UseCaseBench]:
        """Create the tables, start the writer; stop and dispose of everything after."""
        engine = create_engine(database_url)
        async with writer(engine).begin() as conn:
            for metadata in (core_metadata, *schema):
                await conn.run_sync(metadata.create_all)
        executor = CommandExecutor(engine)
        await executor.start()
        try:
            yield cls(engine, executor, EventStore(service, department))
        finally:
            await executor.stop()
            await engine.dispose()

    async def run(self, use_case: UseCase[T], *, buffered: bool = False) -> T:
        """Run a use case in the next batch: buffered, or direct in its own savepoint."""
        if buffered:
            return await self.executor.run_buffered(use_case)
        return await self.executor.run(lambda conn: use_case(UnitOfWork(conn)))

    async def read(self, read: Callable[[Any], Awaitable[T]]) -> T:
        """Run a read-side function with a plain connection."""
        async with self.engine.connect() as conn:
            return await read(conn)

    async def write(self, write: Callable[[Any], Awaitable[T]]) -> T:
        """Run a function with a writing connection in its own transaction (a consumer's, say)."""
        async with writer(self.engine).begin() as conn:
            return await write(conn)

    async def rows(self, table: Table, **where: Any) -> list[dict[str, Any]]:
        """The rows of ``table`` matching ``where``, as dicts."""
        query = select(table)
        if where:
            query = query.where(and_(*(table.c[k] == v for k, v in where.items())))
        async with self.engine.connect() as conn:
            return [dict(r._mapping) for r in await conn.execute(query)]

    async def insert(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Seed rows (facts a service learns from other services' events, say)."""
        async with writer(self.engine).begin() as conn:
            await conn.execute(insert(table), list(rows))

    async def stream(self, stream_id: str) -> Stream:
        """A stream as stored."""
        async with self.engine.connect() as conn:
            return await self.store.load(conn, stream_id)
