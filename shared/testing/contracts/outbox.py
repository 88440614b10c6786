"""The outbox relay's contract: every committed event reaches JetStream once, in order per stream."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import pytest
from nats.js.api import RawStreamMsg
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.envelope import Envelope
from shared.eventstore import CommandExecutor, EventStore
from shared.eventstore.outbox import Outbox
from shared.eventstore.tables import events, outbox
from shared.messaging.subjects import event_subject
from shared.testing.contracts import support as s
from shared.testing.contracts.base import BackendContract
from shared.testing.servers import NatsServerProcess, wait_until


class OutboxRelayContract(BackendContract):
    """Committed events reach JetStream once each, in order per stream, even across a NATS outage."""

    async def test_publishes_with_event_id_as_msg_id_in_order_per_stream(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace = s.unique_namespace(run_id)
        async with s.publishing(engine, nats_url, namespace) as service, s.jetstream(nats_url) as probe:
            for i in range(10):  # three streams interleaved, each stream's commands in order
                await asyncio.gather(*(service.commit(f"orgunit-{k}", [s.unit(i)]) for k in "abc"))
            await self._caught_up(service, probe, 30)
            messages = await probe.messages(service.stream)
        await self._assert_published_once_in_order(engine, messages, namespace)

    async def test_a_republished_batch_is_deduplicated(self, engine: AsyncEngine, nats_url: str, run_id: str) -> None:
        namespace = s.unique_namespace(run_id)
        async with s.publishing(engine, nats_url, namespace) as service, s.jetstream(nats_url) as probe:
            await service.commit("orgunit-a", [s.unit(i) for i in range(5)])
            await service.commit("orgunit-b", [s.unit(9)])
            await self._caught_up(service, probe, 6)

            async def outbox_emptied() -> bool:  # acknowledged rows are deleted with the writer's next batch
                async with engine.connect() as conn:
                    return (await conn.execute(select(func.count()).select_from(outbox))).scalar_one() == 0

            await wait_until(outbox_emptied, message="the published rows to leave the outbox")
            async with engine.begin() as conn:  # as if we crashed after JetStream acked, before forgetting
                await conn.execute(insert(outbox).from_select(["position"], select(events.c.position)))
            service.relay.wake()
            await wait_until(lambda: service.relay.published == 12, message="the batch was published again")
            assert await service.relay.backlog() == 0 and await probe.count(service.stream) == 6
            messages = await probe.messages(service.stream)
        await self._assert_published_once_in_order(engine, messages, namespace)

    async def test_commands_succeed_while_nats_is_down_and_are_published_after(
        self, engine: AsyncEngine, nats_server_fn: NatsServerProcess, run_id: str
    ) -> None:
        namespace, url = s.unique_namespace(run_id), nats_server_fn.url
        async with s.publishing(engine, url, namespace) as service:
            async with s.jetstream(url) as probe:
                for i in range(4):
                    await service.commit(f"orgunit-{'ab'[i % 2]}", [s.unit(i)])
                await self._caught_up(service, probe, 4)
            await asyncio.to_thread(nats_server_fn.stop)
            for i in range(4, 24):  # the service keeps accepting commands
                await service.commit(f"orgunit-{'ab'[i % 2]}", [s.unit(i)])
            assert await service.relay.backlog() == 20
            await asyncio.to_thread(nats_server_fn.start)
            async with s.jetstream(url) as probe:
                await self._caught_up(service, probe, 24, within=30)
                messages = await probe.messages(service.stream)
        await self._assert_published_once_in_order(engine, messages, namespace)

    async def test_an_event_committed_late_by_another_writer_is_not_forgotten(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        if engine.dialect.name == "sqlite":
            pytest.skip("SQLite has one writer at a time: positions are always assigned in commit order")
        namespace, store = s.unique_namespace(run_id), EventStore(s.SERVICE, s.DEPARTMENT)
        other, outbox = self.create_engine(), _CommitsFirst(engine)
        executor = CommandExecutor(engine, outbox=outbox)
        try:
            async with other.connect() as conn:
                transaction = await conn.begin()  # another process takes a lower position ...
                (late,) = await store.append(conn, "orgunit-late", [s.unit(1)], s.context())
                await executor.start()
                (early,) = await executor.run(lambda c: store.append(c, "orgunit-early", [s.unit(2)], s.context()))
                outbox.before_next = transaction.commit  # ... and commits just after the relay read the outbox
                async with s.publishing(engine, nats_url, namespace, executor=executor) as service, \
                        s.jetstream(nats_url) as probe:
                    await self._caught_up(service, probe, 2)
                    published = [Envelope.from_json(m.data or b"").id for m in await probe.messages(service.stream)]
        finally:
            await executor.stop()
            await other.dispose()
        assert outbox.before_next is None, "the other writer was to commit while the relay published"
        assert published == [early.id, late.id]

    @staticmethod
    async def _caught_up(service: s.Publisher, probe: s.JetStreamProbe, total: int, *, within: float = 10) -> None:
        async def done() -> bool:
            return await service.relay.backlog() == 0 and await probe.count(service.stream) == total
        await wait_until(done, timeout=within, message=f"{total} events published and the outbox empty")

    @staticmethod
    async def _assert_published_once_in_order(
        engine: AsyncEngine, messages: list[RawStreamMsg], namespace: str
    ) -> None:
        async with engine.connect() as conn:
            committed = [e async for part in EventStore(s.SERVICE, s.DEPARTMENT).read_all(conn) for e in part]
        published = [Envelope.from_json(m.data or b"") for m in messages]
        assert [e.id for e in published] == [e.envelope.id for e in committed]  # once each, commit order
        assert [(m.headers or {}).get("Nats-Msg-Id") for m in messages] == [e.id for e in published]
        subject = event_subject(namespace, s.SERVICE, s.DEPARTMENT, "orgunit.established")
        assert {m.subject for m in messages} == {subject}
        for stream_id in {e.stream_id for e in published}:
            versions = [e.stream_version for e in published if e.stream_id == stream_id]
            assert versions == list(range(1, len(versions) + 1)), stream_id


class _CommitsFirst(Outbox):
    """An outbox that lets another writer commit just after the relay has read and published a batch."""

    before_next: Callable[[], Awaitable[None]] | None = None

    late_commit: asyncio.Future[None] | None = None

    def acknowledged(self, positions: Sequence[int]) -> None:
        # The relay read the outbox and published what it found: now the other writer commits.
        hook, self.before_next = self.before_next, None
        if hook is not None:
            self.late_commit = asyncio.ensure_future(hook())
        super().acknowledged(positions)
