"""The event store's contract: expected versions, atomic batches, upcasting, the hash chain, group commit."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.aggregate import fold
from shared.catalogue import EventPayload
from shared.catalogue.people import OrgUnitEstablished, PersonRegistered
from shared.db import writer
from shared.envelope import Envelope, utcnow
from shared.errors import ConcurrencyConflict
from shared.eventstore import ANY_VERSION, EventStore, Stream
from shared.eventstore.tables import events, outbox
from shared.eventstore.verify import verify_log
from shared.ids import new_id
from shared.testing.contracts import support as s
from shared.testing.contracts.base import BackendContract


class EventStoreContract(BackendContract):
    """Appending with an expected version, atomic batches, reading, upcasting, the hash chain, group commit."""

    store = EventStore(s.SERVICE, s.DEPARTMENT)

    async def test_append_with_expected_version_then_read_and_fold(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            first = await self.store.append(conn, "orgunit-a", [s.unit(1), s.unit(2)], s.context(), expected_version=0)
        async with engine.begin() as conn:
            more = await self.store.append(conn, "orgunit-a", [s.unit(3)], s.context(), expected_version=2)
            await self.store.append(conn, "orgunit-b", [s.unit(9)], s.context(), expected_version=ANY_VERSION)
        assert [e.stream_version for e in first + more] == [1, 2, 3]
        assert {e.source for e in first} == {f"qingdan/{s.SERVICE}/{s.DEPARTMENT}"}
        async with engine.connect() as conn:
            stream = await self.store.load(conn, "orgunit-a")
            tail = await self.store.read(conn, "orgunit-a", after_version=1)
            log = [e async for part in self.store.read_all(conn, batch=2) for e in part]
            queued = (await conn.execute(select(outbox.c.position).order_by(outbox.c.position))).scalars().all()
            last = await self.store.last_position(conn)
        assert (stream.version, stream.last_hash) == (3, more[-1].hash)
        assert [e.envelope.id for e in stream.events] == [e.id for e in first + more]
        assert stream.payloads == [s.unit(1), s.unit(2), s.unit(3)]
        assert [e.envelope.stream_version for e in tail] == [2, 3]
        assert [e.envelope.stream_id for e in log] == ["orgunit-a"] * 3 + ["orgunit-b"]
        assert list(queued) == [e.position for e in log] and last == log[-1].position

        def evolve(names: tuple[str, ...] | None, event: EventPayload) -> tuple[str, ...]:
            assert isinstance(event, OrgUnitEstablished)
            return (*(names or ()), event.name)

        assert fold(evolve, stream.payloads) == ("demo village 1", "demo village 2", "demo village 3")

    async def test_stale_expected_version_is_a_conflict(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await self.store.append(conn, "orgunit-a", [s.unit(1)], s.context(), expected_version=0)
        with pytest.raises(ConcurrencyConflict) as caught:
            async with engine.begin() as conn:
                await self.store.append(conn, "orgunit-a", [s.unit(2)], s.context(), expected_version=0)
        assert (caught.value.expected, caught.value.actual, caught.value.status_code) == (0, 1, 409)
        assert "orgunit-a is at version 1, not 0" in caught.value.message
        assert (await self.stream_of(engine, "orgunit-a")).version == 1
        assert await s.count(engine, outbox) == 1

    async def test_racing_writer_is_caught_by_the_unique_constraint(self, engine: AsyncEngine) -> None:
        other = self.create_engine()
        try:
            async with other.begin() as conn:
                seen = await self.store.load(conn, "orgunit-a")  # the other writer reads version 0 ...
            async with engine.begin() as conn:  # ... we append meanwhile ...
                await self.store.append(conn, "orgunit-a", [s.unit(1, "ours")], s.context())
            with pytest.raises(ConcurrencyConflict) as caught:  # ... and its append at version 1 collides
                async with other.begin() as conn:
                    await self.store.append(conn, seen, [s.unit(2, "theirs")], s.context())
        finally:
            await other.dispose()
        assert caught.value.actual is None and "changed concurrently" in caught.value.message
        stream = await self.stream_of(engine, "orgunit-a")
        assert [p.name for p in stream.payloads if isinstance(p, OrgUnitEstablished)] == ["ours"]
        assert await s.count(engine, outbox) == 1

    async def test_two_open_transactions_expecting_the_same_version_one_wins(self, engine: AsyncEngine) -> None:
        other = self.create_engine()

        async def write(engine_: AsyncEngine, name: str) -> str:
            # Through writer(), as the service writes: a plain deferred SQLite transaction that reads
            # and then writes can meet SQLITE_BUSY on its lock upgrade, a path no command takes.
            async with writer(engine_).begin() as conn:
                stream = await self.store.load(conn, "orgunit-a")
                await self.store.append(conn, stream, [s.unit(1, name)], s.context(), expected_version=0)
            return name

        try:
            outcomes = await asyncio.gather(write(engine, "first"), write(other, "second"), return_exceptions=True)
        finally:
            await other.dispose()
        winners = [o for o in outcomes if isinstance(o, str)]
        assert len(winners) == 1, outcomes
        assert [type(o) for o in outcomes if not isinstance(o, str)] == [ConcurrencyConflict], outcomes
        stream = await self.stream_of(engine, "orgunit-a")
        assert stream.version == 1 and stream.payloads == [s.unit(1, winners[0])]

    async def test_a_batch_commits_or_rolls_back_with_the_command_writes(self, engine: AsyncEngine) -> None:
        with pytest.raises(RuntimeError, match="failed after appending"):
            async with engine.begin() as conn:
                await conn.execute(insert(s.notes).values(note="written with the events"))
                await self.store.append(conn, "orgunit-a", [s.unit(1), s.unit(2)], s.context(), expected_version=0)
                raise RuntimeError("the command failed after appending")
        assert [await s.count(engine, t) for t in (events, outbox, s.notes)] == [0, 0, 0]

        async with engine.begin() as conn:
            await self.store.append(conn, "orgunit-a", [s.unit(1)], s.context())
        stale = Stream("orgunit-a", 0, "", [])
        async with engine.begin() as conn:  # a command in a savepoint fails; the transaction goes on
            await conn.execute(insert(s.notes).values(note="outside"))
            with pytest.raises(ConcurrencyConflict):
                async with conn.begin_nested():
                    await conn.execute(insert(s.notes).values(note="inside"))
                    await self.store.append(conn, stale, [s.unit(2), s.unit(3), s.unit(4)], s.context())
            await self.store.append(conn, "orgunit-a", [s.unit(5)], s.context())
        stream = await self.stream_of(engine, "orgunit-a")
        assert stream.payloads == [s.unit(1), s.unit(5)]
        async with engine.connect() as conn:
            assert [r["note"] for r in await s.table_rows(conn, s.notes)] == ["outside"]
        assert await s.count(engine, outbox) == 2

    @pytest.mark.parametrize(("in_hardship", "hardship"), [(True, ["unspecified"]), (False, [])])
    async def test_a_stored_v1_person_registered_is_read_as_the_current_version(
        self, engine: AsyncEngine, in_hardship: bool, hardship: list[str]
    ) -> None:
        v1 = {"person_id": "p-1", "resident_index": "hmac-of-id", "sealed": {"name": "ciphertext"},
              "village_code": "511403110201", "township_code": "511403110", "category": 4, "grade": 2,
              "severe": True, "in_hardship": in_hardship, "sex": "female", "birth_year": 1980,
              "registered_on": "2019-03-01"}
        legacy = Envelope(
            id=new_id(), source="qingdan/registry/federation", type="person.registered", time=utcnow(),
            subject="person-p-1", stream_id="person-p-1", stream_type="person", stream_version=1,
            schema_version=1, actor="legacy-import", department="federation", correlation_id=new_id(), data=v1,
        ).sealed("")
        async with engine.begin() as conn:
            await s.insert_envelope(conn, legacy)
        stream = await self.stream_of(engine, "person-p-1")
        (recorded,) = stream.events
        assert recorded.envelope == legacy  # stored as written: the log is never rewritten
        assert isinstance(recorded.payload, PersonRegistered) and recorded.payload.schema_version == 3
        assert recorded.payload.hardship == hardship  # v1 → v2
        current = {k: v for k, v in v1.items() if k not in ("in_hardship", "resident_index")}  # v2 → v3
        assert recorded.payload.model_dump(exclude={"hardship"}) == PersonRegistered.model_validate(
            current).model_dump(exclude={"hardship"})
        async with engine.begin() as conn:  # newer events chain onto the old one
            await self.store.append(conn, stream, [s.unit(1)], s.context(), expected_version=1)
        assert await verify_log(engine) == (2, [])

    async def test_hash_chain_links_every_event_and_verifies(self, engine: AsyncEngine) -> None:
        async with engine.begin() as conn:
            await self.store.append(conn, "orgunit-a", [s.unit(1), s.unit(2)], s.context())
            await self.store.append(conn, "orgunit-b", [s.unit(5)], s.context())
        async with engine.begin() as conn:
            await self.store.append(conn, "orgunit-a", [s.unit(3)], s.context())
        for stream_id, length in (("orgunit-a", 3), ("orgunit-b", 1)):
            chain = [e.envelope for e in (await self.stream_of(engine, stream_id)).events]
            assert len(chain) == length
            assert [e.prev_hash for e in chain] == ["", *(e.hash for e in chain[:-1])]
            assert all(e.hash == e.content_hash() and len(e.hash) == 64 for e in chain)
        assert await verify_log(engine) == (4, [])

    async def test_verify_detects_an_altered_envelope(self, engine: AsyncEngine) -> None:
        original = await self._three_events(engine)
        forged = original[1].model_copy(update={"data": {**original[1].data, "name": "forged village"}})
        await self._overwrite(engine, forged)
        checked, problems = await verify_log(engine)
        assert checked == 3 and problems == ["orgunit-a v2: content does not match its hash (altered)"]

        resealed = forged.sealed(original[1].prev_hash)  # a forger who recomputes the hash ...
        await self._overwrite(engine, resealed)
        _, problems = await verify_log(engine)  # ... breaks the link to the next event
        assert problems == ["orgunit-a v3: does not link to the previous event's hash"]

    async def test_verify_detects_a_deleted_event(self, engine: AsyncEngine) -> None:
        await self._three_events(engine)
        async with engine.begin() as conn:
            await conn.execute(delete(events).where(events.c.stream_id == "orgunit-a", events.c.version == 2))
        checked, problems = await verify_log(engine)
        assert checked == 2
        assert problems == ["orgunit-a v3: expected version 2 (an event is missing)",
                            "orgunit-a v3: does not link to the previous event's hash"]

    async def _three_events(self, engine: AsyncEngine) -> list[Envelope]:
        async with engine.begin() as conn:
            return await self.store.append(conn, "orgunit-a", [s.unit(1), s.unit(2), s.unit(3)], s.context())

    @staticmethod
    async def _overwrite(engine: AsyncEngine, envelope: Envelope) -> None:
        async with engine.begin() as conn:
            await conn.execute(
                update(events).where(events.c.event_id == envelope.id)
                .values(envelope=envelope.to_json().decode(), hash=envelope.hash))
