"""Trusted consumers' contract: only events signed by their publisher's key are applied, and each
event id at most once, whatever its stream sequence or message id."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.catalogue import EventPayload
from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope
from shared.eventstore import EventStore
from shared.eventstore.tables import dead_letters, events
from shared.ids import new_id
from shared.messaging.audit import compare_with_stream
from shared.messaging.consumer import DurableConsumer, Feed
from shared.messaging.feeds import consumer_name
from shared.messaging.streams import ensure_service_stream
from shared.messaging.subjects import event_subject, stream_name
from shared.projection import Increment, Operation, Projection, apply_sql
from shared.rebuild import rebuild
from shared.signing import KeyRing, Signer
from shared.testing.contracts import support as s
from shared.testing.contracts.base import BackendContract
from shared.testing.contracts.consumer import ConsumerCheckpointContract
from shared.testing.servers import wait_until


def signed_chain(signer: Signer, stream_id: str, count: int, first: int = 0) -> list[Envelope]:
    """A stream of org units as the source's event store writes them: chained and signed."""
    chain: list[Envelope] = []
    prev_hash = ""
    for envelope in s.sealed_chain(stream_id, [s.unit(i) for i in range(first, first + count)]):
        signed = signer.sign(envelope.sealed(prev_hash))
        prev_hash = signed.hash
        chain.append(signed)
    return chain


