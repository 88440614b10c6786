"""The event catalogue: the registry of event types, and upcasting of older schema versions."""

import re
from typing import Any

import pytest
from pydantic import ValidationError

from shared.catalogue import (
    EventPayload,
    UnknownEventType,
    base,
    certificates,
    decode_payload,
    event,
    known_event_types,
    payload_class,
    people,
    service_catalogue,
    supervision,
    surveys,
    upcast,
    upcaster,
    worklists,
)
from shared.catalogue.people import OrgUnitEstablished, PersonRegistered

pytestmark = pytest.mark.unit

V1_REGISTRATION: dict[str, Any] = {
    "person_id": "p-1", "resident_index": "idx", "sealed": {}, "village_code": "511403110201",
    "township_code": "511403110", "category": 4, "grade": 2, "severe": True, "sex": "male", "birth_year": 1980,
    "registered_on": "2019-03-01",
}


@pytest.fixture
def scratch_catalogue(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let a test register event types of its own without leaving them in the real catalogue."""
    monkeypatch.setattr(base, "_payloads", dict(base._payloads))
    monkeypatch.setattr(base, "_upcasters", dict(base._upcasters))


# -- the registry of types -----------------------------------------------------------------------


def _payload_models() -> list[type[EventPayload]]:
    """Every payload model the catalogue modules define, decorated or not (shared bases included)."""
    modules = (people, certificates, service_catalogue, surveys, worklists, supervision)
    return [obj for module in modules for obj in vars(module).values()
            if isinstance(obj, type) and issubclass(obj, EventPayload) and obj.__module__ == module.__name__
            and not obj.__name__.startswith("_")]


def test_every_payload_model_of_the_catalogue_is_registered_and_found_by_its_type() -> None:
    models = _payload_models()
    assert len(models) >= 20  # the modules were read
    catalogue = known_event_types()
    bases = {m for m in models if any(other is not m and issubclass(other, m) for other in models)}
    unregistered = [m.__name__ for m in models
                    if m not in bases and catalogue.get(getattr(m, "event_type", "")) is not m]
    assert unregistered == [], "payload models without @event (or shadowed by another model's type)"
    assert set(catalogue.values()) == set(models) - bases  # nothing registered from outside the modules
    assert payload_class("person.registered") is PersonRegistered and PersonRegistered.schema_version == 3


def test_every_catalogued_event_is_documented_frozen_and_strict() -> None:
    for event_type, cls in known_event_types().items():
        assert issubclass(cls, EventPayload), event_type
        assert (cls.__doc__ or "").strip(), f"{event_type} has no docstring"
        assert cls.model_config.get("frozen") and cls.model_config.get("extra") == "forbid", event_type
        assert cls.schema_version >= 1 and cls.stream_type, event_type


def test_an_unknown_event_type_is_a_lookup_error() -> None:
    with pytest.raises(UnknownEventType, match=re.escape("unknown event type 'person.teleported'")):
        payload_class("person.teleported")
    with pytest.raises(LookupError):
        decode_payload("person.teleported", 1, {})


def test_a_type_cannot_be_registered_twice(scratch_catalogue: None) -> None:
    class Impostor(EventPayload):
        """Claims an event type that is taken."""

    with pytest.raises(ValueError, match=re.escape("'person.registered' is registered twice")):
        event("person.registered", stream_type="person")(Impostor)
    assert payload_class("person.registered") is PersonRegistered


def test_registering_sets_the_class_attributes(scratch_catalogue: None) -> None:
    @event("test.pinged", stream_type="test", version=3)
    class Pinged(EventPayload):
        """A test event."""

        at: int

    assert (Pinged.event_type, Pinged.schema_version, Pinged.stream_type) == ("test.pinged", 3, "test")
    assert payload_class("test.pinged") is Pinged
    assert event("test.pinged", stream_type="test", version=3)(Pinged) is Pinged  # the same class again is fine


def test_payloads_are_frozen_and_refuse_unknown_fields() -> None:
    unit = OrgUnitEstablished(code="511403110201", name="demo village 1", level="village")
    with pytest.raises(ValidationError, match="frozen"):
        unit.name = "renamed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra"):
        OrgUnitEstablished(code="511403110201", name="x", level="village", colour="red")  # type: ignore[call-arg]


# -- upcasting -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("v1_fields", "hardship"),
    [({"in_hardship": True}, ["unspecified"]), ({"in_hardship": False}, []), ({}, [])],
    ids=["in-hardship", "not-in-hardship", "flag-absent"],
)
def test_person_registered_v1_is_upcast_to_v2(v1_fields: dict[str, Any], hardship: list[str]) -> None:
    stored = {**V1_REGISTRATION, **v1_fields}
    payload = decode_payload("person.registered", 1, stored)
    assert isinstance(payload, PersonRegistered) and payload.hardship == hardship
    assert stored == {**V1_REGISTRATION, **v1_fields}  # the stored data is not modified


def test_the_current_version_is_decoded_as_is() -> None:
    current = {k: v for k, v in V1_REGISTRATION.items() if k != "resident_index"} | {"hardship": ["living_alone"]}
    assert upcast("person.registered", 3, current) is current
    assert decode_payload("person.registered", 3, current) == PersonRegistered.model_validate(current)


def test_person_registered_v2_loses_its_blind_index_on_the_way_to_v3() -> None:
    """Readers never see the resident ID's keyed hash again, even in events written with it."""
    stored = {**V1_REGISTRATION, "hardship": ["living_alone"]}
    payload = decode_payload("person.registered", 2, stored)
    assert "resident_index" not in payload.model_dump() and "resident_index" in stored


def test_a_version_newer_than_the_code_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("schema version 4 is newer than this code knows (3)")):
        decode_payload("person.registered", 4, V1_REGISTRATION)


def test_a_version_without_an_upcaster_is_refused() -> None:
    with pytest.raises(ValueError, match=re.escape("no upcaster for person.registered from schema version 0")):
        decode_payload("person.registered", 0, V1_REGISTRATION)


def test_upcasters_are_applied_one_version_at_a_time(scratch_catalogue: None) -> None:
    @event("test.measured", stream_type="test", version=3)
    class Measured(EventPayload):
        """A test event whose unit changed twice."""

        millimetres: int

    @upcaster("test.measured", from_version=1)
    def _metres_to_centimetres(data: dict[str, Any]) -> dict[str, Any]:
        return {"centimetres": data["metres"] * 100}

    assert decode_payload("test.measured", 3, {"millimetres": 7}) == Measured(millimetres=7)
    with pytest.raises(ValueError, match=re.escape("no upcaster for test.measured from schema version 2")):
        decode_payload("test.measured", 1, {"metres": 2})

    @upcaster("test.measured", from_version=2)
    def _centimetres_to_millimetres(data: dict[str, Any]) -> dict[str, Any]:
        return {"millimetres": data["centimetres"] * 10}

    assert decode_payload("test.measured", 1, {"metres": 2}) == Measured(millimetres=2000)
    assert decode_payload("test.measured", 2, {"centimetres": 3}) == Measured(millimetres=30)


def test_an_upcast_payload_is_still_validated() -> None:
    with pytest.raises(ValidationError, match="grade"):
        decode_payload("person.registered", 1, {**V1_REGISTRATION, "grade": 9, "in_hardship": True})
