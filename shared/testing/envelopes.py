"""Envelopes for tests: one factory instead of a hand-built ``Envelope(...)`` in every test module.

Projections and consumers read an event as ``(envelope, payload)``; a test needs an envelope that is
valid and says what the test cares about (the stream, its version, the department, the time), with
everything else filled in consistently.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from shared.catalogue import EventPayload
from shared.envelope import Envelope

DEFAULT_TIME = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def envelope_for(
    payload: EventPayload,
    *,
    stream_id: str = "s",
    version: int = 1,
    time: datetime = DEFAULT_TIME,
    actor: str = "a",
    department: str = "federation",
    source: str | None = None,
    event_id: str | None = None,
    **changes: Any,
) -> Envelope:
    """The envelope ``payload`` would travel in as event ``version`` of ``stream_id`` (unsealed).

    ``changes`` sets any other envelope field (``subject``, ``correlation_id`` …).
    """
    fields: dict[str, Any] = {
        "id": event_id or f"{stream_id}-{version}",
        "source": source or f"qingdan/test/{department}",
        "type": payload.event_type,
        "time": time,
        "subject": stream_id,
        "stream_id": stream_id,
        "stream_type": payload.stream_type,
        "stream_version": version,
        "schema_version": payload.schema_version,
        "actor": actor,
        "department": department,
        "correlation_id": "c",
        "data": payload.model_dump(mode="json"),
    }
    return Envelope(**{**fields, **changes})


def envelope_of_type(event_type: str, *, stream_type: str = "person", data: dict[str, Any] | None = None,
                     **changes: Any) -> Envelope:
    """An envelope of ``event_type`` without a payload model (for code that reads only the envelope)."""
    fields: dict[str, Any] = {
        "id": "e1", "source": "qingdan/test/federation", "type": event_type, "time": DEFAULT_TIME, "subject": "s",
        "stream_id": "s", "stream_type": stream_type, "stream_version": 1, "schema_version": 1, "actor": "a",
        "department": "federation", "correlation_id": "c", "data": data or {},
    }
    return Envelope(**{**fields, **changes})


def stream_of(payloads: Iterable[EventPayload], **fields: Any) -> Iterator[tuple[Envelope, EventPayload]]:
    """``payloads`` as consecutive events (versions 1, 2, …) of one stream, each with its envelope."""
    for version, payload in enumerate(payloads, start=1):
        yield envelope_for(payload, version=version, **fields), payload
