"""What the inspections service learns from the registry's and the checklists' events (pure projections)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.inspections.adapters.tables import known_person_years, known_persons, known_staff, known_templates
from services.inspections.projections import PROJECTIONS
from services.inspections.projections.directory import DIRECTORY
from services.inspections.projections.persons import PERSONS
from services.inspections.projections.templates import TEMPLATES
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.catalogue.supervision import GroupFormed
from shared.catalogue.worklists import TemplateItem, TemplateVersionPublished
from shared.envelope import Envelope
from shared.projection import MemoryModel, Projection
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

FENGMING, QINGLONG = "511403001000", "511403003000"


def envelope(event: EventPayload, version: int = 1) -> Envelope:
    return envelope_for(event, version=version, time=datetime(2026, 5, 1, tzinfo=UTC))


def replay(projection: Projection, *events: EventPayload) -> MemoryModel:
    model = MemoryModel(projection.tables)
    for event in events:
        assert event.event_type in projection.event_types
        model.apply(projection.changes(envelope(event), event))
    return model


def registered(person_id: str, *, grade: int = 3, hardship: list[str] | None = None) -> ev.PersonRegistered:
    return ev.PersonRegistered(person_id=person_id, sealed={}, village_code=FENGMING[:9] + "001",
                               township_code=FENGMING, category=4, grade=grade, severe=grade <= 2,
                               hardship=hardship or [], sex="female", birth_year=1960,
                               registered_on=date(2026, 1, 2))


def only(model: MemoryModel, table: Any) -> dict[str, Any]:
    (row,) = model.table_rows(table)
    return row


def test_a_published_template_is_known_with_its_items_in_order() -> None:
    items = [TemplateItem(item_id="b", text="入户", weight=2, evidence_required=True),
             TemplateItem(item_id="a", text="档案", guidance="抽查", weight=3)]
    published = TemplateVersionPublished(template_id="t", version=2, title="清单", items=items,
                                         published_on=date(2026, 3, 1), supersedes=1)
    row = only(replay(TEMPLATES, published), known_templates)
    assert (row["template_id"], row["version"], row["supersedes"]) == ("t", 2, 1)
    assert [i["item_id"] for i in json.loads(row["items"])] == ["b", "a"]
    assert json.loads(row["items"])[0] == {"item_id": "b", "text": "入户", "guidance": "", "weight": 2.0,
                                           "evidence_required": True}


def test_staff_are_learned_with_their_roles_and_later_changes() -> None:
    model = replay(DIRECTORY,
                   ev.StaffEnrolled(staff_id="s1", display_name="李", department="health", roles=["inspector"]),
                   ev.StaffRolesChanged(staff_id="s1", roles=["viewer", "inspector"]))
    row = only(model, known_staff)
    assert (row["department"], row["roles"]) == ("health", '["inspector", "viewer"]')


def test_persons_follow_registration_relocation_reassessment_hardship_and_deregistration() -> None:
    model = replay(PERSONS, registered("p1"))
    assert only(model, known_persons)["severe"] is False
    for event in (ev.PersonReassessed(person_id="p1", category=4, grade=1, severe=True,
                                      sealed={}),
                  ev.HardshipFlagsSet(person_id="p1", hardship=["living_alone"]),
                  ev.PersonRelocated(person_id="p1", from_village_code="x", village_code=QINGLONG[:9] + "002",
                                     township_code=QINGLONG)):
        model.apply(PERSONS.changes(envelope(event), event))
    row = only(model, known_persons)
    assert (row["severe"], row["hardship"], row["township_code"], row["active"]) == (True, True, QINGLONG, True)
    gone = ev.PersonDeregistered(person_id="p1", reason="died", effective_on=date(2026, 4, 1))
    model.apply(PERSONS.changes(envelope(gone), gone))
    assert only(model, known_persons)["active"] is False


def test_visits_and_plans_are_known_per_year_and_a_lost_visit_is_not_a_visit() -> None:
    def visit(year: int, mode: str, day: int = 9) -> ev.HomeVisitRecorded:
        lost = mode == "lost_to_follow_up"
        return ev.HomeVisitRecorded(person_id="p1", visit_id=f"v{year}-{day}", year=year,
                                    visited_on=date(year, 1, day), visitor="s", mode=mode,
                                    outcome="lost" if lost else "reached", lost_reason="refused" if lost else None,
                                    needs=[], village_code="v", township_code=FENGMING)
    model = replay(PERSONS, registered("p1"), visit(2025, "home"), visit(2025, "lost_to_follow_up", 20),
                   visit(2026, "lost_to_follow_up"),
                   ev.PlanDrawn(plan_id="x", person_id="p1", year=2026, village_code="v", township_code=FENGMING))
    years = {r["year"]: (r["visited"], r["planned"]) for r in model.table_rows(known_person_years)}
    assert years == {2025: (True, False), 2026: (False, True)}  # a later 失访 attempt undoes no reached visit


def test_events_a_projection_does_not_read_change_nothing() -> None:
    formed = GroupFormed(group_id="g", name="n", leader="s", members=["s"], township_codes=[], unit_codes=[])
    for projection in PROJECTIONS.projections:
        assert projection.changes(envelope(formed), formed) == []


def test_one_consumer_per_source_stream_and_a_checkpoint_per_projection() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from shared.messaging.feeds import projection_consumers
    consumers = projection_consumers(create_async_engine("sqlite+aiosqlite://"), PROJECTIONS,
                                     nats_url="nats://unused", namespace="qd")
    assert sorted(c.name for c in consumers) == ["inspections-from-checklists", "inspections-from-registry"]
    checkpoints = {PROJECTIONS.checkpoint(p) for p in PROJECTIONS.projections}
    assert checkpoints == {"inspections-templates", "inspections-directory", "inspections-persons",
                           "inspections-staff_directory"}
