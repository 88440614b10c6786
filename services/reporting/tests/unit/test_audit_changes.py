"""The audit projection's rows, against their definition: the payload without personal data as
``json.dumps(…, ensure_ascii=False, sort_keys=True, default=str)``, and every id it names."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from services.reporting.projections.audit import AUDIT, PRIVATE_FIELDS, TABLES, payload_json, public_data, references
from shared.catalogue import people as ev
from shared.envelope import Envelope
from shared.projection import Upsert
from shared.testing.envelopes import envelope_for

pytestmark = pytest.mark.unit

PERSON = "01a226a0-0000-7000-8000-00000000abcd"

PAYLOADS: list[dict[str, Any]] = [
    {},
    {"name": "凤鸣街道", "code": "511403001000", "parent_code": "511403000000", "level": "township"},
    {"person_id": PERSON, "sealed": {"name": "ciphertext"}, "resident_index": "hash", "hardship": ["living_alone"],
     "category": 4, "severe": True, "note": "引号\"和\\反斜杠\n换行", "ratio": 0.1, "tiny": 1e-7, "missing": None},
    {"b_id": "", "a_id": "x", "number": 7, "code": "", "z": {"nested_id": "n", "y": [1, {"k": "v"}]},
     "emoji": "\U0001f600", "control": "\x00\x1f"},
    {"when": "2026-12-03", "task_id": PERSON, "person_id": PERSON, "list_id": "l" * 200},
]


def _expected(envelope: Envelope, service: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    data = public_data(envelope)
    events, refs = TABLES[service]
    rows = [(events.name, {"event_id": envelope.id}, {
        "service": service, "stream_id": envelope.stream_id, "stream_type": envelope.stream_type,
        "stream_version": envelope.stream_version, "type": envelope.type, "time": envelope.time.isoformat(),
        "actor": envelope.actor, "department": envelope.department,
        "data": json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)})]
    rows += [(refs.name, {"entity_id": entity[:120], "event_id": envelope.id}, {"field": field})
             for entity, field in references(envelope, data).items()]
    return rows


@pytest.mark.parametrize("data", PAYLOADS)
def test_the_rows_are_those_of_the_definition(data: dict[str, Any]) -> None:
    base = envelope_for(ev.DepartmentRegistered(code="health", name="卫健"), stream_id=PERSON, version=3,
                        time=datetime(2026, 12, 3, 8, 0, tzinfo=UTC), actor="township-001")
    envelope = base.model_copy(update={"data": data})
    for projection in AUDIT:
        operations = projection.changes(envelope, ev.DepartmentRegistered(code="health", name="卫健"))
        assert all(isinstance(op, Upsert) for op in operations)
        got = [(op.table.name, op.key, op.values) for op in operations if isinstance(op, Upsert)]
        assert got == _expected(envelope, projection.source_service)
        stored = json.loads(got[0][2]["data"])
        assert not PRIVATE_FIELDS & set(stored)


@pytest.mark.parametrize("data", [*PAYLOADS, {"d": date(2026, 1, 5), "t": datetime(2026, 1, 5, tzinfo=UTC),
                                              "f": float("inf"), "big": 2**80, "key": {"1": 1, "0": 0}}])
def test_payload_json_is_json_dumps(data: dict[str, Any]) -> None:
    assert payload_json(data) == json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
