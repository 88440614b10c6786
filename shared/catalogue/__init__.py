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

# Every catalogue module registers its events on import; load them all so that any service
# (reporting above all) can decode any event type.
from shared.catalogue import certificates as certificates
from shared.catalogue import people as people
from shared.catalogue import service_catalogue as service_catalogue
from shared.catalogue import supervision as supervision
from shared.catalogue import surveys as surveys
from shared.catalogue import worklists as worklists
