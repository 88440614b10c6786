"""A service's projections as declared and attached by ``shared.messaging.feeds``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from shared.catalogue import EventPayload
from shared.catalogue.people import DepartmentRegistered, OrgUnitEstablished, StaffEnrolled
from shared.catalogue.worklists import TaskIssued
from shared.db import create_engine
from shared.envelope import Envelope
from shared.messaging.feeds import FollowUp, ProjectionSet, projection_consumers, projection_handler
from shared.projection import Operation, Projection, Upsert
from shared.testing.contracts import support as s

pytestmark = pytest.mark.integration


def _units(_envelope: Envelope, event: EventPayload) -> Sequence[Operation]:
    if isinstance(event, OrgUnitEstablished) and event.level == "township":
        return [Upsert(s.units, {"code": event.code}, {"name": event.name, "level": event.level})]
    return []


UNITS = Projection("units", "registry", (s.units,), (OrgUnitEstablished,), _units)


def _envelope(event: EventPayload) -> Envelope:
    return Envelope(id="e1", source="test", type=event.event_type, time=datetime(2026, 5, 1, tzinfo=UTC),
                    subject="s", stream_id="orgunit-1", stream_type=event.stream_type, stream_version=1,
                    schema_version=event.schema_version, actor="a", department="federation",
                    correlation_id="c", data=event.model_dump(mode="json"))


def test_a_projections_event_types_are_derived_from_the_payloads_it_reads() -> None:
    staff = Projection("staff", "registry", (), (StaffEnrolled, DepartmentRegistered), _units)
    assert staff.event_types == {"staff.enrolled", "department.registered"}
    with pytest.raises(ValueError, match="reads no event"):
        Projection("nothing", "registry", (), (), _units)
    with pytest.raises(ValueError, match="not in the catalogue"):
        Projection("odd", "registry", (), (EventPayload,), _units)


def test_a_set_rejects_repeated_names_and_follow_ups_of_no_projection() -> None:
    follow_up = FollowUp(on_change=projection_handler(UNITS), after_replace=lambda conn: _nothing())
    with pytest.raises(ValueError, match="repeat"):
        ProjectionSet("svc", (UNITS, UNITS))
    with pytest.raises(ValueError, match="no projection"):
        ProjectionSet("svc", (UNITS,), {"other": follow_up})
    with pytest.raises(KeyError, match="known: units"):
        ProjectionSet("svc", (UNITS,)).named("other")


async def _nothing() -> None:
    return None


def test_one_consumer_per_source_stream_each_projection_with_its_own_checkpoint() -> None:
    tasks = Projection("tasks", "checklists", (), (TaskIssued,), _units)
    staff = Projection("staff", "registry", (), (StaffEnrolled,), _units)
    projections = ProjectionSet("svc", (UNITS, tasks, staff))
    consumers = projection_consumers(create_async_engine("sqlite+aiosqlite://"), projections,
                                     nats_url="nats://unused", namespace="qd")
    assert [(c.name, c.stream) for c in consumers] == [("svc-from-registry", "QD_REGISTRY"),
                                                        ("svc-from-checklists", "QD_CHECKLISTS")]
    assert [projections.checkpoint(p) for p in projections.projections] == ["svc-units", "svc-tasks", "svc-staff"]


async def test_a_follow_up_runs_in_the_same_transaction_only_when_the_projection_changed(database_url: str) -> None:
    seen: list[str] = []

    async def on_change(conn: AsyncConnection, envelope: Envelope, event: EventPayload) -> None:
        assert await s.table_rows(conn, s.units)  # the projection's row is already written
        seen.append(envelope.type)

    handler = projection_handler(UNITS, FollowUp(on_change=on_change, after_replace=lambda conn: _nothing()))
    engine = create_engine(database_url)
    try:
        await s.create_schema(engine)
        village, township = s.unit(1), s.unit(2, level="township")
        async with engine.begin() as conn:
            await handler(conn, _envelope(village), village)
            assert seen == [] and await s.table_rows(conn, s.units) == []
            await handler(conn, _envelope(township), township)
        assert seen == ["orgunit.established"]
    finally:
        await engine.dispose()
