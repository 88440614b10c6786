"""The event catalogue machinery: typed payloads, their registry, and upcasting of old versions.

Every event type is a frozen pydantic model subclassing :class:`EventPayload`, declared with
``event_type`` and ``schema_version``. Old stored or published versions are brought up to the
current one by upcasters registered with :func:`upcaster` before the payload is validated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict

UpcastFn = Callable[[dict[str, Any]], dict[str, Any]]


class EventPayload(BaseModel):
    """Base of every event payload: frozen, strict about unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1
    stream_type: ClassVar[str]


_payloads: dict[str, type[EventPayload]] = {}
_upcasters: dict[tuple[str, int], UpcastFn] = {}

P = TypeVar("P", bound=type[EventPayload])


def event(event_type: str, *, stream_type: str, version: int = 1) -> Callable[[P], P]:
    """Class decorator: register a payload model under its event type and schema version."""

    def register(cls: P) -> P:
        if event_type in _payloads and _payloads[event_type] is not cls:
            raise ValueError(f"event type {event_type!r} is registered twice")
        cls.event_type = event_type
        cls.schema_version = version
        cls.stream_type = stream_type
        _payloads[event_type] = cls
        return cls

    return register


def upcaster(event_type: str, from_version: int) -> Callable[[UpcastFn], UpcastFn]:
    """Register a function turning a payload of ``from_version`` into ``from_version + 1``."""

    def register(fn: UpcastFn) -> UpcastFn:
        _upcasters[(event_type, from_version)] = fn
        return fn

    return register


class UnknownEventType(LookupError):
    """An event type that this catalogue does not know."""


def payload_class(event_type: str) -> type[EventPayload]:
    """The registered payload model for an event type."""
    try:
        return _payloads[event_type]
    except KeyError:
        raise UnknownEventType(f"unknown event type {event_type!r}") from None


def known_event_types() -> dict[str, type[EventPayload]]:
    """Every registered event type and its payload model (the catalogue)."""
    return dict(_payloads)


def upcast(event_type: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring a payload of an older schema version up to the current one, step by step."""
    target = payload_class(event_type).schema_version
    if schema_version > target:
        raise ValueError(
            f"{event_type} schema version {schema_version} is newer than this code knows ({target})"
        )
    version = schema_version
    while version < target:
        step = _upcasters.get((event_type, version))
        if step is None:
            raise ValueError(f"no upcaster for {event_type} from schema version {version}")
        data = step(data)
        version += 1
    return data


def decode_payload(event_type: str, schema_version: int, data: dict[str, Any]) -> EventPayload:
    """Upcast and validate a stored payload into its current model."""
    cls = payload_class(event_type)
    return cls.model_validate(upcast(event_type, schema_version, data))
