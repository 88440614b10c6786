"""The public, versioned event catalogue shared by every service."""

from shared.catalogue.base import (
    EventPayload,
    UnknownEventType,
    decode_payload,
    event,
    known_event_types,
    payload_class,
    upcast,
    upcaster,
)

__all__ = [
    "EventPayload",
    "UnknownEventType",
    "decode_payload",
    "event",
    "known_event_types",
    "payload_class",
    "upcast",
    "upcaster",
]
