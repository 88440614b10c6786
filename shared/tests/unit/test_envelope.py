"""The event envelope (CloudEvents attributes, hash chaining) and time-ordered ids."""

import hashlib
import json
import re
import uuid
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from shared import ids
from shared.auth import Role
from shared.catalogue import EventPayload
from shared.catalogue.people import PersonRegistered
from shared.catalogue.worklists import TaskProgressReported
from shared.envelope import Envelope, canonical_json, content_hash_of, plain_json
from shared.eventstore.store import CommandContext, EventStore
from shared.eventstore.verify import verify_stream
from shared.signing import Signer

pytestmark = pytest.mark.unit

OUR_EXTENSIONS = {
    "streamid": "person-p-1", "streamtype": "person", "streamversion": 1, "schemaversion": 2, "actor": "staff-1",
    "department": "federation", "correlationid": "corr-1", "causationid": None, "prevhash": "", "hash": "",
    "keyid": "", "signature": "",
}


def envelope(version: int = 1, **changes: Any) -> Envelope:
    """An unsealed envelope of stream person-p-1."""
    fields: dict[str, Any] = {
        "id": f"00000000-0000-7000-8000-00000000000{version}", "source": "qingdan/registry/federation",
        "type": "person.registered", "time": datetime(2025, 3, 1, 8, 30, tzinfo=UTC), "subject": "person-p-1",
        "stream_id": "person-p-1", "stream_type": "person", "stream_version": version, "schema_version": 2,
        "actor": "staff-1", "department": "federation", "correlation_id": "corr-1", "data": {"person_id": "p-1"},
    }
    return Envelope(**{**fields, **changes})


def chain(length: int) -> list[Envelope]:
    """``length`` envelopes of one stream, sealed in order."""
    sealed: list[Envelope] = []
    for version in range(1, length + 1):
        sealed.append(envelope(version).sealed(sealed[-1].hash if sealed else ""))
    return sealed


# -- CloudEvents attributes ----------------------------------------------------------------------


def test_the_wire_form_uses_cloudevents_attribute_names() -> None:
    wire = json.loads(envelope().to_json())
    assert wire == {
        "id": "00000000-0000-7000-8000-000000000001", "source": "qingdan/registry/federation",
        "type": "person.registered", "specversion": "1.0", "time": "2025-03-01T08:30:00Z", "subject": "person-p-1",
        "datacontenttype": "application/json", **OUR_EXTENSIONS, "data": {"person_id": "p-1"},
    }
    # CloudEvents 1.0: attribute names are lower-case ASCII letters and digits only
    assert all(re.fullmatch(r"[a-z0-9]+", name) for name in wire)


def test_the_wire_form_reads_back_equal() -> None:
    original = envelope(causation_id="cause-1").sealed("")
    assert Envelope.from_json(original.to_json()) == original
    assert Envelope.from_json(original.to_json().decode()) == original


def test_python_names_and_wire_names_both_populate_the_model() -> None:
    by_alias = Envelope.model_validate(json.loads(envelope().to_json()))
    assert by_alias == envelope() and by_alias.stream_id == "person-p-1"


def test_unknown_attributes_and_versions_below_one_are_refused() -> None:
    wire = json.loads(envelope().to_json())
    with pytest.raises(ValidationError, match="extra"):
        Envelope.model_validate({**wire, "colour": "red"})
    with pytest.raises(ValidationError, match="streamversion"):
        Envelope.model_validate({**wire, "streamversion": 0})
    with pytest.raises(ValidationError, match="schemaversion"):
        Envelope.model_validate({**wire, "schemaversion": 0})


def test_an_envelope_is_immutable() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        envelope().actor = "someone else"  # type: ignore[misc]


# -- hash chaining -------------------------------------------------------------------------------


