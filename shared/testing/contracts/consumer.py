"""Consumer checkpoints' contract: each event applied once, with its checkpoint; poison set aside."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg
from prometheus_client import REGISTRY
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.catalogue import EventPayload
from shared.catalogue.people import DepartmentRegistered, OrgUnitEstablished
from shared.envelope import Envelope
from shared.eventstore.tables import applied_events, dead_letters, tracking
from shared.eventstore.tracking import applied_position
from shared.ids import new_id
from shared.messaging.consumer import DurableConsumer, Feed, Handler
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import stream_name
from shared.projection import Increment, apply_sql
from shared.testing.contracts import support as s
from shared.testing.contracts.base import BackendContract
from shared.testing.servers import wait_until

POISON = "poison"
"""The org unit name the contract consumer's handler refuses."""


class ConsumerCheckpointContract(BackendContract):
    """A durable consumer applies each event once, with its checkpoint, and sets poison aside."""

    @staticmethod
    async def handler(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
        """Count applications per event; refuse the poison one after writing (a partial write)."""
        assert isinstance(payload, OrgUnitEstablished)
        count = Increment(s.applied, {"event_id": envelope.id}, "times", defaults={"name": payload.name})
        await apply_sql(conn, [count])
        if payload.name == POISON:
            raise RuntimeError("this handler cannot process the poison unit")

    def consumer(self, engine: AsyncEngine, nats_url: str, namespace: str, name: str) -> DurableConsumer:
        """The consumer under test, reading the source service's stream."""
        return DurableConsumer(engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                               name=name, handler=self.handler, event_types={"orgunit.established"})

    async def _consume(self, engine: AsyncEngine, nats_url: str, namespace: str, name: str, upto: int) -> None:
        consumer = self.consumer(engine, nats_url, namespace, name)
        await consumer.start()
        try:
            await wait_until(lambda: consumer.position == upto, message=f"{name} applied up to {upto}")
        finally:
            await consumer.stop()

    @staticmethod
    async def _applied(engine: AsyncEngine) -> dict[str, int]:
        async with engine.connect() as conn:
            return {r["name"]: r["times"] for r in await s.table_rows(conn, s.applied)}

    async def test_applies_each_event_once_and_resumes_from_its_checkpoint(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace, name = s.unique_namespace(run_id), "contract-resume"
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in s.sealed_chain("orgunit-a", [s.unit(i) for i in range(5)]):
                await probe.publish_envelope(namespace, envelope)
            await self._consume(engine, nats_url, namespace, name, upto=5)
            for envelope in s.sealed_chain("orgunit-b", [s.unit(i) for i in range(5, 8)]):
                await probe.publish_envelope(namespace, envelope)
            await self._consume(engine, nats_url, namespace, name, upto=8)
        assert await self._applied(engine) == {f"demo village {i}": 1 for i in range(8)}
        async with engine.connect() as conn:
            assert await applied_position(conn, name, stream_name(namespace, s.SOURCE)) == 8

    async def test_redelivered_sequences_are_skipped(
        self, engine: AsyncEngine, nats_url: str, run_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        namespace, name = s.unique_namespace(run_id), f"contract-redelivery-{run_id}"
        lost: list[int] = []
        acknowledge = Msg.ack

        async def ack_lost_once(msg: Msg) -> None:
            if lost:
                return await acknowledge(msg)
            lost.append(msg.metadata.sequence.stream)  # committed, but JetStream never hears of it:
            await msg.nak()  # it delivers the message again at once
            return None

        monkeypatch.setattr(Msg, "ack", ack_lost_once)
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in s.sealed_chain("orgunit-a", [s.unit(i) for i in range(4)]):
                await probe.publish_envelope(namespace, envelope)
        consumer = self.consumer(engine, nats_url, namespace, name)
        await consumer.start()
        try:
            await wait_until(lambda: _skipped(name) >= 1, message="the redelivered message was skipped")
        finally:
            await consumer.stop()
        assert lost and consumer.position == 4
        assert await self._applied(engine) == {f"demo village {i}": 1 for i in range(4)}

    async def test_poison_messages_go_to_dead_letters_and_later_ones_are_applied(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace, name = s.unique_namespace(run_id), "contract-poison"
        good = s.sealed_chain("orgunit-a", [s.unit(1, "before"), s.unit(2, POISON), s.unit(3, "after")])
        invalid_payload = good[0].model_copy(update={"id": new_id(), "data": {"code": "no code", "name": "x"}})
        other_type = s.sealed_chain("department-x", [DepartmentRegistered(code="x", name="not subscribed")])[0]
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            await probe.publish_envelope(namespace, good[0])                          # 1 applied
            await probe.publish_raw(namespace, "orgunit.established", b"{not json")   # 2 dead letter
            await probe.publish_envelope(namespace, invalid_payload)                  # 3 dead letter
            await probe.publish_envelope(namespace, good[1])                          # 4 dead letter
            await probe.publish_envelope(namespace, other_type)                       # 5 not for us
            await probe.publish_envelope(namespace, good[2])                          # 6 applied
            await self._consume(engine, nats_url, namespace, name, upto=6)
            await probe.publish_envelope(namespace, s.sealed_chain("orgunit-b", [s.unit(4, "later")])[0])
            await self._consume(engine, nats_url, namespace, name, upto=7)  # restarted: no poison again
        assert await self._applied(engine) == {"before": 1, "after": 1, "later": 1}
        async with engine.connect() as conn:
            letters = await s.table_rows(conn, dead_letters)
        assert [(r["sequence"], r["consumer"], r["event_id"]) for r in letters] == [
            (2, name, None), (3, name, invalid_payload.id), (4, name, good[1].id)]
        assert letters[0]["reason"].startswith("not a valid envelope") and letters[0]["body"] == "{not json"
        assert letters[1]["reason"].startswith("payload rejected") and "code" in letters[1]["reason"]
        assert letters[2]["reason"].startswith("handler failed") and "poison" in letters[2]["reason"]
        assert {r["source"] for r in letters} == {stream_name(namespace, s.SOURCE)}


def _skipped(consumer: str) -> float:
    return REGISTRY.get_sample_value("qingdan_events_skipped_total", {"consumer": consumer}) or 0.0




class MultiFeedConsumerContract(BackendContract):
    """One consumer feeding several read models: one transaction per batch, one checkpoint each."""

    @staticmethod
    def counter(prefix: str) -> Handler:
        """A handler counting applications of each event under ``prefix``."""
        async def count(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
            name = f"{prefix}:{getattr(payload, 'name', '?')}"
            key = prefix + envelope.id[1:]  # the column holds 36 characters, like an event id
            await apply_sql(conn, [Increment(s.applied, {"event_id": key}, "times",
                                             defaults={"name": name})])
        return count

    def consumer(self, engine: AsyncEngine, nats_url: str, namespace: str) -> DurableConsumer:
        """Units and departments, two read models, one consumer."""
        return DurableConsumer(engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                               name="contract-feeds", feeds=[
                                   Feed("feed-units", self.counter("u"), frozenset({"orgunit.established"})),
                                   Feed("feed-departments", self.counter("d"), frozenset({"department.registered"})),
                               ])

    async def _consume(self, engine: AsyncEngine, nats_url: str, namespace: str, upto: int) -> None:
        consumer = self.consumer(engine, nats_url, namespace)
        await consumer.start()
        try:
            await wait_until(lambda: consumer.position == upto, message=f"the feeds applied up to {upto}")
        finally:
            await consumer.stop()

    async def test_each_feed_applies_its_events_once_and_resumes_from_its_own_checkpoint(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace = s.unique_namespace(run_id)
        stream = stream_name(namespace, s.SOURCE)
        units = s.sealed_chain("orgunit-a", [s.unit(i) for i in range(3)])
        departments = [s.sealed_chain(f"department-{c}", [DepartmentRegistered(code=c, name=f"dept {c}")])[0]
                       for c in "xyz"]
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in (units[0], departments[0], units[1], departments[1], units[2]):  # sequences 1-5
                await probe.publish_envelope(namespace, envelope)
            await self._consume(engine, nats_url, namespace, upto=5)
            async with engine.connect() as conn:
                assert {f: await applied_position(conn, f, stream) for f in ("feed-units", "feed-departments")} \
                    == {"feed-units": 5, "feed-departments": 5}
            async with engine.begin() as conn:  # the units read model is reset, as before a rebuild
                await conn.execute(delete(s.applied).where(s.applied.c.name.like("u:%")))
                await conn.execute(update(tracking).where(tracking.c.consumer == "feed-units").values(position=0))
                await conn.execute(delete(applied_events).where(applied_events.c.consumer == "feed-units"))
            await probe.publish_envelope(namespace, departments[2])  # sequence 6
            await self._consume(engine, nats_url, namespace, upto=6)
        async with engine.connect() as conn:
            rows = {r["name"]: r["times"] for r in await s.table_rows(conn, s.applied)}
            positions = {f: await applied_position(conn, f, stream) for f in ("feed-units", "feed-departments")}
        assert rows == {**{f"u:demo village {i}": 1 for i in range(3)}, **{f"d:dept {c}": 1 for c in "xyz"}}
        assert positions == {"feed-units": 6, "feed-departments": 6}
