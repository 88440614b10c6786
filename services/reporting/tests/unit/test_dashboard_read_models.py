"""The plan-item and audit read models behind the dashboards, applied in memory."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from services.reporting.projections.audit import AUDIT, TABLES
from services.reporting.projections.plan_items import PLAN_ITEMS, pi_items, pi_persons
from shared.catalogue import EventPayload
from shared.catalogue import people as ev
from shared.catalogue import supervision as sv
from shared.envelope import Envelope
from shared.projection import MemoryModel, Projection
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

PERSON = "01a226a0-0000-7000-8000-00000000abcd"


def _envelope(payload: EventPayload, stream_id: str, version: int) -> Envelope:
    return envelope_for(payload, stream_id=stream_id, version=version, time=datetime.now(UTC), actor="township-001")


def _apply(projection: Projection, events: list[tuple[EventPayload, str, int]]) -> MemoryModel:
    model = MemoryModel(projection.tables)
    for payload, stream, version in events:
        model.apply(projection.changes(_envelope(payload, stream, version), payload))
    return model


REGISTERED = ev.PersonRegistered(
    person_id=PERSON, sealed={"name": "ciphertext"},
    village_code="511403001001", township_code="511403001000", category=4, grade=1, severe=True,
    hardship=["living_alone"], sex="female", birth_year=1950, registered_on=date(2026, 1, 5))
ITEM = ev.PlanItemAdded(plan_id="plan-1", person_id=PERSON, year=2026, item_id="item-1", kind="protection",
                        need="rehabilitation", sealed={"description": "ciphertext"}, responsible_department="health",
                        due_on=date(2026, 6, 30))


def test_plan_items_follow_delivery_and_where_the_person_lives_now() -> None:
    model = _apply(PLAN_ITEMS, [
        (REGISTERED, PERSON, 1), (ITEM, "plan-1", 1),
        (ev.PersonRelocated(person_id=PERSON, from_village_code="511403001001", village_code="511403003001",
                            township_code="511403003000"), PERSON, 2)])
    (item,) = model.table_rows(pi_items)
    assert (item["status"], item["due_on"], item["responsible_department"]) == ("planned", date(2026, 6, 30), "health")
    (person,) = model.table_rows(pi_persons)
    assert person["township_code"] == "511403003000" and person["active"] is True
    model.apply(PLAN_ITEMS.changes(_envelope(ITEM, "plan-1", 2), ev.PlanItemDelivered(
        plan_id="plan-1", person_id=PERSON, year=2026, item_id="item-1", delivered_on=date(2026, 5, 1))))
    assert model.table_rows(pi_items)[0]["status"] == "delivered"


def test_the_audit_indexes_every_id_an_event_names_and_never_keeps_personal_data() -> None:
    registry = next(p for p in AUDIT if p.source_service == "registry")
    model = _apply(registry, [(REGISTERED, PERSON, 1), (ITEM, "plan-1", 1)])
    events, refs = TABLES["registry"]
    stored = {r["type"]: json.loads(r["data"]) for r in model.table_rows(events)}
    assert "sealed" not in stored["person.registered"] and "resident_index" not in stored["person.registered"]
    assert "sealed" not in stored["plan.item_added"] and not stored["plan.item_added"]["description"]
    by_entity: dict[str, set[str]] = {}
    for r in model.table_rows(refs):
        by_entity.setdefault(r["entity_id"], set()).add(r["event_id"])
    assert by_entity[PERSON] == {f"{PERSON}-1", "plan-1-1"}
    assert by_entity["item-1"] == {"plan-1-1"} and by_entity["plan-1"] == {"plan-1-1"}


def test_the_history_of_a_person_spans_services() -> None:
    inspections = next(p for p in AUDIT if p.source_service == "inspections")
    finding = sv.FindingRecorded(inspection_id="insp-1", group_id="g1", target_kind="township",
                                 target_code="511403001000", township_code="511403001000", finding_id="f1",
                                 source="focus_check", person_id=PERSON, description="未制定方案")
    model = _apply(inspections, [(finding, "insp-1", 3)])
    _, refs = TABLES["inspections"]
    named = {(r["entity_id"], r["field"]) for r in model.table_rows(refs)}
    assert {(PERSON, "person_id"), ("insp-1", "stream"), ("f1", "finding_id"), ("g1", "group_id")} <= named
    assert {p.name for p in AUDIT} == {"audit_registry", "audit_checklists", "audit_inspections"}
    assert all(p.event_types for p in AUDIT)