class TrustedConsumerContract(BackendContract):
    """A consumer with a key ring refuses forgeries and applies an event id once."""

    def consumer(self, engine: AsyncEngine, nats_url: str, namespace: str, keyring: KeyRing) -> DurableConsumer:
        """The checkpoint contract's consumer, reading with ``keyring``."""
        consumer = DurableConsumer(engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                                   name="contract-trusted", handler=ConsumerCheckpointContract.handler,
                                   event_types={"orgunit.established"})
        consumer.trust(keyring)
        return consumer

    async def _consume(self, consumer: DurableConsumer, upto: int) -> None:
        await consumer.start()
        try:
            await wait_until(lambda: consumer.position == upto, message=f"the consumer read up to {upto}")
        finally:
            await consumer.stop()

    @staticmethod
    async def _applied(engine: AsyncEngine) -> dict[str, int]:
        async with engine.connect() as conn:
            return {r["name"]: r["times"] for r in await s.table_rows(conn, s.applied)}

    async def test_an_old_event_republished_under_a_new_message_id_is_applied_once(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace, signer = s.unique_namespace(run_id), Signer.generate()
        keyring = KeyRing([signer.public(s.SOURCE, s.DEPARTMENT, frozenset())])
        chain = signed_chain(signer, "orgunit-a", 3)
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in chain:
                await probe.publish_envelope(namespace, envelope)                          # 1-3
            subject = event_subject(namespace, s.SOURCE, s.DEPARTMENT, chain[0].type)
            # The replay: the same signed bytes, a new Nats-Msg-Id, so JetStream stores it again.
            await probe.js.publish(subject, chain[0].to_json(), headers={"Nats-Msg-Id": new_id()})  # 4
            await probe.publish_envelope(namespace, signed_chain(signer, "orgunit-b", 1, first=9)[0])  # 5
            await self._consume(self.consumer(engine, nats_url, namespace, keyring), upto=5)
        assert await self._applied(engine) == {"demo village 0": 1, "demo village 1": 1,
                                               "demo village 2": 1, "demo village 9": 1}

    async def test_an_old_event_republished_after_its_batch_committed_is_applied_once(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        # The replay comes in a later batch: only the applied ids in the database can catch it.
        namespace, signer = s.unique_namespace(run_id), Signer.generate()
        keyring = KeyRing([signer.public(s.SOURCE, s.DEPARTMENT, frozenset())])
        chain = signed_chain(signer, "orgunit-a", 2)
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in chain:
                await probe.publish_envelope(namespace, envelope)                          # 1-2
            await self._consume(self.consumer(engine, nats_url, namespace, keyring), upto=2)
            subject = event_subject(namespace, s.SOURCE, s.DEPARTMENT, chain[1].type)
            await probe.js.publish(subject, chain[1].to_json(), headers={"Nats-Msg-Id": new_id()})  # 3
            await probe.publish_envelope(namespace, signed_chain(signer, "orgunit-b", 1, first=9)[0])  # 4
            await self._consume(self.consumer(engine, nats_url, namespace, keyring), upto=4)
        assert await self._applied(engine) == {"demo village 0": 1, "demo village 1": 1, "demo village 9": 1}

    async def test_forged_events_go_to_dead_letters_and_are_never_applied(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace, signer, stranger = s.unique_namespace(run_id), Signer.generate(), Signer.generate()
        keyring = KeyRing([signer.public(s.SOURCE, s.DEPARTMENT, frozenset())])
        genuine = signed_chain(signer, "orgunit-a", 2)
        unsigned = s.sealed_chain("orgunit-x", [s.unit(20)])[0]
        foreign_key = signed_chain(stranger, "orgunit-y", 1, first=21)[0]
        edited = genuine[1].model_copy(update={"id": new_id(), "data": {**genuine[1].data, "name": "edited"}})
        # Signed by the right key but for another department than its key may sign for.
        other_department = signer.sign(s.sealed_chain("orgunit-z", [s.unit(22)])[0].model_copy(
            update={"department": "health"}).sealed(""))
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            await probe.publish_envelope(namespace, genuine[0])        # 1 applied
            await probe.publish_envelope(namespace, unsigned)          # 2 not signed
            await probe.publish_envelope(namespace, foreign_key)       # 3 unknown key
            await probe.publish_envelope(namespace, edited)            # 4 content altered
            await probe.publish_envelope(namespace, other_department)  # 5 department not its key's
            wrong_subject = event_subject(namespace, s.SOURCE, "health", genuine[1].type)
            await probe.js.publish(wrong_subject, genuine[1].to_json(), headers={"Nats-Msg-Id": new_id()})  # 6
            await probe.publish_envelope(namespace, genuine[1])        # 7 applied
            await self._consume(self.consumer(engine, nats_url, namespace, keyring), upto=7)
        assert await self._applied(engine) == {"demo village 0": 1, "demo village 1": 1}
        async with engine.connect() as conn:
            letters = {r["sequence"]: r["reason"] for r in await s.table_rows(conn, dead_letters)}
        assert sorted(letters) == [2, 3, 4, 5, 6]
        assert all(reason.startswith("not a genuine event") for reason in letters.values())
        assert "not signed" in letters[2] and "unknown key" in letters[3]
        assert "does not match its hash" in letters[4] and "department health" in letters[5]
        assert "subject" in letters[6]

    async def test_a_folding_consumer_applies_only_genuine_events_once(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        # Feeds given as pure changes: the batch's operations are worked out while its signatures
        # are verified, and only an admitted event's are kept.
        namespace, signer, stranger = s.unique_namespace(run_id), Signer.generate(), Signer.generate()
        keyring = KeyRing([signer.public(s.SOURCE, s.DEPARTMENT, frozenset())])

        def count(envelope: Envelope, payload: EventPayload) -> list[Operation]:
            return [Increment(s.applied, {"event_id": envelope.id}, "times",
                              defaults={"name": getattr(payload, "name", "?")})]

        async def handle(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
            await apply_sql(conn, count(envelope, payload))

        consumer = DurableConsumer(engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                                   name="contract-folding", feeds=[Feed("contract-folding", handle,
                                                                        frozenset({"orgunit.established"}), count)])
        consumer.trust(keyring)
        genuine = signed_chain(signer, "orgunit-a", 3)
        edited = genuine[2].model_copy(update={"id": new_id(), "data": {**genuine[2].data, "name": "edited"}})
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            await probe.publish_envelope(namespace, genuine[0])                                       # 1 applied
            await probe.publish_envelope(namespace, s.sealed_chain("orgunit-x", [s.unit(20)])[0])    # 2 not signed
            await probe.publish_envelope(namespace, signed_chain(stranger, "orgunit-y", 1, first=21)[0])  # 3 key
            await probe.publish_envelope(namespace, genuine[1])                                       # 4 applied
            await probe.publish_envelope(namespace, edited)                                           # 5 altered
            subject = event_subject(namespace, s.SOURCE, s.DEPARTMENT, genuine[0].type)
            await probe.js.publish(subject, genuine[0].to_json(), headers={"Nats-Msg-Id": new_id()})  # 6 replay
            await probe.publish_envelope(namespace, genuine[2])                                       # 7 applied
            await self._consume(consumer, upto=7)
        assert await self._applied(engine) == {"demo village 0": 1, "demo village 1": 1, "demo village 2": 1}
        async with engine.connect() as conn:
            letters = {r["sequence"]: r["reason"] for r in await s.table_rows(conn, dead_letters)}
        assert sorted(letters) == [2, 3, 5]
        assert "not signed" in letters[2] and "unknown key" in letters[3] and "does not match its hash" in letters[5]

    async def test_a_rebuild_counts_what_the_live_consumer_counts_and_keeps_ids_applied(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace, signer = s.unique_namespace(run_id), Signer.generate()
        keyring = KeyRing([signer.public(s.SOURCE, s.DEPARTMENT, frozenset())])

        def count(envelope: Envelope, payload: EventPayload) -> list[Operation]:
            return [Increment(s.applied, {"event_id": envelope.id}, "times",
                              defaults={"name": getattr(payload, "name", "?")})]

        projection = Projection(name="counted", source_service=s.SOURCE, tables=(s.applied,),
                                reads=(OrgUnitEstablished,), changes=count)

        async def handle(conn: AsyncConnection, envelope: Envelope, payload: EventPayload) -> None:
            await apply_sql(conn, projection.changes(envelope, payload))

        def live() -> DurableConsumer:
            consumer = DurableConsumer(engine, nats_url=nats_url, namespace=namespace, source_service=s.SOURCE,
                                       name=consumer_name(projection, prefix=s.SERVICE), handler=handle,
                                       event_types=projection.event_types)
            consumer.trust(keyring)
            return consumer

        chain = signed_chain(signer, "orgunit-a", 2)
        subject = event_subject(namespace, s.SOURCE, s.DEPARTMENT, chain[0].type)
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in chain:
                await probe.publish_envelope(namespace, envelope)
            await probe.js.publish(subject, chain[0].to_json(), headers={"Nats-Msg-Id": new_id()})   # replayed
            await probe.publish_envelope(namespace, s.sealed_chain("orgunit-x", [s.unit(7)])[0])  # unsigned
            await self._consume(live(), upto=4)
            expected = {"demo village 0": 1, "demo village 1": 1}
            assert await self._applied(engine) == expected
            check = await rebuild(engine, projection, nats_url=nats_url, namespace=namespace, check=True,
                                  prefix=s.SERVICE, keyring=keyring)
            assert check.differences == []
            replaced = await rebuild(engine, projection, nats_url=nats_url, namespace=namespace,
                                     prefix=s.SERVICE, keyring=keyring)
            assert replaced.replaced and await self._applied(engine) == expected
            # After the swap the ids are still known: one more replay is not counted either.
            await probe.js.publish(subject, chain[1].to_json(), headers={"Nats-Msg-Id": new_id()})
            await self._consume(live(), upto=5)
        assert await self._applied(engine) == expected

    async def test_the_log_against_its_stream_finds_a_deleted_tail_and_foreign_messages(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace, ours, theirs = s.unique_namespace(run_id), Signer.generate(), Signer.generate()
        keyring = KeyRing([ours.public(s.SERVICE, s.DEPARTMENT, frozenset()),
                           theirs.public(s.SERVICE, "health", frozenset())])
        store = EventStore(s.SERVICE, s.DEPARTMENT, signer=ours)
        async with s.publishing(engine, nats_url, namespace) as service, s.jetstream(nats_url) as probe:
            async def write(conn: AsyncConnection) -> None:
                await store.append(conn, "orgunit-a", [s.unit(0), s.unit(1)], s.context())
                await store.append(conn, "orgunit-b", [s.unit(2)], s.context())

            await service.executor.run(write)
            await wait_until(lambda: service.relay.published == 3, message="the relay published all three")
            # Another instance of the same service shares the stream: its events are not ours to hold.
            other = theirs.sign(s.sealed_chain("orgunit-h", [s.unit(7)])[0].model_copy(update={
                "source": f"qingdan/{s.SERVICE}/health", "department": "health"}).sealed(""))
            await probe.js.publish(event_subject(namespace, s.SERVICE, "health", other.type), other.to_json())

            async def compare() -> tuple[int, list[str]]:
                return await compare_with_stream(engine, probe.nc, namespace=namespace, service=s.SERVICE,
                                                 source=store.source, keyring=keyring)

            assert await compare() == (4, [])
            async with engine.begin() as conn:  # the tail of a stream deleted: its chain stays intact
                tail = (await conn.execute(select(events.c.event_id, events.c.position).where(
                    events.c.stream_id == "orgunit-a", events.c.version == 2))).one()
                await conn.execute(delete(events).where(events.c.position == tail.position))
            forged = s.sealed_chain("orgunit-a", [s.unit(9)])[0]  # on our subject, without our key
            await probe.js.publish(event_subject(namespace, s.SERVICE, s.DEPARTMENT, forged.type), forged.to_json())
            read, problems = await compare()
        assert read == 5
        assert problems == [
            f"{stream_name(namespace, s.SERVICE)} #5: not a genuine event: not signed "
            "(published without the service's key)",
            f"orgunit-a v2 (event {tail.event_id}, {stream_name(namespace, s.SERVICE)} #2): in JetStream but not "
            "in the database (deleted)",
        ]
