"""History across services (审计): every event of every stream, indexed by the entity ids it mentions.

One projection per source service (registry, checklists, inspections), so that each has its own
durable consumer and its own two tables, and can be rebuilt alone. ``audit_events_<service>``
keeps each event's envelope facts (stream, version, type, time, actor, department) and its payload
with the sealed personal data left out; ``audit_refs_<service>`` says which entity ids an event touches: its
own stream, and every ``…_id`` field of its payload (a person, plan, item, visit, task, list,
template, highlight, group, inspection, finding, rectification), the ledger number and the code of
an org unit or department. So the history of a person shows their registration, visits and plan
items (registry), and the focus checks, findings and rectifications that named them (inspections).

Personal data never lands here: sealed fields, the resident-ID hash and free-text answers are
dropped, and persons appear by opaque id, as on the bus.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

from shared.catalogue import EventPayload, known_event_types
from shared.envelope import Envelope
from shared.projection import Operation, Projection, Upsert

metadata = MetaData()

def _tables(service: str) -> tuple[Table, Table]:
    events = Table(
        f"audit_events_{service}", metadata,
        Column("event_id", String(64), primary_key=True),
        Column("service", String(20), nullable=False),
        Column("stream_id", String(120), nullable=False),
        Column("stream_type", String(20), nullable=False),
        Column("stream_version", Integer, nullable=False),
        Column("type", String(60), nullable=False),
        Column("time", String(40), nullable=False),  # ISO 8601 UTC: orders the same on every database
        Column("actor", String(120), nullable=False),
        Column("department", String(50), nullable=False),
        Column("data", Text, nullable=False),  # JSON: the payload without personal data
    )
    refs = Table(
        f"audit_refs_{service}", metadata,
        Column("entity_id", String(120), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("field", String(40), nullable=False),  # how the event names it: stream, person_id, …
    )
    return events, refs


PRIVATE_FIELDS = frozenset({"sealed", "sealed_answers", "resident_index"})
"""Payload fields that are personal data (ciphertext or a keyed hash): never shown, never indexed."""

_REFERENCE_FIELDS = frozenset({"number", "code"})

SOURCES = {"registry": ("shared.catalogue.people", "shared.catalogue.certificates"),
           "checklists": ("shared.catalogue.worklists",), "inspections": ("shared.catalogue.supervision",)}
"""Each source service and the catalogue modules of the events it publishes."""


def references(envelope: Envelope, data: dict[str, Any]) -> dict[str, str]:
    """The entity ids an event touches, each with the field that names it (the stream first)."""
    refs = {envelope.stream_id: "stream"}
    for name, value in data.items():
        if _is_reference(name) and isinstance(value, str) and value:
            refs.setdefault(value, name)
    return refs


def _is_reference(name: str) -> bool:
    return name.endswith("_id") or name in _REFERENCE_FIELDS


def public_data(envelope: Envelope) -> dict[str, Any]:
    """The payload as shown in a history: everything but personal data."""
    return {k: v for k, v in envelope.data.items() if k not in PRIVATE_FIELDS}


_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
"""What ``json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)`` gives, made once (not per event)."""


def _payload_encoder() -> Callable[[dict[str, Any]], str]:
    """``_JSON.encode`` for a payload, with json's C encoder made once instead of on every call
    (``JSONEncoder.iterencode`` builds it, and a closure, per call: most of its cost for a small
    payload). No circular check: a payload parsed from JSON has no cycles."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without json's C accelerator
        return _JSON.encode
    encode = make(None, _JSON.default, json.encoder.encode_basestring, None, _JSON.key_separator,
                  _JSON.item_separator, True, False, True)

    def dumps(data: dict[str, Any]) -> str:
        return "".join(encode(data, 0))
    return dumps


payload_json = _payload_encoder()
"""A payload as stored in ``audit_events_*.data``: what ``_JSON.encode`` gives."""


def _changes_for(service: str, audit_events: Table, audit_refs: Table) -> Any:
    def changes(envelope: Envelope, _event: EventPayload) -> Sequence[Operation]:
        event_id = envelope.id
        data = public_data(envelope)
        refs = references(envelope, data)
        operations: list[Operation] = [Upsert(audit_events, {"event_id": event_id}, {
            "service": service, "stream_id": envelope.stream_id, "stream_type": envelope.stream_type,
            "stream_version": envelope.stream_version, "type": envelope.type,
            "time": envelope.time.isoformat(), "actor": envelope.actor, "department": envelope.department,
            "data": payload_json(data)})]
        operations += [Upsert(audit_refs, {"entity_id": entity_id[:120], "event_id": event_id}, {"field": field})
                       for entity_id, field in refs.items()]
        return operations
    return changes


def _projection(service: str, modules: tuple[str, ...]) -> Projection:
    reads = tuple(cls for cls in known_event_types().values() if cls.__module__ in modules)
    events, refs = TABLES[service]
    return Projection(name=f"audit_{service}", source_service=service, tables=(events, refs),
                      reads=reads, changes=_changes_for(service, events, refs))


TABLES = {service: _tables(service) for service in SOURCES}
"""Each source service's (events, refs) tables: separate, so that each projection rebuilds alone."""

AUDIT = tuple(_projection(service, modules) for service, modules in SOURCES.items())
"""The three audit projections: ``audit_registry``, ``audit_checklists``, ``audit_inspections``."""
