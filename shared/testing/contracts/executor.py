"""The command executor's contract: group commit of queued commands, each failing on its own.

Both ways of running a command are covered: ``run`` (each command in a savepoint of the batch's
transaction) and ``run_buffered`` (writes buffered per command and flushed once per batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.errors import DomainRuleViolated, QingdanError
from shared.eventstore import CommandExecutor, EventStore, Stream
from shared.eventstore.tables import events, outbox
from shared.eventstore.unit_of_work import UnitOfWork
from shared.eventstore.verify import verify_log
from shared.testing.contracts import support as s
from shared.testing.contracts.base import BackendContract
from shared.testing.servers import wait_until

Command = Callable[[Any], Awaitable[Any]]
Writer = AsyncConnection | UnitOfWork

SIZE = 40
REFUSED = 7  # appends, then refuses: nothing of it may be kept
STALE = 13  # appends at a stale head: the database's unique constraint refuses it
SHARED = (20, 21)  # append to one stream, in submission order


class CommandExecutorContract(BackendContract):
    """Commands queued while the writer is busy commit together; each caller gets its own outcome."""

    store = EventStore(s.SERVICE, s.DEPARTMENT)

    def command(self, i: int, *, stale: bool = False) -> Command:
        """Command ``i``: append one event to stream ``orgunit-<i>`` (or the shared one) and return its id."""

        async def run(writer: Writer) -> tuple[int, str]:
            if stale:
                await self.store.append(writer, Stream("orgunit-taken", 0, "", []), [s.unit(i)], s.context())
            stream_id = "orgunit-shared" if i in SHARED else f"orgunit-{i}"
            (envelope,) = await self.store.append(writer, stream_id, [s.unit(i)], s.context())
            if i == REFUSED:
                raise DomainRuleViolated(f"command {i} is refused after it appended")
            return i, envelope.id

        return run

    async def run_batch(self, engine: AsyncEngine, commands: Sequence[Command], *, buffered: bool) -> tuple[
            CommandExecutor, list[Any], int]:
        """Hold the writer busy, queue ``commands`` behind it, release: they form the next batch."""
        commits: list[int] = []
        executor = CommandExecutor(engine, on_commit=lambda: commits.append(1))
        queued, holding = 0, asyncio.Event()

        async def hold(conn: AsyncConnection) -> str:
            holding.set()
            await wait_until(lambda: queued == len(commands), message="every command queued behind the first")
            return "held"

        async def submit(command: Command) -> Any:
            nonlocal queued
            queued += 1  # run() and run_buffered() queue synchronously, before their first await
            return await (executor.run_buffered(command) if buffered else executor.run(command))

        await executor.start()
        try:
            first = asyncio.ensure_future(executor.run(hold))
            await wait_until(holding.is_set, message="the first batch started")
            outcomes = await asyncio.gather(*(submit(c) for c in commands), return_exceptions=True)
            assert await first == "held"
        finally:
            await executor.stop()
        return executor, outcomes, len(commits)

    async def stored(self, engine: AsyncEngine) -> dict[str, list[str]]:
        """Event ids per stream, in version order."""
        async with engine.connect() as conn:
            result = await conn.execute(select(events.c.stream_id, events.c.event_id).order_by(events.c.position))
            by_stream: dict[str, list[str]] = {}
            for row in result:
                by_stream.setdefault(row.stream_id, []).append(row.event_id)
        return by_stream

    @pytest.mark.parametrize("buffered", [False, True], ids=["savepoints", "buffered"])
    async def test_queued_commands_commit_in_one_batch_and_each_caller_gets_its_result(
        self, engine: AsyncEngine, buffered: bool
    ) -> None:
        executor, outcomes, commits = await self.run_batch(
            engine, [self.command(i) for i in range(SIZE)], buffered=buffered)
        assert (executor.batches, executor.commands, commits) == (2, SIZE + 1, 2)
        assert isinstance(outcomes[REFUSED], DomainRuleViolated)
        stored = await self.stored(engine)
        for i, outcome in enumerate(outcomes):
            if i != REFUSED and i not in SHARED:
                assert outcome == (i, stored[f"orgunit-{i}"][0])  # each caller got its own result
        assert [o[1] for o in (outcomes[j] for j in SHARED)] == stored["orgunit-shared"]  # in submission order
        assert f"orgunit-{REFUSED}" not in stored
        assert sum(map(len, stored.values())) == SIZE - 1 == await s.count(engine, outbox)
        assert await verify_log(engine) == (SIZE - 1, [])

    @pytest.mark.parametrize("buffered", [False, True], ids=["savepoints", "buffered"])
    async def test_a_database_conflict_fails_only_its_own_command(self, engine: AsyncEngine, buffered: bool) -> None:
        async with engine.begin() as conn:
            await self.store.append(conn, "orgunit-taken", [s.unit(0)], s.context())
        commands = [self.command(i, stale=i == STALE) for i in range(SIZE)]
        _, outcomes, _ = await self.run_batch(engine, commands, buffered=buffered)
        conflict = outcomes[STALE]
        assert isinstance(conflict, QingdanError) and conflict.status_code == 409, conflict
        stored = await self.stored(engine)
        for i, outcome in enumerate(outcomes):
            if i not in (REFUSED, STALE, *SHARED):
                assert outcome == (i, stored[f"orgunit-{i}"][0])
        assert f"orgunit-{STALE}" not in stored and len(stored["orgunit-taken"]) == 1
        assert sum(map(len, stored.values())) == SIZE - 2 + 1 == await s.count(engine, outbox)
        assert (await verify_log(engine))[1] == []
