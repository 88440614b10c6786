"""A lone buffered command's flush: everything written and committed in one SQLite hand-off (one
PostgreSQL statement in autocommit); a taken unique key rolls back the whole batch and leaves
nothing of it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiosqlite
import asyncpg
import pytest
from sqlalchemy import Column, MetaData, String, Table, event, select

from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import utcnow
from shared.errors import AlreadyExists
from shared.eventstore import CommandContext
from shared.eventstore.store import Stream
from shared.eventstore.tables import events, outbox
from shared.eventstore.unit_of_work import UnitOfWork
from shared.testing.usecases import UseCaseBench

pytestmark = pytest.mark.integration

metadata = MetaData()
owners = Table("flush_owners", metadata, Column("code", String(50), primary_key=True),
               Column("owner", String(100), nullable=False))
CTX = CommandContext(actor="tester", department="federation", now=utcnow())


@pytest.fixture
async def bench(database_url: str) -> AsyncIterator[UseCaseBench]:
    async with UseCaseBench.open(database_url, [metadata], service="contract") as bench:
        yield bench


def establish(bench: UseCaseBench, code: str, owner: str) -> Any:
    """A buffered command: two events on the unit's stream and its owner's row, claimed by code."""

    async def command(uow: UnitOfWork) -> None:
        payloads = [OrgUnitEstablished(code="511403000000", name=f"{owner}-{n}", level="district") for n in (1, 2)]
        await bench.store.append(uow, Stream.empty(f"unit-{code}-{owner}"), payloads, CTX, expected_version=0)
        await uow.claim(owners, {"code": code, "owner": owner}, column="code",
                        taken=lambda row: AlreadyExists(f"{row['code']} belongs to {row['owner']}"))

    return command


async def queued(bench: UseCaseBench) -> list[tuple[int, str]]:
    """Every event's position and stream, with whether its outbox row is there."""
    async with bench.engine.connect() as conn:
        rows = await conn.execute(select(events.c.position, events.c.stream_id, outbox.c.position.is_not(None))
                                  .outerjoin(outbox, outbox.c.position == events.c.position)
                                  .order_by(events.c.position))
        return [(r[0], r[1]) for r in rows if r[2]]


async def test_a_lone_command_is_one_trip_and_commits_everything(bench: UseCaseBench) -> None:
    handoffs = statements = 0
    execute = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: object, *args: object) -> object:
        nonlocal handoffs
        handoffs += 1
        return await execute(self, fn, *args)  # type: ignore[no-untyped-call]

    def statement(*_: object) -> None:
        nonlocal statements
        statements += 1

    ends: list[str] = []  # SQLAlchemy's own BEGINs and COMMITs

    def begun(*_: object) -> None:
        ends.append("begin")

    def committed(*_: object) -> None:
        ends.append("commit")

    await bench.run(establish(bench, "u0", "warm"), buffered=True)  # the writer's connection opened
    event.listen(bench.engine.sync_engine, "before_cursor_execute", statement)
    event.listen(bench.engine.sync_engine, "begin", begun)
    event.listen(bench.engine.sync_engine, "commit", committed)
    fetch = asyncpg.Connection.fetch

    async def fetched(self: asyncpg.Connection, *args: Any, **kwargs: Any) -> Any:
        nonlocal handoffs
        handoffs += 1
        return await fetch(self, *args, **kwargs)

    aiosqlite.Connection._execute = counted  # type: ignore[method-assign]
    asyncpg.Connection.fetch = fetched
    try:
        await bench.run(establish(bench, "u1", "first"), buffered=True)
    finally:
        aiosqlite.Connection._execute = execute  # type: ignore[method-assign]
        asyncpg.Connection.fetch = fetch
        event.remove(bench.engine.sync_engine, "before_cursor_execute", statement)
        event.remove(bench.engine.sync_engine, "begin", begun)
        event.remove(bench.engine.sync_engine, "commit", committed)
    if bench.engine.dialect.name == "sqlite":
        assert (handoffs, statements) == (1, 0)  # BEGIN, 2 inserts, the outbox rows and COMMIT at once
    else:
        # The events, their outbox rows and the owner's row in one statement, in autocommit on the
        # driver: no BEGIN, no COMMIT, one round trip.
        assert (handoffs, statements) == (1, 0)
    assert ends == []  # that trip is the whole transaction: SQLAlchemy's begin and commit are skipped
    assert [s for _, s in await queued(bench)] == ["unit-u0-warm"] * 2 + ["unit-u1-first"] * 2
    assert await bench.rows(owners, code="u1") == [{"code": "u1", "owner": "first"}]
    assert [e.envelope.stream_version for e in (await bench.stream("unit-u1-first")).events] == [1, 2]


async def test_a_taken_key_rolls_back_its_command_alone_and_leaves_nothing_of_it(bench: UseCaseBench) -> None:
    await bench.run(establish(bench, "u1", "first"), buffered=True)
    before = await queued(bench)
    with pytest.raises(AlreadyExists, match="u1 belongs to first"):
        await bench.run(establish(bench, "u1", "second"), buffered=True)
    assert await queued(bench) == before  # no event, no outbox row of the refused command
    assert await bench.rows(owners) == [{"code": "u1", "owner": "first"}]
    # In one batch with another command: only the one whose key was taken is refused.
    outcomes = await asyncio.gather(bench.run(establish(bench, "u1", "third"), buffered=True),
                                    bench.run(establish(bench, "u2", "fourth"), buffered=True),
                                    return_exceptions=True)
    assert isinstance(outcomes[0], AlreadyExists) and outcomes[1] is None
    assert [s for _, s in await queued(bench)][len(before):] == ["unit-u2-fourth"] * 2
    assert sorted(r["owner"] for r in await bench.rows(owners)) == ["first", "fourth"]
    await bench.run(establish(bench, "u3", "fifth"), buffered=True)  # the writer carries on
    assert (await bench.stream("unit-u3-fifth")).version == 2


async def test_a_direct_command_after_a_buffered_one_sees_its_rows_and_both_commit(bench: UseCaseBench) -> None:
    """The buffered command's rows are flushed before the direct one runs (mid-batch, the flush does
    not commit: on SQLite it begins SQLAlchemy's transaction, which the direct command's savepoint joins)."""
    seen: list[Any] = []

    async def direct(uow: UnitOfWork) -> None:
        seen.append(await uow.find(owners, code="m1"))
        await uow.insert(owners, {"code": "m2", "owner": "direct"})

    await bench.run(establish(bench, "m0", "warm"), buffered=True)  # the writer's connection opened
    batches = bench.executor.batches
    await asyncio.gather(bench.run(establish(bench, "m1", "buffered"), buffered=True), bench.run(direct))
    assert bench.executor.batches == batches + 1  # one batch: the buffered rows were flushed mid-batch
    assert seen == [{"code": "m1", "owner": "buffered"}]
    assert sorted(r["code"] for r in await bench.rows(owners)) == ["m0", "m1", "m2"]
    assert [s for _, s in await queued(bench)][-2:] == ["unit-m1-buffered"] * 2