def test_sealing_links_to_the_previous_hash_and_fills_in_its_own() -> None:
    first, second, third = chain(3)
    assert (first.prev_hash, second.prev_hash, third.prev_hash) == ("", first.hash, second.hash)
    assert all(re.fullmatch(r"[0-9a-f]{64}", e.hash) and e.hash == e.content_hash() for e in (first, second, third))
    assert len({first.hash, second.hash, third.hash}) == 3
    assert verify_stream([first, second, third]) == []


def test_the_hash_covers_every_attribute_and_the_predecessor() -> None:
    base = envelope().sealed("")
    variants = [envelope(actor="staff-2"), envelope(data={"person_id": "p-2"}), envelope(schema_version=1),
                envelope(time=datetime(2025, 3, 1, 8, 31, tzinfo=UTC)), envelope(causation_id="c")]
    assert all(v.sealed("").hash != base.hash for v in variants)
    assert envelope().sealed("a" * 64).hash != base.hash


def test_sealing_is_deterministic_and_ignores_a_stale_hash() -> None:
    once = envelope().sealed("")
    assert envelope().sealed("").hash == once.hash
    assert envelope(hash="f" * 64).sealed("").hash == once.hash  # the old hash is not part of the content


def test_a_changed_or_missing_event_breaks_the_chain() -> None:
    first, second, third = chain(3)
    altered = second.model_copy(update={"data": {"person_id": "someone else"}})
    assert verify_stream([first, altered, third]) == ["person-p-1 v2: content does not match its hash (altered)"]
    assert verify_stream([first, third]) == [
        "person-p-1 v3: expected version 2 (an event is missing)",
        "person-p-1 v3: does not link to the previous event's hash",
    ]


# -- time-ordered ids ----------------------------------------------------------------------------


def test_ids_are_uuid_version_7_with_the_rfc_variant() -> None:
    value = ids.uuid7()
    assert value.version == 7 and value.variant == uuid.RFC_4122
    assert uuid.UUID(ids.new_id()).version == 7
    made = [ids.new_id() for _ in range(1000)]  # the canonical text form, as str(UUID) writes it
    assert all(text == str(uuid.UUID(text)) and uuid.UUID(text).variant == uuid.RFC_4122 for text in made)


def test_ids_carry_the_creation_millisecond() -> None:
    before = datetime.now(UTC).timestamp() * 1000
    stamp = ids.uuid7().int >> 80
    after = datetime.now(UTC).timestamp() * 1000
    assert before - 1 <= stamp <= after + 1


def test_ids_sort_in_creation_order() -> None:
    made = [ids.new_id() for _ in range(20_000)]
    assert made == sorted(made) and len(set(made)) == len(made)


def test_ids_stay_ordered_beyond_4096_in_one_millisecond_and_when_the_clock_goes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now_ns = [1_750_000_000_000 * 1_000_000]
    monkeypatch.setattr(ids, "time", SimpleNamespace(time_ns=lambda: now_ns[0]))
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)
    frozen = [ids.uuid7() for _ in range(5000)]  # the 12-bit counter overflows into the next millisecond
    now_ns[0] -= 5_000 * 1_000_000  # the clock steps back five seconds
    after = [ids.uuid7() for _ in range(10)]
    made = [u.int for u in frozen + after]
    assert made == sorted(made) and len(set(made)) == len(made)
    assert (frozen[0].int >> 80) == 1_750_000_000_000 and (frozen[-1].int >> 80) == 1_750_000_000_001


# -- the canonical JSON of the content hash (orjson where it writes json.dumps's bytes) -------------


