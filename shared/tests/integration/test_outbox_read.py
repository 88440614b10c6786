"""The relay's read of pending outbox rows returns what the SQLAlchemy statement returns, in its order.

On PostgreSQL the relay reads on asyncpg directly (``shared.eventstore.pending_read``); this holds it
to the SQLAlchemy statement, with and without acknowledged rows to skip and parked streams to leave
out. On SQLite the relay runs that statement itself, so the test checks the same answers there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from shared.db import create_engine
from shared.eventstore import outbox as outbox_module
from shared.eventstore.outbox import Outbox, ParkedStream, PendingEvent
from shared.eventstore.pending_read import fetch_pending, select_pending
from shared.eventstore.tables import events, metadata, outbox

pytestmark = pytest.mark.integration


async def test_the_pending_read_matches_the_sqlalchemy_statement(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    box = Outbox(engine)
    direct_reads = 0

    async def counted(*args: Any) -> list[Any]:
        nonlocal direct_reads
        direct_reads += 1
        return await fetch_pending(*args)

    monkeypatch.setattr(outbox_module, "fetch_pending", counted)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(events), [
                {"event_id": f"e-{n:04d}", "stream_id": f"s-{n % 3}", "stream_type": "person", "version": n,
                 "event_type": f"person.t{n % 2}", "schema_version": 1, "department": f"d{n % 4}",
                 "occurred_at": datetime.now(UTC), "envelope": f'{{"n": {n}, "text": "é{n}"}}', "hash": "h" * 64}
                for n in range(1, 41)])
            # Published ones (no outbox row) before and between the waiting ones.
            await conn.execute(insert(outbox), [{"position": p} for p in range(5, 41) if p % 7])

        async def expected(limit: int, skip: list[int], parked: list[str]) -> list[PendingEvent]:
            async with engine.connect() as conn:
                rows = (await conn.execute(select_pending(skip, parked, limit, engine.dialect.name))).all()
            return [PendingEvent(*row) for row in rows]

        async def read(limit: int) -> list[PendingEvent]:
            box.forget_committed()  # read the table, not rows handed over
            return [PendingEvent(*row) for row in await box.pending(limit)]

        everything = await expected(100, [], [])
        assert [row.position for row in everything] == [p for p in range(5, 41) if p % 7]
        assert everything[0] == PendingEvent(5, "e-0005", "person.t1", "d1", '{"n": 5, "text": "é5"}', "s-2")
        assert await read(100) == everything
        assert await read(10) == everything[:10] == await expected(10, [], [])

        box.acknowledged([5, 6, 9])  # JetStream has them; their rows are deleted later
        assert await read(100) == await expected(100, [5, 6, 9], []) == [r for r in everything if r.position
                                                                          not in (5, 6, 9)]
        await box.park(ParkedStream("s-1", "e-0010", 10, "too large", 1024))
        both = await expected(100, [5, 6, 9], ["s-1"])
        assert both and all(row.stream_id != "s-1" for row in both)
        assert await read(100) == both and await read(7) == both[:7]

        box.cleared([5, 6, 9])  # deleted: nothing to skip, one stream parked
        async with engine.begin() as conn:
            await conn.execute(outbox.delete().where(outbox.c.position.in_([5, 6, 9])))
        assert await read(100) == await expected(100, [], ["s-1"])
        assert (direct_reads > 0) == (engine.dialect.name == "postgresql")  # asyncpg's own read was the one tested
    finally:
        await box.close()
        await engine.dispose()


async def test_a_read_on_a_broken_connection_fails_and_the_next_read_opens_another(database_url: str) -> None:
    """The relay's reading connection dies under it (a server restart, a killed backend): that read
    raises (the relay backs off), the next one reads on a new connection and misses nothing."""
    engine = create_engine(database_url)
    box = Outbox(engine)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(events), [
                {"event_id": f"e-{n}", "stream_id": "s", "stream_type": "person", "version": n,
                 "event_type": "person.t", "schema_version": 1, "department": "d",
                 "occurred_at": datetime.now(UTC), "envelope": "{}", "hash": "h" * 64} for n in range(1, 6)])
            await conn.execute(insert(outbox), [{"position": p} for p in range(1, 6)])
        box.forget_committed()
        assert [row[0] for row in await box.pending(10)] == [1, 2, 3, 4, 5]
        reader = box._reader
        assert reader is not None
        driver: Any = (await reader.get_raw_connection()).driver_connection
        await driver.close()  # asyncpg's or aiosqlite's own connection, gone under SQLAlchemy's

        box.forget_committed()
        with pytest.raises(Exception):  # noqa: B017 (the driver's own error; the relay logs any and backs off)
            await box.pending(10)
        assert box._reader is None  # the broken connection was let go
        assert [row[0] for row in await box.pending(10)] == [1, 2, 3, 4, 5]
        assert box._reader is not None and box._reader is not reader
    finally:
        await box.close()
        await engine.dispose()
