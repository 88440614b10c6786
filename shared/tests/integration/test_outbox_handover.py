"""The writer hands the relay what each batch committed; the relay reads the table when unsure."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import aiosqlite
import asyncpg
import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import create_engine
from shared.eventstore import outbox as outbox_module
from shared.eventstore.executor import CommandExecutor
from shared.eventstore.outbox import Outbox, PendingEvent
from shared.eventstore.pg_events_insert import SEEN_MAX, insert_fused
from shared.eventstore.tables import events, metadata, outbox
from shared.eventstore.unit_of_work import UnitOfWork

pytestmark = pytest.mark.integration


async def _commit(engine: AsyncEngine, position: int, stream_id: str | None = None, version: int = 1) -> PendingEvent:
    """An event and its outbox row committed, as a batch writes them."""
    row = PendingEvent(position, f"e-{position}", "thing.happened", "federation", "{}", stream_id or f"s-{position}")
    async with engine.begin() as conn:
        await conn.execute(insert(events).values(
            position=position, event_id=row.event_id, stream_id=row.stream_id, stream_type="thing",
            version=version, event_type=row.event_type, schema_version=1, department=row.department,
            occurred_at=datetime.now(UTC), envelope=row.envelope, hash="h"))
        await conn.execute(insert(outbox).values(position=position))
    return row


async def test_an_event_another_process_committed_is_not_overtaken_by_the_next_one_handed_over(
    database_url: str,
) -> None:
    """Two registry processes on PostgreSQL: the other commits version 1 of a stream, this one reads
    it and commits version 2 before the other's ``NOTIFY`` arrives. Publishing the handed row alone
    would put version 2 on the bus first (seen once in CI on two processes)."""
    engine = create_engine(database_url)
    box = Outbox(engine)
    box.keep_committed = True  # as the leading relay sets it
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        assert await box.pending(100) == []  # in step with the table
        await _commit(engine, 1, "person-1", 1)  # the other process's commit, not yet announced
        # This writer's, handed over without what its statement saw (``seen``): the table must be read.
        box.committed([await _commit(engine, 2, "person-1", 2)])
        expected = [2] if engine.dialect.name == "sqlite" else [1, 2]  # SQLite: one writing process
        assert [row.position for row in await box.pending(100)] == expected
    finally:
        await box.close()
        await engine.dispose()


def _event_row(event_id: str, stream_id: str, version: int) -> dict[str, Any]:
    """An event's row as the event store buffers it (its position left to the database)."""
    return {"event_id": event_id, "stream_id": stream_id, "stream_type": "thing", "version": version,
            "event_type": "thing.happened", "schema_version": 1, "department": "federation",
            "occurred_at": datetime.now(UTC), "envelope": "{}", "hash": "h"}


