"""A batch verifies one signature per chained run, and refuses exactly what checking each alone refuses."""

from __future__ import annotations

import base64

from shared.catalogue.people import OrgUnitEstablished
from shared.envelope import Envelope, utcnow
from shared.messaging.admission import admit_batch
from shared.signing import KeyRing, Signer


def _run(signer: Signer, count: int) -> list[Envelope]:
    envelopes: list[Envelope] = []
    prev = ""
    for version in range(1, count + 1):
        payload = OrgUnitEstablished(code="511403001001", name=f"村{version}", level="village")
        envelope = signer.sign(Envelope(
            id=f"e{version}", source="qingdan/registry/federation", type=payload.event_type, time=utcnow(),
            subject="orgunit-1", stream_id="orgunit-1", stream_type=payload.stream_type, stream_version=version,
            schema_version=1, actor="a", department="federation", correlation_id="c",
            data=payload.model_dump(mode="json")).sealed(prev))
        prev = envelope.hash
        envelopes.append(envelope)
    return envelopes


def _check(ring: KeyRing, envelopes: list[Envelope]) -> list[bool]:
    subject = "ns.registry.federation.orgunit.established"
    return [a.admitted for a in admit_batch([(subject, e.to_json(), None) for e in envelopes], ring, namespace="ns",
                                            service="registry")]


def _bad_signature(envelope: Envelope) -> Envelope:
    return envelope.model_copy(update={"signature": base64.b64encode(b"x" * 64).decode()})


def test_a_run_is_sealed_by_its_last_signature_and_a_bad_last_one_is_checked_event_by_event() -> None:
    signer = Signer.generate()
    ring = KeyRing([signer.public("registry", "federation", frozenset())])
    good = _run(signer, 3)
    assert _check(ring, good) == [True, True, True]
    # the last signature is bad: each event is verified alone, only the last is refused
    assert _check(ring, [*good[:2], _bad_signature(good[2])]) == [True, True, False]
    # an earlier event's content changed: its hash no longer matches, and it breaks the run
    edited = good[1].model_copy(update={"data": {**good[1].data, "name": "forged"}})
    assert _check(ring, [good[0], edited, good[2]]) == [True, False, True]
    # a middle event re-hashed after an edit: the next one's link no longer matches, each checked alone
    rehashed = edited.model_copy(update={"hash": edited.content_hash()})
    assert _check(ring, [good[0], rehashed, good[2]]) == [True, False, True]


def test_an_event_signed_by_another_key_is_not_vouched_for_by_the_run() -> None:
    signer, other = Signer.generate(), Signer.generate()
    ring = KeyRing([signer.public("registry", "federation", frozenset()),
                    other.public("registry", "federation", frozenset())])
    good = _run(signer, 3)
    # claims the other key with a garbage signature: a run of its own, verified, refused
    claimed = _bad_signature(good[1].model_copy(update={"key_id": other.key_id}))
    assert _check(ring, [good[0], claimed, good[2]]) == [True, False, True]
