"""Signing: a signature seals an event's chained hash; a key ring knows who may sign what."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope, utcnow
from shared.ids import new_id
from shared.signing import KeyRing, PublisherKey, Signer, load_or_create_signer, publish_public_key

pytestmark = pytest.mark.unit


def envelope(name: str = "village", prev_hash: str = "") -> Envelope:
    payload = OrgUnitEstablished(code="511403000001", name=name, level="village")
    return Envelope(
        id=new_id(), source="qingdan/registry/federation", type=payload.event_type, time=utcnow(),
        subject="orgunit-1", stream_id="orgunit-1", stream_type=payload.stream_type, stream_version=1,
        schema_version=payload.schema_version, actor="tester", department="federation",
        correlation_id=new_id(), data=payload.model_dump(mode="json"),
    ).sealed(prev_hash)


def test_a_signed_event_verifies_and_any_edit_or_recomputed_hash_does_not() -> None:
    signer = Signer.generate()
    ring = KeyRing([signer.public("registry", "federation", frozenset())])
    signed = signer.sign(envelope())
    assert ring.problem(signed) is None
    # Rewriting the payload and recomputing the plain hash leaves the old signature behind.
    forged = signed.model_copy(update={"data": {**signed.data, "name": "moved"}})
    forged = forged.model_copy(update={"hash": forged.content_hash()})
    assert ring.problem(forged) == f"signature does not verify with key {signer.key_id}"
    assert ring.problem(signed.model_copy(update={"data": {**signed.data, "name": "moved"}})) \
        == "content does not match its hash"
    assert ring.problem(envelope()) == "not signed"


def test_a_key_signs_only_for_its_source_and_departments() -> None:
    signer = Signer.generate()
    ring = KeyRing([signer.public("checklists", "federation", frozenset({"hrss"}))])
    base = envelope().model_copy(update={"source": "qingdan/checklists/federation"})
    assert ring.problem(signer.sign(base.model_copy(update={"department": "hrss"}).sealed(""))) is None
    assert "department health" in (ring.problem(signer.sign(
        base.model_copy(update={"department": "health"}).sealed(""))) or "")
    assert "source qingdan/registry/federation" in (ring.problem(signer.sign(envelope())) or "")


def test_rotation_keeps_old_events_verifying(tmp_path: Path) -> None:
    old, new = Signer.generate(), Signer.generate()
    publish_public_key(tmp_path, old.public("registry", "federation", frozenset()))
    ring = KeyRing(folder=tmp_path)
    before = old.sign(envelope())
    publish_public_key(tmp_path, new.public("registry", "federation", frozenset()))
    after = new.sign(envelope("after", prev_hash=before.hash))
    # The ring learns the new key id from its folder without a restart; the old one still verifies.
    assert ring.problem(after) is None and ring.problem(before) is None
    assert before.key_id != after.key_id


def test_key_files(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "registry.ed25519"
    with pytest.raises(ValueError, match="production never generates one"):
        load_or_create_signer(path, allow_create=False)
    signer = load_or_create_signer(path, allow_create=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_signer(path, allow_create=False).key_id == signer.key_id
    public = signer.public("registry", "federation", frozenset())
    assert PublisherKey.from_json(public.to_json()) == public
    tampered = public.to_json().replace(public.key_id, "0" * 16)
    with pytest.raises(ValueError, match="does not match"):
        PublisherKey.from_json(tampered)


def test_a_central_service_key_signs_for_any_department() -> None:
    signer = Signer.generate()
    ring = KeyRing([signer.public("registry", "federation", frozenset({"*"}))])
    assert ring.problem(signer.sign(envelope().model_copy(update={"department": "health"}).sealed(""))) is None