def _reference(body: Any) -> bytes:
    """The content hash's definition: json.dumps, sorted, compact, UTF-8."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def test_canonical_json_is_json_dumps_for_every_code_point() -> None:
    code_points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(code_points), 4096):
        text = "".join(code_points[start:start + 4096])
        body = {"data": {"text": text, "list": [text, 1, None, True, -(2 ** 63)]}, text[:8]: text[-8:]}
        assert canonical_json(body) == _reference(body)


def test_canonical_json_sorts_keys_by_code_point_at_every_level() -> None:
    body = {"姓名": 1, "b": {"z": [], "a": {"é": 1, "e": 2, "😀": 3, "ｚ": 4}}, "a": "", "A": None, "": 0}
    assert canonical_json(body) == _reference(body)


@pytest.mark.parametrize("value", [1e-07, 1e16, 0.1, float("nan"), (1, 2), Role.FEDERATION_ADMIN])
def test_what_orjson_would_write_otherwise_takes_json_dumps(value: Any) -> None:
    body = {"data": {"value": value}}
    assert not plain_json(body)
    assert canonical_json(body) == _reference(body)
    assert content_hash_of(body) == hashlib.sha256(_reference(body)).hexdigest()


def test_an_integer_beyond_64_bits_in_a_plain_document_falls_back_to_json_dumps() -> None:
    body = {"n": 2 ** 70}
    assert plain_json(body) and canonical_json(body) == _reference(body)


@pytest.mark.parametrize("payload", [
    PersonRegistered(person_id="p-1", sealed={"name": "enc:v1:abc", "address": "enc:v1:é\u2028\x1f"},
                     village_code="511403001001", township_code="511403001000", category=4, grade=2, severe=False,
                     hardship=["低保"], sex="female", birth_year=1980, registered_on=date(2025, 3, 1)),
    TaskProgressReported(task_id="t-1", month="2025-03", responsible_department="d", value_reached=1e-07,
                         target_value=3.5, reported_on=date(2025, 3, 1)),
], ids=["plain", "with floats"])
def test_the_store_writes_the_models_own_wire_form_hash_and_signature(payload: EventPayload) -> None:
    signer = Signer.generate()
    store = EventStore("registry", "federation", signer=signer)
    ctx = CommandContext(actor="staff-1", department="federation", causation_id="cause-1")
    time_text = TypeAdapter(datetime).dump_python(ctx.now, mode="json")
    envelope, raw = store._encode(payload, "person-p-1", 3, "f" * 64, ctx, time_text)
    validated = Envelope.model_validate(envelope.model_dump())
    assert validated == envelope and raw == validated.to_json()
    assert envelope.hash == validated.content_hash() and Envelope.parse_checked(raw)[1] == envelope.hash
    assert envelope.signature == signer.signature(envelope.hash)


def test_each_append_writes_its_own_contexts_time() -> None:
    """The store remembers the last time it wrote as text: a context of another time must not reuse it."""
    store = EventStore("registry", "federation", signer=Signer.generate())
    payload = PersonRegistered(person_id="p-1", sealed={}, village_code="511403001001", township_code="511403001000",
                               category=4, grade=2, severe=False, hardship=[], sex="female", birth_year=1980,
                               registered_on=date(2025, 3, 1))
    first = CommandContext(actor="a", department="federation", now=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    second = CommandContext(actor="a", department="federation", now=datetime(2026, 1, 2, 3, 4, 6, tzinfo=UTC))
    for ctx in (first, first, second, first):
        envelope, raw = store._encode(payload, "person-p-1", 1, "", ctx, store._time_of(ctx.now))
        assert envelope.time == ctx.now and raw == Envelope.model_validate(envelope.model_dump()).to_json()
        assert json.loads(raw)["time"] == TypeAdapter(datetime).dump_python(ctx.now, mode="json")


def test_a_trusted_envelope_is_the_validated_one() -> None:
    validated = envelope(causation_id="cause-1").sealed("")
    trusted = Envelope.trusted(dict(validated.__dict__))
    assert trusted == validated and trusted.to_json() == validated.to_json()
    assert trusted.model_fields_set == set(Envelope.model_fields) and trusted.content_hash() == validated.hash
    with pytest.raises(ValidationError):
        trusted.hash = "x"  # type: ignore[misc]  # frozen like any envelope
