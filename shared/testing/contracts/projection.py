"""Projections' contract: SQL and in-memory appliers agree, so a rebuild finds what the live model holds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.catalogue import EventPayload
from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope
from shared.messaging.feeds import ProjectionSet, projection_consumers
from shared.messaging.streams import ensure_service_stream
from shared.projection import (
    CounterKey,
    Delete,
    Increment,
    MemoryModel,
    Operation,
    Patch,
    Projection,
    Row,
    RowOperation,
    Tally,
    Upsert,
    apply_sql,
    tallied,
)
from shared.rebuild import rebuild
from shared.testing.contracts import support as s
from shared.testing.contracts.base import BackendContract
from shared.testing.servers import wait_until


def _unit_changes(envelope: Envelope, event: EventPayload) -> list[Operation]:
    assert isinstance(event, OrgUnitEstablished)
    return [Upsert(s.units, {"code": event.code}, {"name": event.name, "level": event.level}),
            Increment(s.levels, {"level": event.level}, "units")]


def _level_counts(rows: Mapping[str, Sequence[Row]]) -> Iterable[CounterKey]:
    for unit in rows[s.units.name]:
        yield s.level_counts, (("level", unit["level"]),), "units"
        if not unit["name"].startswith("demo"):
            yield s.level_counts, (("level", unit["level"]),), "named"


LEVELS_TALLY = Tally("levels", subject="code", sources=(s.units,), counters=(s.level_counts,), count=_level_counts)


def _unit_only(envelope: Envelope, event: EventPayload) -> list[Operation]:
    assert isinstance(event, OrgUnitEstablished)
    return [Upsert(s.units, {"code": event.code}, {"name": event.name, "level": event.level})]


class ProjectionContract(BackendContract):
    """The SQL and in-memory appliers of a projection agree, so a rebuild finds what the live model holds."""

    OPERATIONS: tuple[RowOperation, ...] = (
        Upsert(s.rows, {"grp": "a", "item": 1}, {"label": "one"}),  # omits hits, flag and total
        Increment(s.rows, {"grp": "a", "item": 1}, "hits"),  # a column the upsert left to its default
        Increment(s.rows, {"grp": "a", "item": 1}, "total", by=5),  # a column the upsert left NULL
        Increment(s.rows, {"grp": "a", "item": 2}, "hits", by=3, defaults={"label": "two"}),  # creates the row
        Upsert(s.rows, {"grp": "a", "item": 2}, {}),  # nothing to update: unchanged
        Upsert(s.rows, {"grp": "b", "item": 1}, {}),  # new row of defaults only
        Patch(s.rows, {"grp": "a", "item": 1}, {"flag": True}),
        Patch(s.rows, {"grp": "z", "item": 9}, {"label": "nobody"}),  # no such row: nothing
        Upsert(s.rows, {"grp": "a", "item": 1}, {"label": "uno"}),  # keeps hits, flag and total
        Increment(s.rows, {"grp": "a", "item": 2}, "total", by=-2),
        Delete(s.rows, {"grp": "b", "item": 1}),
        Delete(s.rows, {"grp": "q", "item": 0}),  # no such row: nothing
        Increment(s.rows, {"grp": "a", "item": 1}, "hits", by=-1),
        Upsert(s.rows, {"grp": "b", "item": 1}, {"label": "back", "total": None}),
    )

    async def test_memory_model_and_sql_agree_after_every_operation(self, engine: AsyncEngine) -> None:
        model = MemoryModel([s.rows])
        async with engine.begin() as conn:
            for step, operation in enumerate(self.OPERATIONS):
                await apply_sql(conn, [operation])
                model.apply([operation])
                in_sql = await s.table_rows(conn, s.rows)
                in_memory = sorted(model.table_rows(s.rows), key=lambda r: (r["grp"], r["item"]))
                assert in_memory == in_sql, f"after step {step}: {type(operation).__name__} {operation.key}"
        assert in_sql == [
            {"grp": "a", "item": 1, "label": "uno", "hits": 0, "flag": True, "total": 5},
            {"grp": "a", "item": 2, "label": "two", "hits": 3, "flag": False, "total": -2},
            {"grp": "b", "item": 1, "label": "back", "hits": 0, "flag": False, "total": None},
        ]

    async def test_rebuild_check_agrees_with_live_consumption_and_finds_tampering(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        namespace = s.unique_namespace(run_id)
        projection = Projection(name="units", source_service=s.SOURCE, tables=(s.units, s.levels),
                                reads=(OrgUnitEstablished,), changes=_unit_changes)
        projections = ProjectionSet(prefix=s.SERVICE, projections=(projection,))
        [consumer] = projection_consumers(engine, projections, nats_url=nats_url, namespace=namespace)
        assert consumer.name == f"{s.SERVICE}-from-{s.SOURCE}"
        payloads = [s.unit(i, level="village" if i % 3 else "township") for i in range(9)]
        async with s.jetstream(nats_url) as probe:
            await ensure_service_stream(probe.js, namespace, s.SOURCE)
            for envelope in s.sealed_chain("orgunit-a", [*payloads, s.unit(1, "renamed")]):
                await probe.publish_envelope(namespace, envelope)
        await consumer.start()
        try:
            await wait_until(lambda: consumer.position == 10, message="the live model consumed the stream")
        finally:
            await consumer.stop()

        async def check() -> list[str]:
            report = await rebuild(engine, projection, nats_url=nats_url, namespace=namespace, check=True,
                                   prefix=projections.prefix)
            assert (report.position, report.events, report.replaced) == (10, 10, False)
            return report.differences

        assert await check() == []
        async with engine.begin() as conn:
            await conn.execute(update(s.units).where(s.units.c.code == "511403000001").values(name="tampered"))
        differences = await check()
        assert len(differences) == 1 and differences[0].startswith("contract_units['511403000001']")
        assert "tampered" in differences[0] and "renamed" in differences[0]
        report = await rebuild(engine, projection, nats_url=nats_url, namespace=namespace, prefix=projections.prefix)
        assert report.replaced and report.rows == {"contract_units": 9, "contract_levels": 2}
        assert await check() == []

    async def test_staged_rebuild_of_counters_equals_the_live_consumers(
        self, engine: AsyncEngine, nats_url: str, run_id: str
    ) -> None:
        # The live consumer folds each batch's counters (one move per counter); the staged rebuild
        # folds its chunks into copies and swaps them in: both must give the same rows and counters.
        namespace = s.unique_namespace(run_id)
        projection = Projection(name="unit_counts", source_service=s.SOURCE, tables=(s.units, s.level_counts),
                                reads=(OrgUnitEstablished,), changes=tallied(LEVELS_TALLY, _unit_only))
        projections = ProjectionSet(prefix=s.SERVICE, projections=(projection,))
        [consumer] = projection_consumers(engine, projections, nats_url=nats_url, namespace=namespace)
        # Units established, then some moved to another level (their counters move) and renamed
        payloads = [s.unit(i, level="village" if i % 3 else "township") for i in range(12)]
        payloads += [s.unit(i, "renamed", level="township") for i in (1, 2, 4)]
        payloads += [s.unit(1, level="village"), s.unit(5, "named"), s.unit(5, "named again")]
        chain = s.sealed_chain("orgunit-b", payloads)
        await consumer.start()
        try:  # in two parts, so that the second batch moves counters the first one wrote
            async with s.jetstream(nats_url) as probe:
                await ensure_service_stream(probe.js, namespace, s.SOURCE)
                for start, end in ((0, 12), (12, len(chain))):
                    for envelope in chain[start:end]:
                        await probe.publish_envelope(namespace, envelope)
                    await wait_until(lambda end=end: consumer.position == end, message="the live model consumed")
        finally:
            await consumer.stop()
        async with engine.connect() as conn:
            live = {t.name: await s.table_rows(conn, t) for t in projection.tables}
        assert {r["level"]: (r["units"], r["named"]) for r in live[s.level_counts.name]} == {
            "township": (6, 2), "village": (6, 1)}
        report = await rebuild(engine, projection, nats_url=nats_url, namespace=namespace, prefix=projections.prefix)
        assert report.replaced and report.position == len(payloads)
        async with engine.connect() as conn:
            assert {t.name: await s.table_rows(conn, t) for t in projection.tables} == live