async def test_the_writer_hands_its_rows_over_unless_its_statement_saw_an_event_the_relay_does_not_know(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: the writer's fused statement reports the outbox rows in its snapshot; the relay
    publishes the handed rows without reading the table only if it knows every one of them."""
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        pytest.skip("SQLite has one writing process: its handed rows are always trusted (the test below)")
    monkeypatch.setattr(outbox_module, "PARKED_REFRESH", 1e6)  # no periodic read in between
    box = Outbox(engine)
    box.keep_committed = True  # as the leading relay sets it
    reads = 0
    read_pending = box._read_pending

    async def counted(limit: int) -> list[PendingEvent]:
        nonlocal reads
        reads += 1
        return await read_pending(limit)

    monkeypatch.setattr(box, "_read_pending", counted)
    executor = CommandExecutor(engine, outbox=box)

    def append(event_id: str, version: int) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def command(uow: UnitOfWork) -> None:
            uow.append_events("person-1", [_event_row(event_id, "person-1", version)], [])
        return command

    async def pending() -> list[str]:
        rows = await box.pending(100)
        box.acknowledged([row.position for row in rows])  # published
        return [row.event_id for row in rows]

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await executor.start()
        assert await pending() == [] and reads == 1  # in step with the table
        await executor.run_buffered(append("v1", 1))
        assert await pending() == ["v1"] and reads == 1  # handed over, no read: the statement saw nothing unknown
        async with engine.begin() as conn:  # another process's version 2, its NOTIFY not arrived
            await conn.execute(insert(events).values(_event_row("v2", "person-1", 2)))
            await conn.execute(insert(outbox).from_select(
                ["position"], select(events.c.position).where(events.c.event_id == "v2")))
        await executor.run_buffered(append("v3", 3))  # this writer's next, having read version 2
        assert await pending() == ["v2", "v3"] and reads == 2  # its statement saw v2's row: the table is read
        await executor.run_buffered(append("v4", 4))
        assert await pending() == ["v4"] and reads == 2  # every row it saw was published: trusted again
        monkeypatch.setattr(outbox_module, "CLEAR_AFTER", 0.0)  # the next batch deletes the published rows
        await executor.run_buffered(append("v5", 5))  # its statement saw the rows it deleted: no matter
        assert await pending() == ["v5"] and reads == 2 and box.awaiting_deletion == 1
    finally:
        await executor.stop()
        await box.close()
        await engine.dispose()


async def test_a_lone_commands_batch_deletes_the_acknowledged_rows_in_its_one_trip(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outbox clearing is a step of the batch's fused flush (SQLite's hand-off, PostgreSQL's
    statement in autocommit), not a DELETE of its own with SQLAlchemy's BEGIN and COMMIT around it."""
    engine = create_engine(database_url)
    box = Outbox(engine)
    box.keep_committed = True
    executor = CommandExecutor(engine, outbox=box)
    trips: list[str] = []  # driver trips: aiosqlite hand-offs, asyncpg's direct statements, SQLAlchemy's

    def append(event_id: str) -> Callable[[UnitOfWork], Awaitable[None]]:
        async def command(uow: UnitOfWork) -> None:
            uow.append_events(event_id, [_event_row(event_id, event_id, 1)], [])
        return command

    async def queued() -> list[int]:
        async with engine.connect() as conn:
            return list((await conn.execute(select(outbox.c.position).order_by(outbox.c.position))).scalars())

    handoff, fetch = aiosqlite.Connection._execute, asyncpg.Connection.fetch

    async def handed(self: aiosqlite.Connection, fn: Any, *args: Any) -> Any:
        trips.append("hand-off")
        return await handoff(self, fn, *args)  # type: ignore[no-untyped-call]

    async def fetched(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        trips.append("fetch")
        return await fetch(self, *args, **kwargs)

    def through_sqlalchemy(name: str) -> Callable[..., None]:
        return lambda *_: trips.append(name)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        await executor.start()
        await executor.run_buffered(append("e1"))  # the writer's connection opened
        [first] = await queued()
        box.acknowledged([first])
        monkeypatch.setattr(outbox_module, "CLEAR_AFTER", 0.0)  # the next batch deletes it
        for name in ("before_cursor_execute", "begin", "commit"):
            event.listen(engine.sync_engine, name, through_sqlalchemy(name))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", handed)
        monkeypatch.setattr(asyncpg.Connection, "fetch", fetched)
        await executor.run_buffered(append("e2"))
        monkeypatch.undo()
        assert trips == (["hand-off"] if engine.dialect.name == "sqlite" else ["fetch"])
        assert len(await queued()) == 1 and box.awaiting_deletion == 0  # e1's row deleted, e2's queued
    finally:
        await executor.stop()
        await box.close()
        await engine.dispose()


async def test_the_relay_publishes_handed_rows_and_reads_the_table_whenever_it_cannot_be_sure(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    if engine.dialect.name != "sqlite":
        await engine.dispose()
        pytest.skip("PostgreSQL: the handed rows are trusted as their statement allows (the tests above)")
    box = Outbox(engine)
    box.keep_committed = True  # as the leading relay sets it

    async def commit(position: int) -> PendingEvent:
        return await _commit(engine, position)

    async def positions() -> list[int]:
        return [row.position for row in await box.pending(100)]

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        first = await commit(1)  # before the relay's first read: it reads the table
        assert await positions() == [1]
        box.acknowledged([1])
        box.committed([await commit(2), await commit(3)])  # the writer's batch, handed over
        unannounced = await commit(4)  # written without a word (a command-line process)
        assert await positions() == [2, 3]  # what was handed, without a read
        box.acknowledged([2])
        assert await positions() == [3]
        box.committed()  # a commit announced without its rows (another process's NOTIFY): the table
        assert await positions() == [3, 4]
        box.acknowledged([3, 4])
        assert await positions() == []
        box.committed([await commit(5)])
        box.forget_committed()  # a failed publish: the table says what is left
        assert await positions() == [5]
        box.acknowledged([5])
        monkeypatch.setattr(outbox_module, "PARKED_REFRESH", 0.0)  # time to read the table again
        await commit(6)
        assert await positions() == [6]  # found by the periodic read, though nobody handed it over
        box.acknowledged([6])
        box.keep_committed = False  # a standby keeps nothing: the rows stay the table's
        box.committed([await commit(7)])
        assert await positions() == [7]
        assert first.event_id == "e-1" and unannounced.position == 4
    finally:
        await box.close()
        await engine.dispose()


async def test_a_fused_statement_that_sees_a_long_outbox_says_nothing_and_the_relay_reads_the_table(
    database_url: str,
) -> None:
    """PostgreSQL: the fused statement reports at most ``SEEN_MAX - 1`` outbox rows; with more (the
    relay far behind, NATS away) it reports none (None), so that no command reads the whole outbox."""
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        pytest.skip("PostgreSQL only: SQLite's handed rows never depend on what a statement saw")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        for position in range(1, SEEN_MAX):
            await _commit(engine, 1000 + position)
        async with engine.begin() as conn:
            short = await insert_fused(conn, [_event_row("a", "person-a", 1)], [])
        assert short.seen is not None and sorted(short.seen) == list(range(1001, 1000 + SEEN_MAX))
        async with engine.begin() as conn:  # now SEEN_MAX rows wait ("a" among them)
            long = await insert_fused(conn, [_event_row("b", "person-b", 1)], [])
        assert long.seen is None
    finally:
        await engine.dispose()


async def test_a_fused_statement_that_cleared_the_outbox_is_not_followed_by_another_delete_when_it_says_nothing(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: with a long outbox the fused statement reports no rows seen, yet it did delete the
    acknowledged rows it carried: the batch must not delete them again through SQLAlchemy."""
    engine = create_engine(database_url)
    if engine.dialect.name == "sqlite":
        await engine.dispose()
        pytest.skip("PostgreSQL only: what a statement saw matters there only")
    box = Outbox(engine)
    box.keep_committed = True
    executor = CommandExecutor(engine, outbox=box)
    deletes: list[Sequence[int]] = []
    delete = box.delete

    async def counted(conn: Any, positions: Sequence[int]) -> None:
        deletes.append(positions)
        await delete(conn, positions)

    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        for position in range(1, SEEN_MAX + 1):
            await _commit(engine, 1000 + position)
        await executor.start()
        box.acknowledged([1001])
        monkeypatch.setattr(outbox_module, "CLEAR_AFTER", 0.0)  # the next batch deletes it
        monkeypatch.setattr(box, "delete", counted)

        async def command(uow: UnitOfWork) -> None:
            uow.append_events("person-x", [_event_row("x", "person-x", 1)], [])

        await executor.run_buffered(command)
        assert deletes == [] and box.awaiting_deletion == 0
        async with engine.connect() as conn:
            assert await conn.scalar(select(outbox.c.position).where(outbox.c.position == 1001)) is None
    finally:
        await executor.stop()
        await box.close()
        await engine.dispose()
